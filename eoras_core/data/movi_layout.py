"""File names of the published MOVi layout, known in this one place.

Per video folder: rgba_full_{f:05d}.png (frames), segmentation_full_{f:05d}.png (visible
instance map, pixel == obj+1), segmentation_{obj}_{f:05d}.png (amodal mask of one
object), optional depth_full_{f:05d}.tiff, and metadata.json. A split folder holds video
folders plus instance_list.npy. The dataset reader and writer, the clip loader and the
studio's scene opener all name files through these functions.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Sequence

METADATA = "metadata.json"
INSTANCE_LIST = "instance_list.npy"
DEFAULT_FPS = 12.0  # MOVi scenes are rendered at 12 fps unless metadata says otherwise
_RGBA = re.compile(r"rgba_full_(\d+)\.png$")


def rgba_name(f: int) -> str:
    return f"rgba_full_{f:05d}.png"


def visible_ids_name(f: int) -> str:
    return f"segmentation_full_{f:05d}.png"


def amodal_name(obj: int, f: int) -> str:
    return f"segmentation_{obj}_{f:05d}.png"


def depth_name(f: int) -> str:
    return f"depth_full_{f:05d}.tiff"


def is_scene_folder(path: Path) -> bool:
    """True when the folder holds metadata.json and the first RGBA frame."""
    return (path / METADATA).is_file() and (path / rgba_name(0)).is_file()


def scene_prefix(names: Sequence[str]) -> str | None:
    """Directory prefix ('' or 'scene/') of a scene among archive member names, or None."""
    present = set(names)
    for n in names:
        if n.rsplit("/", 1)[-1] == METADATA:
            prefix = n[: -len(METADATA)]
            if prefix + rgba_name(0) in present:
                return prefix
    return None


def rgba_names(names: Iterable[str], prefix: str = "") -> list[str]:
    """The rgba_full_*.png names directly under prefix, in frame order."""
    found = [(int(m.group(1)), n) for n in names if n.startswith(prefix)
             and "/" not in n[len(prefix):] and (m := _RGBA.match(n[len(prefix):]))]
    return [n for _, n in sorted(found)]


def frame_rate(meta: Any) -> float:
    """metadata.frame_rate of a parsed metadata.json; DEFAULT_FPS when absent or implausible."""
    try:
        rate = float(meta.get("metadata", {}).get("frame_rate", DEFAULT_FPS))
    except (TypeError, ValueError, AttributeError):
        return DEFAULT_FPS
    return rate if 0 < rate < 1000 else DEFAULT_FPS
