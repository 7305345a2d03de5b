"""``python -m eoras_core synth``: generate a MOVi-lite dataset (train/ and test/ splits).

Why per-video seeds: video i is rendered from seed_for_video(seed, i), so the output does not
depend on the number of workers or on the order in which workers finish.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data.movi import write_instance_list
from .clip import render_clip
from .export import write_clip

__all__ = ["main", "seed_for_video", "plan_splits"]


def seed_for_video(seed: int, index: int) -> int:
    """The render seed of video ``index`` of a dataset generated with ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint32)[0])


def plan_splits(videos: int, test_fraction: float = 0.2, test_videos: int | None = None) -> list[tuple[str, int]]:
    """(split, video index) for every video: the first ones train, the last ones test."""
    n_test = test_videos if test_videos is not None else int(round(videos * test_fraction))
    if not 0 <= n_test <= videos:
        raise ValueError(f"cannot put {n_test} of {videos} videos in the test split")
    return [("train" if i < videos - n_test else "test", i) for i in range(videos)]


def _job(task: tuple) -> tuple[str, str, list[int]]:
    """Render and write one video; returns (split, video name, visible object indices)."""
    out, split, index, seed, frames, size, lo, hi = task
    name = f"video_{index:05d}"
    clip = render_clip(seed_for_video(seed, index), frames=frames, size=size, min_objects=lo, max_objects=hi)
    write_clip(clip, Path(out) / split / name, {"video_name": name, "base_seed": seed, "video_index": index})
    return split, name, clip.visible_objects()


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m eoras_core synth",
                                 description="Render MOVi-lite clips with exact amodal ground truth.")
    ap.add_argument("--out", required=True, help="dataset folder; train/ and test/ are created inside")
    ap.add_argument("--videos", type=int, required=True, help="number of videos in total")
    ap.add_argument("--seed", type=int, required=True, help="base seed (>= 0)")
    ap.add_argument("--workers", type=int, default=1, help="processes (output does not depend on it)")
    grp = ap.add_mutually_exclusive_group()
    grp.add_argument("--test-fraction", type=float, default=0.2, help="share of videos in test/ (default 0.2)")
    grp.add_argument("--test-videos", type=int, default=None, help="number of videos in test/")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", type=int, default=256, help="square frame size in pixels")
    ap.add_argument("--min-objects", type=int, default=3)
    ap.add_argument("--max-objects", type=int, default=10)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Generate the dataset; returns a process exit code."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    problems = [msg for bad, msg in [
        (args.videos < 1, "--videos must be >= 1"), (args.seed < 0, "--seed must be >= 0"),
        (args.workers < 1, "--workers must be >= 1"), (args.frames < 1, "--frames must be >= 1"),
        (args.size < 8, "--size must be >= 8"),
        (not 1 <= args.min_objects <= args.max_objects, "need 1 <= --min-objects <= --max-objects"),
        (not 0.0 <= args.test_fraction <= 1.0, "--test-fraction must be in [0, 1]")] if bad]
    try:
        plan = plan_splits(args.videos, args.test_fraction, args.test_videos)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    out = Path(args.out)
    for split in ("train", "test"):
        (out / split).mkdir(parents=True, exist_ok=True)
    tasks = [(str(out), split, i, args.seed, args.frames, args.size, args.min_objects, args.max_objects)
             for split, i in plan]
    tracks: dict[str, list[tuple[str, int]]] = {"train": [], "test": []}
    with tqdm(total=len(tasks), desc="synth", unit="video") as bar:
        if args.workers == 1:
            results = map(_job, tasks)
            pool = None
        else:
            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            pool = ctx.Pool(min(args.workers, len(tasks)))
            results = pool.imap_unordered(_job, tasks)
        try:
            for split, name, objs in results:
                tracks[split].extend((name, k) for k in objs)
                bar.update(1)
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    for split, entries in tracks.items():
        write_instance_list(out / split, sorted(entries))
    print(f"wrote {len(tasks)} videos to {out} (train {len(tracks['train'])} tracks, "
          f"test {len(tracks['test'])} tracks)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
