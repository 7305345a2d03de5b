"""Every export format into one folder: what `annotate` and `export` write.

    DIR/annotations.json   amodal video JSON (lossless; docs/EXPORT_SCHEMA.md)
    DIR/coco.json          per-frame COCO with KINS / COCOA-cls amodal fields
    DIR/masks.zip          PNG masks per object: visible, amodal, occluded
    DIR/movi/              the published MOVi layout (trainable with `python -m eoras_core train`)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from ..export import write_json
from ..labels import VideoLabels

FORMATS = ("ytvis", "coco", "png", "movi")


def parse_formats(text: str | None) -> tuple[str, ...]:
    """"ytvis,coco" -> ("ytvis", "coco"); None or "" -> every format. ValueError names unknown ones."""
    if not text:
        return FORMATS
    chosen = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise ValueError(f"--format: unknown format(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")
    return chosen


def write_formats(videos: Sequence[VideoLabels], out: str | Path, formats: Sequence[str] = FORMATS,
                  categories: Sequence[str] | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Write the chosen formats of these videos into `out`; returns format -> path written."""
    from .amodal_json import amodal_video_document
    from .coco import coco_document
    from .movi_split import write_movi_split
    from .png_masks import write_png_zip

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _text: None)
    written: dict[str, Path] = {}
    if "ytvis" in formats:
        say("amodal video JSON")
        written["ytvis"] = write_json(amodal_video_document(videos, categories), out / "annotations.json")
    if "coco" in formats:
        say("COCO")
        written["coco"] = write_json(coco_document(videos, categories), out / "coco.json")
    if "png" in formats:
        say("PNG masks")
        written["png"] = write_png_zip(videos, out / "masks.zip")
    if "movi" in formats:
        say("MOVi layout")
        written["movi"] = write_movi_split(videos, out / "movi", progress=say)
    return written
