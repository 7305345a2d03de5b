"""``python -m eoras_core.synth.bench``: frames per second of render_clip in one process.

Why CPU time is printed too: the renderer uses only element-wise NumPy (no BLAS, no
threads), so CPU time close to wall time confirms the figure is per core; on a shared
machine the CPU-time figure is the steadier one. --style v1 times the original renderer,
so before/after figures come from one command.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eoras_core.synth.bench")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--clips", type=int, default=6, help="clips rendered (seeds seed..seed+clips-1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="also time writing the MOVi files")
    ap.add_argument("--style", choices=("train", "shift", "v1"), default="train")
    ap.add_argument("--dense", action="store_true")
    ap.add_argument("--no-camera-fx", action="store_true")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    try:                                     # the renderer does not use torch; pin it anyway
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    from .clip import render_clip
    from .export import write_clip
    from .scene import make_config

    if args.style == "v1":
        cfg = make_config("v1")
    else:
        cfg = make_config(args.style, dense=args.dense, camera_fx=not args.no_camera_fx)
    render_clip(args.seed, frames=2, size=32, config=cfg)          # warm-up (imports, caches)
    wall = cpu = 0.0
    wall_w = 0.0
    objects = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.clips):
            w0, c0 = time.perf_counter(), time.process_time()
            clip = render_clip(args.seed + k, frames=args.frames, size=args.size, config=cfg)
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
            objects += clip.num_objects
            if args.write:
                w1 = time.perf_counter()
                write_clip(clip, f"{tmp}/v{k}")
                wall_w += time.perf_counter() - w1
    n = args.clips * args.frames
    mode = args.style + (" dense" if args.dense else "") + (" no-fx" if args.no_camera_fx else "")
    print(f"{args.clips} clips x {args.frames} frames at {args.size}x{args.size} ({mode}), "
          f"{objects / args.clips:.1f} objects/clip on average, all ground truth")
    print(f"render: {n / wall:.1f} frames/s (wall), {n / cpu:.1f} frames/s per CPU second")
    if args.write:
        print(f"render + write: {n / (wall + wall_w):.1f} frames/s (writing alone {n / wall_w:.1f} frames/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
