"""Procedural 2-D texture fields for floors: noise, stripes, wood rings, marble, tiles, dots.

Why fields in [0, 1] on a pixel grid: a floor is one texture tile built once per clip and
looked up per pixel (floors.py), so the cost of the pattern is paid once, not per frame, and
the same mip-mapped lookup serves procedural patterns and photographs alike. Each function
returns an (S, S) float32 array in [0, 1]; colours are applied by the caller.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["value_noise", "perlin_noise", "stripes", "wood_rings", "marble", "checker",
           "tiles", "dots", "FIELDS"]


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return ((a - lo) / max(hi - lo, 1e-6)).astype(np.float32)


def value_noise(rng: np.random.Generator, size: int, cells: int = 4, octaves: int = 5) -> np.ndarray:
    """Fractal value noise: random lattices of ``cells * 2^o`` cells, bicubic upsampled."""
    out = np.zeros((size, size), np.float32)
    amp = 1.0
    for o in range(octaves):
        n = min(cells * 2 ** o, size)
        grid = rng.uniform(0, 1, (n + 1, n + 1)).astype(np.float32)
        out += amp * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
        amp *= 0.5
    return _normalise(out)


def perlin_noise(rng: np.random.Generator, size: int, cells: int = 4, octaves: int = 5) -> np.ndarray:
    """Fractal gradient (Perlin) noise: random unit gradients on lattices, quintic fade."""
    out = np.zeros((size, size), np.float32)
    amp = 1.0
    for o in range(octaves):
        n = min(cells * 2 ** o, size // 2)
        ang = rng.uniform(0, 2 * math.pi, (n + 1, n + 1))
        gx, gy = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
        c = (np.arange(size, dtype=np.float32) + 0.5) * (n / size)
        i = np.minimum(c.astype(np.int64), n - 1)
        f = c - i
        fy, fx = f[:, None], f[None, :]
        iy, ix = i[:, None], i[None, :]

        def corner(dy: int, dx: int) -> np.ndarray:
            return gx[iy + dy, ix + dx] * (fx - dx) + gy[iy + dy, ix + dx] * (fy - dy)

        sx = fx * fx * fx * (fx * (fx * 6 - 15) + 10)
        sy = fy * fy * fy * (fy * (fy * 6 - 15) + 10)
        top = corner(0, 0) + (corner(0, 1) - corner(0, 0)) * sx
        bot = corner(1, 0) + (corner(1, 1) - corner(1, 0)) * sx
        out += amp * (top + (bot - top) * sy)
        amp *= 0.5
    return _normalise(out)


def stripes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Parallel soft-edged stripes along the tile's x axis (an integer count: it repeats)."""
    count = int(rng.integers(3, 9))
    duty = rng.uniform(0.3, 0.7)
    x = (np.arange(size, dtype=np.float32) + 0.5) / size * count
    phase = x - np.floor(x)
    edge = 0.5 / size * count * 2.0                   # about two texels of soft edge
    row = np.clip(np.minimum(phase / edge, (duty - phase) / edge) + 0.5, 0, 1)
    return np.broadcast_to(row[None, :], (size, size)).astype(np.float32).copy()


def wood_rings(rng: np.random.Generator, size: int) -> np.ndarray:
    """Growth rings around an off-tile centre, warped by noise: planks of wood grain."""
    cy, cx = rng.uniform(-1.5, 2.5, 2) * size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.hypot((yy - cy) * rng.uniform(0.15, 0.4), xx - cx) / size
    warp = value_noise(rng, size, cells=3, octaves=3) - 0.5
    rings = r * rng.uniform(10, 25) + warp * rng.uniform(0.6, 1.5)
    f = rings - np.floor(rings)
    return (f ** rng.uniform(1.5, 3.0)).astype(np.float32)


def marble(rng: np.random.Generator, size: int) -> np.ndarray:
    """Veins: |sin| of a slanted ramp displaced by turbulent noise, sharpened."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    a = rng.uniform(0, math.pi)
    turb = perlin_noise(rng, size, cells=3, octaves=5)
    ramp = (math.cos(a) * xx + math.sin(a) * yy) * rng.uniform(1.5, 3.5) + turb * rng.uniform(0.8, 1.8)
    vein = np.abs(np.sin(ramp * math.pi))
    return (vein ** rng.uniform(0.15, 0.4)).astype(np.float32)


def checker(size: int, count: int) -> np.ndarray:
    """``count`` x ``count`` squares (even: the tile repeats seamlessly)."""
    i = (np.arange(size) * count // size) & 1
    return (i[:, None] ^ i[None, :]).astype(np.float32)


def tiles(rng: np.random.Generator, size: int) -> np.ndarray:
    """Square tiles with a random shade each, separated by dark grout lines (value 0)."""
    n = int(rng.integers(3, 7))
    shade = rng.uniform(0.35, 1.0, (n, n)).astype(np.float32)
    i = np.arange(size) * n // size
    field = shade[i[:, None], i[None, :]]
    frac = (np.arange(size) * n % size) / size
    grout = rng.uniform(0.03, 0.08)
    line = (frac < grout / 2) | (frac > 1 - grout / 2)
    field[line, :] = 0
    field[:, line] = 0
    return field


def dots(rng: np.random.Generator, size: int) -> np.ndarray:
    """Polka dots on a (periodic) grid, every other row shifted by half a cell."""
    n = int(rng.integers(4, 10))
    radius = rng.uniform(0.2, 0.42)
    yy, xx = (np.mgrid[0:size, 0:size].astype(np.float32) + 0.5) * (n / size)
    row = np.floor(yy)
    xx = xx + 0.5 * (row % 2)
    dy, dx = yy - row - 0.5, xx - np.floor(xx) - 0.5
    d = np.sqrt(dx * dx + dy * dy)
    return np.clip((radius - d) * (size / n) + 0.5, 0, 1).astype(np.float32)


# family name -> (field maker (rng, size) -> (S, S), tiling: "repeat" or "mirror")
FIELDS = {
    "value_noise": (lambda rng, s: value_noise(rng, s, cells=int(rng.integers(2, 6))), "mirror"),
    "perlin": (lambda rng, s: perlin_noise(rng, s, cells=int(rng.integers(2, 6))), "mirror"),
    "stripes": (stripes, "repeat"),
    "wood": (wood_rings, "mirror"),
    "marble": (marble, "mirror"),
    "tiles": (tiles, "repeat"),
    "dots": (dots, "repeat"),
}
