"""bf16 autocast vs fp32: do the thresholded masks and attention maps agree? (the engine's
GPU default is bf16)

    python bench/precision_check.py [--device cuda] [--checkpoint CKPT]

Uses the bundled demo model (or CKPT) on generated crops; prints mask IoU between precisions,
with intermediates off (eval) and on (the studio: attention weights, BEV maps). The fp32
side is true fp32: TF32 matmuls and convolutions are switched off for it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, report  # noqa: E402
from eoras_core import load_eoras  # noqa: E402
from eoras_core.engine import EorasPredictor  # noqa: E402
from eoras_core.intrinsics import default_intrinsics  # noqa: E402


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a > 0.5, b > 0.5
    union = (a | b).sum().item()
    return 1.0 if union == 0 else (a & b).sum().item() / union


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--preset", default=None)
    ap.add_argument("--tracks", type=int, default=8)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    model = load_eoras(args.checkpoint, preset=args.preset, device=args.device)
    g = torch.Generator().manual_seed(0)
    crops = torch.rand(args.tracks, 24, 3, 128, 128, generator=g)
    K = torch.from_numpy(default_intrinsics(model.config.intrinsics, 256, 256, 24))[None].expand(args.tracks, -1, -1, -1)
    rows = []
    for intermediates in (False, True):
        tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        try:
            fp32 = EorasPredictor(model, amp=False, cuda_graphs=False).run_crops(crops, K, intermediates)
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
        bf16 = EorasPredictor(model, amp=True, fused=False).run_crops(crops, K, intermediates)  # the GPU configuration
        keys = ("full_mask", "vis_mask") + (("attn_slot_bev", "attn_slot_feature", "bev") if intermediates else ())
        for key in keys:
            diff = (fp32[key].float() - bf16[key].float()).abs().max().item()
            iou = f"{mask_iou(fp32[key], bf16[key]):.5f}" if key.endswith("mask") else "–"
            rows.append(f"| {key} | {'on' if intermediates else 'off'} | {iou} | {diff:.4f} |")
    table = ("| output | intermediates | mask IoU bf16 vs fp32 | max abs diff |\n|---|---|---|---|\n"
             + "\n".join(rows))
    heading = f"precision check, {model.config.name}, {next(model.parameters()).device}"
    report(heading, "bench/precision_check.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
