"""Visible-only labels from other tools (DAVIS PNGs, YouTube-VIS, SAM 2 masks) as VideoLabels.

Why: people start from labels they already have, and those show only what can be seen of each
object. These readers keep the visible masks and put the same mask in ``amodal`` as a
placeholder; the caller then runs the model to complete each object's hidden extent.
``detect`` tells the caller whether a path is one of these kinds, so full amodal labels (the
amodal video JSON, COCO, a MOVi split) go to their own readers instead.

Files from elsewhere are not trusted: a zip is checked entry by entry before anything is
unpacked, an image's size is read from its header before it is decoded, every RLE goes
through the checked decoder, and masks are kept as RLE, one decoded frame at a time.
"""
from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, Union

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from ..export import mask_to_rle, rle_to_mask
from ..labels import FrameLabel, ObjectLabels, VideoLabels

__all__ = ["VISIBLE_ONLY_KINDS", "detect", "read_visible_only"]

VISIBLE_ONLY_KINDS = ("davis", "ytvis", "sam2-png", "sam2-json")
AMODAL_SCHEMA_PREFIX = "eoras-amodal-vis/"  # the amodal video JSON: full labels, not read here
MAX_SIDE = 16384                # pixels a side of one mask
MAX_FRAME = (1 << 20) - 1       # the highest frame number (about 9.7 hours at 30 fps)
MAX_OBJECT_ID = (1 << 31) - 1
MAX_UNPACKED = 2 << 30          # bytes a zip may unpack to
MAX_ENTRIES = 100_000           # entries a zip may hold
MAX_JSON_BYTES = 2 << 30
VOID = 255                      # DAVIS: pixels nobody labelled

EXPECTED = ("DAVIS-style indexed PNGs named by frame number, a DAVIS Annotations/ tree, a YouTube-VIS JSON, "
            "SAM 2 masks (one folder of PNGs per object id, or a JSON of RLE per frame and object), "
            "or a zip of one of these")

_DIGITS = re.compile(r"[0-9]+")  # ASCII digits only (\d would take other scripts' digits)
_OBJECT_FOLDER = re.compile(r"(?:obj(?:ect)?_?)?([0-9]+)", re.IGNORECASE)

_Node = Union[Path, zipfile.Path]  # a folder or file on disk, or inside a zip (detection only)


# ---- public ---------------------------------------------------------------------------------

def detect(path: str | Path) -> str | None:
    """Which visible-only kind ``path`` is: "davis", "ytvis", "sam2-png" or "sam2-json".

    None for anything else, full labels included (an ``eoras-amodal-vis/`` JSON, a COCO JSON,
    a MOVi split folder). A zip answers for what it holds, read without unpacking it; an
    unsafe zip raises ValueError (as ``read_visible_only`` would)."""
    path = Path(os.path.abspath(path))
    if not path.exists():
        return None
    if _is_zip(path):
        with _open_zip(path) as zf:
            _check_entries(zf, path.name)
            return _detect(zipfile.Path(zf))
    return _detect(path)


def read_visible_only(path: str | Path) -> list[VideoLabels]:
    """The videos of visible-only labels at ``path`` (a folder, a .json or a .zip; see ``detect``).

    Every frame's ``visible`` is the imported mask and ``amodal`` the same mask, a placeholder
    for the model's; empty masks are left out. ValueError names the file and what was expected."""
    path = Path(os.path.abspath(path))
    if not path.exists():
        raise ValueError(f"{path.name}: no such file or folder")
    if _is_zip(path):
        with _open_zip(path) as zf, tempfile.TemporaryDirectory(prefix="eoras-import-") as tmp:
            _unpack(zf, _check_entries(zf, path.name), Path(tmp), path.name)
            return _read(Path(tmp), _Names(Path(tmp), path.name), path.stem)
    return _read(path, _Names(path.parent, ""), path.stem if path.is_file() else path.name)


# ---- finding what a path holds --------------------------------------------------------------

class _Names:
    """How messages name a file: from the path the caller gave, never the temporary folder."""

    def __init__(self, root: Path, label: str) -> None:
        self.root, self.label = root, label

    def __call__(self, path: Path) -> str:
        rel = path.relative_to(self.root).as_posix()
        return "/".join(p for p in (self.label, rel) if p and p != ".") or path.name


