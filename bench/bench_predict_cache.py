"""`predict` throughput: object-frames per second into a prediction cache, demo model.

    python bench/bench_predict_cache.py [--videos 6] [--threads 2] [--data SPLIT]

Renders a fresh MOVi-lite v2 split (or uses --data), runs `predict` on it into a fresh cache
(model, masks as RLE, per-frame metrics, atomic files: everything the command does) and
prints the rate. The table is appended to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, report  # noqa: E402
from eoras_core import load_eoras  # noqa: E402
from eoras_core.engine import EorasPredictor  # noqa: E402
from eoras_core.predictions import predict_split, read_objects, write_manifest  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp) / "split"
        if not args.data:
            subprocess.run([sys.executable, "-m", "eoras_core", "synth", "--out", str(data), "--videos", str(args.videos),
                            "--test-fraction", "1.0", "--seed", "515151", "--workers", "1"], cwd=ROOT, check=True,
                           capture_output=True)
            data = data / "test"
        model = load_eoras(device="cpu")
        cache = Path(tmp) / "cache"
        t0 = time.perf_counter()
        predict_split(EorasPredictor(model), data, cache, "demo model", progress=False)
        write_manifest(cache, data, "demo model")
        seconds = time.perf_counter() - t0
        objects = list(read_objects(cache))
        object_frames = sum(len(r["frames"]) for _, r in objects)
    table = ("| videos | objects | object-frames | seconds | object-frames/s |\n|---|---|---|---|---|\n"
             f"| {len({v for v, _ in objects})} | {len(objects)} | {object_frames} | {seconds:.1f} | {object_frames / seconds:.1f} |")
    report(f"predict into a cache, demo model ({model.config.name}), {platform.machine()} CPU, {args.threads} threads",
           "bench/bench_predict_cache.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
