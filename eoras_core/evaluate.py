"""Evaluation over a MOVi-layout split: official and clean mIoU, per object, plus baselines.

The official numbers reproduce the paper's metric (float32 quirks included); the clean
ones are what to judge models by (see metrics.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
from tqdm import tqdm

from .data.movi import DatasetError, MoviSplit
from .engine import EorasPredictor
from .metrics import CleanAccumulator, OfficialAccumulator, convex_hull_masks, summarise

BASELINES = ("visible", "convex_hull")


@dataclass
class _Scores:
    official: OfficialAccumulator
    clean: CleanAccumulator

    @classmethod
    def new(cls) -> "_Scores":
        return cls(OfficialAccumulator(), CleanAccumulator())

    def add(self, pred: np.ndarray, full: np.ndarray, vis: np.ndarray) -> tuple[dict, dict]:
        """Add one clip; returns its per-frame (official, clean) statistics."""
        return self.official.add(pred, full, vis), self.clean.add(pred, full, vis)

    def report(self) -> dict[str, Any]:
        return summarise(self.official, self.clean).as_dict()

    def merge(self, other: "_Scores") -> None:
        self.official.merge(other.official)
        self.clean.merge(other.clean)


def _group_by_video(tracks: Iterable[tuple[str, int]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for video, obj in tracks:
        out.setdefault(video, []).append(obj)
    return out


@dataclass
class ObjectRun:
    """One object's model masks (T,H,W) bool on its ground-truth frames, with that truth."""

    video: str
    obj: int
    frames: np.ndarray
    amodal: np.ndarray
    visible: np.ndarray
    amodal_gt: np.ndarray
    visible_gt: np.ndarray


def run_videos(predictor: EorasPredictor, split: MoviSplit, videos: dict[str, list[int]],
               masks: str = "amodal") -> Iterator[tuple[str, list[ObjectRun]]]:
    """The one prediction path of `eval` and `predict`: each video's objects through the model
    from their ground-truth boxes, video by video. masks: "amodal" or "both" (visible too)."""
    for video, objs in videos.items():
        clip = split.load_video(video)
        predictor.set_video(clip.frames, clip.K)
        tracks = {obj: split.track(video, obj) for obj in objs}
        boxes = {obj: {int(f): b for f, b in zip(tr.frames, tr.boxes_kubric)} for obj, tr in tracks.items()}
        results = predictor.predict(boxes, box_format="kubric", intermediates=False)
        empty = np.zeros((0,) + clip.frames.shape[1:3], bool)
        runs = []
        for obj, tr in tracks.items():
            res = results[obj]
            amodal = np.stack([res.amodal_mask(f) for f in tr.frames]) if len(tr.frames) else empty
            visible = (np.stack([res.visible_mask(f) for f in tr.frames]) if len(tr.frames) else empty) \
                if masks == "both" else empty
            runs.append(ObjectRun(video, int(obj), np.asarray(tr.frames), amodal, visible, tr.amodal, tr.visible))
        yield video, runs


def select_videos(split: MoviSplit, limit: int | None = None, shard: tuple[int, int] = (0, 1)) -> dict[str, list[int]]:
    """{video: objects} of the first `limit` videos, then every world-th from the rank-th.
    A split with no objects at all is refused, so nothing reports NaN metrics as a result."""
    if not split.tracks:
        raise DatasetError(f"{split.root}: no MOVi videos with objects found; expected video folders holding "
                           "metadata.json with rgba_full_*.png and segmentation_full_*.png frames (and, optionally, "
                           "instance_list.npy)")
    if limit is not None and limit < 1:
        raise DatasetError(f"--limit-videos: {limit}; expected at least 1")
    videos = _group_by_video(split.tracks)
    if limit is not None:
        videos = dict(list(videos.items())[:limit])
    rank, world = shard
    return dict(list(videos.items())[rank::world])


def evaluate_split(
    predictor: EorasPredictor, data: str | Path, baselines: bool = True, limit: int | None = None,
    progress: bool = True, shard: tuple[int, int] = (0, 1), scores: list | None = None,
) -> dict[str, Any]:
    """Run the model on every track of the split; returns the eval CLI's JSON document.

    shard (rank, world): score only every world-th video from the rank-th (of the first
    `limit`), so ranks share an evaluation; `scores`, when given, receives the model's
    accumulator so the ranks' shares can be merged (`merge_scores`).
    """
    split = MoviSplit(data)
    videos = select_videos(split, limit, shard)
    model_scores = _Scores.new()
    base_scores = {name: _Scores.new() for name in BASELINES}
    per_object = []
    bar = tqdm(total=sum(len(v) for v in videos.values()), desc="eval", unit="obj", disable=not progress)
    for _, runs in run_videos(predictor, split, videos):
        for run in runs:
            one = _Scores.new()
            one.add(run.amodal, run.amodal_gt, run.visible_gt)
            model_scores.merge(one)
            if baselines:
                base_scores["visible"].add(run.visible_gt, run.amodal_gt, run.visible_gt)
                base_scores["convex_hull"].add(convex_hull_masks(run.visible_gt), run.amodal_gt, run.visible_gt)
            per_object.append({"video": run.video, "object": run.obj, **one.report()})
            bar.update(1)
    bar.close()
    if scores is not None:
        scores.append(model_scores)
    doc = {**model_scores.report(), "per_object": per_object}
    if baselines:
        doc["baselines"] = {name: s.report() for name, s in base_scores.items()}
    return doc


def merge_scores(shares: Iterable["_Scores"]) -> dict[str, Any]:
    """The headline numbers of several shares of one evaluation, as if scored at once."""
    total = _Scores.new()
    for share in shares:
        total.merge(share)
    return total.report()


def check_writable(path: str | Path, flag: str = "--json") -> None:
    """Before any model work: the results file can be written there (its folder is made)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise DatasetError(f"{flag} {path}: is a folder; give a file name such as {path / 'results.json'}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a"):
            pass
    except OSError as exc:
        raise DatasetError(f"{flag} {path}: cannot be written ({exc.strerror or 'not allowed'}); "
                           "choose a file in a folder you can write to") from None


def write_json(doc: dict[str, Any], path: str | Path) -> None:
    def clean(x: Any) -> Any:  # NaN is not JSON
        if isinstance(x, float) and x != x:
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(clean(doc), indent=2))