def _children(folder: _Node) -> list[_Node]:
    """What a folder holds, by name, without hidden files and macOS zip leftovers."""
    return sorted((c for c in folder.iterdir() if not c.name.startswith(".") and c.name != "__MACOSX"),
                  key=lambda c: c.name)


def _is_png(node: _Node) -> bool:
    return node.name.lower().endswith(".png") and node.is_file()


def _locate(node: _Node) -> tuple[str, _Node] | None:
    """(kind, where): "davis", "davis-tree" (an Annotations folder), "sam2-png" or "json";
    None when the path is none of them (a MOVi split included)."""
    for _ in range(8):  # down through folders that only wrap one thing, as zips often do
        if node.is_file():
            return ("json", node) if node.name.lower().endswith(".json") else None
        children = _children(node)
        if any(c.name == "instance_list.npy" or (c.is_dir() and (c / "metadata.json").is_file()) for c in children):
            return None  # a MOVi split: full labels, read by labels_from_movi
        for c in children:
            if c.name == "Annotations" and c.is_dir():
                return "davis-tree", c
        if any(_is_png(c) for c in children):
            return "davis", node
        if node.name in ("Annotations", "480p", "Full-Resolution"):
            return "davis-tree", node
        if any(c.is_dir() and _OBJECT_FOLDER.fullmatch(c.name) and any(_is_png(g) for g in _children(c))
               for c in children):
            return "sam2-png", node
        if len(children) != 1:
            return None
        node = children[0]
    return None


def _json_kind(doc: Any) -> str | None:
    """"ytvis", "sam2-json" or None (COCO, the amodal video JSON, anything else)."""
    if not isinstance(doc, dict) or "images" in doc:
        return None
    if "videos" in doc and "annotations" in doc:
        info = doc.get("info")
        version = str(info.get("schema_version", "")) if isinstance(info, dict) else ""
        return None if version.startswith(AMODAL_SCHEMA_PREFIX) else "ytvis"
    if isinstance(doc.get("masks"), dict):
        return "sam2-json"
    if doc and all(_DIGITS.fullmatch(k) and (v is None or isinstance(v, dict)) for k, v in doc.items()):
        return "sam2-json"
    return None


def _detect(node: _Node) -> str | None:
    found = _locate(node)
    if found is None:
        return None
    kind, where = found
    if kind != "json":
        return "davis" if kind == "davis-tree" else kind
    try:
        return _json_kind(_load_json(where, where.name))
    except ValueError:
        return None


def _read(node: Path, names: _Names, name: str) -> list[VideoLabels]:
    """Read what ``node`` holds; ``name`` is the video's name when the top level is the video."""
    found = _locate(node)
    if found is None:
        if node.is_dir() and not _children(node):
            raise ValueError(f"{names(node)}: the folder is empty; expected {EXPECTED}")
        raise ValueError(f"{names(node)}: not visible-only labels; expected {EXPECTED}")
    kind, where = found
    title = name if where == node else (where.stem if where.is_file() else where.name)
    if kind == "davis-tree":
        return _read_davis_tree(where, names)
    if kind == "davis":
        return [_read_davis(where, title, names)]
    if kind == "sam2-png":
        return [_read_sam2_png(where, title, names)]
    doc = _load_json(where, names(where))
    kind = _json_kind(doc)
    if kind == "ytvis":
        return _read_ytvis(doc, names(where))
    if kind == "sam2-json":
        return [_read_sam2_json(doc, names(where), title)]
    raise ValueError(f"{names(where)}: expected a YouTube-VIS JSON (videos, annotations, categories) or SAM 2 masks "
                     "({\"<frame>\": {\"<object id>\": RLE}}); an amodal video JSON or a COCO file has its own reader")


# ---- zips -----------------------------------------------------------------------------------

def _is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError(f"{path.name}: expected a zip archive, but the file is not one (or is damaged)") from None


