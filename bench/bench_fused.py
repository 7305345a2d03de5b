"""What each step of the CPU fast path buys: the model's own layers vs `FusedEoRaS`, per stage.

    python bench/bench_fused.py --preset movi_b --frames 24

Same weights and inputs for both columns; times are the best of --repeat runs, per frame.
Prints a table and appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_engine import device_name  # noqa: E402
from bench.results import RESULTS, report  # noqa: E402
from eoras_core import build_eoras  # noqa: E402
from eoras_core.intrinsics import default_intrinsics  # noqa: E402
from eoras_core.modeling.fused import FusedEoRaS  # noqa: E402


def best_ms(fn, repeat: int, frames: int) -> tuple[float, object]:
    out = fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return 1000 * best / frames, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="movi_b")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_eoras(args.preset).eval()
    fast = FusedEoRaS(model)
    n, c = args.frames, model.config
    crops = torch.rand(n, 3, 128, 128)
    K = torch.from_numpy(default_intrinsics(c.intrinsics, 256, 256, n))
    fused_tokens = torch.randn(n, 2 * c.d_model, c.feature_side, c.feature_side)
    rows = []
    with torch.inference_mode():
        t_enc, p3 = best_ms(lambda: model.feature_extractor(crops), args.repeat, n)
        crops_last = crops.contiguous(memory_format=torch.channels_last)
        t_enc_fast, p3_fast = best_ms(lambda: fast.encoder(crops_last), args.repeat, n)
        rows.append(("image encoder (channels-last)", t_enc, t_enc_fast, (p3 - p3_fast).abs().max().item()))
        bev = model.bev_generator
        first_norm = bev.conv.layers[0].layer[1]
        stages = [
            ("BEV: lift + first 1x1 conv + norm", lambda: first_norm(bev.lift_project(p3, K)), lambda: fast.lift(p3, K)[0]),
            ("BEV: whole translator", lambda: bev(p3, K), lambda: fast.bev(p3, K)),
            ("both mask decoders", lambda: model.decode_masks(fused_tokens), lambda: fast.decode_masks(fused_tokens)),
        ]
        for name, plain, fused in stages:
            t_plain, a = best_ms(plain, args.repeat, n)
            t_fast, b = best_ms(fused, args.repeat, n)
            if name.startswith("BEV: lift"):
                b = b.permute(0, 3, 1, 2)
            diff = max((x - y).abs().max().item() for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)))
            rows.append((name, t_plain, t_fast, diff))
    lines = ["| stage | model layers ms/frame | fused ms/frame | speed-up | max diff |", "|---|---|---|---|---|"]
    for name, tp, tf, diff in rows:
        lines.append(f"| {name} | {tp:.1f} | {tf:.1f} | {tp / tf:.2f}x | {diff:.1e} |")
    heading = f"fused CPU path by stage, preset {args.preset}, {device_name(torch.device('cpu'))}, {n} frames"
    report(heading, "bench/bench_fused.py", argv, "\n".join(lines), args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
