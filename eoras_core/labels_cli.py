"""`python -m eoras_core {annotate,export,import}`: labels without the studio.

Thin over the library: eoras_core.annotate (video + boxes -> labels), project_format
(studio projects -> labels), formats/ (every file format) and label_import (files -> labels
and projects). Every mistake in the input ends in one line naming the file or the field.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

MODEL_ARGS = ("checkpoint", "preset", "device")


def _model_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--checkpoint", default=None, help="published .pth/.pth.gz or project .safetensors (default: bundled demo model)")
    ap.add_argument("--preset", default=None, help="architecture for files that do not carry one: movi_b, movi_d, kitti, tiny")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])


def _output_args(ap: argparse.ArgumentParser) -> None:
    from .formats.bundle import FORMATS

    ap.add_argument("--out", required=True, help="folder to write into (created if needed)")
    ap.add_argument("--format", default=None, help=f"comma-separated subset of {','.join(FORMATS)} (default: all)")
    ap.add_argument("--categories", default=None,
                    help="category names shared across videos, in id order: 'car,person' or a file with one per line")


def _categories(text: str | None) -> list[str] | None:
    if not text:
        return None
    path = Path(text)
    names = path.read_text(encoding="utf-8").splitlines() if path.is_file() else text.split(",")
    return [n.strip() for n in names if n.strip()] or None


def _engine(args: argparse.Namespace):
    from .checkpoint import load_eoras
    from .shared_predictor import SharedPredictor

    return SharedPredictor(load_eoras(args.checkpoint, preset=args.preset, device=args.device))


def _bar(total: float = 100.0) -> tuple[Callable[[float, str], None], Callable[[], None]]:
    """A tqdm bar for progress(fraction, text) callbacks."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="%", bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}% {postfix}", file=sys.stderr)

    def update(frac: float, text: str) -> None:
        bar.n = round(min(1.0, max(0.0, frac)) * total, 1)
        bar.set_postfix_str(text, refresh=True)

    return update, bar.close


def _write(videos, args: argparse.Namespace) -> None:
    from .formats.bundle import parse_formats, write_formats

    written = write_formats(videos, args.out, parse_formats(args.format), _categories(args.categories),
                            progress=lambda text: print(f"writing {text}", file=sys.stderr))
    for fmt, path in written.items():
        print(f"{fmt}: {path}")


def annotate_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m eoras_core annotate",
                                 description="Segment the objects of a video from keyframe boxes and write every label format.")
    ap.add_argument("video", help="a video file (mp4, webm, mov, mkv, avi, gif)")
    ap.add_argument("--boxes", required=True,
                    help='BOXES.json in the segment_video format: {"objects": [{"id": 1, "name": "car", "boxes": {"0": [x0, y0, x1, y1]}}]}')
    ap.add_argument("--max-frames", type=int, default=2000, help="decode at most this many frames (memory bound)")
    from .budget import Budget

    limits = Budget.for_machine()
    ap.add_argument("--max-source-pixels", type=int, default=limits.max_source_pixels,
                    help="most frames x width x height to decode (default %(default)s)")
    ap.add_argument("--max-objects", type=int, default=limits.max_objects)
    ap.add_argument("--max-object-frames", type=int, default=limits.max_object_frames)
    ap.add_argument("--max-seconds", type=float, default=24 * 3600.0, help="time limit (default: a day)")
    _output_args(ap)
    _model_args(ap)
    args = ap.parse_args(argv)
    from .annotate import WORKING_SIZE, annotate
    from .checkpoint import CheckpointError
    from .media import LoadCaps

    try:
        boxes = Path(args.boxes).read_text(encoding="utf-8")
        engine = _engine(args)
        update, close = _bar()
        try:
            budget = Budget(args.max_source_pixels, args.max_objects, args.max_object_frames, args.max_seconds)
            caps = LoadCaps(max_side=WORKING_SIZE.max_side, max_frames=args.max_frames)
            labels = annotate(engine, args.video, boxes, caps, update, budget)
        finally:
            close()
        _write([labels], args)
    except (CheckpointError, ValueError, OSError) as exc:
        return _fail(exc)
    return 0


def export_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m eoras_core export",
                                 description="Write studio projects (human edits included) in every label format; "
                                             "several projects make one dataset.")
    ap.add_argument("projects", nargs="+", help="project folders (each holds a project.json)")
    _output_args(ap)
    args = ap.parse_args(argv)
    from .project_format import labels_from_project

    try:
        _write([labels_from_project(p) for p in args.projects], args)
    except (ValueError, OSError) as exc:
        return _fail(exc)
    return 0


def import_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m eoras_core import",
                                 description="Read labels (amodal video JSON, COCO, MOVi layout, or visible-only DAVIS / "
                                             "YouTube-VIS / SAM 2 masks) into a project and DIR/annotations.json.")
    ap.add_argument("source", help="a label file or folder")
    ap.add_argument("--out", required=True, help="folder for annotations.json and the project folder")
    ap.add_argument("--video", default=None, help="the video the labels belong to (its sha256 must match theirs)")
    ap.add_argument("--projects", default=None,
                    help="where to look for an existing project of the labels' video (by info.source_sha256)")
    _model_args(ap)
    args = ap.parse_args(argv)
    from .checkpoint import CheckpointError
    from .label_import import import_labels

    try:
        report = import_labels(args.source, args.out, video=args.video, projects=args.projects,
                               engine_factory=lambda: _engine(args))
    except (CheckpointError, ValueError, OSError) as exc:
        return _fail(exc)
    for line in report:
        print(line)
    return 0


def _fail(exc: BaseException) -> int:
    text = str(exc) if not isinstance(exc, OSError) else f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
    print(f"error: {text}", file=sys.stderr)
    return 2
