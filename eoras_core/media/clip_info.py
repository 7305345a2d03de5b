"""What a clip is before any caps, and one source frame on its way to the store.

Why a separate module: the video and frame-file readers both produce these, and the
loader consumes them without knowing which reader made them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np

ClipKind = Literal["video", "frames", "movi"]


@dataclass
class ClipInfo:
    """Source properties of a clip (before any caps).

    width/height: display size in px; num_frames: best estimate (exact for image
    sequences; container metadata for videos, exact after a full decode); fps: source
    frame rate (a default for image sequences).
    """

    path: Path
    kind: ClipKind
    width: int
    height: int
    num_frames: int
    fps: float


@dataclass
class SourceFrame:
    """One source frame; its pixels are decoded only if the loader keeps it."""

    index: int
    time: float
    pixels: Callable[[], np.ndarray]
