"""Labels without the studio: `annotate` on a 132-frame 720p clip, beside the studio doing the
same work, and the export of that clip in all four formats.

    python bench/bench_labels.py [--runs 2]

One object, boxed on the first and last frames (interpolated between), on a 1280x720 clip
(bikes.mp4 upscaled). annotate: decode at full size, track, segment, paste masks at the
source size and encode them as RLE (eoras_core.annotate, what the command line runs).
Studio: open the clip at full size, draw the two keyframes, Segment (plan, run, apply).
Export: amodal video JSON, COCO, PNG zip and the MOVi layout (frames re-decoded at source
size). Prints a table and appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_project import hd_video  # noqa: E402
from bench.results import RESULTS, report  # noqa: E402
from eoras_core import load_eoras  # noqa: E402
from eoras_core.annotate import annotate  # noqa: E402
from eoras_core.formats.bundle import FORMATS, write_formats  # noqa: E402
from eoras_core.media import LoadCaps  # noqa: E402
from eoras_core.shared_predictor import SharedPredictor  # noqa: E402
from ui.actions import draw_box, open_clip, segment  # noqa: E402
from ui.scene_loading import open_any  # noqa: E402
from ui.session import Session  # noqa: E402

FIRST, LAST = [420.0, 180.0, 640.0, 600.0], [460.0, 180.0, 680.0, 600.0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    engine = SharedPredictor(load_eoras(device="cpu"))
    rows: dict[str, list[float]] = {"annotate (command line)": [], "studio: open + 2 keyframes + Segment": []}
    rows.update({f"export {fmt}": [] for fmt in FORMATS})
    with tempfile.TemporaryDirectory(prefix="eoras_bench_labels_") as tmp:
        video = hd_video(Path(tmp) / "bikes_720p.mp4")
        request = json.dumps({"objects": [{"id": 1, "name": "cyclist", "boxes": {"0": FIRST, "131": LAST}}]})
        for run in range(args.runs):
            t0 = time.perf_counter()
            labels = annotate(engine, video, request)
            rows["annotate (command line)"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            s = Session()
            open_clip(s, open_any(video, LoadCaps(max_side=1280)), engine)
            draw_box(s, 0, tuple(FIRST), "new")
            draw_box(s, 131, tuple(LAST), "edit")
            segment(s, engine)
            rows["studio: open + 2 keyframes + Segment"].append(time.perf_counter() - t0)
            for fmt in FORMATS:
                t0 = time.perf_counter()
                write_formats([labels], Path(tmp) / f"out{run}" / fmt, (fmt,))
                rows[f"export {fmt}"].append(time.perf_counter() - t0)
        frames = sum(len(o.frames) for o in labels.objects)
    table = "| 132 x 1280x720, 1 object | median s | max s |\n|---|---|---|\n" + "\n".join(
        f"| {k} | {statistics.median(v):.2f} | {max(v):.2f} |" for k, v in rows.items())
    table += f"\n\n({frames} object-frames with masks; {args.runs} runs each)"
    heading = f"labels without the studio, {platform.machine()} CPU x{os.cpu_count()}, model {engine.config.name}"
    report(heading, "bench/bench_labels.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
