"""Directional lights (1-3), their colours and intensities, and soft-shadow ray directions.

Why per-pixel jittered shadow rays: a soft (area) light needs many shadow rays per pixel,
which would multiply the cost of the shadow pass. Instead each pixel casts one ray towards
one of 16 points spread over the light's disc (a 4 x 4 pixel tile, in Bayer order so that
neighbours aim far apart) and the shadow mask is box filtered over 4 x 4 pixels of the same
surface (shading.py), which averages all 16 points at every pixel: the cost of a hard
shadow, with a penumbra that widens with the light's angular radius. Shadows change RGB only.
"""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .styles import Style

__all__ = ["Light", "LIGHT_TINTS", "sample_lights", "jitter_directions", "direction_maps"]

LIGHT_TINTS = ("white", "daylight", "coloured")


@dataclass
class Light:
    """direction (3,) unit, towards the light; color (3,) linear RGB with max 1; intensity;
    softness: angular radius of the light's disc in radians (0: hard shadows)."""

    direction: np.ndarray
    color: np.ndarray
    intensity: float
    softness: float
    tint: str
    jitter_angle: float = 0.0                          # rotation of the disc pattern

    def info(self) -> dict[str, Any]:
        return {"direction": self.direction.tolist(), "color": self.color.tolist(),
                "intensity": self.intensity, "softness": self.softness, "tint": self.tint}


def _kelvin(k: float) -> np.ndarray:
    """Approximate linear RGB (3,) of a black body at ``k`` kelvin, max channel 1."""
    t = k / 100.0
    r = 1.0 if t <= 66 else 1.292936 * (t - 60) ** -0.1332047
    g = 0.3900816 * math.log(t) - 0.6318414 if t <= 66 else 1.1298909 * (t - 60) ** -0.0755148
    b = 1.0 if t >= 66 else (0.0 if t <= 19 else 0.5432068 * math.log(t - 10) - 1.1962541)
    rgb = np.clip([r, g, b], 0.05, 1.0) ** 2.2
    return rgb / rgb.max()


def _tint(rng: np.random.Generator, tint: str) -> np.ndarray:
    if tint == "white":
        return np.ones(3)
    if tint == "daylight":
        return _kelvin(rng.uniform(3500.0, 8000.0))
    if tint == "coloured":
        rgb = np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.35, 0.7), 1.0)) ** 2.2
        return rgb / rgb.max()
    raise ValueError(f"unknown light tint {tint!r}")


def sample_lights(rng: np.random.Generator, style: Style, count: int | None = None,
                  soft_prob: float = 0.5) -> list[Light]:
    """1-3 lights of ``style`` (``count`` forces one of its light counts): a key light high
    above, fills anywhere; total intensity 0.9-1.3 whatever the count; each light soft
    (a disc of 2-9 degrees radius) with probability ``soft_prob``, else hard."""
    if count is None:
        count = int(style.light_counts[rng.integers(len(style.light_counts))])
    elif count not in style.light_counts:
        raise ValueError(f"{count} lights is not a {style.name!r} setup; choose from {style.light_counts}")
    lights = []
    for i in range(count):
        az = rng.uniform(0, 2 * math.pi)
        el = math.radians(rng.uniform(30.0, 70.0) if i == 0 else rng.uniform(25.0, 75.0))
        tint = style.light_tints[rng.integers(len(style.light_tints))]
        lights.append(Light(
            direction=np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)]),
            color=_tint(rng, tint), intensity=float(rng.uniform(0.7, 1.0) if i == 0 else rng.uniform(0.2, 0.55)),
            softness=0.0 if rng.uniform() >= soft_prob else float(rng.uniform(0.04, 0.15)), tint=tint,
            jitter_angle=float(rng.uniform(0, 2 * math.pi))))
    total = sum(light.intensity for light in lights)
    gain = rng.uniform(0.9, 1.3) / total
    for light in lights:
        light.intensity *= gain
    return lights


_BAYER4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])


def jitter_directions(light: Light, count: int = 16) -> np.ndarray:
    """(count, 3) unit directions towards points of the light's disc, evenly spread (a
    sunflower pattern: equal areas per point); all equal to the centre when the light is hard."""
    L = light.direction
    a = np.cross(L, [0.0, 0.0, 1.0] if abs(L[2]) < 0.9 else [1.0, 0.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(L, a)
    k = np.arange(count)
    r = math.tan(light.softness) * np.sqrt((k + 0.5) / count)
    ang = light.jitter_angle + k * (math.pi * (3.0 - math.sqrt(5.0)))        # golden angle
    d = L[None] + r[:, None] * (np.cos(ang)[:, None] * a[None] + np.sin(ang)[:, None] * b[None])
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def direction_maps(light: Light, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel shadow-ray directions: three (H, W) float32 maps; pixel (y, x) aims at disc
    point _BAYER4[y % 4, x % 4] of jitter_directions."""
    dirs = jitter_directions(light).astype(np.float32)
    k = _BAYER4[np.arange(height)[:, None] % 4, np.arange(width)[None, :] % 4]
    return dirs[k, 0], dirs[k, 1], dirs[k, 2]
