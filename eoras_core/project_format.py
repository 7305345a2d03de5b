"""Project folders on disk, read and checked: `project.json` and its mask files.

The studio writes projects (ui/projects.py); the command line exports them and other tools
read them, so the reader lives here, without the studio. Everything is checked before it is
used, with messages that name the file and the field (docs/PROJECT_FORMAT.md).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .export import rle_counts, rle_to_mask
from .labels import FrameLabel, ObjectLabels, VideoLabels
from .media import LoadCaps

FORMAT = "eoras-studio-project/1"
PROJECT_FILE = "project.json"
KINDS = ("visible", "amodal")


class ProjectError(ValueError):
    """A project folder that cannot be used as it is (the message names the file and the field)."""


def atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`:
    a reader (or a restart after a crash) sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def model_file(obj_id: int) -> str:
    return f"masks/model/{obj_id}.json"


def human_file(obj_id: int, source_frame: int) -> str:
    return f"masks/human/{obj_id}/{source_frame:06d}.json"


class _Check:
    """Field checks whose messages name the file and the field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field_name: str, expected: str) -> ProjectError:
        return ProjectError(f"{self.where}: {field_name} {expected}. The file was left as it is; move the "
                            "project folder aside (or fix the file) to open this clip.")

    def get(self, doc: Any, key: str, kind: type | tuple, path: str, optional: bool = False) -> Any:
        if not isinstance(doc, dict) or (key not in doc and not optional):
            raise self.fail(path or key, f"is missing ({key!r} expected)")
        value = doc.get(key)
        if value is None and optional:
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.fail(f"{path}.{key}" if path else key, f"must be {_type_name(kind)}")
        return value

    def frames(self, value: Any, path: str) -> list[int]:
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
            raise self.fail(path, "must be a list of frame numbers (whole numbers ≥ 0)")
        return value

    def box(self, value: Any, path: str) -> list[float]:
        if (not isinstance(value, list) or len(value) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in value)):
            raise self.fail(path, "must be 4 numbers [x0, y0, x1, y1]")
        return [float(v) for v in value]

    def boxes(self, value: Any, path: str) -> dict[int, list[float]]:
        if not isinstance(value, dict):
            raise self.fail(path, 'must map frame numbers to boxes, like {"12": [x0, y0, x1, y1]}')
        out = {}
        for k, b in value.items():
            if not (isinstance(k, str) and k.isdigit()):
                raise self.fail(f"{path}[{k!r}]", "must be keyed by a frame number")
            out[int(k)] = self.box(b, f"{path}[{k!r}]")
        return out

    def rle(self, value: Any, path: str, size: tuple[int, int]) -> dict:
        ok = isinstance(value, dict) and isinstance(value.get("counts"), (str, list)) and value.get("size") == list(size)
        if not ok:
            raise self.fail(path, f"must be a COCO RLE of the source size {size[1]}x{size[0]} "
                                  '({"size": [height, width], "counts": ...})')
        try:
            rle_counts(value)
        except ValueError as exc:
            raise self.fail(path, f"is not a usable COCO RLE ({exc})") from None
        return value


