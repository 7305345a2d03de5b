"""Loading clips for the studio (video files, zips or folders of frames) and writing videos.

Why bounded: a minute of 1080p RGB is about 11 GB, so a clip is never decoded whole into
memory. Frames are decoded one at a time and only the selected ones (range, stride) are
kept, downscaled to ``max_side``, up to ``max_frames``; the caps are a visible
``LoadCaps`` so the UI can show and change them, and ``FrameStore.note`` says what was cut.

Why one error type: every failure a user can cause (missing file, not a video, damaged
stream, empty zip, ...) raises ``VideoError`` with a message naming the file, so the UI
can show it as is instead of a bare PyAV/PIL traceback.

PyAV is used for decoding and encoding (no ffmpeg binary needed); image frames are read
with PIL. Frames are RGB uint8 (H, W, 3) in display orientation (rotation metadata of
phone videos and EXIF orientation of photos are applied).
"""
from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal, Sequence

import av
import cv2
import numpy as np
from PIL import Image, ImageOps

__all__ = [
    "VideoError",
    "LoadCaps",
    "ClipInfo",
    "FrameStore",
    "probe",
    "load_clip",
    "is_movi_scene",
    "write_video",
    "available_encoders",
    "VIDEO_EXTS",
    "IMAGE_EXTS",
    "MAX_SOURCE_SIDE",
]

VIDEO_EXTS = (".mp4", ".webm", ".mov", ".mkv", ".avi", ".gif", ".m4v")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
MAX_SOURCE_SIDE = 8192
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3
DEFAULT_FRAMES_FPS = 25.0  # image sequences carry no frame rate
MOVI_DEFAULT_FPS = 12.0  # MOVi scenes are rendered at 12 fps unless metadata says otherwise
_MOVI_FRAME = re.compile(r"rgba_full_(\d+)\.png$")

ClipKind = Literal["video", "frames", "movi"]


class VideoError(ValueError):
    """A clip cannot be loaded or written; the message names the file and is user-facing."""


