"""The amodal video JSON: the lossless primary format, shaped like YouTube-VIS.

Video instance-segmentation loaders read YouTube-VIS, so the amodal mask sits in the
standard `segmentations` field; the visible mask, occlusion rates, provenance and the marks
people made are extra per-frame fields those loaders ignore. Every source frame is listed
(null where nothing is known), masks are at the source resolution, and reading a document
back gives the same labels exactly. docs/EXPORT_SCHEMA.md describes every field.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from ..export import mask_to_rle, rle_counts, rle_to_mask
from ..labels import DEFAULT_CATEGORY, FrameLabel, ObjectLabels, VideoLabels, category_names

SCHEMA_VERSION = "eoras-amodal-vis/2.0"
SCHEMA_NAME = SCHEMA_VERSION.split("/")[0]


def _box(rle: dict) -> tuple[list[float], int]:
    coded = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
    return [float(v) for v in mask_utils.toBbox(coded)], int(mask_utils.area(coded))


def amodal_video_document(videos: Sequence[VideoLabels], categories: Sequence[str] | None = None,
                          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One document for one or many videos (see docs/EXPORT_SCHEMA.md); `extra` adds `info` fields."""
    names = category_names(videos, categories)
    cat_ids = {n: i + 1 for i, n in enumerate(names)}
    out_videos, annotations = [], []
    for vid, video in enumerate(videos, start=1):
        video.check()
        stem = video.name.rsplit(".", 1)[0] if "." in video.name else video.name
        entry: dict[str, Any] = {"id": vid, "name": video.name, "width": video.width, "height": video.height,
                                 "length": video.num_frames, "sha256": video.sha256,
                                 "file_names": [f"{stem}/{i:05d}.jpg" for i in range(video.num_frames)]}
        if video.fps is not None:
            entry["fps"] = float(video.fps)
        if video.decoded is not None:
            entry["decoded_frames"] = [int(f) for f in video.decoded]
        out_videos.append(entry)
        for obj in video.objects:
            annotations.append(_annotation(len(annotations) + 1, vid, video, obj, cat_ids[obj.category or DEFAULT_CATEGORY]))
    info = {**(extra or {}), "schema_version": SCHEMA_VERSION, "mask_scale": 1.0,
            "description": "EoRaS Studio amodal video labels (YouTube-VIS layout; amodal masks in 'segmentations', "
                           "at the source resolution)"}
    if len(videos) == 1:
        info["source_sha256"] = videos[0].sha256
        info["source"] = videos[0].name
    return {"info": info, "videos": out_videos,
            "categories": [{"id": i, "name": n, "supercategory": n} for n, i in cat_ids.items()],
            "annotations": annotations}


def _annotation(ann_id: int, video_id: int, video: VideoLabels, obj: ObjectLabels, category_id: int) -> dict[str, Any]:
    T = video.num_frames
    ann: dict[str, Any] = {
        "id": ann_id, "video_id": video_id, "track_id": int(obj.id), "category_id": category_id, "name": obj.name,
        "color": obj.color, "iscrowd": 0, "height": video.height, "width": video.width, "length": 1,
        "keyframes": {str(f): [float(v) for v in b] for f, b in sorted(obj.keyframes.items())},
        "segmentations": [None] * T, "bboxes": [None] * T, "areas": [None] * T,
        "visible_segmentations": [None] * T, "visible_bboxes": [None] * T, "visible_areas": [None] * T,
        "occlusion_rates": [None] * T, "provenance": [None] * T, "visible_provenance": [None] * T,
        "reviewed": [f in obj.reviewed for f in range(T)], "hidden": [f in obj.hidden for f in range(T)],
        "out_of_view": [f in obj.out_of_view for f in range(T)]}
    for f, label in sorted(obj.frames.items()):
        amodal, visible = label.masks()
        if not amodal.any():
            continue
        inside = visible & amodal  # exact visible ⊆ amodal, whatever the source
        vis_rle = label.visible if np.array_equal(inside, visible) else mask_to_rle(inside)
        box, area = _box(label.amodal)
        seen = int(np.count_nonzero(inside))
        vis_box, vis_area = _box(vis_rle)
        ann["segmentations"][f], ann["bboxes"][f], ann["areas"][f] = label.amodal, box, area
        ann["visible_segmentations"][f], ann["visible_areas"][f] = vis_rle, vis_area
        ann["visible_bboxes"][f] = vis_box if vis_area else [0.0, 0.0, 0.0, 0.0]
        ann["occlusion_rates"][f] = 1.0 - seen / area
        ann["provenance"][f] = dict(label.provenance)
        ann["visible_provenance"][f] = dict(label.visible_source)
    return ann


# ---- reading -------------------------------------------------------------------------------