def _type_name(kind: type | tuple) -> str:
    names = {dict: "an object", list: "a list", str: "text", int: "a whole number", float: "a number", bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def read_json(path: Path, where: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise _Check(where).fail("the file", "is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _Check(where).fail(f"line {exc.lineno}, column {exc.colno}", f"is not valid JSON ({exc.msg})") from None


@dataclass
class ProjectObject:
    """One object of a project as saved: boxes and marks in source pixels and frames."""

    id: int
    name: str
    category: str
    color: str
    keyframes: dict[int, list[float]]
    given: dict[int, list[float]]
    hidden: set[int]
    out_of_view: set[int]
    reviewed: set[int]
    track_after_last: bool = True
    shown: bool = True
    gt_index: int | None = None
    human: dict[int, dict[str, dict]] = field(default_factory=dict)  # frame -> kind -> {rle, source, checkpoint, time}
    model: dict | None = None                                        # masks/model/<id>.json, checked
    up_to_date: bool = False

    @property
    def rgb(self) -> tuple[int, int, int]:
        return tuple(int(self.color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@dataclass
class SavedProject:
    """A project.json and its mask files, read and checked; nothing applied yet."""

    doc: dict
    objects: list[ProjectObject]

    @property
    def caps(self) -> LoadCaps:
        d = self.doc["decode"]
        return LoadCaps(start=d["start"], end=d["end"], stride=d["stride"], max_side=d["max_side"],
                        max_frames=d["max_frames"])

    @property
    def source_file(self) -> str:
        return self.doc["source"]["file"]


def read_project(folder: Path, sha256: str | None) -> SavedProject:
    """Read and check folder/project.json and its mask files; sha256: the file being opened
    (None: trust the folder's own record, for reopening from the recent list)."""
    path = folder / PROJECT_FILE
    where = f"{folder.name}/{PROJECT_FILE}"
    c = _Check(where)
    doc = read_json(path, where)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise c.fail("format", f'must be "{FORMAT}" (this is not an EoRaS Studio project of this version)')
    video = c.get(doc, "video", dict, "")
    saved_sha = c.get(video, "sha256", str, "video")
    if sha256 is not None and saved_sha != sha256:
        raise c.fail("video.sha256", f"is {saved_sha[:12]}…, but the file being opened is {sha256[:12]}…: "
                                     "this project belongs to another clip")
    width, height = c.get(video, "width", int, "video"), c.get(video, "height", int, "video")
    for key in ("num_frames",):
        c.get(video, key, int, "video")
    c.get(video, "fps", (int, float), "video")
    source = c.get(doc, "source", dict, "")
    file = c.get(source, "file", str, "source")
    if Path(file).is_absolute() or ".." in Path(file).parts:
        raise c.fail("source.file", "must be a path inside the project folder")
    decode = c.get(doc, "decode", dict, "")
    for key in ("start", "stride", "max_side", "max_frames"):
        c.get(decode, key, int, "decode")
    c.get(decode, "end", int, "decode", optional=True)
    c.frames(c.get(decode, "frames", list, "decode"), "decode.frames")
    c.get(doc, "next_id", int, "")
    size = (height, width)
    objects, seen = [], set()
    for n, item in enumerate(c.get(doc, "objects", list, "")):
        p = f"objects[{n}]"
        obj_id = c.get(item, "id", int, p)
        if obj_id in seen or obj_id < 1:
            raise c.fail(f"{p}.id", "must be a whole number ≥ 1, different for each object")
        seen.add(obj_id)
        colour = c.get(item, "color", str, p)
        if not (len(colour) == 7 and colour[0] == "#" and all(ch in "0123456789abcdefABCDEF" for ch in colour[1:])):
            raise c.fail(f"{p}.color", 'must be a colour like "#e6194b"')
        saved = ProjectObject(
            obj_id, c.get(item, "name", str, p), c.get(item, "category", str, p), colour,
            keyframes=c.boxes(c.get(item, "keyframes", dict, p), f"{p}.keyframes"),
            given=c.boxes(item.get("given_boxes") or {}, f"{p}.given_boxes"),
            track_after_last=bool(item.get("track_after_last", True)), shown=bool(item.get("shown", True)),
            gt_index=c.get(item, "ground_truth_index", int, p, optional=True),
            hidden=set(c.frames(c.get(item, "hidden", list, p), f"{p}.hidden")),
            out_of_view=set(c.frames(c.get(item, "out_of_view", list, p), f"{p}.out_of_view")),
            reviewed=set(c.frames(c.get(item, "reviewed", list, p), f"{p}.reviewed")))
        for frame in c.frames(item.get("human_masks") or [], f"{p}.human_masks"):
            saved.human[frame] = _read_human(folder, obj_id, frame, size)
        model = item.get("model_masks")
        if model is not None:
            saved.model = _read_model(folder, obj_id, size)
            saved.up_to_date = model.get("up_to_date") is True
        objects.append(saved)
    return SavedProject(doc, objects)


def _read_human(folder: Path, obj_id: int, frame: int, size: tuple[int, int]) -> dict[str, dict]:
    name = human_file(obj_id, frame)
    where = f"{folder.name}/{name}"
    path = folder / name
    if not path.is_file():
        raise _Check(f"{folder.name}/{PROJECT_FILE}").fail(f"the corrected masks of object {obj_id} on frame {frame}",
                                                           f"are listed but {name} is missing")
    doc, c = read_json(path, where), _Check(where)
    pair = {}
    for kind in KINDS:
        item = c.get(doc, kind, dict, "", optional=True)
        if item is None:
            continue
        rle = c.rle(item.get("rle"), f"{kind}.rle", size)
        source = c.get(item, "source", str, kind)
        checkpoint = c.get(item, "checkpoint", str, kind, optional=True)
        created = c.get(item, "time", (int, float), kind, optional=True) or 0.0
        pair[kind] = {"rle": rle, "source": source, "checkpoint": checkpoint, "time": float(created)}
    return pair


def _read_model(folder: Path, obj_id: int, size: tuple[int, int]) -> dict:
    name = model_file(obj_id)
    where = f"{folder.name}/{name}"
    path = folder / name
    if not path.is_file():
        raise _Check(f"{folder.name}/{PROJECT_FILE}").fail(f"the model masks of object {obj_id}",
                                                           f"are listed but {name} is missing")
    doc, c = read_json(path, where), _Check(where)
    frames = c.frames(c.get(doc, "frames", list, ""), "frames")
    boxes = [c.box(b, f"boxes[{i}]") for i, b in enumerate(c.get(doc, "boxes", list, ""))]
    masks = {k: c.get(doc, k, list, "") for k in ("amodal", "visible")}
    if not (len(boxes) == len(masks["amodal"]) == len(masks["visible"]) == len(frames)):
        raise c.fail("frames, boxes, amodal, visible", "must have one entry per frame")
    for k, rles in masks.items():
        for i, r in enumerate(rles):
            c.rle(r, f"{k}[{i}]", size)
    return doc


def labels_from_project(folder: str | Path) -> VideoLabels:
    """The effective labels of a project: a person's masks where there are some, else the
    model's; none on frames marked out of view; visible emptied on frames marked hidden;
    amodal ∪= visible."""
    folder = Path(folder)
    saved = read_project(folder, None)
    video = saved.doc["video"]
    out = VideoLabels(video["name"], video["width"], video["height"], video["num_frames"], float(video["fps"]),
                      video["sha256"], source=folder / saved.source_file,
                      decoded=list(saved.doc["decode"]["frames"]))
    empty = None
    for o in saved.objects:
        obj = ObjectLabels(o.id, o.name, o.category, o.color, keyframes=dict(o.keyframes), hidden=set(o.hidden),
                           out_of_view=set(o.out_of_view), reviewed=set(o.reviewed))
        model = o.model or {"frames": [], "amodal": [], "visible": [], "checkpoint": None, "time": None}
        made = {"source": "model", "checkpoint": model.get("checkpoint"), "time": model.get("time")}
        frames = {f: (a, v, dict(made), dict(made)) for f, a, v in zip(model["frames"], model["amodal"], model["visible"])}
        for f, pair in o.human.items():
            a, v, pa, pv = frames.get(f, (None, None, None, None))
            if "amodal" in pair:
                a, pa = pair["amodal"]["rle"], {k: pair["amodal"][k] for k in ("source", "checkpoint", "time")}
            if "visible" in pair:
                v, pv = pair["visible"]["rle"], {k: pair["visible"][k] for k in ("source", "checkpoint", "time")}
            frames[f] = (a, v, pa, pv)
        for f, (a, v, pa, pv) in sorted(frames.items()):
            if (a is None and v is None) or f in o.out_of_view:
                continue
            if empty is None:
                empty = np.zeros((video["height"], video["width"]), bool)
            amo = rle_to_mask(a) if a is not None else empty
            vis = empty if (v is None or f in o.hidden) else rle_to_mask(v)
            label = FrameLabel.from_masks(amo, vis, pa or pv)
            if pv is not None and pa is not None and pv != pa:
                label.visible_provenance = pv
            obj.frames[f] = label
        out.objects.append(obj)
    return out


# ---- writing a project from labels (imports) ---------------------------------------------------


def project_folder_name(name: str, sha256: str) -> str:
    """`<safe file stem>-<first 8 hex of the sha256>`: the folder the studio opens for that file."""
    import re

    stem = Path(name).stem
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', stem).strip('._-')[:48] or 'clip'}-{sha256[:8]}"


def write_project(labels: VideoLabels, folder: str | Path, source_file: str, base: dict | None = None) -> Path:
    """A project folder the studio opens with these labels kept as they are (each mask a kept
    revision with its provenance) and the boxes of their masks as the objects' tracks.

    source_file: the clip's copy, relative to the folder (already there). base: the folder's
    project.json when it has one (its objects, decode caps and model stay; new objects get
    ids after its). A new project decodes every frame at no more than 960 px.
    """
    folder = Path(folder)
    caps = LoadCaps(max_frames=max(1, labels.num_frames))
    longest = max(labels.width, labels.height)
    dec_w, dec_h = labels.width, labels.height
    if longest > caps.max_side:
        scale = caps.max_side / longest
        dec_w, dec_h = max(1, round(labels.width * scale)), max(1, round(labels.height * scale))
    frames = list(range(caps.start, labels.num_frames if caps.end is None else min(caps.end, labels.num_frames),
                        caps.stride))[:caps.max_frames]
    objects = list((base or {}).get("objects", []))
    taken = {o["id"] for o in objects}
    palette = ["#e6194b", "#3cb44b", "#ffe119", "#0082c8", "#f58230", "#911eb4", "#46f0f0", "#f032e6"]
    from .boxes import box_of_mask

    for obj in labels.objects:
        obj_id = obj.id if obj.id not in taken and obj.id >= 1 else max(taken | {0}) + 1
        taken.add(obj_id)
        given: dict[str, list[float]] = {}
        model: dict = {}
        for f, label in sorted(obj.frames.items()):
            amodal, visible = label.masks()
            box = box_of_mask(amodal)
            if box is not None:
                given[str(f)] = [float(v) for v in box]
            kept = [("visible", label.visible, label.visible_source)]
            if label.visible_provenance is None or label.provenance.get("source") != "model":
                kept.append(("amodal", label.amodal, label.provenance))
            else:  # a model's amodal completion of imported visible masks: the model's, re-runnable
                model.setdefault("frames", []).append(f)
                model.setdefault("boxes", []).append(given.get(str(f), [0.0, 0.0, 1.0, 1.0]))
                model.setdefault("amodal", []).append(label.amodal)
                model.setdefault("visible", []).append(label.visible)
                model.update(checkpoint=label.provenance.get("checkpoint"), time=label.provenance.get("time"))
            pair = {kind: {"rle": rle, "source": prov.get("source") or "import", "checkpoint": prov.get("checkpoint"),
                           "time": prov.get("time") or 0.0} for kind, rle, prov in kept}
            path = folder / human_file(obj_id, f)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps({"frame": f, **pair}, separators=(",", ":")))
        if model:
            path = folder / model_file(obj_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps({"object": obj_id, **model}, separators=(",", ":")))
        objects.append({
            "id": obj_id, "name": obj.name, "category": obj.category or "object",
            "color": obj.color or palette[(obj_id - 1) % len(palette)],
            "keyframes": {str(f): [float(v) for v in b] for f, b in sorted(obj.keyframes.items())},
            "hidden": sorted(obj.hidden), "out_of_view": sorted(obj.out_of_view), "reviewed": sorted(obj.reviewed),
            "track_after_last": False, "shown": True, "given_boxes": given, "ground_truth_index": None,
            "human_masks": sorted(obj.frames),
            "model_masks": {"file": model_file(obj_id), "up_to_date": False, "checkpoint": model.get("checkpoint"),
                            "time": model.get("time")} if model else None})
    doc = {"format": FORMAT,
           "video": {"name": labels.name, "sha256": labels.sha256, "width": labels.width, "height": labels.height,
                     "num_frames": labels.num_frames, "fps": float(labels.fps or 24.0)},
           "source": {"file": source_file},
           "decode": {"start": caps.start, "end": caps.end, "stride": caps.stride, "max_side": caps.max_side,
                      "max_frames": caps.max_frames, "width": dec_w, "height": dec_h, "frames": frames},
           "model": None, "selected": objects[0]["id"] if objects else None,
           "next_id": max([(base or {}).get("next_id", 1), *(o["id"] + 1 for o in objects)]), "objects": objects}
    if base is not None:
        doc.update(video=base["video"], source=base["source"], decode=base["decode"], model=base.get("model"),
                   selected=base.get("selected", doc["selected"]))
    atomic_write(folder / PROJECT_FILE, json.dumps(doc, indent=1))
    return folder