class _StreamDamaged(VideoError):
    """Decoding failed part-way; frames kept so far may still be usable."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.reason = reason


# --------------------------------------------------------------------------- caps / info


@dataclass
class LoadCaps:
    """What part of a clip to keep, and the memory caps (all in source frames).

    start: first source frame; end: exclusive end (None = to the end); stride: keep every
    stride-th frame from start; max_side: longest stored side in px (frames are only ever
    downscaled); max_frames: most frames kept; max_file_bytes: larger inputs are refused.
    """

    start: int = 0
    end: int | None = None
    stride: int = 1
    max_side: int = 960
    max_frames: int = 600
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

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
    return out


@dataclass
class ClipInfo:
    """Source properties of a clip (before any caps).

    width/height: display size in px; num_frames: best estimate (exact for image
    sequences; container metadata for videos, exact after a full decode); fps: source
    frame rate (a default for image sequences); duration_s: num_frames / fps when the
    container does not say.
    """

    path: Path
    kind: ClipKind
    width: int
    height: int
    num_frames: int
    fps: float
    duration_s: float


# --------------------------------------------------------------------------- frame store


class FrameStore:
    """The selected frames of a clip, stored downscaled as RGB uint8 (H, W, 3) arrays.

    Index i is a position among the kept frames; ``source_index(i)`` and ``timestamp(i)``
    map it back to the source. Frames are read-only so a drawing call cannot silently
    change the stored clip (copy before drawing).
    """

    def __init__(self, frames: list[np.ndarray], source_indices: list[int],
                 timestamps: list[float], info: ClipInfo, caps: LoadCaps, scale: float,
                 truncated: bool = False, note: str = "") -> None:
        if not frames:
            raise VideoError(f"no frames selected from {info.path.name}")
        if not len(frames) == len(source_indices) == len(timestamps):
            raise ValueError("frames, source_indices and timestamps differ in length")
        for f in frames:
            f.flags.writeable = False
        self._frames = frames
        self._src = list(source_indices)
        self._times = list(timestamps)
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
        return iter(self._frames)

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

    def source_index(self, i: int) -> int:
        """Index of kept frame i among all source frames."""
        return self._src[self._check(i)]

    @property
    def size(self) -> tuple[int, int]:
        """Stored (H, W)."""
        h, w = self._frames[0].shape[:2]
        return int(h), int(w)

    @property
    def source_size(self) -> tuple[int, int]:
        """Source (H, W), e.g. to scale masks back for export."""
        return self.info.height, self.info.width

    @property
    def nbytes(self) -> int:
        """Memory held by the stored frames."""
        return sum(f.nbytes for f in self._frames)

    def __repr__(self) -> str:
        h, w = self.size
        return (f"FrameStore({self.info.path.name!r}, {len(self)} frames {w}x{h}, "
                f"{self.fps:g} fps, {self.nbytes / 2**20:.1f} MiB)")


# --------------------------------------------------------------------------- dispatch


def probe(path: str | Path) -> ClipInfo:
    """Source properties without decoding the clip (one frame at most, for rotation)."""
    path = _existing(path)
    if path.is_dir() or path.suffix.lower() == ".zip":
        return _probe_images(path)
    _check_extension(path)
    return _probe_video(path)


def load_clip(path: str | Path, caps: LoadCaps | None = None) -> FrameStore:
    """Load the frames selected by ``caps`` from a video file, a .zip or a folder of frames.

    A MOVi scene (see ``is_movi_scene``) loads its rgba_full_*.png frames only.
    """
    caps = caps or LoadCaps()
    info = probe(path)
    _check_file_bytes(info.path, caps)
    _check_side(info.width, info.height, info.path.name)
    if info.kind == "video":
        return _collect(_video_frames(info, caps), info, caps)
    return _collect(_image_frames(info, caps), info, caps)


def is_movi_scene(path: str | Path) -> bool:
    """True for a folder or .zip holding metadata.json and rgba_full_00000.png together."""
    path = Path(path)
    try:
        if path.is_dir():
            return (path / "metadata.json").is_file() and (path / "rgba_full_00000.png").is_file()
        if path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return _zip_movi_dir(z.namelist()) is not None
    except OSError:
        return False
    return False


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path.name}: file not found ({path})")
    return path


def _check_extension(path: Path) -> None:
    if path.suffix.lower() not in VIDEO_EXTS:
        raise VideoError(
            f"{path.name}: unsupported file type '{path.suffix or '(none)'}'; expected a video "
            f"({' '.join(VIDEO_EXTS)}), a .zip of frames or a folder of frames")


def _check_file_bytes(path: Path, caps: LoadCaps) -> None:
    if path.is_dir():
        size = sum(p.stat().st_size for p in path.iterdir() if _is_image_name(p.name))
    else:
        size = path.stat().st_size
    if size > caps.max_file_bytes:
        raise VideoError(
            f"{path.name} is {_human_bytes(size)}, over the {_human_bytes(caps.max_file_bytes)} "
            f"limit (max_file_bytes); trim or compress the clip first")


def _check_side(width: int, height: int, name: str) -> None:
    if max(width, height) > MAX_SOURCE_SIDE:
        raise VideoError(f"{name}: frames are {width}x{height}, larger than the "
                         f"{MAX_SOURCE_SIDE} px limit per side")


def _human_bytes(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.1f} MB"


# --------------------------------------------------------------------------- selection


@dataclass
class _Raw:
    """One source frame, decoded to pixels only if selected."""

    index: int
    time: float
    pixels: Callable[[], np.ndarray]


@dataclass
class _Selection:
    """What _select kept and why it stopped."""

    frames: list[np.ndarray]
    source_indices: list[int]
    times: list[float]
    last_index: int = -1  # last source frame seen
    hit_max_frames: bool = False
    reached_end: bool = True  # the source ran out (not end, max_frames or damage)
    damage: str = ""


def _select(frames: Iterator[_Raw], caps: LoadCaps, size_wh: tuple[int, int],
            name: str) -> _Selection:
    """Keep the frames in range and stride, resized; stop at end or past max_frames."""
    sel = _Selection([], [], [])
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
            sel.source_indices.append(raw.index)
            sel.times.append(raw.time)
    except _StreamDamaged as e:
        if not sel.frames:
            raise
        sel.reached_end, sel.damage = False, e.reason
    return sel


def _collect(frames: Iterator[_Raw], info: ClipInfo, caps: LoadCaps) -> FrameStore:
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
    return FrameStore(sel.frames, sel.source_indices, sel.times, info, caps, scale,
                      sel.hit_max_frames, "; ".join(notes))


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
    """(H, W, 3) uint8 resized to size_wh with INTER_AREA (copy, contiguous)."""
    _check_side(img.shape[1], img.shape[0], name)
    if (img.shape[1], img.shape[0]) == size_wh:
        return np.ascontiguousarray(img).copy()
    return cv2.resize(np.ascontiguousarray(img), size_wh, interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------- videos


def _open_video(path: Path) -> av.container.InputContainer:
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError as e:
        raise VideoError(f"{path.name} is not a readable video ({_av_reason(e)})") from e
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path.name} has no video stream")
    return container


def _av_reason(e: Exception) -> str:
    """The FFmpeg message without errno noise and the repeated file name."""
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).split(":")[0].strip() or type(e).__name__


def _probe_video(path: Path) -> ClipInfo:
    with _open_video(path) as c:
        st = c.streams.video[0]
        fps = _stream_fps(st)
        width, height = st.codec_context.width, st.codec_context.height
        if _rotation_k(c) % 2:
            width, height = height, width
        duration = _stream_duration(c, st)
        frames = int(st.frames or 0) or (round(duration * fps) if duration else 0)
        if frames == 0:
            frames = _count_packets(c, st)
    if width <= 0 or height <= 0:
        raise VideoError(f"{path.name}: the video stream has no frame size (damaged file?)")
    return ClipInfo(path, "video", width, height, frames, fps, duration or frames / fps)


def _stream_fps(st: av.video.stream.VideoStream) -> float:
    for rate in (st.average_rate, st.guessed_rate, st.base_rate):
        if rate and 0 < float(rate) < 1000:
            return float(rate)
    return DEFAULT_FRAMES_FPS


def _stream_duration(c: av.container.InputContainer, st: av.video.stream.VideoStream) -> float:
    if st.duration and st.time_base:
        return float(st.duration * st.time_base)
    if c.duration:
        return c.duration / av.time_base
    return 0.0


def _stream_start(st: av.video.stream.VideoStream) -> float:
    if st.start_time is None or not st.time_base:
        return 0.0
    return float(st.start_time * st.time_base)


def _rotation_k(c: av.container.InputContainer) -> int:
    """Quarter turns (counter-clockwise) to display the first frame; 0 if it won't decode."""
    st = c.streams.video[0]
    try:
        for frame in c.decode(st):
            return _frame_k(frame)
    except (av.FFmpegError, OSError, ValueError):
        pass
    finally:
        try:
            c.seek(0)
        except (av.FFmpegError, OSError):
            pass
    return 0


