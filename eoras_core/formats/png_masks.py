"""Per-object PNG masks in one zip, for tools that read images rather than RLE.

Why one file per object and frame: a single indexed PNG holds one label per pixel, so it
cannot hold amodal masks, which overlap wherever one object hides another. Each object gets
its own folder with visible, amodal and occluded (amodal and not visible) masks as 0/255
grayscale PNGs at the source video's size, named by source frame number.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ..labels import ObjectLabels, VideoLabels

__all__ = ["write_png_zip", "safe_name"]

KINDS = ("visible", "amodal", "occluded")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same labels give the same zip

README = """\
EoRaS Studio masks, one PNG per object, frame and kind.

Layout:
  {prefix}<object id>_<object name>/visible/<frame>.png    what can be seen of the object
  {prefix}<object id>_<object name>/amodal/<frame>.png     its whole extent, hidden parts included
  {prefix}<object id>_<object name>/occluded/<frame>.png   amodal and not visible: the hidden part

<frame> is the source video's frame number, 5 digits from 00000. Each PNG is single-channel
8-bit grayscale ("L") at the source video's size: 255 inside the mask, 0 outside. There is a
file for each frame the object has a label on; frames without a file have no label.
visible is always inside amodal.

Why not one indexed PNG per frame: an indexed PNG holds one label per pixel, and amodal masks
overlap wherever one object hides another, so each object has its own files.
{videos}
"""


def safe_name(name: str) -> str:
    """name with every run of characters other than letters, digits, '.', '_' and '-' as '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def write_png_zip(videos: Sequence[VideoLabels], path: str | Path) -> Path:
    """Write the masks of ``videos`` as a zip of PNGs to ``path``, atomically; returns path.

    With more than one video every entry sits under ``<video name stem>/``."""
    prefixes = _video_prefixes(videos)
    for video in videos:
        video.check()
        video.check()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
            _add(zf, "README.txt", _readme(videos, prefixes).encode("utf-8"), zipfile.ZIP_DEFLATED)
            for video, prefix in zip(videos, prefixes):
                for obj in video.objects:
                    _add_object(zf, video, obj, f"{prefix}{obj.id}_{safe_name(obj.name)}/")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _video_prefixes(videos: Sequence[VideoLabels]) -> list[str]:
    """'' for a single video; else each video's safe name stem and '/', made unique."""
    if len(videos) <= 1:
        return [""] * len(videos)
    prefixes: list[str] = []
    for i, video in enumerate(videos):
        stem = safe_name(Path(video.name).stem)
        if not stem.strip("."):  # '', '.', '..': never a folder that climbs out on unzipping
            stem = f"video_{i + 1}"
        unique, n = stem, 2
        while f"{unique}/" in prefixes:
            unique, n = f"{stem}_{n}", n + 1
        prefixes.append(f"{unique}/")
    return prefixes


def _add_object(zf: zipfile.ZipFile, video: VideoLabels, obj: ObjectLabels, folder: str) -> None:
    """One object's three PNGs for each frame it has a label on, decoded one frame at a time."""
    for f in sorted(obj.frames):
        try:
            amodal, visible = obj.frames[f].masks()
        except ValueError as exc:
            raise ValueError(f"video {video.name}: object {obj.id} ({obj.name}), frame {f}: {exc}") from None
        amodal = amodal | visible  # visible ⊆ amodal, as FrameLabel.from_masks keeps it
        for kind, mask in zip(KINDS, (visible, amodal, amodal & ~visible)):
            _add(zf, f"{folder}{kind}/{f:05d}.png", _png(mask), zipfile.ZIP_STORED)


def _png(mask: np.ndarray) -> bytes:
    """0/255 single-channel PNG of a bool mask."""
    buf = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _add(zf: zipfile.ZipFile, name: str, data: bytes, compression: int) -> None:
    entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    entry.compress_type = compression
    entry.external_attr = 0o644 << 16
    zf.writestr(entry, data)


def _readme(videos: Sequence[VideoLabels], prefixes: list[str]) -> str:
    """README text: the layout, then each video's folders."""
    lines = ["", "Contents:"]
    for video, prefix in zip(videos, prefixes):
        lines.append(f"  {prefix or './'}  video {video.name}, {video.width}x{video.height}, "
                     f"{video.num_frames} frames")
        lines.extend(f"    {obj.id}_{safe_name(obj.name)}/  {obj.name} ({obj.category}), "
                     f"{len(obj.frames)} frames" for obj in video.objects)
    return README.format(prefix="<video>/" if len(videos) > 1 else "", videos="\n".join(lines))
