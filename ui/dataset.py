"""A split opened for error analysis: its object table, and one object's track from the cache.

Why here and not in a panel: opening a dataset, making the predictions it lacks and turning a
table row into an opened clip are plain functions of paths and a session, tested without a
browser. Only the table's columns live in memory; an object's masks are read from its
video's cache file when that object is opened, and decoded frame by frame as shown.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from eoras_core.data.movi import DatasetError, MoviSplit
from eoras_core.engine import EorasPredictor
from eoras_core.error_plots import PlotData, plot_data
from eoras_core.media import LoadCaps
from eoras_core.predictions import MANIFEST, predict_split, read_video, write_manifest
from eoras_core.report import object_rows, with_compare
from eoras_core.resample import resize_mask

from .compositing import FN_COLOUR, FP_COLOUR
from .dataset_table import ObjectTable
from .scene_loading import OpenedClip, open_movi_scene
from .session import Session
from .stored_track import StoredTrack

ERROR_LAYER = "error vs GT"
TP_COLOUR = (60, 200, 80)   # amodal pixels the model got right (the error layer leaves them clear)


@dataclass(frozen=True)
class Dataset:
    """A prediction cache (A), optionally a second one (B) of the same split, and the split.

    rows[i] is object i's row (report.object_rows, with B's columns when comparing); table
    holds the same values as columns for filtering.
    """

    data: Path | None
    cache: Path
    compare: Path | None
    rows: list[dict]
    table: ObjectTable
    plots: PlotData
    model: str
    model_b: str | None = None

    @property
    def name(self) -> str:
        return self.data.name if self.data is not None else self.cache.name


def _check_cache(cache: Path, what: str) -> dict:
    manifest = cache / MANIFEST
    if not manifest.is_file():
        raise DatasetError(f"{what} {cache}: no {MANIFEST} there, so it is not a prediction cache. Make one with "
                           "`python -m eoras_core predict --data SPLIT --out CACHE`, or leave the cache empty to "
                           "have the studio make it.")
    try:
        doc = json.loads(manifest.read_text())
    except (OSError, ValueError):
        raise DatasetError(f"{what} {manifest}: not readable as JSON; make the cache again.") from None
    if not doc.get("complete", False):
        raise DatasetError(f"{what} {cache}: the predictions are unfinished; run `python -m eoras_core predict` "
                           "with the same --out again to complete them.")
    return doc


def open_dataset(cache: str | Path, data: str | Path | None = None, compare: str | Path | None = None) -> Dataset:
    """Read a cache's table (and B's, to compare); the split defaults to where A was made from."""
    cache = Path(cache).expanduser()
    doc = _check_cache(cache, "cache")
    split = Path(data).expanduser() if data else Path(doc.get("data", ""))
    rows = object_rows(cache)
    model_b = None
    if compare:
        compare = Path(compare).expanduser()
        doc_b = _check_cache(compare, "compare cache")
        if doc_b.get("videos") != doc.get("videos"):
            raise DatasetError(f"compare cache {compare}: it holds other videos than {cache}; compare two "
                               "checkpoints on the same split.")
        other = object_rows(compare)
        rows, model_b = with_compare(rows, other), doc_b["model"]
    if not rows:
        raise DatasetError(f"cache {cache}: it holds no objects.")
    return Dataset(split if split.is_dir() else None, cache, Path(compare) if compare else None, rows,
                   ObjectTable.from_rows(rows), plot_data(rows), doc["model"], model_b)


def default_cache(root: Path, data: Path, model_name: str) -> Path:
    """Where the studio keeps the predictions it makes: one folder per (split, model)."""
    key = hashlib.sha1(f"{data.resolve()}|{model_name}".encode()).hexdigest()[:10]
    return root / "predictions" / f"{data.resolve().name}-{key}"


def make_cache(model, data: str | Path, cache: Path, model_name: str,
               progress: Callable[[int, int], None] | None = None) -> Path:
    """Predict every video of the split that the cache lacks (resumable), then its manifest."""
    data = Path(data).expanduser()
    try:
        MoviSplit(data)
    except DatasetError as exc:
        raise DatasetError(f"split {data}: {exc}") from None
    predict_split(EorasPredictor(model), data, cache, model_name, progress=progress is None, on_video=progress)
    write_manifest(cache, data, model_name)
    return cache


@dataclass
class OpenTrack:
    """The dataset object open in the viewer: where it is in the table and in the session."""

    row: int
    video: str
    obj: int          # the object's index in its video (ground-truth index)
    obj_id: int       # its id in the session
    b: StoredTrack | None = None   # B's masks, when comparing


def _stored(record: dict, obj_id: int, size: tuple[int, int], boxes: dict[int, tuple]) -> StoredTrack:
    frames = [f for f in record["frames"] if f in boxes]
    keep = [record["frames"].index(f) for f in frames]
    return StoredTrack(obj_id, size, np.array(frames, np.int64),
                       np.array([boxes[f] for f in frames], np.float64).reshape(-1, 4),
                       [record["amodal"][i] for i in keep], [record["visible"][i] for i in keep])


def open_video(ds: Dataset, row: int) -> OpenedClip:
    """Decode the row's video with its ground truth (before any session lock is taken)."""
    if ds.data is None:
        raise DatasetError(f"The split of {ds.cache} is not on this machine, so its frames cannot be shown; "
                           "open the dataset with its split folder.")
    video = ds.rows[row]["video"]
    return open_movi_scene(ds.data / video, LoadCaps(max_frames=10_000))


