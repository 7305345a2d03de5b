"""`python -m eoras_core train --data DIR --preset P ...` (also under torchrun for DDP)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

import torch

from .trainer import TrainConfig, Trainer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eoras_core train", description="Train or fine-tune EoRaS on a MOVi-layout split.")
    ap.add_argument("--data", required=True, help="training split folder (MOVi layout)")
    ap.add_argument("--out", required=True, help="run folder: last.safetensors, last.optim.pt, log.jsonl")
    ap.add_argument("--eval-data", default=None, help="held-out split for periodic official/clean eval")
    ap.add_argument("--init", default=None, help="fine-tune from this checkpoint (published .pth[.gz] or .safetensors)")
    ap.add_argument("--no-resume", action="store_true", help="start fresh even if --out holds a run")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--amp", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads per process")
    defaults = TrainConfig(data="", out="")
    skip = {"data", "out", "eval_data", "init", "resume", "augment", "amp"}
    for f in dataclasses.fields(TrainConfig):
        if f.name in skip:
            continue
        kind = type(getattr(defaults, f.name))
        kind = float if f.name == "time_limit_min" else (int if f.name == "eval_videos" else kind)
        ap.add_argument("--" + f.name.replace("_", "-"), type=kind, default=getattr(defaults, f.name))
    args = ap.parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // world))
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if f.name not in skip}
    cfg = TrainConfig(data=args.data, out=args.out, eval_data=args.eval_data, init=args.init,
                      resume=not args.no_resume, augment=not args.no_augment,
                      amp=None if args.amp == "auto" else args.amp == "on", **values)
    try:
        summary = Trainer(cfg).fit()
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))
    return 0
