"""The two MOVi-lite v2 looks: "train" (the default, in-style) and "shift" (held out).

Why two disjoint styles: a model validated on clips drawn from the same floors, palettes and
lights it was trained on says little about footage that looks different. The shift style
draws every appearance choice (floor families and their colours, backdrops, photographs,
object patterns and palettes, light counts and tints) from families the train style never
uses, so a shift split is an honest out-of-style validation set. Geometry (object kinds,
motion, camera, occlusion) and camera artefacts are shared: they are the task, not the look.

Colour palettes are boxes in HSV (hue, saturation, value); boxes of different styles never
overlap, so no object or floor colour of one style can be drawn by the other.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

__all__ = ["Style", "STYLES", "PALETTES", "FLOOR_PALETTES", "sample_hsv", "style_of"]

# name -> ((h0, h1), (s0, s1), (v0, v1)); hue ranges may wrap (h0 > h1)
PALETTES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "saturated": ((0.0, 1.0), (0.65, 1.0), (0.6, 1.0)),     # MOVi-B: any hue, strong
    "pastel": ((0.0, 1.0), (0.15, 0.4), (0.85, 1.0)),
    "muted": ((0.0, 1.0), (0.3, 0.6), (0.35, 0.65)),
    "dark": ((0.0, 1.0), (0.2, 1.0), (0.08, 0.3)),          # shift
    "grey": ((0.0, 1.0), (0.0, 0.1), (0.3, 0.95)),          # shift
    "deep": ((0.0, 1.0), (0.65, 1.0), (0.35, 0.55)),        # shift
}
FLOOR_PALETTES = {
    "soft": ((0.0, 1.0), (0.0, 0.35), (0.4, 0.8)),          # train: v1's grey-ish floors
    "earthy": ((0.02, 0.16), (0.4, 0.75), (0.3, 0.7)),      # train: browns and ochres
    "vivid": ((0.3, 0.95), (0.45, 0.9), (0.25, 0.7)),       # shift: greens, blues, purples
    "deep_floor": ((0.0, 1.0), (0.4, 1.0), (0.06, 0.24)),   # shift: near-black colours
}


@dataclass(frozen=True)
class Style:
    """What one style may draw. Every field of TRAIN is disjoint from the same field of SHIFT."""

    name: str
    floors: tuple[str, ...]            # floor families (floors.py)
    floor_palettes: tuple[str, ...]    # colours of procedural / plain floors, tints of grey photos
    floor_photos: tuple[str, ...]      # photos the floor's photo family draws (photos.py)
    backdrops: tuple[str, ...]         # backdrop families (backdrops.py)
    backdrop_photos: tuple[str, ...]
    patterns: tuple[str, ...]          # object surface patterns (materials.py)
    palettes: tuple[str, ...]          # object colour palettes (PALETTES)
    light_counts: tuple[int, ...]
    light_tints: tuple[str, ...]       # light colour families (lights.py)


STYLES: dict[str, Style] = {
    "train": Style(
        name="train",
        floors=("plain", "checker", "value_noise", "stripes", "wood", "photo_a"),
        floor_palettes=("soft", "earthy"),
        floor_photos=("brick", "gravel", "camera"),
        backdrops=("sky", "studio", "photo_a"),
        backdrop_photos=("astronaut", "chelsea", "camera"),
        patterns=("solid", "two_tone", "stripes", "checker"),
        palettes=("saturated", "pastel", "muted"),
        light_counts=(1, 2),
        light_tints=("white", "daylight"),
    ),
    "shift": Style(
        name="shift",
        floors=("perlin", "marble", "tiles", "dots", "photo_b"),
        floor_palettes=("vivid", "deep_floor"),
        floor_photos=("grass", "coffee", "text"),
        backdrops=("sunset", "night", "photo_b"),
        backdrop_photos=("coffee", "clock", "text"),
        patterns=("noise", "rings", "polka", "band"),
        palettes=("dark", "grey", "deep"),
        light_counts=(3,),
        light_tints=("coloured",),
    ),
}


def style_of(name: str) -> Style:
    """The Style called ``name`` ("train" or "shift")."""
    if name not in STYLES:
        raise ValueError(f"unknown style {name!r}; choose from {sorted(STYLES)}")
    return STYLES[name]


def sample_hsv(rng: np.random.Generator, box: tuple[tuple[float, float], ...]) -> np.ndarray:
    """A display-RGB colour (3,) drawn uniformly from an HSV box."""
    (h0, h1), (s0, s1), (v0, v1) = box
    h = rng.uniform(h0, h1 if h1 >= h0 else h1 + 1.0) % 1.0
    return np.array(colorsys.hsv_to_rgb(h, rng.uniform(s0, s1), rng.uniform(v0, v1)))