def _check_entries(zf: zipfile.ZipFile, where: str) -> list[zipfile.ZipInfo]:
    """The archive's entries; ValueError naming the entry for one that would land outside the
    folder it is unpacked into or is a link, and for archives too large or too many-filed."""
    entries = zf.infolist()
    if len(entries) > MAX_ENTRIES:
        raise ValueError(f"{where}: holds {len(entries)} entries; at most {MAX_ENTRIES} files are read")
    total = 0
    for info in entries:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
            raise ValueError(f"{where}: entry {name!r} has a path that leads outside the folder it unpacks into")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ValueError(f"{where}: entry {name!r} is a symbolic link; links are not unpacked")
        total += info.file_size
    if total > MAX_UNPACKED:
        raise ValueError(f"{where}: unpacks to {total / 1e9:.1f} GB; at most 2 GB is read")
    return entries


def _unpack(zf: zipfile.ZipFile, entries: list[zipfile.ZipInfo], into: Path, where: str) -> None:
    """Unpack checked entries into ``into``, counting the bytes really written."""
    written = 0
    for info in entries:
        parts = [p for p in info.filename.split("/") if p not in ("", ".")]
        if not parts or any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        target = into.joinpath(*parts)
        if not os.path.abspath(target).startswith(os.path.abspath(into) + os.sep):
            raise ValueError(f"{where}: entry {info.filename!r} has a path that leads outside the folder it "
                             "unpacks into")
        try:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "xb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_UNPACKED:
                        raise ValueError(f"{where}: entry {info.filename!r} takes it past the 2 GB that is read")
                    dst.write(chunk)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise ValueError(f"{where}: entry {info.filename!r} clashes with another entry of the same path") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
            raise ValueError(f"{where}: entry {info.filename!r} could not be unpacked (damaged, encrypted or "
                             "compressed in an unsupported way)") from None


# ---- PNG masks ------------------------------------------------------------------------------

class _Size:
    """The one mask size of a video: set by the first mask (or the video), kept by the rest."""

    def __init__(self, hw: tuple[int, int] | None = None, source: str = "") -> None:
        self.hw, self.source = hw, source

    def check(self, hw: tuple[int, int], name: str, where: str = "") -> None:
        """``name``: the mask's file (or, with ``where`` its file, its field)."""
        if self.hw is None:
            self.hw, self.source = hw, name
        elif hw != self.hw:
            raise ValueError(f"{where + ': ' if where else ''}{name}: the mask is {hw[1]}x{hw[0]}, but {self.source} "
                             f"is {self.hw[1]}x{self.hw[0]}; every mask of a video must have the same size")


def _frame_number(text: str, name: str) -> int:
    """The frame number in a file name: its last run of digits."""
    numbers = _DIGITS.findall(text)
    if not numbers:
        raise ValueError(f"{name}: expected a frame number in the file name (00000.png, 00001.png, ...)")
    frame = int(numbers[-1])
    if frame > MAX_FRAME:
        raise ValueError(f"{name}: frame number {frame} is past the highest this reader takes ({MAX_FRAME})")
    return frame


def _frame_files(folder: Path, names: _Names) -> dict[int, Path]:
    """Frame number -> PNG of a folder of per-frame masks, in frame order."""
    files: dict[int, Path] = {}
    for child in _children(folder):
        if not _is_png(child):
            continue
        frame = _frame_number(child.name[:-4], names(child))
        if frame in files:
            raise ValueError(f"{names(child)}: frame {frame} already has {files[frame].name}; expected one file "
                             "per frame")
        files[frame] = child
    if not files:
        raise ValueError(f"{names(folder)}: expected PNG masks named by frame number (00000.png, 00001.png, ...), "
                         "found none")
    return dict(sorted(files.items()))


def _png_pixels(path: Path, name: str, size: _Size, what: str) -> np.ndarray:
    """The (H, W) pixels of a one-channel PNG ("1", "L" or "P"), its size checked from the header first."""
    try:
        image = Image.open(path, formats=["PNG"])
    except Image.DecompressionBombError:
        raise ValueError(f"{name}: the image is too large to read as a mask") from None
    except (OSError, SyntaxError, ValueError):
        raise ValueError(f"{name}: expected a PNG image, but the file is not one") from None
    with image:
        width, height = image.size
        if width > MAX_SIDE or height > MAX_SIDE:
            raise ValueError(f"{name}: the image is {width}x{height}; a mask may be at most {MAX_SIDE} pixels a side")
        if image.mode not in ("1", "L", "P"):
            raise ValueError(f"{name}: expected {what} PNG, got an image in mode {image.mode}")
        size.check((height, width), name)
        try:
            return np.asarray(image)
        except (OSError, SyntaxError, ValueError, EOFError):
            raise ValueError(f"{name}: the PNG image is damaged") from None


