"""One predictor per loaded checkpoint, shared by every studio session and the API.

The model, its CPU fast-path copy and the encoder cache exist once per process, so memory
grows with work rather than with sessions. Clip runs are serialised by a lock (they share
the cache); single-frame previews take a lane of their own (a stateless run), so a preview
never waits behind somebody else's long clip run.
"""
from __future__ import annotations

import ctypes
import functools
import threading
from dataclasses import dataclass
from typing import Hashable, Mapping, Sequence

import numpy as np

from .boxes import TrackInput
from .engine import EorasPredictor, Progress, TrackResult
from .intrinsics import default_intrinsics
from .modeling import EoRaS


@dataclass(frozen=True)
class VideoRef:
    """A clip as the predictor sees it: key names it in the shared cache.

    frames: sequence of (H,W,3) uint8; K: (T,3,3) in the model's convention, or None for
    the default camera.
    """

    key: Hashable
    frames: Sequence[np.ndarray]
    K: np.ndarray | None = None


class SharedPredictor:
    """Thread-safe front of one EorasPredictor (see the module docstring)."""

    def __init__(self, model: EoRaS, cache_bytes: int | None = None, **kwargs) -> None:
        # Interactive use: on a GPU, crops are resized on the device (crop_batch), not in numpy.
        kwargs.setdefault("fast_crops", next(model.parameters()).device.type == "cuda")
        self.predictor = EorasPredictor(model, cache_bytes=cache_bytes, **kwargs)
        self._clip_lock = threading.Lock()
        self._preview_lock = threading.Lock()

    @property
    def model(self) -> EoRaS:
        return self.predictor.model

    @property
    def config(self):
        return self.predictor.config

    def intrinsics(self, video: VideoRef) -> np.ndarray:
        """(T,3,3) K the model uses for this clip (the default camera where none is given)."""
        if video.K is not None:
            return np.asarray(video.K, np.float32)
        H, W = np.asarray(video.frames[0]).shape[:2]
        return default_intrinsics(self.config.intrinsics, H, W, len(video.frames)).astype(np.float32)

    def predict(self, video: VideoRef, tracks: Mapping[int, TrackInput], intermediates: bool = True,
                progress: Progress | None = None) -> dict[int, TrackResult]:
        """Clip run: {obj_id: track} -> {obj_id: TrackResult}, one at a time per process."""
        with self._clip_lock:
            self.predictor.set_video(video.frames, video.K, key=video.key)
            try:
                return self.predictor.predict(tracks, intermediates=intermediates, progress=progress)
            finally:
                trim_heap()

    def preview(self, video: VideoRef, frame: int, box: Sequence[float], obj_id: int = 0) -> TrackResult:
        """One object on one frame (pixel xyxy box); runs beside clip runs."""
        K = None if video.K is None else np.asarray(video.K)[frame]
        with self._preview_lock:
            return self.predictor.predict_frame(np.asarray(video.frames[frame]), box, frame, K, obj_id)

    def forget(self, key: Hashable) -> None:
        """Free a closed clip's encoded frames."""
        with self._clip_lock:
            self.predictor.forget(key)

    @property
    def cached_bytes(self) -> int:
        return self.predictor.cached_bytes


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def trim_heap() -> None:
    """Hand freed heap pages back to the OS (glibc). A clip run's temporaries are freed at its
    end but would otherwise stay resident, and in a long-lived server they add up per run."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
