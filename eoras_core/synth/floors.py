"""Floor appearance: plain colours, checkers, procedural textures and photographs.

Why one mip-mapped texture tile per clip: every family (even a checker) becomes an
(S, S, 3) linear-RGB tile laid on the ground plane at a random scale, rotation and offset, so
the per-pixel cost is one lookup in a mip pyramid whatever the family, and distant ground
fades to the tile's mean colour instead of aliasing (what CHECKER_FADE did in v1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .photos import PHOTOS, load_photo
from .styles import FLOOR_PALETTES, Style, sample_hsv
from .textures import FIELDS, checker

__all__ = ["Floor", "FLOOR_FAMILIES", "sample_floor", "floor_albedo"]

TILE = 256                          # texels per tile side
FLOOR_FAMILIES = ("plain", "checker", *FIELDS, "photo_a", "photo_b")


@dataclass
class Floor:
    """A floor: ``texture`` is a mip pyramid of (S_l, S_l, 3) float32 linear tiles (level 0
    first, S_l = TILE >> l); ``texel`` world units per level-0 texel; ``tiling`` "repeat"
    or "mirror"; ``angle`` (rad) and ``offset`` (2,) world placement of the tile."""

    family: str
    colors: np.ndarray                                 # (2, 3) display RGB the pattern mixes
    world_size: float                                  # world units per tile
    angle: float
    offset: np.ndarray
    tiling: str
    photo: str | None = None
    texture: list[np.ndarray] = field(default_factory=list, repr=False)
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def mean(self) -> np.ndarray:
        """Mean linear colour (3,) (the coarsest mip level)."""
        return self.texture[-1].reshape(-1, 3).mean(axis=0)

    def info(self) -> dict[str, Any]:
        return {"family": self.family, "colors": self.colors.tolist(), "world_size": self.world_size,
                "angle": self.angle, "offset": self.offset.tolist(), "tiling": self.tiling,
                "photo": self.photo}


def _pyramid(tile: np.ndarray) -> list[np.ndarray]:
    """Mip levels of a (S, S, 3) tile down to 1 x 1 (area averaging)."""
    levels = [np.ascontiguousarray(tile, np.float32)]
    while levels[-1].shape[0] > 1:
        s = levels[-1].shape[0] // 2
        levels.append(cv2.resize(levels[-1], (s, s), interpolation=cv2.INTER_AREA).reshape(s, s, 3))
    return levels


def _photo_tile(rng: np.random.Generator, name: str, tint: np.ndarray) -> np.ndarray:
    """A random square crop of a photo resized to TILE; grey photos are multiplied by ``tint``."""
    img = load_photo(name)
    h, w = img.shape[:2]
    side = int(min(h, w) * rng.uniform(0.6, 1.0))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = cv2.resize(img[y:y + side, x:x + side], (TILE, TILE), interpolation=cv2.INTER_AREA)
    if PHOTOS[name].grey:
        crop = crop * (tint ** 2.2 / max(float(crop.mean()), 1e-3) * 0.5)
    return np.clip(crop * rng.uniform(0.7, 1.2), 0, 1)


def sample_floor(rng: np.random.Generator, style: Style, family: str | None = None) -> Floor:
    """Draw a floor of ``style`` (``family`` forces one of the style's floor families)."""
    if family is None:
        family = style.floors[rng.integers(len(style.floors))]
    elif family not in style.floors:
        raise ValueError(f"floor {family!r} is not a {style.name!r} floor; choose from {style.floors}")
    box = FLOOR_PALETTES[style.floor_palettes[rng.integers(len(style.floor_palettes))]]
    a = sample_hsv(rng, box)
    colors = np.stack([a, sample_hsv(rng, box)])
    lin = colors ** 2.2
    angle = float(rng.uniform(0, 2 * math.pi))
    offset = rng.uniform(-50, 50, 2)
    photo = None
    tiling = "repeat"
    if family == "plain":
        return Floor(family=family, colors=colors, world_size=1.0, angle=angle, offset=offset,
                     tiling=tiling, texture=[np.full((1, 1, 3), lin[0], np.float32)])
    elif family == "checker":
        count = 2 * int(rng.integers(1, 5))
        field_ = checker(TILE, count)
        world = count * float(rng.uniform(0.6, 1.6))
    elif family in FIELDS:
        maker, tiling = FIELDS[family]
        field_ = maker(rng, TILE)
        world = float(rng.uniform(3.0, 10.0))
    elif family in ("photo_a", "photo_b"):
        photo = style.floor_photos[rng.integers(len(style.floor_photos))]
        tile = _photo_tile(rng, photo, a)
        world = float(rng.uniform(3.0, 9.0))
        tiling = "mirror"
    else:
        raise ValueError(f"unknown floor family {family!r}")
    if photo is None:
        f = field_[..., None]
        tile = lin[0] * (1 - f) + lin[1] * f
    return Floor(family=family, colors=colors, world_size=world, angle=angle, offset=offset,
                 tiling=tiling, photo=photo, texture=_pyramid(tile.astype(np.float32)))


def _flat_pyramid(floor: Floor) -> tuple[np.ndarray, np.ndarray]:
    """All mip levels in one channel-first (3, sum S_l^2) array (long inner loops for the
    gathers), and each level's start column (L,)."""
    if "flat" not in floor.cache:
        sizes = np.array([t.shape[0] for t in floor.texture], np.int32)
        starts = np.concatenate([[0], np.cumsum(sizes * sizes)[:-1]]).astype(np.int32)
        flat = np.ascontiguousarray(np.concatenate([t.reshape(-1, 3) for t in floor.texture]).T)
        floor.cache["flat"] = (flat, starts)
    return floor.cache["flat"]


def _fetch(floor: Floor, level: np.ndarray, iu: np.ndarray, iv: np.ndarray) -> np.ndarray:
    """Nearest texel (3, M) of mip ``level`` (M,) int32 at integer level-0 texel coordinates
    iu, iv (M,) int32 (sizes are powers of two: shifts and masks do the wrapping)."""
    flat, starts = _flat_pyramid(floor)
    n = np.int32(TILE) >> level
    iu, iv = iu >> level, iv >> level
    if floor.tiling == "mirror":                      # m in [n, 2n): 2n-1-m == m ^ (2n-1)
        m2 = 2 * n - 1
        iu, iv = iu & m2, iv & m2
        iu = iu ^ (m2 * ((iu & n) != 0))
        iv = iv ^ (m2 * ((iv & n) != 0))
    else:
        iu, iv = iu & (n - 1), iv & (n - 1)
    return np.take(flat, starts[level] + iv * n + iu, axis=1)


def floor_albedo(floor: Floor, x: np.ndarray, y: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Linear albedo (3, M) at world ground points x, y (M,), each pixel covering about
    ``footprint`` (M,) world units: the two mip levels around it, blended."""
    if floor.family == "plain":
        return np.broadcast_to(floor.texture[0][0, 0][:, None], (3, x.size))
    texel = floor.world_size / TILE
    c, s = math.cos(floor.angle), math.sin(floor.angle)
    xo, yo = x + np.float32(floor.offset[0]), y + np.float32(floor.offset[1])
    u = (c * xo + s * yo) * (1.0 / texel)
    v = (c * yo - s * xo) * (1.0 / texel)
    top = len(floor.texture) - 1
    lod = np.clip(np.log2(np.maximum(footprint * (1.0 / texel), 1e-6)), 0, top)
    l0 = np.minimum(lod.astype(np.int32), top - 1)
    w = (lod - l0).astype(np.float32)
    iu, iv = np.floor(u).astype(np.int32), np.floor(v).astype(np.int32)
    c0 = _fetch(floor, l0, iu, iv)
    return c0 + (_fetch(floor, l0 + 1, iu, iv) - c0) * w
