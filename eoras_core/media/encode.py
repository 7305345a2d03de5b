"""Writing RGB frames to a video file with PyAV (overlay exports, test fixtures).

The codec follows the extension and what this PyAV build has; frames are consumed one at
a time, and a failed write leaves no half-written file behind.
"""
from __future__ import annotations

import math
from fractions import Fraction
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator

import av
import cv2
import numpy as np
from PIL import Image

from .errors import VideoError, av_reason

_CODECS_BY_EXT = {
    ".mp4": ("libx264", "h264", "mpeg4"),
    ".m4v": ("libx264", "h264", "mpeg4"),
    ".mov": ("libx264", "h264", "mpeg4"),
    ".mkv": ("libx264", "h264", "mpeg4"),
    ".avi": ("mpeg4", "libx264"),
    ".webm": ("libvpx-vp9", "libvpx"),
    ".gif": ("gif",),
}

_CODEC_OPTIONS = {
    "libx264": {"crf": "18", "preset": "veryfast"},
    "h264": {"crf": "18", "preset": "veryfast"},
    "libvpx-vp9": {"crf": "32", "b": "0", "deadline": "good", "cpu-used": "5", "row-mt": "1"},
    "libvpx": {"crf": "10", "b": "2M"},
}


@cache
def _has_encoder(name: str) -> bool:
    try:
        av.Codec(name, "w")
    except (av.FFmpegError, ValueError):
        return False
    return True


def available_encoders(ext: str = ".mp4") -> list[str]:
    """Encoders this PyAV build has for a container extension, in preference order."""
    return [c for c in _CODECS_BY_EXT.get(ext.lower(), ()) if _has_encoder(c)]


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float,
                codec: str | None = None) -> Path:
    """Encode RGB uint8 (H, W, 3) frames to path; returns the path.

    Codec from the extension when None: .mp4/.m4v/.mov/.mkv H.264 (libx264, else mpeg4),
    .webm VP9 (else VP8), .avi mpeg4, .gif palette GIF. yuv420p output is padded to even
    width and height (edge pixels repeated). Frames are consumed one at a time.
    """
    path = Path(path)
    codec = codec or _pick_codec(path)
    if not _has_encoder(codec):
        raise VideoError(f"{path.name}: encoder '{codec}' is not available in this PyAV build")
    if not (math.isfinite(fps) and 0 < fps <= 1000):
        raise VideoError(f"{path.name}: fps must be in (0, 1000], got {fps}")
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise VideoError(f"{path.name}: no frames to write")
    try:
        _encode_all(path, chain([first], it), fps, codec, _check_frame(first, None, path.name))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _pick_codec(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in _CODECS_BY_EXT:
        raise VideoError(f"{path.name}: cannot write '{ext or '(none)'}' files; use one of "
                         f"{' '.join(_CODECS_BY_EXT)}")
    found = available_encoders(ext)
    if not found:
        raise VideoError(f"{path.name}: no encoder for '{ext}' in this PyAV build")
    return found[0]


def _check_frame(frame: np.ndarray, shape: tuple[int, ...] | None, name: str) -> tuple[int, ...]:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise VideoError(f"{name}: frames must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    if shape is not None and frame.shape != shape:
        raise VideoError(f"{name}: frame is {frame.shape} but the first frame is {shape}")
    return frame.shape


def _encode_all(path: Path, frames: Iterator[np.ndarray], fps: float, codec: str,
                shape: tuple[int, ...]) -> None:
    gif = codec == "gif"
    h, w = shape[:2]
    out_w, out_h = (w, h) if gif else (w + w % 2, h + h % 2)
    options = {"movflags": "+faststart"} if path.suffix.lower() in (".mp4", ".m4v", ".mov") else {}
    try:
        with av.open(str(path), mode="w", options=options) as c:
            st = c.add_stream(codec, rate=Fraction(fps).limit_denominator(1001),
                              options=dict(_CODEC_OPTIONS.get(codec, {})))
            st.width, st.height = out_w, out_h
            st.pix_fmt = "pal8" if gif else "yuv420p"
            if codec == "mpeg4":
                st.bit_rate = int(max(2e6, out_w * out_h * fps * 0.3))
            for frame in frames:
                _check_frame(frame, shape, path.name)
                vf = _gif_frame(frame) if gif else _yuv_frame(frame, out_w, out_h)
                for packet in st.encode(vf):
                    c.mux(packet)
            for packet in st.encode():
                c.mux(packet)
    except av.FFmpegError as e:
        raise VideoError(f"{path.name}: encoding with {codec} failed ({av_reason(e)})") from e


def _yuv_frame(frame: np.ndarray, out_w: int, out_h: int) -> av.VideoFrame:
    """RGB frame padded to (out_h, out_w) by repeating edges, as yuv420p."""
    h, w = frame.shape[:2]
    if (w, h) != (out_w, out_h):
        frame = cv2.copyMakeBorder(frame, 0, out_h - h, 0, out_w - w, cv2.BORDER_REPLICATE)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24").reformat(
        format="yuv420p")


def _gif_frame(frame: np.ndarray) -> av.VideoFrame:
    """Frame quantised to its own 256-colour palette (pal8; ARGB palette rows)."""
    q = Image.fromarray(np.ascontiguousarray(frame)).quantize(256, method=Image.Quantize.MEDIANCUT)
    rgb = np.asarray(q.getpalette()[: 256 * 3], np.uint8).reshape(-1, 3)
    palette = np.zeros((256, 4), np.uint8)
    palette[:, 0] = 255
    palette[: len(rgb), 1:] = rgb
    return av.VideoFrame.from_ndarray((np.asarray(q, np.uint8), palette), format="pal8")