def _import_label(rle: dict) -> FrameLabel:
    """visible = the imported mask; amodal = the same mask until the model completes it."""
    return FrameLabel(amodal=dict(rle), visible=rle, provenance={"source": "import", "checkpoint": None, "time": None})


def _video(name: str, size: _Size, num_frames: int, objects: dict[int, tuple[str, str, dict[int, dict]]]
           ) -> VideoLabels:
    """VideoLabels from object id -> (name, category, frame -> RLE)."""
    height, width = size.hw
    return VideoLabels(name=name, width=width, height=height, num_frames=num_frames,
                       objects=[ObjectLabels(id=oid, name=oname, category=category,
                                             frames={f: _import_label(rle) for f, rle in sorted(frames.items())})
                                for oid, (oname, category, frames) in sorted(objects.items())])


def _read_davis(folder: Path, name: str, names: _Names) -> VideoLabels:
    """One video from indexed PNGs: pixel value = object id, 0 background, 255 void.

    A video whose only label is 255 (DAVIS 2016, plain 0/255 masks) reads 255 as object 1."""
    frames = _frame_files(folder, names)
    size = _Size()
    by_id: dict[int, dict[int, dict]] = {}
    for frame, path in frames.items():
        pixels = _png_pixels(path, names(path), size, "a palette or grayscale (object id per pixel)")
        ids = pixels.astype(np.uint8, copy=False)
        for value in np.flatnonzero(np.bincount(ids.ravel(), minlength=256)[1:]) + 1:
            by_id.setdefault(int(value), {})[frame] = mask_to_rle(ids == value)
    void = by_id.pop(VOID, {})
    if not by_id and void:
        by_id[1] = void
    return _video(name, size, max(frames) + 1, {i: (f"object {i}", "object", f) for i, f in by_id.items()})


def _read_davis_tree(folder: Path, names: _Names) -> list[VideoLabels]:
    """One video per folder of Annotations/480p/ (or Full-Resolution/, or Annotations/ itself)."""
    for resolution in ("480p", "Full-Resolution"):
        if (folder / resolution).is_dir():
            folder = folder / resolution
            break
    videos = [c for c in _children(folder) if c.is_dir()]
    if not videos:
        raise ValueError(f"{names(folder)}: expected one folder of PNG masks per video, found none")
    return [_read_davis(v, v.name, names) for v in videos]


def _read_sam2_png(folder: Path, name: str, names: _Names) -> VideoLabels:
    """One video from one folder of binary PNG masks per object (1/, 2/, ... or obj_1/, ...)."""
    size = _Size()
    objects: dict[int, tuple[str, str, dict[int, dict]]] = {}
    last = -1
    for child in _children(folder):
        if not child.is_dir():
            continue
        match = _OBJECT_FOLDER.fullmatch(child.name)
        if match is None:
            if any(_is_png(c) for c in _children(child)):
                raise ValueError(f"{names(child)}: expected an object id as the folder name (1, 2, ... or obj_1, ...)")
            continue
        oid = int(match.group(1))
        if oid > MAX_OBJECT_ID or oid in objects:
            raise ValueError(f"{names(child)}: object id {oid} is too large or has another folder too")
        masks: dict[int, dict] = {}
        files = _frame_files(child, names)
        for frame, path in files.items():
            mask = _png_pixels(path, names(path), size, "a binary (grayscale or palette)") != 0
            if mask.any():
                masks[frame] = mask_to_rle(mask)
        last = max(last, max(files))
        objects[oid] = (f"object {oid}", "object", masks)
    return _video(name, size, last + 1, objects)


# ---- JSON -----------------------------------------------------------------------------------

def _load_json(node: _Node, name: str) -> Any:
    if isinstance(node, Path) and node.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"{name}: larger than the 2 GB a label file may be")
    try:
        return json.loads(node.read_bytes())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}: expected JSON, but line {exc.lineno} column {exc.colno} is not "
                         f"({exc.msg})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{name}: expected JSON text in UTF-8") from None
    except RecursionError:
        raise ValueError(f"{name}: the JSON is nested too deeply to read") from None


