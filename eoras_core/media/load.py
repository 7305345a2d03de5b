"""Bounded clip loading: keep the frames the caps select, downscaled, and say what was cut.

Frames are decoded one at a time and only the selected ones (range, stride) are kept,
resized to ``max_side``, up to ``max_frames``; a stream that breaks part-way keeps what
decoded before the damage and says so in ``FrameStore.note``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .av_decode import video_frames
from .caps import LoadCaps, check_side, check_source_bytes
from .clip_info import ClipInfo, SourceFrame
from .encoded_frames import EncodedFrames
from .errors import StreamDamaged, VideoError
from .frame_files import frame_files, is_image_name
from .frame_store import FrameStore
from .probe import probe


def load_clip(path: str | Path, caps: LoadCaps | None = None) -> FrameStore:
    """Load the frames selected by ``caps`` from a video file, a .zip or a folder of frames.

    A MOVi scene (see ``is_movi_scene``) loads its rgba_full_*.png frames only.
    """
    caps = caps or LoadCaps()
    info = probe(path)
    check_source_bytes(_input_bytes(info.path), info.path.name, caps)
    check_side(info.width, info.height, info.path.name)
    frames = video_frames(info, caps) if info.kind == "video" else frame_files(info, caps)
    return _collect(frames, info, caps)


def _input_bytes(path: Path) -> int:
    """Bytes of the input: the file's size, or the sum of a folder's image files."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if is_image_name(p.name))
    return path.stat().st_size


@dataclass
class _Selection:
    """What _select kept and why it stopped."""

    frames: EncodedFrames
    times: list[float]
    indices: list[int] = field(default_factory=list)  # source frame number of each kept frame
    last_index: int = -1  # last source frame seen
    hit_max_frames: bool = False
    reached_end: bool = True  # the source ran out (not end, max_frames or damage)
    damage: str = ""


def _select(frames: Iterator[SourceFrame], caps: LoadCaps, size_wh: tuple[int, int],
            name: str) -> _Selection:
    """Keep the frames in range and stride, resized; stop at end or past max_frames."""
    sel = _Selection(EncodedFrames(caps.quality), [], [])
    try:
        for raw in frames:
            sel.last_index = raw.index
            if caps.end is not None and raw.index >= caps.end:
                sel.reached_end = False
                break
            if raw.index < caps.start or (raw.index - caps.start) % caps.stride:
                continue
            if len(sel.frames) == caps.max_frames:  # one more selected frame exists
                sel.hit_max_frames, sel.reached_end = True, False
                break
            sel.frames.append(_fit(raw.pixels(), size_wh, name))
            sel.times.append(raw.time)
            sel.indices.append(raw.index)
    except StreamDamaged as e:
        if not sel.frames:
            raise
        sel.reached_end, sel.damage = False, e.reason
    return sel


def _collect(frames: Iterator[SourceFrame], info: ClipInfo, caps: LoadCaps) -> FrameStore:
    """FrameStore of the selected frames, with a note on what was cut or changed."""
    scale, size_wh = _target_size(info.width, info.height, caps.max_side)
    sel = _select(frames, caps, size_wh, info.path.name)
    if not sel.frames:
        raise VideoError(_nothing_selected(info, caps, sel.last_index))
    notes = []
    if sel.damage:
        notes.append(f"stopped after source frame {sel.last_index}: {sel.damage}")
    if sel.reached_end and info.kind == "video":
        if sel.last_index + 1 < info.num_frames - 1:
            notes.append(f"the stream ended after {sel.last_index + 1} frames although the "
                         f"file announces {info.num_frames} (file cut short?)")
        info = replace(info, num_frames=sel.last_index + 1)
    if sel.hit_max_frames:
        notes.insert(0, f"kept {len(sel.frames)} of {_selected_text(info, caps)} frames "
                        f"(max_frames)")
    if scale < 1.0:
        notes.append(f"resized {info.width}x{info.height} to {size_wh[0]}x{size_wh[1]} (max_side)")
    return FrameStore(sel.frames, sel.times, info, caps, scale,
                      sel.hit_max_frames, "; ".join(notes), sel.indices)


def _selected_text(info: ClipInfo, caps: LoadCaps) -> str:
    total = caps.selected_count(info.num_frames)
    return str(total) if info.kind != "video" else f"about {total}"


def _nothing_selected(info: ClipInfo, caps: LoadCaps, last_index: int) -> str:
    if info.kind == "video" and last_index < 0:
        return f"{info.path.name}: no frames could be decoded (empty or damaged file)"
    count = last_index + 1 if info.kind == "video" else info.num_frames
    return (f"{info.path.name}: no frames in the selected range (start {caps.start}, "
            f"end {caps.end}); the clip has {count} frames")


def _target_size(width: int, height: int, max_side: int) -> tuple[float, tuple[int, int]]:
    """Downscale factor (<= 1) and stored (W, H) for a longest side of at most max_side."""
    scale = min(1.0, max_side / max(width, height))
    if scale >= 1.0:
        return 1.0, (width, height)
    return scale, (max(1, round(width * scale)), max(1, round(height * scale)))


def _fit(img: np.ndarray, size_wh: tuple[int, int], name: str) -> np.ndarray:
    """(H, W, 3) uint8 resized to size_wh with INTER_AREA (contiguous)."""
    check_side(img.shape[1], img.shape[0], name)
    if (img.shape[1], img.shape[0]) == size_wh:
        return np.ascontiguousarray(img)
    return cv2.resize(np.ascontiguousarray(img), size_wh, interpolation=cv2.INTER_AREA)
