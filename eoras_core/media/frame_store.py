"""The kept frames of a clip and where each came from in the source.

Why read-only frames: a drawing call must not silently change the stored clip (copy
before drawing). Frames are held compressed (see encoded_frames.py) unless the caps ask
for raw pixels.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from .caps import LoadCaps
from .clip_info import ClipInfo
from .encoded_frames import EncodedFrames
from .errors import VideoError


class FrameStore:
    """The selected frames of a clip, downscaled; each read gives RGB uint8 (H, W, 3).

    Index i is a position among the kept frames; ``indices[i]`` is its source frame number and
    ``timestamp(i)`` its time in the source; ``note`` says what the caps cut.
    """

    def __init__(self, frames: EncodedFrames, timestamps: list[float], info: ClipInfo, caps: LoadCaps, scale: float,
                 truncated: bool = False, note: str = "", indices: list[int] | None = None) -> None:
        if not frames:
            raise VideoError(f"no frames selected from {info.path.name}")
        if len(frames) != len(timestamps):
            raise ValueError(f"{len(frames)} frames but {len(timestamps)} timestamps")
        self._frames = frames
        self._times = list(timestamps)
        self.indices = list(indices) if indices is not None else [caps.start + i * caps.stride for i in range(len(frames))]
        self.info = info
        self.caps = caps
        self.scale = float(scale)
        self.truncated = bool(truncated)
        self.note = note

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, i: int) -> np.ndarray:
        """Frame i (negative counts from the end): (H, W, 3) uint8, read-only."""
        return self._frames[self._check(i)]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self._frames[i] for i in range(len(self._frames)))

    def _check(self, i: int) -> int:
        n = len(self._frames)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"frame {i} out of range (0..{n - 1})")
        return i % n

    @property
    def fps(self) -> float:
        """Effective rate of the kept frames: source fps / stride."""
        return self.info.fps / self.caps.stride

    def timestamp(self, i: int) -> float:
        """Presentation time (s) of kept frame i in the source, from the stream start."""
        return self._times[self._check(i)]

    @property
    def size(self) -> tuple[int, int]:
        """Stored (H, W)."""
        h, w = self._frames.shape[:2]
        return int(h), int(w)

    @property
    def nbytes(self) -> int:
        """Memory held by the stored frames (compressed bytes plus the decoded cache)."""
        return self._frames.nbytes

    def __repr__(self) -> str:
        h, w = self.size
        return (f"FrameStore({self.info.path.name!r}, {len(self)} frames {w}x{h}, "
                f"{self.fps:g} fps, {self.nbytes / 2**20:.1f} MiB)")