def _frame_k(frame: av.VideoFrame) -> int:
    return round((frame.rotation or 0) / 90) % 4


def _count_packets(c: av.container.InputContainer, st: av.video.stream.VideoStream) -> int:
    """Frame count by demuxing (no decoding), for containers that do not store it."""
    try:
        c.seek(0)
        return sum(1 for p in c.demux(st) if p.size)
    except (av.FFmpegError, OSError):
        return 0


def _video_frames(info: ClipInfo, caps: LoadCaps, allow_seek: bool = True) -> Iterator[_Raw]:
    """Decoded source frames in order; pixels converted lazily. Seeks to start when it can."""
    with _open_video(info.path) as c:
        st = c.streams.video[0]
        st.thread_type = "AUTO"
        t0 = _stream_start(st)
        try:
            seeked = allow_seek and _seek_to_start(c, st, caps, info, t0)
        except (av.FFmpegError, OSError):
            yield from _video_frames(info, caps, allow_seek=False)  # decode and skip instead
            return
        count = 0
        for frame in _decode(c, st, info.path.name):
            if seeked:
                if frame.time is None or round((frame.time - t0) * info.fps) > caps.start:
                    yield from _video_frames(info, caps, allow_seek=False)
                    return
                seeked = False
                count = round((frame.time - t0) * info.fps)
            t = frame.time - t0 if frame.time is not None else count / info.fps
            yield _Raw(count, t, lambda f=frame: _frame_rgb(f, info.path.name))
            count += 1


