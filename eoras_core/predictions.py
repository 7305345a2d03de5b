"""A split's predictions, cached on disk: every object's masks and per-frame metrics.

    python -m eoras_core predict --data SPLIT --out CACHE [--checkpoint CKPT] [--preset P] [--device D]
    torchrun --nproc_per_node N -m eoras_core predict ...      # videos shared across ranks

Why a cache: error analysis asks questions of a whole split again and again (sort, filter,
compare checkpoints), and only the model is slow. The cache is written video by video, each
file atomically, so a killed run redoes at most the video in progress; ranks under torchrun
take every N-th video and write into the same folder, and rank 0 writes the manifest once
all are done. The run goes through `evaluate.run_videos`, the path `eval` takes, and the
metric sums are stored per object, so `summarise_cache` gives exactly `eval`'s numbers.

Layout (docs/PREDICTIONS_FORMAT.md):
    CACHE/predictions.json         manifest: format, model, split, videos in order, complete
    CACHE/videos/<video>.json      per object: frames, amodal/visible COCO RLE per frame,
                                   ground-truth areas, per-frame IoUs, the metric sums
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from tqdm import tqdm

from .data.movi import MoviSplit
from .engine import EorasPredictor
from .evaluate import ObjectRun, _Scores, run_videos, select_videos
from .export import mask_to_rle
from .metrics import _masks
from .project_format import atomic_write

FORMAT = "eoras-predictions/1"
MANIFEST = "predictions.json"


def _finite(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, np.float64)]


def object_record(run: ObjectRun) -> dict[str, Any]:
    """One object's cache entry: masks as RLE, ground-truth areas, per-frame IoUs and the
    official and clean sums `eval` accumulates (so sums over the cache equal eval's)."""
    one = _Scores.new()
    official, clean = one.add(run.amodal, run.amodal_gt, run.visible_gt)
    p, g, v = _masks(run.amodal), _masks(run.amodal_gt), _masks(run.visible_gt)
    count = lambda m: [int(x) for x in m.flatten(1).sum(1)]  # noqa: E731
    return {
        "object": run.obj,
        "frames": [int(f) for f in run.frames],
        "amodal": [mask_to_rle(m) for m in run.amodal],
        "visible": [mask_to_rle(m) for m in run.visible],
        "gt_amodal_area": count(g),
        "gt_visible_area": count(v),
        # where the wrong pixels are: truth missed in the visible / hidden region, and extra pixels
        "missed_visible": count(v & ~p),
        "missed_hidden": count(g & ~v & ~p),
        "extra": count(p & ~g),
        "iou_full_clean": _finite(clean["iou_full"]),
        "iou_occ_clean": _finite(clean["iou_occ"]),
        "iou_full": _finite(official["iou_full"]),
        "iou_occ": _finite(official["iou_occ"]),
        "sums": {name: vars(acc).copy() for name, acc in (("official", one.official), ("clean", one.clean))},
        "metrics": {k: (None if isinstance(x, float) and x != x else x) for k, x in one.report().items()},
    }


def _shape_name(instance: dict) -> str | None:
    """The object's kind as the split names it (MOVi: shape / asset_id, else the category id)."""
    for key in ("shape", "asset_id", "category"):
        if instance.get(key) is not None:
            return str(instance[key])
    return None


def _video_path(cache: Path, video: str) -> Path:
    return cache / "videos" / f"{video}.json"


def read_video(cache: str | Path, video: str) -> dict:
    """One video's cache file, parsed."""
    return json.loads(_video_path(Path(cache), video).read_text())


def _done(path: Path) -> bool:
    try:
        return json.loads(path.read_text()).get("format") == FORMAT
    except (OSError, ValueError):
        return False


def predict_split(predictor: EorasPredictor, data: str | Path, cache: str | Path, model_name: str,
                  limit: int | None = None, shard: tuple[int, int] = (0, 1), progress: bool = True,
                  on_video: Callable[[int, int], None] | None = None) -> list[str]:
    """Predict this rank's share of the split's videos into `cache`, skipping videos already
    there; returns the videos this call computed. on_video(done, total) follows each video."""
    split = MoviSplit(data)
    cache = Path(cache)
    (cache / "videos").mkdir(parents=True, exist_ok=True)
    todo = {v: objs for v, objs in select_videos(split, limit, shard).items() if not _done(_video_path(cache, v))}
    bar = tqdm(total=sum(len(o) for o in todo.values()), desc="predict", unit="obj", disable=not progress)
    computed = []
    for video, runs in run_videos(predictor, split, todo, masks="both"):
        H, W = runs[0].amodal_gt.shape[1:] if runs and runs[0].amodal_gt.ndim == 3 else (0, 0)
        instances = split.metadata(video).get("instances", [])
        records = [{**object_record(r), "shape": _shape_name(instances[r.obj]) if r.obj < len(instances) else None}
                   for r in runs]
        doc = {"format": FORMAT, "video": video, "model": model_name, "height": int(H), "width": int(W),
               "objects": records}
        atomic_write(_video_path(cache, video), json.dumps(doc, separators=(",", ":")))
        computed.append(video)
        bar.update(len(runs))
        if on_video is not None:
            on_video(len(computed), len(todo))
    bar.close()
    return computed


def write_manifest(cache: str | Path, data: str | Path, model_name: str, limit: int | None = None) -> dict:
    """The manifest, once every video of the selection is in the cache."""
    cache = Path(cache)
    videos = list(select_videos(MoviSplit(data), limit))
    missing = [v for v in videos if not _done(_video_path(cache, v))]
    doc = {"format": FORMAT, "model": model_name, "split": Path(data).resolve().name,
           "data": str(Path(data).resolve()), "videos": videos,
           "complete": not missing, "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    atomic_write(cache / MANIFEST, json.dumps(doc, indent=1))
    return doc


def read_objects(cache: str | Path) -> Iterator[tuple[str, dict]]:
    """(video, object record) in the manifest's order."""
    cache = Path(cache)
    manifest = json.loads((cache / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{cache / MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    for video in manifest["videos"]:
        for record in read_video(cache, video)["objects"]:
            yield video, record


def summarise_cache(cache: str | Path) -> dict[str, Any]:
    """`eval --json`'s headline numbers and per_object list, from the cache alone."""
    total = _Scores.new()
    per_object = []
    for video, record in read_objects(cache):
        one = _Scores.new()
        for name in ("official", "clean"):
            vars(getattr(one, name)).update(record["sums"][name])
        total.merge(one)
        per_object.append({"video": video, "object": record["object"], **one.report()})
    return {**total.report(), "per_object": per_object}


def main(argv: list[str] | None = None) -> int:
    import argparse

    from .checkpoint import CheckpointError, load_eoras
    from .data.movi import DatasetError

    ap = argparse.ArgumentParser(prog="python -m eoras_core predict", description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="MOVi-layout split folder")
    ap.add_argument("--out", required=True, help="cache folder (created; an unfinished one is resumed)")
    ap.add_argument("--checkpoint", default=None, help="default: the bundled demo model")
    ap.add_argument("--preset", default=None)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--limit-videos", type=int, default=None)
    args = ap.parse_args(argv)
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    dist = None
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group("gloo")
    try:
        device = args.device
        if world > 1 and device != "cpu":
            import torch

            if torch.cuda.is_available():
                device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        model = load_eoras(args.checkpoint, preset=args.preset, device=device)
        name = Path(args.checkpoint).name if args.checkpoint else "demo model"
        predict_split(EorasPredictor(model), args.data, args.out, f"{name} ({model.config.name})",
                      args.limit_videos, (rank, world), progress=rank == 0)
        if dist is not None:
            dist.barrier()
        if rank == 0:
            manifest = write_manifest(args.out, args.data, f"{name} ({model.config.name})", args.limit_videos)
            print(f"{len(manifest['videos'])} videos in {args.out}" + ("" if manifest["complete"] else " (incomplete)"))
    except (CheckpointError, DatasetError, RuntimeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if dist is not None:
            dist.destroy_process_group()
    return 0
