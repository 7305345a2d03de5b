"""Object surfaces: colour palettes, finishes and procedural patterns in the object's frame.

Why patterns in local coordinates: a pattern evaluated on the object's own (unit-shape)
coordinates moves and turns with the object, as paint would, so texture motion agrees with
the ground-truth motion; and it is evaluated only on the object's visible pixels. Patterns
change appearance only: masks, ids and depth are unaffected.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .styles import PALETTES, Style, sample_hsv

__all__ = ["Surface", "FINISHES", "PATTERNS", "sample_surface", "surface_albedo"]

# finish -> (diffuse weight, specular weight, shininess, reflection weight); v1 had the first two
FINISHES: dict[str, tuple[float, float, float, float]] = {
    "rubber": (1.0, 0.25, 12.0, 0.0), "metal": (0.45, 1.0, 70.0, 0.45), "plastic": (0.85, 0.6, 40.0, 0.06)}
PATTERNS = ("solid", "two_tone", "stripes", "checker", "noise", "rings", "polka", "band")


@dataclass
class Surface:
    """colors (2, 3) display RGB (the second only used by patterns); axis (3,) unit and
    center (3,) local; freq cycles per unit; width: duty / dot radius / band half-width."""

    palette: str
    pattern: str
    finish: str
    colors: np.ndarray
    axis: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    center: np.ndarray = field(default_factory=lambda: np.zeros(3))
    freq: float = 1.0
    width: float = 0.5
    lattice: np.ndarray | None = field(default=None, repr=False)     # (6, 6, 6) for "noise"

    def info(self) -> dict[str, Any]:
        return {"palette": self.palette, "pattern": self.pattern, "finish": self.finish,
                "color2": self.colors[1].tolist(), "pattern_axis": self.axis.tolist(),
                "pattern_freq": self.freq}


def sample_surface(rng: np.random.Generator, style: Style, metal_prob: float,
                   pattern: str | None = None) -> Surface:
    """A surface of ``style``: palette, pattern (``pattern`` forces one of the style's), finish
    (metal with ``metal_prob``, else rubber or plastic)."""
    palette = style.palettes[rng.integers(len(style.palettes))]
    if pattern is None:
        pattern = style.patterns[rng.integers(len(style.patterns))]
    elif pattern not in style.patterns:
        raise ValueError(f"pattern {pattern!r} is not a {style.name!r} pattern; choose from {style.patterns}")
    box = PALETTES[palette]
    colors = np.stack([sample_hsv(rng, box), sample_hsv(rng, box)])
    u = rng.uniform()
    finish = "metal" if u < metal_prob else ("rubber" if u < metal_prob + (1 - metal_prob) / 2 else "plastic")
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    s = Surface(palette=palette, pattern=pattern, finish=finish, colors=colors, axis=axis,
                center=rng.uniform(-0.3, 0.3, 3))
    if pattern == "stripes":
        s.freq, s.width = float(rng.uniform(1.2, 3.5)), float(rng.uniform(0.3, 0.6))
    elif pattern == "checker":
        s.freq = float(rng.uniform(1.5, 3.0))
    elif pattern == "noise":
        s.freq, s.lattice = 2.0, rng.uniform(0, 1, (6, 6, 6)).astype(np.float32)
    elif pattern == "rings":
        s.freq, s.width = float(rng.uniform(1.5, 3.5)), float(rng.uniform(0.3, 0.6))
    elif pattern == "polka":
        s.freq, s.width = float(rng.uniform(2.0, 3.5)), float(rng.uniform(0.22, 0.4))
    elif pattern == "band":
        s.width = float(rng.uniform(0.15, 0.4))
    return s


def _mix(s: Surface, f: np.ndarray) -> np.ndarray:
    """Linear colour (3, M): colors[0] where f = 0, colors[1] where f = 1."""
    a, b = (s.colors.astype(np.float32) ** 2.2)
    return a[:, None] + (b - a)[:, None] * f[None].astype(np.float32)


def _trilinear(lat: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Smooth value noise: lattice (n, n, n) sampled at coordinates in [0, n-1] (clipped)."""
    n = lat.shape[0]
    out = np.zeros(x.shape, np.float32)
    c = [np.clip(v, 0, n - 1.001) for v in (x, y, z)]
    i = [v.astype(np.int64) for v in c]
    f = [v - k for v, k in zip(c, i)]
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                w = (f[0] if dx else 1 - f[0]) * (f[1] if dy else 1 - f[1]) * (f[2] if dz else 1 - f[2])
                out += w * lat[i[0] + dx, i[1] + dy, i[2] + dz]
    return out


def surface_albedo(s: Surface, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Linear albedo (3, M) at local unit-shape coordinates x, y, z (M,)."""
    if s.pattern == "solid":
        return _mix(s, np.zeros_like(x))
    ax, ay, az = (float(v) for v in s.axis)
    cx, cy, cz = (float(v) for v in s.center)
    along = (x - cx) * ax + (y - cy) * ay + (z - cz) * az
    if s.pattern == "two_tone":
        f = along > 0
    elif s.pattern == "stripes":
        p = along * s.freq
        f = (p - np.floor(p)) < s.width
    elif s.pattern == "checker":
        f = (np.floor(x * s.freq) + np.floor(y * s.freq) + np.floor(z * s.freq)).astype(np.int64) & 1
    elif s.pattern == "noise":
        lat = s.lattice
        g = _trilinear(lat, (x + 1.8) * 1.4, (y + 1.8) * 1.4, (z + 1.8) * 1.4)
        f = np.clip((g - 0.5) * 4 + 0.5, 0, 1)
    elif s.pattern == "rings":
        r = np.sqrt((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2) * s.freq
        f = (r - np.floor(r)) < s.width
    elif s.pattern == "polka":
        q = [v * s.freq for v in (x, y, z)]
        d2 = sum((v - np.floor(v) - 0.5) ** 2 for v in q)
        f = d2 < s.width ** 2
    elif s.pattern == "band":
        f = np.abs(along) < s.width
    else:
        raise ValueError(f"unknown pattern {s.pattern!r}")
    return _mix(s, np.asarray(f, np.float32))
