"""MOVi-lite v2 shading: textured floor with haze, patterned objects, several coloured lights
with hard or soft shadows, and a gradient or photographic backdrop.

Why a separate module: raycast.py decides what every pixel sees (the ground truth) and
casts the shadow rays; this module only turns that into colour, so the look can grow
without any risk to the masks. Works on flat index lists per pixel class (floor, objects,
backdrop), channel-first (3, M), in linear light; display values through v1's gamma table.
"""
from __future__ import annotations

import cv2
import numpy as np

from .backdrops import backdrop_color, environment
from .floors import floor_albedo
from .materials import FINISHES, surface_albedo
from .raycast import _gamma_lut
from .scene import Scene

__all__ = ["shade_v2", "HAZE_NEAR", "HAZE_FAR"]

HAZE_NEAR = 40.0        # the floor starts to fade into the backdrop's horizon colour here
HAZE_FAR = 150.0        # and has fully faded where the ground is cut (raycast.GROUND_FAR)


def _soften(shadow: np.ndarray, ids: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """Shadow fraction (H, W) float32: the jittered hard mask averaged over 4 x 4 pixels (one
    full tile of disc points, lights.direction_maps) of the same surface class (floor with
    floor, objects with objects), so penumbrae never bleed across silhouettes."""
    s = shadow.astype(np.float32)
    out = np.zeros_like(s)
    for cls in ((ids == 0) & ~sky, ids > 0):
        m = cls.astype(np.float32)
        num = cv2.blur(s * m, (4, 4))
        den = cv2.blur(m, (4, 4))
        np.copyto(out, num / np.maximum(den, 1e-6), where=cls)
    return out


def _scatter(out: np.ndarray, idx: np.ndarray, values: np.ndarray) -> None:
    """out[:, idx] = values for out (3, P), one channel at a time (several times faster)."""
    for c in range(3):
        out[c][idx] = values[c]


def shade_v2(scene: Scene, ids: np.ndarray, sky: np.ndarray, t: np.ndarray, pxy: tuple[np.ndarray, np.ndarray],
             n: tuple[np.ndarray, ...], d: tuple[np.ndarray, ...], shadows: list[np.ndarray],
             local: list, K: np.ndarray, rgb: np.ndarray) -> None:
    """Write display RGB uint8 (H, W, 3) into ``rgb``.

    ids (H, W) int32; sky (H, W) bool; t (H, W) ray distance (0 on sky); pxy world x, y of
    the hit points; n, d: world normals and ray directions, three (H, W) each; shadows: one
    (H, W) bool mask per light of scene.look.lights; local[i]: (flat indices (M_i,), local
    coordinates (three (M_i,))) of object i's visible pixels, or None.
    """
    look = scene.look
    H, W = ids.shape
    out = np.empty((3, H * W), np.float32)
    fid = ids.reshape(-1)
    fsky = sky.reshape(-1)
    lights = look.lights
    # per light: flat (H*W,) shadow fraction (soft) or shadow mask (hard), read as 1 - value
    shade = [(_soften(s, ids, sky) if light.softness > 0 else s).reshape(-1) for s, light in zip(shadows, lights)]
    col = [(light.intensity * light.color).astype(np.float32)[:, None] for light in lights]
    amb = (look.ambient * look.ambient_color).astype(np.float32)[:, None]
    horizon = (look.backdrop.horizon ** 2.2).astype(np.float32)

    g = np.flatnonzero((fid == 0) & ~fsky)
    if g.size:
        tg = t.reshape(-1)[g]
        dz = np.abs(d[2].reshape(-1)[g])
        footprint = tg * np.float32(1.0 / (K[0, 0] * W)) / np.sqrt(np.maximum(dz, 0.02))
        alb = floor_albedo(look.floor, pxy[0].reshape(-1)[g], pxy[1].reshape(-1)[g], footprint)
        irr = np.broadcast_to(amb, (3, g.size)).copy()
        for light, c, sh in zip(lights, col, shade):
            irr += c * (np.float32(max(light.direction[2], 0.0)) * (1 - sh[g]))[None]
        haze = np.clip((tg - HAZE_NEAR) * np.float32(1.0 / (HAZE_FAR - HAZE_NEAR)), 0, 1)
        haze = (haze * np.sqrt(haze))[None]                                    # ** 1.5
        lit = alb * irr
        _scatter(out, g, lit + (horizon[:, None] - lit) * haze)

    pieces = [(loc[0], i) for i, loc in enumerate(local) if loc is not None]
    if pieces:
        idx = np.concatenate([p[0] for p in pieces])
        alb = np.concatenate([surface_albedo(scene.objects[i].surface, *local[i][1]) for _, i in pieces], axis=1)
        mat = np.concatenate([np.repeat(np.array(FINISHES[scene.objects[i].surface.finish], np.float32)[:, None],
                                        f.size, axis=1) for f, i in pieces], axis=1)
        kd, ks, shin, kr = mat
        nx, ny, nz = (a.reshape(-1)[idx] for a in n)
        dx, dy, dz = (a.reshape(-1)[idx] for a in d)
        diffuse = np.broadcast_to(amb, (3, idx.size)).copy()
        spec = np.zeros((3, idx.size), np.float32)
        for light, c, sh in zip(lights, col, shade):
            lx, ly, lz = (np.float32(v) for v in light.direction)
            lam = np.maximum(nx * lx + ny * ly + nz * lz, 0) * (1 - sh[idx])
            diffuse += c * lam[None]
            hx, hy, hz = lx - dx, ly - dy, lz - dz
            ndoth = np.maximum((nx * hx + ny * hy + nz * hz) / np.sqrt(hx * hx + hy * hy + hz * hz), 0)
            spec += c * (ks * ndoth ** shin * (lam > 0))[None]
        rz = dz - 2 * (dx * nx + dy * ny + dz * nz) * nz                       # reflected ray, z part
        key = sum(float(light.intensity * max(light.direction[2], 0.0)) for light in lights)
        below = (look.floor.mean * (look.ambient + key)).astype(np.float32)[:, None]
        env = np.where(rz > 0, environment(look.backdrop, rz), below)
        metal = kr > 0.3
        _scatter(out, idx, alb * (kd * diffuse) + np.where(metal, alb, 1.0) * spec + kr * alb * env)

    sk = np.flatnonzero(fsky)
    if sk.size:
        _scatter(out, sk, backdrop_color(look.backdrop, *(a.reshape(-1)[sk] for a in d)))

    np.clip(out, 0, 1, out=out)
    lut = (out * 4095 + 0.5).astype(np.int32)
    rgb[:] = np.take(_gamma_lut(), lut).reshape(3, H, W).transpose(1, 2, 0)