class _Reader:
    """Checks with messages that name the file and the field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, expected: str) -> ValueError:
        return ValueError(f"{self.where}: {field} {expected}")

    def get(self, doc: Any, key: str, kind: type | tuple, path: str) -> Any:
        if not isinstance(doc, dict) or key not in doc:
            raise self.fail(f"{path}.{key}" if path else key, "is missing")
        value = doc[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.fail(f"{path}.{key}" if path else key, f"has the wrong type ({type(value).__name__})")
        return value

    def rle(self, value: Any, path: str, size: tuple[int, int]) -> dict:
        if not isinstance(value, dict) or list(value.get("size") or []) != [size[0], size[1]]:
            raise self.fail(path, f"must be a COCO RLE of the video's size {size[1]}x{size[0]}")
        try:
            rle_counts(value)
        except ValueError as exc:
            raise self.fail(path, f"is not a usable COCO RLE ({exc})") from None
        if not isinstance(value["counts"], str):
            value = {"size": value["size"], "counts": _compressed(value)}
        return value

    def frame_list(self, ann: dict, key: str, path: str, T: int, optional: bool = False) -> list:
        if optional and key not in ann:
            return [None] * T
        value = self.get(ann, key, list, path)
        if len(value) != T:
            raise self.fail(f"{path}.{key}", f"has {len(value)} entries for the video's {T} frames")
        return value


def _compressed(rle: dict) -> str:
    return mask_to_rle(rle_to_mask(rle))["counts"]


def labels_from_amodal_json(doc: Any, where: str = "annotations.json") -> list[VideoLabels]:
    """The labels of every video in a document written by amodal_video_document (or a v1 one).

    Everything is checked before anything is returned; ValueError names the file and field.
    """
    r = _Reader(where)
    info = r.get(doc, "info", dict, "")
    version = str(info.get("schema_version", ""))
    if not version.startswith(SCHEMA_NAME + "/"):
        raise r.fail("info.schema_version", f"must be {SCHEMA_VERSION!r} (this is not an EoRaS amodal video JSON; "
                                            "plain YouTube-VIS files import as visible-only labels)")
    cats = {c.get("id"): str(c.get("name")) for c in r.get(doc, "categories", list, "") if isinstance(c, dict)}
    videos: dict[int, VideoLabels] = {}
    for n, v in enumerate(r.get(doc, "videos", list, "")):
        p = f"videos[{n}]"
        vid = r.get(v, "id", int, p)
        width, height, length = (r.get(v, k, int, p) for k in ("width", "height", "length"))
        if width < 1 or height < 1 or length < 0 or width * height > 1 << 28:
            raise r.fail(p, f"has an impossible size {width}x{height} x {length} frames")
        videos[vid] = VideoLabels(str(v.get("name") or f"video {vid}"), width, height, length,
                                  v.get("fps") if isinstance(v.get("fps"), (int, float)) else None,
                                  v.get("sha256") if isinstance(v.get("sha256"), str) else info.get("source_sha256"),
                                  decoded=v.get("decoded_frames") if isinstance(v.get("decoded_frames"), list) else None)
    for n, ann in enumerate(r.get(doc, "annotations", list, "")):
        p = f"annotations[{n}]"
        vid = r.get(ann, "video_id", int, p)
        if vid not in videos:
            raise r.fail(f"{p}.video_id", f"refers to video {vid}, which is not in 'videos'")
        video = videos[vid]
        T, size = video.num_frames, video.size
        amodal = r.frame_list(ann, "segmentations", p, T)
        visible = r.frame_list(ann, "visible_segmentations", p, T, optional=True)
        provenance = r.frame_list(ann, "provenance", p, T, optional=True)
        vis_provenance = r.frame_list(ann, "visible_provenance", p, T, optional=True)
        marks = {k: r.frame_list(ann, k, p, T, optional=True) for k in ("reviewed", "hidden", "out_of_view")}
        obj = ObjectLabels(int(ann.get("track_id", ann.get("id", n + 1))), str(ann.get("name") or f"object {n + 1}"),
                           cats.get(ann.get("category_id"), DEFAULT_CATEGORY),
                           ann.get("color") if isinstance(ann.get("color"), str) else None)
        for key, frames in marks.items():
            getattr(obj, key).update(f for f, on in enumerate(frames) if on is True)
        for f, box in (ann.get("keyframes") or {}).items():
            if not (isinstance(f, str) and f.isdigit() and isinstance(box, list) and len(box) == 4):
                raise r.fail(f"{p}.keyframes[{f!r}]", "must be a frame number and 4 numbers")
            obj.keyframes[int(f)] = [float(x) for x in box]
        for f in range(T):
            if amodal[f] is None:
                continue
            a = r.rle(amodal[f], f"{p}.segmentations[{f}]", size)
            v = (r.rle(visible[f], f"{p}.visible_segmentations[{f}]", size) if visible[f] is not None
                 else mask_to_rle(np.zeros(size, bool)))
            prov = provenance[f] if isinstance(provenance[f], dict) else {"source": "import", "checkpoint": None, "time": None}
            vis_prov = vis_provenance[f] if isinstance(vis_provenance[f], dict) and vis_provenance[f] != prov else None
            obj.frames[f] = FrameLabel(a, v, prov, vis_prov)
        if any(o.id == obj.id for o in video.objects):
            raise r.fail(f"{p}.track_id", f"{obj.id} appears twice in video {vid}")
        video.objects.append(obj)
    return list(videos.values())
