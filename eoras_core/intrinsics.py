"""Camera intrinsics in the two conventions EoRaS weights expect.

- kubric: Kubric's normalised K (image coordinates in [0, 1], camera looking down -z),
  used by the MOVi presets and the bundled demo model.
- pixel: ordinary pixel K (KITTI).

For arbitrary video, where K is unknown, the documented default is the MOVi camera:
35 mm focal length on a 32 mm sensor (a 49 degree horizontal field of view) for the kubric
convention, and KITTI's focal length scaled to the frame width for the pixel convention.
Pass `focal_mm` / `fov_deg` or a full K to override.
"""
from __future__ import annotations

import math

import numpy as np

MOVI_FOCAL_MM = 35.0
MOVI_SENSOR_MM = 32.0
KITTI_K = np.array([[721.5377, 0.0, 609.5593], [0.0, 721.5377, 172.854], [0.0, 0.0, 1.0]])
KITTI_WIDTH = 1242


def kubric_K(H: int, W: int, focal_mm: float = MOVI_FOCAL_MM, sensor_mm: float = MOVI_SENSOR_MM) -> np.ndarray:
    """(3,3) float64 Kubric-normalised K; the sensor height follows the frame's aspect ratio.

    The one builder of this matrix: the renderer, the dataset fixtures and the default
    camera all use it, so they cannot drift apart.
    """
    sensor_h = sensor_mm * H / W
    return np.array([[focal_mm / sensor_mm, 0.0, -0.5], [0.0, -focal_mm / sensor_h, -0.5], [0.0, 0.0, -1.0]])


def horizontal_fov(focal_mm: float = MOVI_FOCAL_MM, sensor_mm: float = MOVI_SENSOR_MM) -> float:
    """Horizontal field of view in radians (Kubric's camera.field_of_view)."""
    return 2.0 * math.atan(sensor_mm / (2.0 * focal_mm))


def pixel_K(H: int, W: int, fx: float | None = None) -> np.ndarray:
    """(3,3) pixel K with the principal point at the centre; fx defaults to KITTI's, scaled to W."""
    f = fx if fx is not None else KITTI_K[0, 0] * W / KITTI_WIDTH
    return np.array([[f, 0.0, W / 2], [0.0, f, H / 2], [0.0, 0.0, 1.0]], dtype=np.float32)


def focal_from_fov(fov_deg: float, sensor_mm: float = MOVI_SENSOR_MM) -> float:
    return sensor_mm / (2.0 * math.tan(math.radians(fov_deg) / 2.0))


def default_intrinsics(
    convention: str, H: int, W: int, T: int, focal_mm: float | None = None, fov_deg: float | None = None
) -> np.ndarray:
    """(T,3,3) float32 K for a clip without calibration, in the convention the model expects."""
    if convention == "kubric":
        f = focal_mm if focal_mm is not None else (focal_from_fov(fov_deg) if fov_deg is not None else MOVI_FOCAL_MM)
        K = kubric_K(H, W, f)
    elif convention == "pixel":
        fx = None
        if fov_deg is not None:
            fx = W / (2.0 * math.tan(math.radians(fov_deg) / 2.0))
        elif focal_mm is not None:
            fx = focal_mm / MOVI_SENSOR_MM * W
        K = pixel_K(H, W, fx)
    else:
        raise ValueError(f"unknown intrinsics convention {convention!r}; use 'kubric' or 'pixel'")
    return np.broadcast_to(K, (T, 3, 3)).astype(np.float32)
