"""Segment in the studio, end to end, against the engine alone on the same clip.

    python bench/bench_studio_segment.py [--clip assets/demo_clips/movilite_1] [--repeat 3]

Engine: a fresh EorasPredictor's predict() over every object's track (cold cache).
Studio: the Segment path of a session (plan, chunked runs on a fresh shared predictor,
apply, then the masks of every frame pasted for display). Both report object-frames per
second; the table prints the ratio. Appends to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, report  # noqa: E402
from eoras_core import load_eoras  # noqa: E402
from eoras_core.boxes import as_track  # noqa: E402
from eoras_core.engine import EorasPredictor  # noqa: E402
from eoras_core.media import LoadCaps  # noqa: E402
from eoras_core.shared_predictor import SharedPredictor  # noqa: E402
from ui.actions import open_clip, segment  # noqa: E402
from ui.queries import object_masks  # noqa: E402
from ui.scene_loading import open_any  # noqa: E402
from ui.session import SessionStore  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=str(ROOT / "assets" / "demo_clips" / "movilite_1"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    model = load_eoras(device="cpu")
    opened = open_any(args.clip, LoadCaps())
    engine_s, studio_s = [], []
    for _ in range(args.repeat):
        shared = SharedPredictor(model)
        with SessionStore(shared).use("bench") as s:
            open_clip(s, opened, shared)
            s.update_flow()
            H, W = s.size
            tracks = {i: as_track(s.track_of(i)[0], s.num_frames, H, W) for i in s.objects}
            n = int(sum((~np.isnan(t[:, 0])).sum() for t in tracks.values()))
            alone = EorasPredictor(model)
            alone.set_video(s.clip, s.given_K)
            t0 = time.perf_counter()
            alone.predict(tracks)
            engine_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            segment(s, shared)
            for f in range(s.num_frames):
                for obj_id in s.objects:
                    object_masks(s, obj_id, f)
            studio_s.append(time.perf_counter() - t0)
    e, st = float(np.median(engine_s)), float(np.median(studio_s))
    table = ("| path | seconds (median) | object-frames/s |\n|---|---|---|\n"
             f"| engine alone (predict) | {e:.2f} | {n / e:.0f} |\n"
             f"| studio Segment (plan, chunked runs, apply, paste every mask) | {st:.2f} | {n / st:.0f} |\n"
             f"| studio / engine | | **{e / st:.2f}x** |")
    heading = (f"studio Segment vs engine, {platform.machine()} CPU x{os.cpu_count()}, {Path(args.clip).name}: "
               f"{len(opened.boxes)} objects, {n} object-frames, demo model")
    report(heading, "bench/bench_studio_segment.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
