"""Clips stored as image files: a zip or a folder of frames, or a MOVi scene's frames.

Frames are read with PIL in natural name order (frame2 before frame10), EXIF orientation
applied; a MOVi scene (metadata.json next to rgba_full_*.png) contributes only its RGBA
frames, in frame order, at the rate its metadata states.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image, ImageOps

from ..data import movi_layout
from .caps import LoadCaps, check_side
from .clip_info import ClipInfo, ClipKind, SourceFrame
from .errors import VideoError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
DEFAULT_FRAMES_FPS = 25.0  # image sequences carry no frame rate


def is_movi_scene(path: str | Path) -> bool:
    """True for a folder or .zip holding metadata.json and rgba_full_00000.png together."""
    path = Path(path)
    try:
        if path.is_dir():
            return movi_layout.is_scene_folder(path)
        if path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return movi_layout.scene_prefix(z.namelist()) is not None
    except OSError:
        return False
    return False


def probe_frame_files(path: Path) -> ClipInfo:
    """Size from the first frame's header, count from the file list; no pixel decode."""
    src = _list_images(path)
    if not src.names:
        what = "folder" if path.is_dir() else "zip"
        raise VideoError(f"{path.name}: this {what} contains no images "
                         f"({', '.join(e[1:] for e in IMAGE_EXTS)})")
    with _ImageReader(path) as read:
        width, height = _image_size(read(src.names[0]), src.names[0], path.name)
    return ClipInfo(path, src.kind, width, height, len(src.names), src.fps)


def frame_files(info: ClipInfo, caps: LoadCaps) -> Iterator[SourceFrame]:
    """Selected image frames in name order (unselected ones are never read)."""
    src = _list_images(info.path)
    stop = len(src.names) if caps.end is None else min(caps.end, len(src.names))
    expect = (info.width, info.height)
    with _ImageReader(info.path) as read:
        for i in range(caps.start, stop, caps.stride):
            name = src.names[i]
            yield SourceFrame(i, i / info.fps,
                              lambda n=name: _image_rgb(read(n), n, info.path.name, expect))


def is_image_name(name: str) -> bool:
    """True for a visible file name with an image extension (in a folder or a zip)."""
    base = name.rsplit("/", 1)[-1]
    return not base.startswith(".") and Path(base).suffix.lower() in IMAGE_EXTS


def _natural_key(name: str) -> list[int | str]:
    """Sort key that puts frame2 before frame10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


@dataclass
class _ImageSource:
    """Frame names of a zip or folder and the rate to play them at."""

    kind: ClipKind
    names: list[str]
    fps: float


def _list_images(path: Path) -> _ImageSource:
    if path.is_dir():
        names = [p.name for p in path.iterdir() if p.is_file()]
        if is_movi_scene(path):
            return _ImageSource("movi", movi_layout.rgba_names(names),
                                _movi_fps(lambda: (path / movi_layout.METADATA).read_bytes()))
        return _ImageSource("frames", sorted(filter(is_image_name, names), key=_natural_key),
                            DEFAULT_FRAMES_FPS)
    with _open_zip(path) as z:
        names = [i.filename for i in z.infolist()
                 if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
        prefix = movi_layout.scene_prefix(names)
        if prefix is not None:
            return _ImageSource("movi", movi_layout.rgba_names(names, prefix),
                                _movi_fps(lambda: z.read(prefix + movi_layout.METADATA)))
        return _ImageSource("frames", sorted(filter(is_image_name, names), key=_natural_key),
                            DEFAULT_FRAMES_FPS)


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise VideoError(f"{path.name} is not a valid zip archive ({e})") from e


def _movi_fps(read: Callable[[], bytes]) -> float:
    """The scene's frame rate; the MOVi default when metadata.json is unreadable."""
    try:
        meta = json.loads(read())
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return movi_layout.DEFAULT_FPS
    return movi_layout.frame_rate(meta)


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
    except Image.DecompressionBombError:
        raise VideoError(f"{clip}: {name} declares more pixels than any frame may have") from None
    except (OSError, SyntaxError, ValueError):   # unidentified formats and broken headers
        raise VideoError(f"{clip}: {name} is not a readable image (PNG, JPEG, BMP, GIF, TIFF or WebP)") from None


def _image_size(data: bytes, name: str, clip: str) -> tuple[int, int]:
    """Display (W, H) from the header, EXIF orientation applied; no pixel decode."""
    im = _open_image(data, name, clip)
    w, h = im.size
    try:
        turned = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)   # PNG reads its pixels to find EXIF
    except Image.DecompressionBombError:
        raise VideoError(f"{clip}: {name} declares more pixels than any frame may have") from None
    except (OSError, SyntaxError, ValueError):
        raise VideoError(f"{clip}: {name} is truncated or damaged; export the frame again") from None
    return (h, w) if turned else (w, h)


def rgb8(im: Image.Image) -> np.ndarray:
    """(H, W, 3) uint8 of any Pillow mode, high bit depths scaled rather than clipped (a 16-bit
    grey PNG would otherwise come out white), CMYK and palettes through Pillow's conversion."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if im.mode == "F":
            top = 1.0 if a.size and np.nanmax(a) <= 1.0 else 255.0
        else:
            top = 65535.0 if im.mode.startswith("I;16") or (a.size and a.max() > 255) else 255.0
        grey = np.clip(np.nan_to_num(a) * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(im.convert("RGB"))


def _image_rgb(data: bytes, name: str, clip: str, expect_wh: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 RGB of one frame; VideoError if its size differs from the first."""
    size = _image_size(data, name, clip)
    if size != expect_wh:
        raise VideoError(f"{clip}: {name} is {size[0]}x{size[1]} but the first frame is "
                         f"{expect_wh[0]}x{expect_wh[1]}; all frames must have the same size")
    check_side(*size, f"{clip}: {name}")
    try:
        im = ImageOps.exif_transpose(_open_image(data, name, clip))
        return rgb8(im)
    except Image.DecompressionBombError:
        raise VideoError(f"{clip}: {name} declares more pixels than any frame may have") from None
    except (OSError, SyntaxError, ValueError):
        raise VideoError(f"{clip}: {name} is truncated or damaged; export the frame again") from None
