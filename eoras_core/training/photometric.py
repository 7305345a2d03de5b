"""Photometric augmentation: the renderer's clean colours are not what cameras deliver.

One set of parameters per training window (a video's look is consistent over time), with a
little per-frame noise: colour jitter (brightness, contrast, saturation, hue rotation),
grey, blur, sensor noise and JPEG artefacts. Masks are untouched.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Photometric:
    p: float = 0.8               # chance a window is changed at all
    brightness: float = 0.3      # x in [1-b, 1+b]
    contrast: float = 0.3
    saturation: float = 0.4
    hue: float = 0.08            # fraction of a full turn
    grey: float = 0.1            # chance of a grey window
    blur: float = 0.2            # chance of a Gaussian blur (sigma 0.3-1.5 px)
    noise: float = 0.3           # chance of sensor noise (sigma up to 8 / 255)
    jpeg: float = 0.3            # chance of JPEG compression (quality 30-90)


def sample(rng: np.random.Generator, aug: Photometric) -> dict | None:
    """The parameters of one window, or None when it stays as rendered."""
    if rng.random() >= aug.p:
        return None
    return {
        "brightness": rng.uniform(1 - aug.brightness, 1 + aug.brightness),
        "contrast": rng.uniform(1 - aug.contrast, 1 + aug.contrast),
        "saturation": rng.uniform(1 - aug.saturation, 1 + aug.saturation),
        "hue": rng.uniform(-aug.hue, aug.hue),
        "grey": rng.random() < aug.grey,
        "blur": rng.uniform(0.3, 1.5) if rng.random() < aug.blur else 0.0,
        "noise": rng.uniform(1, 8) if rng.random() < aug.noise else 0.0,
        "jpeg": int(rng.integers(30, 91)) if rng.random() < aug.jpeg else 0,
    }


def _hue_matrix(turn: float) -> np.ndarray:
    """3x3 RGB rotation about the grey axis by `turn` of a full circle."""
    a = 2 * np.pi * turn
    c, s = np.cos(a), np.sin(a)
    k = 1 / 3
    r = np.sqrt(k)
    return np.array([[c + (1 - c) * k, k * (1 - c) - r * s, k * (1 - c) + r * s],
                     [k * (1 - c) + r * s, c + k * (1 - c), k * (1 - c) - r * s],
                     [k * (1 - c) - r * s, k * (1 - c) + r * s, c + k * (1 - c)]], np.float32)


def apply(crop: np.ndarray, params: dict | None, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float32 crop in [0, 1] (as crop_patch gives it) -> the same with the window's
    look and fresh noise."""
    if params is None:
        return crop
    x = np.asarray(crop, np.float32) @ _hue_matrix(params["hue"]).T
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    sat = 0.0 if params["grey"] else params["saturation"]
    x = grey[..., None] + sat * (x - grey[..., None])
    x = (x - x.mean()) * params["contrast"] + x.mean()
    x = x * params["brightness"]
    if params["blur"]:
        x = cv2.GaussianBlur(x, (0, 0), params["blur"])
    if params["noise"]:
        x = x + rng.normal(0, params["noise"] / 255.0, x.shape).astype(np.float32)
    x = np.clip(x, 0.0, 1.0)
    if params["jpeg"]:
        ok, data = cv2.imencode(".jpg", (x[..., ::-1] * 255 + 0.5).astype(np.uint8),
                                [cv2.IMWRITE_JPEG_QUALITY, params["jpeg"]])
        x = cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(x, dtype=np.float32)
