"""project.json and its mask files: a session's labels in the source video's pixels and frames.

The studio works on a decoded copy (maybe downscaled, maybe every n-th frame); a project
keeps everything in the source's coordinates, so other tools read it without knowing the
decode caps. docs/PROJECT_FORMAT.md describes every field. Reading validates everything
before anything changes, so a damaged or foreign project is refused and left as it is.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eoras_core.boxes import box_of_mask
from eoras_core.export import mask_to_rle, rle_counts, rle_to_mask
from eoras_core.media import LoadCaps
from eoras_core.resample import resize_mask, scale_box

from .actions import UserError
from .annotations import Revision
from .objects import LabelledObject
from .painting import consistent
from .scene_loading import SourceVideo
from .session import Session
from .stored_track import StoredTrack

FORMAT = "eoras-studio-project/1"
PROJECT_FILE = "project.json"
KINDS = ("visible", "amodal")


class ProjectError(UserError):
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


@dataclass(frozen=True)
class SourceMap:
    """Decoded frames and pixels <-> the source's frame numbers and pixels."""

    decoded: tuple[int, int]      # (H, W) the studio works at
    source: SourceVideo

    @property
    def sx(self) -> float:
        return self.source.width / self.decoded[1]

    @property
    def sy(self) -> float:
        return self.source.height / self.decoded[0]

    def frame_out(self, i: int) -> int:
        return int(self.source.frames[i])

    def frames_in(self) -> dict[int, int]:
        """source frame number -> kept frame index."""
        return {int(f): i for i, f in enumerate(self.source.frames)}

    def box_out(self, box) -> list[float]:
        return [round(v, 3) for v in scale_box(box, self.sx, self.sy)]

    def box_in(self, box) -> tuple[float, float, float, float]:
        return scale_box(box, 1 / self.sx, 1 / self.sy)

    def mask_out(self, mask: np.ndarray) -> dict:
        return mask_to_rle(resize_mask(mask, (self.source.height, self.source.width)))

    def mask_in(self, rle: dict) -> np.ndarray:
        return resize_mask(rle_to_mask(rle), self.decoded)


# ---- writing -------------------------------------------------------------------------------


def _frames_out(m: SourceMap, frames) -> list[int]:
    return sorted(m.frame_out(f) for f in frames if 0 <= f < len(m.source.frames))


def _boxes_out(m: SourceMap, boxes: dict) -> dict[str, list[float]]:
    return {str(m.frame_out(f)): m.box_out(b) for f, b in sorted(boxes.items()) if 0 <= f < len(m.source.frames)}


def project_doc(s: Session, m: SourceMap, sha256: str, source_file: str) -> dict:
    """project.json of a session (see docs/PROJECT_FORMAT.md)."""
    src, caps = m.source, m.source.caps
    human = {}
    for (obj_id, frame, _kind) in s.edits.newest_all():
        human.setdefault(obj_id, set()).add(frame)
    objects = []
    for obj_id, obj in s.objects.items():
        res = s.results.get(obj_id)
        model = None
        if res is not None:
            model = {"file": model_file(obj_id), "up_to_date": s.result_sig.get(obj_id) == s.signature(obj_id),
                     "checkpoint": result_checkpoint(s, obj_id), "time": s.result_time.get(obj_id)}
        objects.append({
            "id": obj_id, "name": obj.name, "category": obj.category, "color": "#%02x%02x%02x" % obj.colour,
            "keyframes": _boxes_out(m, obj.keyframes), "hidden": _frames_out(m, obj.hidden),
            "out_of_view": _frames_out(m, obj.out_of_view), "reviewed": _frames_out(m, obj.reviewed),
            "track_after_last": obj.track_after_last, "shown": obj.shown,
            "given_boxes": _boxes_out(m, obj.given), "ground_truth_index": obj.gt_index,
            "human_masks": _frames_out(m, human.get(obj_id, ())), "model_masks": model,
        })
    return {
        "format": FORMAT,
        "video": {"name": s.clip_name, "sha256": sha256, "width": src.width, "height": src.height,
                  "num_frames": src.num_frames, "fps": src.fps},
        "source": {"file": source_file},
        "decode": {"start": caps.start, "end": caps.end, "stride": caps.stride, "max_side": caps.max_side,
                   "max_frames": caps.max_frames, "width": m.decoded[1], "height": m.decoded[0],
                   "frames": [int(f) for f in src.frames]},
        "model": s.model_name or None,
        "selected": s.selected,
        "next_id": s.next_id,
        "objects": objects,
    }


def result_checkpoint(s: Session, obj_id: int) -> str | None:
    """The checkpoint an object's clip result came from (a reopened one keeps its own)."""
    return getattr(s.results[obj_id], "checkpoint", None) or s.model_name or None


def model_file(obj_id: int) -> str:
    return f"masks/model/{obj_id}.json"


def human_file(obj_id: int, source_frame: int) -> str:
    return f"masks/human/{obj_id}/{source_frame:06d}.json"


def _revision_doc(m: SourceMap, rev: Revision) -> dict:
    return {"rle": m.mask_out(rle_to_mask(rev.rle)), "source": rev.source, "checkpoint": rev.checkpoint,
            "time": rev.created}


def human_doc(m: SourceMap, frame: int, pair: dict[str, Revision]) -> dict:
    """One frame's hand-kept masks of one object: {"frame", "visible"?, "amodal"?}."""
    return {"frame": m.frame_out(frame), **{k: _revision_doc(m, r) for k, r in pair.items()}}


