"""Frames held compressed in memory and decoded on access.

Why: the studio keeps many sessions' clips in one process, and a 720p frame is 2.7 MB as
raw RGB but about a tenth of that as a quality-95 JPEG (4:4:4, mean error under one grey
level). The last two decoded frames are kept, since the player and the engine read the
same frame several times in a row; several threads read a store, so the cache is locked.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import cv2
import numpy as np

DEFAULT_QUALITY = 95
DEFAULT_CACHE_FRAMES = 2  # the frame on screen and the one the engine reads
_JPEG_PARAMS = (cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444)


class EncodedFrames:
    """A list of RGB uint8 (H, W, 3) frames stored as JPEG bytes, or raw when quality is None.

    Decoded frames are read-only; the last ``cache_frames`` decoded ones are kept.
    """

    def __init__(self, quality: int | None = DEFAULT_QUALITY,
                 cache_frames: int = DEFAULT_CACHE_FRAMES) -> None:
        if quality is not None and not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality must be in 1..100 or None, got {quality}")
        self.quality = quality
        self._cache_frames = max(0, int(cache_frames))
        self._items: list[np.ndarray] = []
        self._shape: tuple[int, int, int] | None = None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def append(self, frame: np.ndarray) -> None:
        """Store a copy of an RGB uint8 frame of the same shape as the first one."""
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frames must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
        if self._shape is not None and frame.shape != self._shape:
            raise ValueError(f"frame is {frame.shape} but the first frame is {self._shape}")
        self._shape = frame.shape
        self._items.append(self._encode(frame))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int) -> np.ndarray:
        """Frame i (0 <= i < len), read-only."""
        if self.quality is None:
            return self._items[i]
        with self._lock:
            hit = self._cache.get(i)
            if hit is not None:
                self._cache.move_to_end(i)
                return hit
        frame = self._decode(self._items[i])  # outside the lock: readers decode in parallel
        with self._lock:
            self._cache[i] = frame
            while len(self._cache) > self._cache_frames:
                self._cache.popitem(last=False)
        return frame

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, 3) of every frame."""
        if self._shape is None:
            raise ValueError("no frames stored")
        return self._shape

    @property
    def nbytes(self) -> int:
        """Memory held: the stored frames plus the decoded frames in the cache."""
        with self._lock:
            cached = sum(f.nbytes for f in self._cache.values())
        return sum(item.nbytes for item in self._items) + cached

    def _encode(self, frame: np.ndarray) -> np.ndarray:
        if self.quality is None:
            out = frame.copy()
        else:
            bgr = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)
            ok, out = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.quality, *_JPEG_PARAMS])
            if not ok:
                raise ValueError(f"JPEG encoding of a {frame.shape} frame failed")
        out.flags.writeable = False
        return out

    def _decode(self, data: np.ndarray) -> np.ndarray:
        rgb = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        return rgb