def _decode(c: av.container.InputContainer, st: av.video.stream.VideoStream,
            name: str) -> Iterator[av.VideoFrame]:
    """container.decode(stream) with FFmpeg errors turned into _StreamDamaged."""
    try:
        yield from c.decode(st)
    except (av.FFmpegError, OSError, ValueError, EOFError) as e:
        raise _StreamDamaged(name, f"the video stream is damaged ({_av_reason(e)})") from e


def _seek_to_start(c: av.container.InputContainer, st: av.video.stream.VideoStream,
                   caps: LoadCaps, info: ClipInfo, t0: float) -> bool:
    """Seek to the keyframe before start for constant-rate streams; False when not tried.

    Only constant-rate streams: after a seek the source index is derived from the frame
    time, which is exact only there. Raises FFmpegError when the container cannot seek.
    """
    if caps.start < 2 or st.codec_context.name == "gif" or not st.time_base:
        return False
    if not (st.average_rate and st.guessed_rate and st.average_rate == st.guessed_rate):
        return False
    target = t0 + (caps.start - 0.5) / info.fps
    c.seek(int(target / st.time_base), stream=st, backward=True)
    return True


def _frame_rgb(frame: av.VideoFrame, name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB in display orientation."""
    try:
        img = frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, ValueError) as e:
        raise _StreamDamaged(name, f"a frame could not be converted ({_av_reason(e)})") from e
    k = _frame_k(frame)
    return np.rot90(img, k) if k else img


# --------------------------------------------------------------------------- image sequences


def _is_image_name(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return not base.startswith(".") and Path(base).suffix.lower() in IMAGE_EXTS


def _natural_key(name: str) -> list[int | str]:
    """Sort key that puts frame2 before frame10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _zip_movi_dir(names: Sequence[str]) -> str | None:
    """Directory prefix ('' or 'scene/') of a MOVi scene inside a zip, or None."""
    present = set(names)
    for n in names:
        if n.endswith("metadata.json") and n.rsplit("/", 1)[-1] == "metadata.json":
            prefix = n[: -len("metadata.json")]
            if prefix + "rgba_full_00000.png" in present:
                return prefix
    return None


def _movi_names(names: Iterable[str], prefix: str) -> list[str]:
    """rgba_full_*.png names directly under prefix, in frame order."""
    found = [(int(m.group(1)), n) for n in names if n.startswith(prefix)
             and "/" not in n[len(prefix):] and (m := _MOVI_FRAME.match(n[len(prefix):]))]
    return [n for _, n in sorted(found)]


@dataclass
class _ImageSource:
    """Frame names of a zip or folder and how to open one as bytes."""

    kind: ClipKind
    names: list[str]
    fps: float


def _list_images(path: Path) -> _ImageSource:
    if path.is_dir():
        names = [p.name for p in path.iterdir() if p.is_file()]
        if is_movi_scene(path):
            return _ImageSource("movi", _movi_names(names, ""),
                                _movi_fps(path / "metadata.json", None))
        return _ImageSource("frames", sorted(filter(_is_image_name, names), key=_natural_key),
                            DEFAULT_FRAMES_FPS)
    with _open_zip(path) as z:
        names = [i.filename for i in z.infolist()
                 if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
        prefix = _zip_movi_dir(names)
        if prefix is not None:
            return _ImageSource("movi", _movi_names(names, prefix),
                                _movi_fps(None, z.read(prefix + "metadata.json")))
        return _ImageSource("frames", sorted(filter(_is_image_name, names), key=_natural_key),
                            DEFAULT_FRAMES_FPS)


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise VideoError(f"{path.name} is not a valid zip archive ({e})") from e


def _movi_fps(meta_path: Path | None, meta_bytes: bytes | None) -> float:
    """frame_rate from a MOVi metadata.json, or the MOVi default when absent/unreadable."""
    try:
        raw = meta_bytes if meta_bytes is not None else meta_path.read_bytes()
        rate = float(json.loads(raw).get("metadata", {}).get("frame_rate", MOVI_DEFAULT_FPS))
    except (OSError, ValueError, TypeError, AttributeError):
        return MOVI_DEFAULT_FPS
    return rate if 0 < rate < 1000 else MOVI_DEFAULT_FPS


def _probe_images(path: Path) -> ClipInfo:
    src = _list_images(path)
    if not src.names:
        what = "folder" if path.is_dir() else "zip"
        raise VideoError(f"{path.name}: this {what} contains no images "
                         f"({', '.join(e[1:] for e in IMAGE_EXTS)})")
    with _ImageReader(path) as read:
        width, height = _image_size(read(src.names[0]), src.names[0], path.name)
    n = len(src.names)
    return ClipInfo(path, src.kind, width, height, n, src.fps, n / src.fps)


class _ImageReader:
    """Context manager giving read(name) -> bytes for a folder or a zip."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None

    def __enter__(self) -> Callable[[str], bytes]:
        if not self.path.is_dir():
            self.zip = _open_zip(self.path)
        return self.read

    def __exit__(self, *exc: object) -> None:
        if self.zip is not None:
            self.zip.close()

    def read(self, name: str) -> bytes:
        try:
            return self.zip.read(name) if self.zip is not None else (self.path / name).read_bytes()
        except (OSError, zipfile.BadZipFile, KeyError) as e:
            raise VideoError(f"{self.path.name}: cannot read {name} ({e})") from e


def _open_image(data: bytes, name: str, clip: str) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except (OSError, Image.DecompressionBombError, SyntaxError, ValueError) as e:
        raise VideoError(f"{clip}: {name} is not a readable image ({e})") from e


def _image_size(data: bytes, name: str, clip: str) -> tuple[int, int]:
    """Display (W, H) from the header, EXIF orientation applied; no pixel decode."""
    im = _open_image(data, name, clip)
    w, h = im.size
    if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):
        w, h = h, w
    return w, h


def _image_rgb(data: bytes, name: str, clip: str, expect_wh: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 RGB of one frame; VideoError if its size differs from the first."""
    size = _image_size(data, name, clip)
    if size != expect_wh:
        raise VideoError(f"{clip}: {name} is {size[0]}x{size[1]} but the first frame is "
                         f"{expect_wh[0]}x{expect_wh[1]}; all frames must have the same size")
    _check_side(*size, f"{clip}: {name}")
    try:
        im = ImageOps.exif_transpose(_open_image(data, name, clip))
        return np.asarray(im.convert("RGB"))
    except (OSError, Image.DecompressionBombError, SyntaxError, ValueError) as e:
        raise VideoError(f"{clip}: {name} is damaged ({e})") from e


def _image_frames(info: ClipInfo, caps: LoadCaps) -> Iterator[_Raw]:
    """Selected image frames in name order (unselected ones are never read)."""
    src = _list_images(info.path)
    stop = len(src.names) if caps.end is None else min(caps.end, len(src.names))
    expect = (info.width, info.height)
    with _ImageReader(info.path) as read:
        for i in range(caps.start, stop, caps.stride):
            name = src.names[i]
            yield _Raw(i, i / info.fps,
                       lambda n=name: _image_rgb(read(n), n, info.path.name, expect))


# --------------------------------------------------------------------------- writing

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
        raise VideoError(f"{path.name}: encoding with {codec} failed ({_av_reason(e)})") from e


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