def model_doc(m: SourceMap, s: Session, obj_id: int) -> dict:
    """What the model showed for one object, kept as amodal ∪= visible, at the source size."""
    res = s.results[obj_id]
    frames, boxes, amodal, visible = [], [], [], []
    for i, f in enumerate(res.frames):
        vis, amo = consistent(res.visible_mask(int(f)), res.amodal_mask(int(f)))
        frames.append(m.frame_out(int(f)))
        boxes.append(m.box_out(res.boxes[i]))
        amodal.append(m.mask_out(amo))
        visible.append(m.mask_out(vis))
    return {"object": obj_id, "checkpoint": result_checkpoint(s, obj_id), "time": s.result_time.get(obj_id),
            "frames": frames, "boxes": boxes, "amodal": amodal, "visible": visible}


# ---- reading -------------------------------------------------------------------------------


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
class SavedObject:
    obj: LabelledObject
    human: dict[int, dict[str, Revision]] = field(default_factory=dict)   # source frame -> kind -> revision
    model: dict | None = None                                               # model_doc() read back
    up_to_date: bool = False


@dataclass
class SavedProject:
    """A project.json and its mask files, read and checked; nothing applied yet."""

    doc: dict
    objects: list[SavedObject]

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
        try:
            rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5)) if len(colour) == 7 and colour[0] == "#" else None
        except ValueError:
            rgb = None
        if rgb is None:
            raise c.fail(f"{p}.color", 'must be a colour like "#e6194b"')
        obj = LabelledObject(
            obj_id, c.get(item, "name", str, p), c.get(item, "category", str, p), rgb,
            keyframes=c.boxes(c.get(item, "keyframes", dict, p), f"{p}.keyframes"),
            given=c.boxes(item.get("given_boxes") or {}, f"{p}.given_boxes"),
            track_after_last=bool(item.get("track_after_last", True)), shown=bool(item.get("shown", True)),
            from_ground_truth=item.get("ground_truth_index") is not None,
            gt_index=c.get(item, "ground_truth_index", int, p, optional=True),
            hidden=set(c.frames(c.get(item, "hidden", list, p), f"{p}.hidden")),
            out_of_view=set(c.frames(c.get(item, "out_of_view", list, p), f"{p}.out_of_view")),
            reviewed=set(c.frames(c.get(item, "reviewed", list, p), f"{p}.reviewed")))
        saved = SavedObject(obj)
        for frame in c.frames(item.get("human_masks") or [], f"{p}.human_masks"):
            saved.human[frame] = _read_human(folder, obj_id, frame, size)
        model = item.get("model_masks")
        if model is not None:
            saved.model = _read_model(folder, obj_id, size)
            saved.up_to_date = model.get("up_to_date") is True
        objects.append(saved)
    return SavedProject(doc, objects)


def _read_human(folder: Path, obj_id: int, frame: int, size: tuple[int, int]) -> dict[str, Revision]:
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
        pair[kind] = Revision(rle, source, float(created), checkpoint)
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


# ---- applying ------------------------------------------------------------------------------


def restore(s: Session, saved: SavedProject, m: SourceMap) -> None:
    """Put a read project into a session whose clip was just opened (replacing its objects)."""
    kept = m.frames_in()

    def frames_in(frames) -> set[int]:
        return {kept[f] for f in frames if f in kept}

    def boxes_in(boxes: dict) -> dict:
        return {kept[f]: m.box_in(b) for f, b in boxes.items() if f in kept}

    s.objects.clear()
    for saved_obj in saved.objects:
        o = saved_obj.obj
        o.keyframes, o.given = boxes_in(o.keyframes), boxes_in(o.given)
        o.hidden, o.out_of_view, o.reviewed = frames_in(o.hidden), frames_in(o.out_of_view), frames_in(o.reviewed)
        s.objects[o.obj_id] = o
        for frame, pair in saved_obj.human.items():
            if frame in kept:
                for kind, rev in pair.items():
                    mask = m.mask_in(rev.rle)
                    tight = box_of_mask(mask)
                    s.edits.put(o.obj_id, kept[frame], kind, Revision(
                        mask_to_rle(mask), rev.source, rev.created, rev.checkpoint,
                        None if tight is None else tuple(float(v) for v in tight)))
    for obj_id in s.objects:
        s.boxes_changed(obj_id)
    for saved_obj in saved.objects:
        doc, obj_id = saved_obj.model, saved_obj.obj.obj_id
        if doc is None:
            continue
        rows = [i for i, f in enumerate(doc["frames"]) if f in kept]
        s.results[obj_id] = StoredTrack(obj_id, s.size, np.array([kept[doc["frames"][i]] for i in rows], np.int64),
                                        np.array([m.box_in(doc["boxes"][i]) for i in rows]).reshape(-1, 4),
                                        [doc["amodal"][i] for i in rows], [doc["visible"][i] for i in rows])
        s.results[obj_id].checkpoint = doc.get("checkpoint")
        s.result_time[obj_id] = doc.get("time") or 0.0
        if saved_obj.up_to_date:
            s.result_sig[obj_id] = s.signature(obj_id)
    ids = [o.obj.obj_id for o in saved.objects]
    s.next_id = max([saved.doc["next_id"], *(i + 1 for i in ids)])
    selected = saved.doc.get("selected")
    s.selected = selected if selected in s.objects else next(iter(s.objects), None)
    s.changed()

