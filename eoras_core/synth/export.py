"""Write a Clip in the published MOVi layout through the project's own writer.

Why a thin layer: eoras_core.data.movi owns the file format (and its reader), so synthetic
data goes through exactly the path that real MOVi data is read back through.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ..data.movi import write_movi_video
from ..intrinsics import horizontal_fov
from .clip import GENERATOR, GENERATOR_VERSION, Clip
from .raycast import BACKGROUND_DEPTH

__all__ = ["write_clip", "to_json"]


def to_json(value: Any) -> Any:
    """Recursively turn numpy arrays/scalars and tuples into JSON-ready Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def write_clip(clip: Clip, folder: str | Path, extra_metadata: dict[str, Any] | None = None) -> Path:
    """Write ``clip`` to ``folder`` (PNG frames and masks, depth TIFFs, metadata.json).

    extra_metadata goes into the "metadata" section (e.g. the CLI's base seed and index).
    """
    cfg = clip.config
    camera = {
        "R": clip.cam_R, "positions": clip.cam_positions, "quaternions": clip.cam_quaternions,
        "focal_length": cfg.focal_length, "sensor_width": cfg.sensor_width,
        "sensor_height": cfg.sensor_width * cfg.height / cfg.width,
        "field_of_view": horizontal_fov(cfg.focal_length, cfg.sensor_width),
    }
    finite = clip.depth[clip.depth < BACKGROUND_DEPTH]
    depth_range = [float(finite.min()), float(finite.max())] if finite.size else [0.0, 0.0]
    meta = {"seed": clip.seed, "generator": GENERATOR, "frame_rate": cfg.fps,
            "depth_range": depth_range, **(extra_metadata or {})}
    flags = {**dataclasses.asdict(cfg), "generator": GENERATOR,
             "generator_version": 1 if cfg.style == "v1" else GENERATOR_VERSION}
    return write_movi_video(folder, clip.frames, clip.visible_ids, clip.amodal, clip.K,
                            instances_meta=[to_json(o) for o in clip.objects], depth=clip.depth,
                            camera=to_json(camera), metadata_extra=to_json(meta),
                            extra_sections={"flags": to_json(flags), "scene": to_json(clip.scene_info)})
