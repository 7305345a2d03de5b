"""`predict()` end to end, as the studio calls it: crops, encoder, recurrence, copy-back.

    python bench/bench_predict.py --device cuda --objects 1 8 32           # 720p, 24 frames
    python bench/bench_predict.py --device cpu --objects 1 --height 180 --width 320 --frames 6

A synthetic clip (smooth moving colour fields, already decoded: decoding is not timed) with
N objects whose boxes drift over it. Each timed call starts from an empty encoder cache, so
crops and encoding are included, with intermediates on (what the studio asks for). The first
call (graph capture, cuDNN autotuning, allocator growth) is reported apart from the steady
state (median of --repeat calls), and peak memory is measured after the warm-up. The last
columns run the same object-frames through the engine from ready crops (`run_crops`), so
the cost of the studio's path is visible: the goal is predict() within 2x of that. With
--amp off, TF32 is switched off too, so fp32 means fp32.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_engine import device_name, sync  # noqa: E402
from bench.results import RESULTS, report  # noqa: E402
from eoras_core import build_eoras, load_eoras  # noqa: E402
from eoras_core.engine import EorasPredictor  # noqa: E402
from eoras_core.intrinsics import default_intrinsics  # noqa: E402


def synthetic_clip(T: int, H: int, W: int, seed: int = 0) -> np.ndarray:
    """(T, H, W, 3) uint8: smooth colour fields that drift, so crops are not constant."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    waves = rng.uniform(0.004, 0.03, (3, 2))
    out = np.empty((T, H, W, 3), np.uint8)
    for t in range(T):
        for c in range(3):
            field = np.sin(xx * waves[c, 0] + t * 0.2 + c) * np.cos(yy * waves[c, 1] - t * 0.1)
            out[t, :, :, c] = (127.5 + 127 * field).astype(np.uint8)
    return out


def object_tracks(n: int, T: int, H: int, W: int, seed: int = 1) -> dict[int, np.ndarray]:
    """n boxes (10-25 % of the frame) drifting across it, one per frame."""
    rng = np.random.default_rng(seed)
    tracks = {}
    for i in range(n):
        w, h = rng.uniform(0.1, 0.25) * W, rng.uniform(0.1, 0.25) * H
        x0, y0 = rng.uniform(0, W - w), rng.uniform(0, H - h)
        vx, vy = rng.uniform(-3, 3, 2)
        t = np.arange(T)[:, None]
        x = np.clip(x0 + vx * t, 0, W - w)
        y = np.clip(y0 + vy * t, 0, H - h)
        tracks[i + 1] = np.concatenate([x, y, x + w, y + h], axis=1)
    return tracks


def timed_calls(fn, device: torch.device, repeat: int) -> tuple[float, float, float]:
    """(first call s, steady median s, peak MB after the warm-up)."""
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    first = time.perf_counter() - t0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else float("nan")
    return first, statistics.median(times), peak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None, help="default: the bundled demo model; or --preset for random weights")
    ap.add_argument("--preset", default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--objects", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--amp", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    if args.preset and not args.checkpoint:
        model = build_eoras(args.preset).to(device).eval()
    else:
        model = load_eoras(args.checkpoint, device=device)
    amp = None if args.amp == "auto" else args.amp == "on"
    if amp is False:  # true fp32: no TF32 matmuls or convolutions
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    predictor = EorasPredictor(model, amp=amp, fast_crops=device.type == "cuda")  # as the studio
    T, H, W = args.frames, args.height, args.width
    frames = synthetic_clip(T, H, W)
    K = default_intrinsics(model.config.intrinsics, H, W, T)
    rows = []
    for n in args.objects:
        tracks = object_tracks(n, T, H, W)

        def studio_call() -> None:
            predictor.set_video(frames, K)  # a new anonymous video: empty cache, crops included
            predictor.predict(tracks, intermediates=True)

        first, steady, peak = timed_calls(studio_call, device, args.repeat)
        g = torch.Generator().manual_seed(n)
        crops = torch.rand(n, T, 3, model.config.crop_size, model.config.crop_size, generator=g).to(device)
        Kt = torch.from_numpy(K)[None].expand(n, -1, -1, -1).contiguous().to(device)
        _, engine, _ = timed_calls(lambda: predictor.run_crops(crops, Kt, intermediates=True), device, args.repeat)
        of = n * T
        rows.append(f"| {n} | {of} | {first:.2f} | {1000 * steady:.1f} | {of / steady:.0f} | {peak:.0f} | "
                    f"{of / engine:.0f} | {steady / engine:.2f} |")
    table = ("| objects | object-frames | first call s | steady ms (median) | object-frames/s | peak MB after warm-up "
             "| engine from ready crops, object-frames/s | predict / engine |\n|" + "---|" * 8 + "\n" + "\n".join(rows))
    precision = "bf16" if predictor.amp else "fp32 (TF32 off)" if amp is False else "fp32"
    heading = (f"predict() end to end, {model.config.name}, {device_name(device)}, {W}x{H}x{T}, {precision}"
               f"{', CUDA graphs' if predictor.graphs is not None else ''}"
               f"{', device crops' if predictor.fast_crops else ''}")
    report(heading, "bench/bench_predict.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
