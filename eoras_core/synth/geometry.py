"""Rotations, quaternions and the look-at camera frame.

Why here: the renderer, the scene sampler and the metadata all need the same conventions
(Kubric: quaternions are (w, x, y, z); a camera looks down its local -z with +y up), so
they live in one place instead of being re-derived in each module.
"""
from __future__ import annotations

import numpy as np

__all__ = ["rotation_about", "quat_from_matrix", "random_rotation", "look_at"]


def rotation_about(axis: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rodrigues rotations about one unit ``axis`` (3,) by ``angles`` (T,) -> (T, 3, 3)."""
    x, y, z = (float(a) for a in np.asarray(axis, np.float64) / np.linalg.norm(axis))
    ang = np.asarray(angles, np.float64).reshape(-1)
    c, s = np.cos(ang), np.sin(ang)
    C = 1.0 - c
    return np.stack([
        np.stack([c + x * x * C, x * y * C - z * s, x * z * C + y * s], -1),
        np.stack([y * x * C + z * s, c + y * y * C, y * z * C - x * s], -1),
        np.stack([z * x * C - y * s, z * y * C + x * s, c + z * z * C], -1),
    ], -2)


def quat_from_matrix(R: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as (w, x, y, z), w >= 0.

    Uses the largest-diagonal branch per matrix so it stays accurate near 180 degrees.
    """
    R = np.asarray(R, np.float64)
    m = R.reshape(-1, 3, 3)
    tr = np.trace(m, axis1=1, axis2=2)
    cand = np.stack([
        np.stack([1 + tr, m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]], -1),
        np.stack([m[:, 2, 1] - m[:, 1, 2], 1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2],
                  m[:, 0, 1] + m[:, 1, 0], m[:, 0, 2] + m[:, 2, 0]], -1),
        np.stack([m[:, 0, 2] - m[:, 2, 0], m[:, 0, 1] + m[:, 1, 0],
                  1 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2], m[:, 1, 2] + m[:, 2, 1]], -1),
        np.stack([m[:, 1, 0] - m[:, 0, 1], m[:, 0, 2] + m[:, 2, 0], m[:, 1, 2] + m[:, 2, 1],
                  1 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2]], -1),
    ], 1)                                                       # (n, 4 branches, 4)
    diag = np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], -1)
    q = cand[np.arange(len(m)), np.argmax(diag, -1)]
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q.reshape(R.shape[:-2] + (4,))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation (3, 3) (normalised Gaussian quaternion)."""
    w, x, y, z = rng.normal(size=4)
    n = np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def look_at(positions: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """World-from-camera rotations (T, 3, 3) for cameras at ``positions`` (T, 3).

    Columns are the camera's right (+x), up (+y) and backward (+z) axes in world coordinates,
    so the camera looks down its local -z, as in Kubric/Blender.
    """
    pos = np.asarray(positions, np.float64).reshape(-1, 3)
    fwd = np.asarray(target, np.float64) - pos
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True)
    right = np.cross(fwd, np.asarray(up, np.float64))
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    cam_up = np.cross(right, fwd)
    return np.stack([right, cam_up, -fwd], axis=-1)
