"""Engine vs the published schedule: frames/s, peak memory, max output difference.

    python bench/bench_engine.py --preset movi_b --tracks 1 --frames 24            # CPU
    python bench/bench_engine.py --preset movi_b --tracks 1 8 32 --device cuda    # GPU

Same weights and inputs for both paths, from ready crops: no crop, cache or copy-back (see
bench_predict.py for predict() end to end). Steady state is the median of --repeat calls;
the first call is its own column. Prints a table and appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, report  # noqa: E402
from eoras_core import build_eoras  # noqa: E402
from eoras_core.engine import EorasPredictor  # noqa: E402
from eoras_core.intrinsics import default_intrinsics  # noqa: E402
from eoras_core.reference import reference_forward  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeat: int) -> tuple[float, object, float]:
    """(steady-state median s, output, first call s): the first call (graph capture, cuDNN
    autotuning) is reported apart, and the median, not the best, is the steady state."""
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out, first


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="movi_b")
    ap.add_argument("--tracks", type=int, nargs="+", default=[1])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--amp", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--fused", choices=["auto", "on", "off"], default="auto", help="the engine's CPU fast path")
    ap.add_argument("--skip-reference-above", type=int, default=1000, help="skip the slow path above this many tracks")
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_eoras(args.preset).to(device)
    amp = None if args.amp == "auto" else args.amp == "on"
    if amp is False:  # a true fp32 baseline: no TF32 matmuls or convolutions
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    engine = EorasPredictor(model, amp=amp, fused=None if args.fused == "auto" else args.fused == "on")
    rows = []
    for n in args.tracks:
        g = torch.Generator().manual_seed(n)
        crops = torch.rand(n, args.frames, 3, 128, 128, generator=g).to(device)
        K = torch.from_numpy(default_intrinsics(model.config.intrinsics, 256, 256, args.frames))
        K = K[None].expand(n, -1, -1, -1).contiguous().to(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        t_eng, out, first = timed(lambda: engine.run_crops(crops, K), device, args.repeat)
        mem = peak_memory_mb(device)
        t_ref, diff = float("nan"), float("nan")
        if n <= args.skip_reference_above:
            t_ref, ref, _ = timed(lambda: reference_forward(model, crops, K), device, 1)
            diff = max((out[k].float() - ref[k].float()).abs().max().item() for k in ("full_mask", "vis_mask"))
        frames = n * args.frames
        rows.append((n, frames / t_ref, frames / t_eng, 1000 * t_eng / n, 1000 * t_eng / frames, mem, diff, first))

    amp_used = "bf16" if engine.amp else "fp32 (TF32 off)" if amp is False else "fp32"
    head = (f"| tracks x {args.frames} frames | reference frames/s | engine frames/s (median) | engine ms/track "
            f"| engine ms/frame | peak MB | max diff | first call s |")
    lines = [head, "|" + "---|" * 8]
    for n, fr, fe, mt, mf, mem, diff, first in rows:
        lines.append(f"| {n} | {fr:.1f} | {fe:.1f} | {mt:.1f} | {mf:.2f} | {mem:.0f} | {diff:.2e} | {first:.2f} |")
    table = "\n".join(lines)
    heading = (f"engine, preset {args.preset}, {device_name(device)}, engine {amp_used}"
               f"{', CUDA graphs' if engine.graphs is not None else ''}{', fused CPU path' if engine.fused else ''}")
    report(heading, "bench/bench_engine.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
