"""A shareable error-analysis report of a prediction cache: one self-contained HTML file.

    python -m eoras_core report --cache CACHE [--compare CACHE2] --out REPORT.html [--data SPLIT] [--worst 12]

Why one file: it is mailed, attached to an issue, opened on a plane. Plotly's JavaScript and
the thumbnails are embedded. Beside it go `objects.csv` and `objects.json`: the per-object
table (the fields of `eval --json`'s `per_object`, plus what the table shows), `null` where a
value is undefined. Thumbnails of the worst tracks need the split's frames: `--data`, or the
folder the cache was made from.
"""
from __future__ import annotations

import argparse
import base64
import csv
import html
import json
import math
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .error_plots import make_plot, plot_data, plot_names
from .export import rle_to_mask
from .predictions import MANIFEST, read_objects, read_video

def _mean(values: list) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def object_rows(cache: str | Path) -> list[dict[str, Any]]:
    """One row per object: identity, kind, frames, occlusion, size, IoUs, the worst frame."""
    manifest = json.loads((Path(cache) / MANIFEST).read_text())
    rows = []
    for video, r in read_objects(cache):
        amodal, visible = np.asarray(r["gt_amodal_area"], float), np.asarray(r["gt_visible_area"], float)
        seen = amodal > 0
        occlusion = float(np.mean(1 - visible[seen] / amodal[seen])) if seen.any() else None
        ious = r["iou_full_clean"]
        worst = int(np.argmin([1.0 if v is None else v for v in ious])) if ious else None
        missed_v, missed_h, extra = (int(sum(r[k])) for k in ("missed_visible", "missed_hidden", "extra"))
        rows.append({
            "video": video, "object": r["object"], "shape": r.get("shape"), "frames": len(r["frames"]),
            "occlusion": occlusion, "size": float(amodal.mean()) if len(amodal) else None,
            **{k: r["metrics"][k] for k in ("miou_full", "miou_occ", "miou_full_clean", "miou_occ_clean")},
            "worst_frame": r["frames"][worst] if worst is not None else None,
            "worst_iou": ious[worst] if worst is not None else None,
            "missed_visible": missed_v, "missed_hidden": missed_h, "extra": extra,
            "iou_by_position": ious,
        })
    for row in rows:
        row["model"] = manifest["model"]
    return rows


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_tables(rows: list[dict], folder: Path) -> tuple[Path, Path]:
    """objects.json (a list, eval's per_object keys among its fields) and objects.csv."""
    fields = [k for k in rows[0] if k != "iou_by_position"] if rows else []
    table = [{k: _clean(row[k]) for k in fields} for row in rows]
    js = folder / "objects.json"
    js.write_text(json.dumps(table, indent=1))
    cs = folder / "objects.csv"
    with open(cs, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows([{k: "" if v is None else v for k, v in row.items()} for row in table])
    return js, cs


def with_compare(rows: list[dict], other: list[dict]) -> list[dict]:
    """A's rows with B's clean IoUs and the change B - A (None where either is undefined)."""
    b = {(r["video"], r["object"]): r for r in other}
    model_b = other[0]["model"] if other else None
    merged = []
    for r in rows:
        o = b.get((r["video"], r["object"]), {})
        row = {**r, "model_b": model_b}
        for key, short in (("miou_full_clean", "full"), ("miou_occ_clean", "occ")):
            vb = o.get(key)
            row[f"{key}_b"] = vb
            row[f"delta_{short}"] = None if vb is None or r[key] is None else vb - r[key]
        merged.append(row)
    return merged


def _overlay(rgb: np.ndarray, mask: np.ndarray, colour) -> np.ndarray:
    out = rgb.astype(np.float32)
    out[mask] = 0.5 * out[mask] + 0.5 * np.array(colour, np.float32)
    return out.astype(np.uint8)


def thumbnails(cache: Path, rows: list[dict], data: Path | None, count: int) -> list[tuple[dict, str]]:
    """(row, data-URI PNG) for the `count` worst objects at their worst frame: visible, amodal,
    error (green: right, red: missed, blue: extra)."""
    if data is None or not data.is_dir():
        return []
    from .data.movi import MoviSplit

    split = MoviSplit(data)
    out = []
    worst = sorted((r for r in rows if r["worst_frame"] is not None), key=lambda r: r["miou_full_clean"])[:count]
    for row in worst:   # only these objects' videos are read again
        rec = next(r for r in read_video(cache, row["video"])["objects"] if r["object"] == row["object"])
        i = rec["frames"].index(row["worst_frame"])
        rgb = np.asarray(split.load_video(row["video"]).frames[row["worst_frame"]])
        track = split.track(row["video"], row["object"])
        amodal, visible = rle_to_mask(rec["amodal"][i]), rle_to_mask(rec["visible"][i])
        truth = track.amodal[i]
        error = rgb.copy()
        for mask, colour in ((amodal & truth, (40, 200, 60)), (truth & ~amodal, (230, 40, 40)), (amodal & ~truth, (40, 90, 240))):
            error = _overlay(error, mask, colour)
        panel = np.concatenate([_overlay(rgb, visible, (40, 200, 60)), _overlay(rgb, amodal, (230, 40, 220)), error], 1)
        ok, png = cv2.imencode(".png", cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
        out.append((row, "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()))
    return out


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))


def write_report(cache: str | Path, out: str | Path, compare: str | Path | None = None,
                 data: str | Path | None = None, worst: int = 12) -> Path:
    """Write REPORT.html, objects.csv and objects.json; returns the HTML's path."""
    cache, out = Path(cache), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = object_rows(cache)
    other = object_rows(compare) if compare else None
    write_tables(rows, out.parent)
    manifest = json.loads((cache / MANIFEST).read_text())
    data = Path(data) if data else Path(manifest.get("data", ""))
    cols = ["video", "object", "shape", "frames", "occlusion", "size", "miou_full_clean", "miou_occ_clean",
            "miou_full", "miou_occ", "worst_frame"]
    table = "".join("<tr>" + "".join(f"<td>{_fmt(r[c])}</td>" for c in cols) + "</tr>"
                    for r in sorted(rows, key=lambda r: r["miou_full_clean"]))
    parts = [f"<h1>Error analysis — {html.escape(manifest['model'])} on {html.escape(manifest['split'])}</h1>",
             f"<p>{len(rows)} objects in {len(manifest['videos'])} videos. Mean clean IoU full "
             f"{_fmt(_mean([r['miou_full_clean'] for r in rows]))}, occluded {_fmt(_mean([r['miou_occ_clean'] for r in rows]))}.</p>"]
    plotted = plot_data(with_compare(rows, other) if other else rows)
    for i, title in enumerate(plot_names(bool(other))):
        fig = make_plot(title, plotted)
        parts.append(f"<h2>{html.escape(title)}</h2>" + fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    if other:
        b = {(r["video"], r["object"]): r for r in other}
        deltas = sorted(((r, b[(r["video"], r["object"])]) for r in rows if (r["video"], r["object"]) in b),
                        key=lambda p: p[1]["miou_full_clean"] - p[0]["miou_full_clean"])
        body = "".join(f"<tr><td>{_fmt(a['video'])}</td><td>{a['object']}</td><td>{_fmt(a['miou_full_clean'])}</td>"
                       f"<td>{_fmt(c['miou_full_clean'])}</td><td>{_fmt(c['miou_full_clean'] - a['miou_full_clean'])}</td></tr>"
                       for a, c in deltas)
        parts.append("<h2>Changes, A → B (worst first)</h2><table><tr><th>video</th><th>object</th><th>A</th><th>B</th>"
                     f"<th>B − A</th></tr>{body}</table>")
    shots = thumbnails(cache, rows, data, worst)
    if shots:
        parts.append("<h2>Worst tracks at their worst frame</h2><p>visible · amodal · error (green right, red missed, blue extra)</p>")
        parts += [f"<figure><img src='{uri}' alt='{_fmt(r['video'])} object {r['object']}'>"
                  f"<figcaption>{_fmt(r['video'])} #{r['object']}, frame {r['worst_frame']}: IoU {_fmt(r['worst_iou'])}"
                  f"</figcaption></figure>" for r, uri in shots]
    parts.append("<h2>Objects (worst first)</h2><table><tr>" + "".join(f"<th>{c}</th>" for c in cols) + f"</tr>{table}</table>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}")
    out.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>EoRaS error analysis</title>"
                   f"<style>{style}</style></head><body>{''.join(parts)}</body></html>", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eoras_core report", description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--compare", default=None, help="a second cache of the same split (checkpoint B)")
    ap.add_argument("--out", required=True, help="the HTML file; objects.csv and objects.json go beside it")
    ap.add_argument("--data", default=None, help="the split, for thumbnails (default: where the cache was made from)")
    ap.add_argument("--worst", type=int, default=12, help="thumbnails of this many worst tracks")
    args = ap.parse_args(argv)
    try:
        for c in filter(None, (args.cache, args.compare)):
            if not (Path(c) / MANIFEST).is_file():
                raise ValueError(f"{c}: no {MANIFEST}; make the cache with `python -m eoras_core predict` first")
        path = write_report(args.cache, args.out, args.compare, args.data, args.worst)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} and objects.csv / objects.json beside it")
    return 0