_TYPES = {int: "a whole number", str: "a string", list: "a list", dict: "an object"}


def _get(item: Any, key: str, kind: type, where: str, field: str = "", optional: bool = False) -> Any:
    """item[key] checked to be of ``kind`` (None when optional and absent or null)."""
    name = f"{field}.{key}" if field else key
    if not isinstance(item, dict):
        raise ValueError(f"{where}: {field or 'the document'}: expected an object")
    value = item.get(key)
    if value is None:
        if optional:
            return None
        raise ValueError(f"{where}: {name}: missing")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{where}: {name}: expected {_TYPES[kind]}")
    return value


def _side(value: int, where: str, field: str) -> int:
    if not 1 <= value <= MAX_SIDE:
        raise ValueError(f"{where}: {field}: expected 1 to {MAX_SIDE} pixels, got {value}")
    return value


def _rle(value: Any, size: _Size, where: str, field: str) -> dict | None:
    """A checked COCO RLE as compressed RLE; None when the mask is empty. The size is compared
    with the video's before anything is decoded."""
    hw = value.get("size") if isinstance(value, dict) else None
    if (not isinstance(hw, list) or len(hw) != 2 or "counts" not in value
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in hw)):
        raise ValueError(f"{where}: {field}: expected a COCO RLE {{\"size\": [height, width], \"counts\": ...}}")
    _side(hw[0], where, f"{field}.size[0]")
    _side(hw[1], where, f"{field}.size[1]")
    size.check((hw[0], hw[1]), field, where)
    try:
        mask = rle_to_mask(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {field}: {exc}") from None
    return mask_to_rle(mask) if mask.any() else None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _polygons(value: list, hw: tuple[int, int], where: str, field: str) -> dict | None:
    """Polygons [[x0, y0, x1, y1, ...], ...] drawn by pycocotools once every coordinate is checked."""
    height, width = hw
    for j, poly in enumerate(value):
        if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
            raise ValueError(f"{where}: {field}[{j}]: expected a polygon [x0, y0, x1, y1, ...] of at least 3 points")
        if not all(_is_number(v) for v in poly):
            raise ValueError(f"{where}: {field}[{j}]: polygon coordinates must be finite numbers")
        # pycocotools turns coordinates into C integers: keep them near the image
        if any(not -width <= x <= 2 * width for x in poly[0::2]) or any(not -height <= y <= 2 * height
                                                                        for y in poly[1::2]):
            raise ValueError(f"{where}: {field}[{j}]: a polygon point lies far outside the {width}x{height} frame")
    if not value:
        return None
    rle = mask_utils.merge(mask_utils.frPyObjects([[float(v) for v in p] for p in value], height, width))
    if int(mask_utils.area(rle)) == 0:
        return None
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def _read_ytvis(doc: dict, where: str) -> list[VideoLabels]:
    """One VideoLabels per entry of ``videos``; ``segmentations`` are the visible masks."""
    categories: dict[int, str] = {}
    for i, cat in enumerate(_get(doc, "categories", list, where)):
        categories[_get(cat, "id", int, where, f"categories[{i}]")] = _get(cat, "name", str, where, f"categories[{i}]")
    videos: dict[int, tuple[VideoLabels, _Size, dict]] = {}
    for i, v in enumerate(_get(doc, "videos", list, where)):
        field = f"videos[{i}]"
        vid = _get(v, "id", int, where, field)
        if vid in videos:
            raise ValueError(f"{where}: {field}.id: video {vid} is listed twice")
        width = _side(_get(v, "width", int, where, field), where, f"{field}.width")
        height = _side(_get(v, "height", int, where, field), where, f"{field}.height")
        files = _get(v, "file_names", list, where, field, optional=True)
        length = _get(v, "length", int, where, field, optional=files is not None)
        length = len(files) if length is None else length
        if not 0 <= length <= MAX_FRAME + 1:
            raise ValueError(f"{where}: {field}.length: expected 0 to {MAX_FRAME + 1} frames, got {length}")
        name = _get(v, "name", str, where, field, optional=True)
        if name is None and files and isinstance(files[0], str) and "/" in files[0]:
            name = files[0].rsplit("/", 2)[-2]
        video = VideoLabels(name=name or f"video {vid}", width=width, height=height, num_frames=length)
        videos[vid] = (video, _Size((height, width), field), {})
    for i, ann in enumerate(_get(doc, "annotations", list, where)):
        field = f"annotations[{i}]"
        vid = _get(ann, "video_id", int, where, field)
        if vid not in videos:
            raise ValueError(f"{where}: {field}.video_id: video {vid} is not in videos")
        video, size, seen = videos[vid]
        cid = _get(ann, "category_id", int, where, field, optional=True)
        if cid is not None and cid not in categories:
            raise ValueError(f"{where}: {field}.category_id: category {cid} is not in categories")
        category = categories[cid] if cid is not None else "object"
        oid = _get(ann, "id", int, where, field, optional=True)
        oid = i + 1 if oid is None else oid
        if oid in seen:
            raise ValueError(f"{where}: {field}.id: object id {oid} is also used by {seen[oid]} in video {vid}")
        seen[oid] = field
        segmentations = _get(ann, "segmentations", list, where, field)
        if len(segmentations) != video.num_frames:
            raise ValueError(f"{where}: {field}.segmentations: {len(segmentations)} entries for the video's "
                             f"{video.num_frames} frames; expected one per frame (null where absent)")
        obj = ObjectLabels(id=oid, name=f"{category} {oid}", category=category)
        for f, seg in enumerate(segmentations):
            at = f"{field}.segmentations[{f}]"
            if seg is None:
                continue
            if isinstance(seg, list):
                rle = _polygons(seg, size.hw, where, at)
            elif isinstance(seg, dict):
                rle = _rle(seg, size, where, at)
            else:
                raise ValueError(f"{where}: {at}: expected an RLE object, a list of polygons or null")
            if rle is not None:
                obj.frames[f] = _import_label(rle)
        video.objects.append(obj)
    return [video for video, _, _ in videos.values()]


def _read_sam2_json(doc: dict, where: str, name: str) -> VideoLabels:
    """{"<frame>": {"<object id>": RLE}}, optionally as {"video": {...}, "masks": {...}}."""
    wrapped = "masks" in doc
    masks = _get(doc, "masks", dict, where) if wrapped else doc
    size = _Size()
    if wrapped and doc.get("video") is not None:
        video = _get(doc, "video", dict, where)
        width = _side(_get(video, "width", int, where, "video"), where, "video.width")
        height = _side(_get(video, "height", int, where, "video"), where, "video.height")
        size = _Size((height, width), "video")
        name = _get(video, "name", str, where, "video", optional=True) or name
    prefix = "masks" if wrapped else ""
    objects: dict[int, tuple[str, str, dict[int, dict]]] = {}
    last = -1
    for key, per_object in masks.items():
        if not _DIGITS.fullmatch(key) or int(key) > MAX_FRAME:
            raise ValueError(f"{where}: {prefix}[{key!r}]: expected a frame number (0 to {MAX_FRAME}) as the key")
        frame = int(key)
        last = max(last, frame)
        if per_object is None:
            continue
        if not isinstance(per_object, dict):
            raise ValueError(f"{where}: {prefix}[{key!r}]: expected an object of RLE masks by object id")
        for okey, value in per_object.items():
            at = f"{prefix}[{key!r}][{okey!r}]"
            if not _DIGITS.fullmatch(okey) or int(okey) > MAX_OBJECT_ID:
                raise ValueError(f"{where}: {at}: expected an object id (a whole number) as the key")
            oid = int(okey)
            masks_of = objects.setdefault(oid, (f"object {oid}", "object", {}))[2]
            if frame in masks_of:
                raise ValueError(f"{where}: {at}: object {oid} has two masks on frame {frame}")
            rle = None if value is None else _rle(value, size, where, at)
            if rle is not None:
                masks_of[frame] = rle
    if size.hw is None:
        raise ValueError(f"{where}: no masks, so the video's size is unknown; expected at least one RLE "
                         "or \"video\": {\"width\", \"height\"}")
    return _video(name, size, last + 1, objects)
