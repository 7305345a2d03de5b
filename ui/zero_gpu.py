"""Clip runs on a ZeroGPU Space: a GPU is lent to one decorated call at a time, in a worker
process forked from the studio's.

Why a registry: the decorated function must not take the model as an argument (it would be
pickled to the worker on every call); the worker inherits the model that start-up
registered, loaded with device="cuda" after `spaces` was imported. The wrapper is chosen
from the environment (SPACES_ZERO_GPU), never from whether the package imports: on an
ordinary GPU Space or a workstation the shared predictor, with its cache, serves instead.
This module imports no torch, so app.py can import it before `spaces` patches CUDA.
"""
from __future__ import annotations

import os
from typing import Any, Callable

_REGISTRY: dict[str, Any] = {}   # "model": set once at start-up by register(), read-only afterwards
MAX_SECONDS = 120                # the longest GPU lease one clip run asks for


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space (the platform sets SPACES_ZERO_GPU=true)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "true", "yes")


def register(model: Any) -> None:
    """Make `model` the one the GPU function runs; once per process (the same model again is fine)."""
    current = _REGISTRY.get("model")
    if current is not None and current is not model:
        raise RuntimeError("the ZeroGPU model is registered once, at start-up")
    _REGISTRY["model"] = model


def run_clip(frames: Any, K: Any, tracks: dict) -> dict:
    """The GPU function: frames (T,H,W,3) uint8, K (T,3,3) or None, {obj_id: (T,4) boxes with
    NaN rows} -> {obj_id: TrackResult}. A one-shot predictor, so no CUDA graphs are captured."""
    import numpy as np

    from eoras_core.engine import EorasPredictor

    model = _REGISTRY.get("model")
    if model is None:
        raise RuntimeError("no model registered for ZeroGPU runs")
    predictor = EorasPredictor(model, cuda_graphs=False)
    predictor.set_video(np.asarray(frames), K)
    return predictor.predict(tracks)


def clip_seconds(frames: Any, K: Any, tracks: dict) -> int:
    """`duration=` for spaces.GPU from the clip's size: start-up plus a conservative rate for
    encoding every frame with a box and for each object-frame of the recurrence."""
    import numpy as np

    rows = [np.asarray(t, dtype=np.float64) for t in tracks.values()]
    boxed = {int(i) for t in rows for i in np.flatnonzero(~np.isnan(t[:, 0]))}
    object_frames = sum(int((~np.isnan(t[:, 0])).sum()) for t in rows)
    return int(min(MAX_SECONDS, 10 + len(boxed) / 100 + object_frames / 200))


def gpu_runner(model: Any, decorator: Callable | None = None) -> Callable | None:
    """What the studio sends clip runs through: spaces.GPU(run_clip) on ZeroGPU, else None.
    `decorator` replaces spaces.GPU (tests)."""
    if decorator is None:
        if not on_zero_gpu():
            return None
        import spaces  # type: ignore[import-not-found]

        decorator = spaces.GPU
    register(model)
    return decorator(duration=clip_seconds)(run_clip)
