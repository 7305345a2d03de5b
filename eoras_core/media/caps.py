"""What part of a clip to keep and the memory caps, with the checks that enforce them.

Why visible caps: a minute of 1080p RGB is about 11 GB, so a clip is never decoded whole;
the caps are a plain dataclass the studio can show and change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .encoded_frames import DEFAULT_QUALITY
from .errors import VideoError

MAX_SOURCE_SIDE = 8192
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3


@dataclass
class LoadCaps:
    """What part of a clip to keep, and the memory caps (all in source frames).

    start: first source frame; end: exclusive end (None = to the end); stride: keep every
    stride-th frame from start; max_side: longest stored side in px (frames are only ever
    downscaled); max_frames: most frames kept; max_file_bytes: larger inputs are refused;
    quality: JPEG quality the frames are held at in memory (None keeps exact raw pixels,
    about ten times the memory).
    """

    start: int = 0
    end: int | None = None
    stride: int = 1
    max_side: int = 960
    max_frames: int = 600
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    quality: int | None = DEFAULT_QUALITY

    def __post_init__(self) -> None:
        problems = _caps_problems(self)
        if problems:
            raise VideoError("invalid load settings: " + "; ".join(problems))

    def selected_count(self, num_frames: int) -> int:
        """How many source frames the range and stride select (before max_frames)."""
        stop = num_frames if self.end is None else min(self.end, num_frames)
        return max(0, math.ceil((stop - self.start) / self.stride))


def _caps_problems(caps: LoadCaps) -> list[str]:
    """Human-readable list of invalid cap values (empty when valid)."""
    out = []
    if caps.start < 0:
        out.append(f"start must be >= 0, got {caps.start}")
    if caps.end is not None and caps.end <= caps.start:
        out.append(f"end ({caps.end}) must be greater than start ({caps.start})")
    if caps.stride < 1:
        out.append(f"stride must be >= 1, got {caps.stride}")
    if not 1 <= caps.max_side <= MAX_SOURCE_SIDE:
        out.append(f"max_side must be in 1..{MAX_SOURCE_SIDE}, got {caps.max_side}")
    if caps.max_frames < 1:
        out.append(f"max_frames must be >= 1, got {caps.max_frames}")
    if caps.max_file_bytes < 1:
        out.append(f"max_file_bytes must be >= 1, got {caps.max_file_bytes}")
    if caps.quality is not None and not 1 <= caps.quality <= 100:
        out.append(f"quality must be in 1..100 or None, got {caps.quality}")
    return out


def check_source_bytes(size: int, name: str, caps: LoadCaps) -> None:
    """Refuse an input of ``size`` bytes over caps.max_file_bytes."""
    if size > caps.max_file_bytes:
        raise VideoError(
            f"{name} is {_human_bytes(size)}, over the {_human_bytes(caps.max_file_bytes)} "
            f"limit (max_file_bytes); trim or compress the clip first")


def check_side(width: int, height: int, name: str) -> None:
    """Refuse frames larger than MAX_SOURCE_SIDE on either side."""
    if max(width, height) > MAX_SOURCE_SIDE:
        raise VideoError(f"{name}: frames are {width}x{height}, larger than the "
                         f"{MAX_SOURCE_SIDE} px limit per side")


def _human_bytes(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.1f} MB"
