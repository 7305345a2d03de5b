"""Camera artefacts on rendered RGB: defocus or motion blur, sensor noise, JPEG compression.

Why in the renderer and not only in training augmentation: the artefacts are part of what
a dataset looks like (a split can be shared and evaluated as is), they are applied in
camera order (optics, sensor, codec) once per clip with fixed settings, and they touch RGB
only, so every mask, id map and depth stays exact. Settings are drawn per clip from the
clip's own random stream and recorded in its metadata.
"""
from __future__ import annotations

import io
import math
from statistics import NormalDist
from typing import Any

import cv2
import numpy as np
from PIL import Image

__all__ = ["NOISE_PROB", "BLUR_PROB", "JPEG_PROB", "sample_camera_fx", "apply_camera_fx"]

NOISE_PROB = 0.7
BLUR_PROB = 0.5
JPEG_PROB = 0.6


def _gauss_table() -> np.ndarray:
    """(256,) float32 standard-normal quantiles at (k + 1/2) / 256, rescaled to unit variance:
    a random byte indexes one, which draws Gaussian noise several times faster than
    Generator.standard_normal (noise is quantised to 256 levels, far below one grey level)."""
    q = np.array([NormalDist().inv_cdf((k + 0.5) / 256.0) for k in range(256)])
    return (q / q.std()).astype(np.float32)


_GAUSS = _gauss_table()


def sample_camera_fx(rng: np.random.Generator, width: int, enabled: bool = True) -> dict[str, Any]:
    """One clip's artefacts (blur kind/size in pixels scaled to ``width``, noise levels in
    display units, JPEG quality); all off when not ``enabled``."""
    fx: dict[str, Any] = {"blur": "none", "blur_px": 0.0, "blur_angle": 0.0, "read_noise": 0.0,
                          "shot_noise": 0.0, "jpeg_quality": 0}
    draws = rng.uniform(size=3)                        # always three draws: stable stream
    scale = width / 256.0
    if enabled and draws[0] < BLUR_PROB:
        fx["blur"] = "defocus" if rng.uniform() < 0.5 else "motion"
        fx["blur_px"] = float(rng.uniform(0.6, 1.8) if fx["blur"] == "defocus" else rng.uniform(2.0, 7.0)) * scale
        fx["blur_angle"] = float(rng.uniform(0, math.pi))
    if enabled and draws[1] < NOISE_PROB:
        fx["read_noise"] = float(rng.uniform(1.0, 6.0) / 255.0)
        fx["shot_noise"] = float(rng.uniform(0.0, 2e-3))
    if enabled and draws[2] < JPEG_PROB:
        fx["jpeg_quality"] = int(rng.integers(30, 91))
    return fx


def _kernel(fx: dict[str, Any]) -> np.ndarray | None:
    """Normalised blur kernel (k, k) float32, or None."""
    r = fx["blur_px"]
    if fx["blur"] == "none" or r < 0.35:              # below a third of a pixel: no visible blur
        return None
    if fx["blur"] == "defocus":                        # anti-aliased disc of radius r
        half = int(math.ceil(r))
        g = (np.arange(-half * 4, half * 4 + 4) + 0.5) / 4.0 - 0.5
        yy, xx = np.meshgrid(g, g, indexing="ij")
        disc = (xx * xx + yy * yy <= r * r).astype(np.float32)
        k = disc.reshape(2 * half + 1, 4, 2 * half + 1, 4).sum(axis=(1, 3))
    else:                                              # line of length r, splatted bilinearly
        half = int(math.ceil(r / 2)) + 1
        k = np.zeros((2 * half + 1, 2 * half + 1), np.float32)
        for s in np.linspace(-r / 2, r / 2, max(8, int(r * 4))):
            x, y = half + s * math.cos(fx["blur_angle"]), half + s * math.sin(fx["blur_angle"])
            x0, y0 = int(math.floor(x)), int(math.floor(y))
            fx_, fy = x - x0, y - y0
            k[y0, x0] += (1 - fx_) * (1 - fy)
            k[y0, x0 + 1] += fx_ * (1 - fy)
            k[y0 + 1, x0] += (1 - fx_) * fy
            k[y0 + 1, x0 + 1] += fx_ * fy
    return (k / k.sum()).astype(np.float32)


def apply_camera_fx(frames: np.ndarray, fx: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 -> a new array of the same shape with the artefacts of
    ``fx`` (fresh noise per frame from ``rng``); a copy when ``fx`` turns everything off."""
    k = _kernel(fx)
    out = np.empty_like(frames)
    for f, frame in enumerate(frames):
        x = frame
        if k is not None:
            x = cv2.filter2D(x, -1, k, borderType=cv2.BORDER_REFLECT)
        if fx["read_noise"] > 0 or fx["shot_noise"] > 0:
            v = x.astype(np.float32) * (1.0 / 255.0)
            sigma = np.sqrt(fx["read_noise"] ** 2 + fx["shot_noise"] * v)
            v += sigma * _GAUSS[np.frombuffer(rng.bytes(v.size), np.uint8).reshape(v.shape)]
            x = np.clip(v * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if fx["jpeg_quality"] > 0:
            buf = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(x)).save(buf, format="JPEG", quality=fx["jpeg_quality"])
            buf.seek(0)
            with Image.open(buf) as im:
                x = np.asarray(im.convert("RGB"))
        out[f] = x
    return out
