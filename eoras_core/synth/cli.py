"""``python -m eoras_core synth``: generate a MOVi-lite dataset (train/ and test/ splits).

Why per-video seeds: video i is rendered from seed_for_video(seed, i), so the output does not
depend on the number of workers or on the order in which workers finish.

Looks: the default is MOVi-lite v2's in-style look; --style-shift renders the held-out style
(for an honest validation split), --v1 the original v1 renderer bit for bit (the bundled
demo model's data). --dense packs more occluding objects. The summary reports each split's
mean hidden fraction (occlusion.py), the quantity assets/DATA_CARD.md documents.
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
from .occlusion import hidden_fractions
from .primitives import KINDS
from .scene import SceneConfig, make_config

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


def _job(task: tuple) -> tuple[str, str, list[int], float, int]:
    """Render and write one video; returns (split, video name, visible object indices, sum
    and count of its object-frames' hidden fractions)."""
    out, split, index, seed, frames, size, cfg = task
    name = f"video_{index:05d}"
    clip = render_clip(seed_for_video(seed, index), frames=frames, size=size, config=cfg)
    write_clip(clip, Path(out) / split / name, {"video_name": name, "base_seed": seed, "video_index": index})
    hidden = hidden_fractions(clip.amodal, clip.visible_ids)
    return split, name, clip.visible_objects(), float(hidden.sum()), int(hidden.size)


def config_from_args(args: argparse.Namespace) -> SceneConfig:
    """The SceneConfig of the parsed command line (style, density, artefacts, forced families)."""
    style = "v1" if args.v1 else ("shift" if args.style_shift else "train")
    fields = {k: v for k, v in (("min_objects", args.min_objects), ("max_objects", args.max_objects),
                                ("floor", args.floor), ("backdrop", args.backdrop), ("pattern", args.pattern),
                                ("light_count", args.lights)) if v is not None}
    if args.kinds is not None:
        kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown or not kinds:
            raise ValueError(f"--kinds: unknown kinds {unknown}; choose from {', '.join(KINDS)}")
        fields["kinds"] = kinds
    if args.soft_shadows is not None:
        if not 0.0 <= args.soft_shadows <= 1.0:
            raise ValueError("--soft-shadows must be in [0, 1]")
        fields["soft_shadow_prob"] = args.soft_shadows
    if not args.v1:
        fields["camera_fx"] = not args.no_camera_fx
    return make_config(style, dense=args.dense, **fields)


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
    ap.add_argument("--min-objects", type=int, default=None, help="default 3 (6 with --dense)")
    ap.add_argument("--max-objects", type=int, default=None, help="default 10 (12 with --dense)")
    look = ap.add_mutually_exclusive_group()
    look.add_argument("--style-shift", action="store_true",
                      help="render the held-out style (floors, patterns, palettes, lights and photos "
                           "that the default never uses)")
    look.add_argument("--v1", action="store_true", help="the original MOVi-lite v1 renderer, bit for bit")
    ap.add_argument("--dense", action="store_true", help="more objects, closer together, more occluders")
    ap.add_argument("--no-camera-fx", action="store_true", help="no blur, sensor noise or JPEG artefacts")
    ap.add_argument("--floor", default=None, help="only this floor family of the style")
    ap.add_argument("--backdrop", default=None, help="only this backdrop family of the style")
    ap.add_argument("--pattern", default=None, help="only this object pattern of the style")
    ap.add_argument("--lights", type=int, default=None, help="only this many lights (a count of the style)")
    ap.add_argument("--kinds", default=None, help="comma-separated object kinds (default: all of "
                    + ", ".join(KINDS) + ")")
    ap.add_argument("--soft-shadows", type=float, default=None, metavar="P",
                    help="probability that a light is soft (an area light with penumbrae), default 0.5")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Generate the dataset; returns a process exit code."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    problems = [msg for bad, msg in [
        (args.videos < 1, "--videos must be >= 1"), (args.seed < 0, "--seed must be >= 0"),
        (args.workers < 1, "--workers must be >= 1"), (args.frames < 1, "--frames must be >= 1"),
        (args.size < 8, "--size must be >= 8"),
        (args.v1 and (args.dense or args.no_camera_fx or any(v is not None for v in (
            args.floor, args.backdrop, args.pattern, args.lights, args.kinds, args.soft_shadows))),
         "--v1 takes none of --dense, --no-camera-fx, --floor, --backdrop, --pattern, --lights, --kinds, "
         "--soft-shadows"),
        (not 0.0 <= args.test_fraction <= 1.0, "--test-fraction must be in [0, 1]")] if bad]
    try:
        plan = plan_splits(args.videos, args.test_fraction, args.test_videos)
    except ValueError as exc:
        problems.append(str(exc))
    cfg = None
    if not problems:
        try:
            cfg = config_from_args(args)
            if not 1 <= cfg.min_objects <= cfg.max_objects:
                problems.append("need 1 <= --min-objects <= --max-objects")
            _check_families(cfg)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        for split in ("train", "test"):
            (out / split).mkdir(parents=True, exist_ok=True)
        return _render(args, cfg, plan, out)
    except OSError as exc:
        where = exc.filename or out
        print(f"error: --out {out}: cannot write {where} ({exc.strerror or 'not allowed'}); choose a folder you "
              "can write to with free space", file=sys.stderr)
        return 2


def _render(args: argparse.Namespace, cfg: SceneConfig, plan: list, out: Path) -> int:
    tasks = [(str(out), split, i, args.seed, args.frames, args.size, cfg) for split, i in plan]
    tracks: dict[str, list[tuple[str, int]]] = {"train": [], "test": []}
    hidden = {"train": [0.0, 0], "test": [0.0, 0]}
    with tqdm(total=len(tasks), desc="synth", unit="video") as bar:
        if args.workers == 1:
            results = map(_job, tasks)
            pool = None
        else:
            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            pool = ctx.Pool(min(args.workers, len(tasks)))
            results = pool.imap_unordered(_job, tasks)
        try:
            for split, name, objs, h_sum, h_count in results:
                tracks[split].extend((name, k) for k in objs)
                hidden[split][0] += h_sum
                hidden[split][1] += h_count
                bar.update(1)
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    for split, entries in tracks.items():
        write_instance_list(out / split, sorted(entries))
    print(f"wrote {len(tasks)} videos to {out} (train {len(tracks['train'])} tracks, "
          f"test {len(tracks['test'])} tracks)")
    style = cfg.style + (", dense" if cfg.dense else "")
    for split, (h_sum, h_count) in hidden.items():
        if h_count:
            print(f"{split}: mean hidden fraction {h_sum / h_count:.3f} over {h_count} object-frames "
                  f"(style {style})")
    return 0


def _check_families(cfg: SceneConfig) -> None:
    """Refuse forced families that the chosen style does not draw (ValueError)."""
    if cfg.style == "v1":
        return
    from .styles import style_of

    st = style_of(cfg.style)
    for value, allowed, flag in ((cfg.floor, st.floors, "--floor"), (cfg.backdrop, st.backdrops, "--backdrop"),
                                 (cfg.pattern, st.patterns, "--pattern"),
                                 (cfg.light_count, st.light_counts, "--lights")):
        if value is not None and value not in allowed:
            raise ValueError(f"{flag} {value} is not in the {cfg.style!r} style: {', '.join(map(str, allowed))}")


if __name__ == "__main__":
    raise SystemExit(main())