def install_track(s: Session, ds: Dataset, row: int, opened: OpenedClip) -> OpenTrack:
    """After open_clip: the cache's masks as every object's model result, the row's object
    selected and shown alone with the error layer on. Returns what the compare view needs."""
    r = ds.rows[row]
    by_gt = {o.gt_index: i for i, o in s.objects.items()}
    if r["object"] not in by_gt:
        raise DatasetError(f"{r['video']} object {r['object']}: the scene has no ground truth for it.")
    records = {rec["object"]: rec for rec in read_video(ds.cache, r["video"])["objects"]}
    for gt_index, obj_id in by_gt.items():
        if gt_index in records:
            s.results[obj_id] = _stored(records[gt_index], obj_id, s.size, opened.boxes.get(gt_index, {}))
            s.results[obj_id].checkpoint = ds.model
            s.result_sig[obj_id] = s.signature(obj_id)
    b = None
    if ds.compare is not None:
        other = {rec["object"]: rec for rec in read_video(ds.compare, r["video"])["objects"]}
        if r["object"] in other:
            b = _stored(other[r["object"]], by_gt[r["object"]], s.size, opened.boxes.get(r["object"], {}))
    obj_id = by_gt[r["object"]]
    s.selected = obj_id
    s.view.hidden = frozenset(i for i in s.objects if i != obj_id)
    if ERROR_LAYER not in s.view.layers:
        s.view.layers = (*s.view.layers, ERROR_LAYER)
    s.changed()
    return OpenTrack(row, r["video"], r["object"], obj_id, b)


def worst_frame(ds: Dataset, row: int, s: Session) -> int:
    """The kept-frame index of the row's worst frame (source frame numbers map through the clip)."""
    f = ds.rows[row]["worst_frame"]
    frames = list(s.source.frames) if s.source is not None else []
    return frames.index(f) if f in frames else 0


def _error_panel(rgb: np.ndarray, truth: np.ndarray, pred: np.ndarray, title: str) -> np.ndarray:
    out = rgb.astype(np.float32)
    for mask, colour in ((pred & truth, TP_COLOUR), (truth & ~pred, FN_COLOUR), (pred & ~truth, FP_COLOUR)):
        out[mask] = 0.45 * out[mask] + 0.55 * np.asarray(colour, np.float32)
    out = out.astype(np.uint8)
    union = (pred | truth).sum()
    iou = (pred & truth).sum() / union if union else float("nan")
    text = f"{title}  IoU {iou:.3f}" if union else f"{title}  (no object here)"
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def compare_image(s: Session, track: OpenTrack, frame: int) -> np.ndarray | None:
    """A and B's amodal masks against the truth on one frame, side by side (green right,
    red missed, blue extra); None without B or ground truth."""
    if track.b is None or s.gt is None or s.clip is None or track.obj_id not in s.results:
        return None
    frame = int(np.clip(frame, 0, s.num_frames - 1))
    rgb = np.asarray(s.clip[frame])
    if rgb.shape[0] < 200:                             # small scenes are drawn larger, so the text reads
        scale = int(np.ceil(200 / rgb.shape[0]))
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    size = rgb.shape[:2]
    truth = _resize(s.gt.amodal[track.obj, frame], size)
    a = s.results[track.obj_id].masks_at(frame, size)[0]
    b = track.b.masks_at(frame, size)[0]
    gap = np.full((size[0], 6, 3), 255, np.uint8)
    return np.concatenate([_error_panel(rgb, truth, a, "A"), gap, _error_panel(rgb, truth, b, "B")], 1)


def _resize(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return mask if mask.shape == size else resize_mask(mask, size)
