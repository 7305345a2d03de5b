"""MOVi-lite: a NumPy ray-casting renderer of MOVi-style clips with exact amodal ground truth.

Entry points: render_clip (in memory), write_clip (published MOVi layout), cli.main (the
``python -m eoras_core synth`` command) and ``python -m eoras_core.synth.bench``.
"""
from .clip import Clip, render_clip
from .export import write_clip
from .scene import SceneConfig

__all__ = ["Clip", "SceneConfig", "render_clip", "write_clip"]
