"""What lies behind the floor's horizon: colour gradients or a photograph.

Why a function of the ray direction only: the backdrop is infinitely far (depth stays
BACKGROUND_DEPTH, ids stay 0), so it changes the picture without touching any ground truth,
and the same two colours it exposes (horizon, zenith) light metal reflections, the ambient
tint and the distance haze of the floor, which keeps a scene's colours consistent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .photos import PHOTOS, load_photo
from .styles import Style, sample_hsv

__all__ = ["Backdrop", "BACKDROP_FAMILIES", "sample_backdrop", "backdrop_color", "environment"]

# family -> (horizon HSV box, zenith HSV box); photo families have no boxes
_GRADIENTS = {
    "sky": (((0.5, 0.7), (0.05, 0.3), (0.75, 0.95)), None),          # zenith: horizon * (.7, .8, 1)
    "studio": (((0.0, 1.0), (0.0, 0.08), (0.55, 0.9)), None),        # zenith: horizon darkened
    "sunset": (((0.02, 0.1), (0.5, 0.8), (0.8, 1.0)), ((0.65, 0.8), (0.4, 0.7), (0.3, 0.6))),
    "night": (((0.45, 0.6), (0.3, 0.6), (0.2, 0.4)), ((0.6, 0.7), (0.5, 0.9), (0.03, 0.12))),
}
BACKDROP_FAMILIES = (*_GRADIENTS, "photo_a", "photo_b")


@dataclass
class Backdrop:
    """horizon / zenith: display RGB (3,); a photo backdrop spans ``span`` rad of elevation
    from ``base`` upwards and ``width`` rad of azimuth per (mirrored) repeat."""

    family: str
    horizon: np.ndarray
    zenith: np.ndarray
    photo: str | None = None
    image: np.ndarray | None = None                   # (h, w, 3) linear, photo backdrops only
    base: float = -0.05
    span: float = 0.5
    width: float = 1.5
    azimuth: float = 0.0

    def info(self) -> dict[str, Any]:
        return {"family": self.family, "horizon": self.horizon.tolist(), "zenith": self.zenith.tolist(),
                "photo": self.photo, "elevation_base": self.base, "elevation_span": self.span,
                "azimuth_width": self.width, "azimuth": self.azimuth}


def sample_backdrop(rng: np.random.Generator, style: Style, family: str | None = None) -> Backdrop:
    """Draw a backdrop of ``style`` (``family`` forces one of its backdrop families)."""
    if family is None:
        family = style.backdrops[rng.integers(len(style.backdrops))]
    elif family not in style.backdrops:
        raise ValueError(f"backdrop {family!r} is not a {style.name!r} backdrop; choose from {style.backdrops}")
    if family in ("photo_a", "photo_b"):
        name = style.backdrop_photos[rng.integers(len(style.backdrop_photos))]
        img = load_photo(name)
        gain = rng.uniform(0.6, 1.1)
        if PHOTOS[name].grey:
            img = img * (sample_hsv(rng, ((0.0, 1.0), (0.0, 0.4), (0.7, 1.0))) ** 2.2)
        img = np.clip(img * gain, 0, 1).astype(np.float32)
        band = max(1, img.shape[0] // 8)
        horizon = img[-band:].reshape(-1, 3).mean(0) ** (1 / 2.2)
        zenith = img[:band].reshape(-1, 3).mean(0) ** (1 / 2.2)
        return Backdrop(family=family, horizon=horizon, zenith=zenith, photo=name, image=img,
                        base=float(rng.uniform(-0.08, 0.0)), span=float(rng.uniform(0.35, 0.8)),
                        width=float(rng.uniform(0.8, 2.0)), azimuth=float(rng.uniform(0, 2 * math.pi)))
    if family not in _GRADIENTS:
        raise ValueError(f"unknown backdrop family {family!r}")
    hbox, zbox = _GRADIENTS[family]
    horizon = sample_hsv(rng, hbox)
    if zbox is not None:
        zenith = sample_hsv(rng, zbox)
    elif family == "sky":
        zenith = horizon * np.array([0.7, 0.8, 1.0])
    else:
        zenith = horizon * rng.uniform(0.5, 0.8)
    return Backdrop(family=family, horizon=horizon, zenith=zenith)


def backdrop_color(bd: Backdrop, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
    """Linear colour (3, M) seen along unit world directions (M,) that meet nothing."""
    if bd.image is None:
        h, z = (bd.horizon ** 2.2).astype(np.float32), (bd.zenith ** 2.2).astype(np.float32)
        up = np.sqrt(np.clip(dz, 0, 1))
        return h[:, None] + (z - h)[:, None] * up
    img = bd.image
    ih, iw = img.shape[:2]
    az = (np.arctan2(dy, dx) - bd.azimuth) * (iw / bd.width)
    iu = np.floor(az).astype(np.int64) % (2 * iw)
    iu = np.where(iu >= iw, 2 * iw - 1 - iu, iu)
    el = np.arcsin(np.clip(dz, -1, 1))
    iv = np.clip(((bd.base + bd.span - el) * (ih / bd.span)).astype(np.int64), 0, ih - 1)
    return np.take(img.reshape(-1, 3), iv * iw + iu, axis=0).T


def environment(bd: Backdrop, rz: np.ndarray) -> np.ndarray:
    """Blurred linear backdrop colour (3, M) for reflected directions with z component rz (M,)
    (metal reflections and the ambient tint use this, not the photo itself)."""
    h, z = (bd.horizon ** 2.2).astype(np.float32), (bd.zenith ** 2.2).astype(np.float32)
    return h[:, None] + (z - h)[:, None] * np.sqrt(np.clip(rz, 0, 1))
