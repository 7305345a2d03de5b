"""Time ui.compositing.composite on one core: 5 objects, all layers on, at 1280x720 and 640x360.

    python bench/bench_compositing.py [--repeat 60] [--no-append]

The UI recomposites on every scrub and layer toggle, so the budget is <= 30 ms at 720p.
Prints a table (median, p95 ms) and appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ui.compositing import LayerStyle, ObjectLayer, composite  # noqa: E402

ALL_ON = LayerStyle(True, True, True, True, True, True, True, True, True)
# (cx, cy, rx, ry) as fractions of the frame: mixed sizes, overlapping, one large object.
ELLIPSES = [(0.16, 0.28, 0.09, 0.12), (0.39, 0.55, 0.16, 0.21), (0.70, 0.42, 0.12, 0.28),
            (0.86, 0.83, 0.08, 0.11), (0.50, 0.50, 0.23, 0.28)]


def ellipse(H: int, W: int, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    cv2.ellipse(m, (int(cx * W), int(cy * H)), (int(rx * W), int(ry * H)), 0, 0, 360, 1, -1)
    return m.view(bool)


def scene(H: int, W: int) -> tuple[np.ndarray, list[ObjectLayer]]:
    """A noisy frame and 5 objects, each half occluded, with GT shifted by 1% of the width."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (H, W, 3), np.uint8)
    objs = []
    for i, (cx, cy, rx, ry) in enumerate(ELLIPSES):
        amodal = ellipse(H, W, cx, cy, rx, ry)
        visible = amodal.copy()
        visible[:, int(cx * W):] = False
        gt_amodal = ellipse(H, W, cx + 0.01, cy, rx, ry)
        gt_visible = gt_amodal.copy()
        gt_visible[:, int((cx + 0.02) * W):] = False
        box = ((cx - rx) * W, (cy - ry) * H, (cx + rx) * W, (cy + ry) * H)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        objs.append(ObjectLayer(i, f"object {i}", colour, visible, amodal, box, gt_visible, gt_amodal, selected=i == 1))
    return frame, objs


def time_ms(H: int, W: int, style: LayerStyle, repeat: int) -> tuple[float, float]:
    frame, objs = scene(H, W)
    composite(frame, objs, style, (W // 10, H // 10))  # warm-up: builds the cached hatch patterns
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        composite(frame, objs, style, (W // 10, H // 10))
        ts.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(ts)), float(np.percentile(ts, 95))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=60)
    ap.add_argument("--no-append", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    rows = ["| frame | layers | objects | median ms | p95 ms |", "|---|---|---|---|---|"]
    for (W, H) in ((1280, 720), (640, 360)):
        for label, style in (("all", ALL_ON), ("default", LayerStyle())):
            med, p95 = time_ms(H, W, style, args.repeat)
            rows.append(f"| {W}x{H} | {label} | {len(ELLIPSES)} | {med:.2f} | {p95:.2f} |")
    cpu = platform.processor() or platform.machine()
    cmd = "python bench/bench_compositing.py" + (f" --repeat {args.repeat}" if args.repeat != 60 else "")
    section = "\n".join([
        f"### compositing, {len(ELLIPSES)} objects, {cpu} CPU ({os.cpu_count()} cores), 1 OpenCV thread",
        f"{datetime.date.today().isoformat()} — `{cmd}`",
        "",
        *rows,
    ])
    print(section)
    if not args.no_append:
        path = ROOT / "bench" / "RESULTS.md"
        prev = path.read_text() if path.exists() else "# Benchmark results\n"
        path.write_text(prev.rstrip("\n") + "\n\n" + section + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
