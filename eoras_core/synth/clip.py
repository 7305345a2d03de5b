"""render_clip: one seeded MOVi-lite clip in memory, with its exact ground truth.

Why a dataclass of arrays: tests and training consume clips directly, and the MOVi writer
(export.py) is only a thin layer on top, so both paths see identical data.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .camera_fx import apply_camera_fx
from .geometry import quat_from_matrix
from .primitives import KINDS, local_extent
from ..boxes import kubric_boxes_of_ids
from ..intrinsics import kubric_K
from .raycast import BACKGROUND_DEPTH, camera_rays, render_frame
from .scene import SceneConfig, sample_scene

__all__ = ["Clip", "render_clip", "GENERATOR", "GENERATOR_VERSION"]

GENERATOR = "movi-lite"
GENERATOR_VERSION = 2           # 2: styles, textures, photos, 1-3 lights, camera artefacts


@dataclass
class Clip:
    """One rendered clip (T frames, N objects, H x W pixels).

    frames (T, H, W, 3) uint8; visible_ids (T, H, W) int32 (0 background, obj+1 for the
    nearest object); amodal (N, T, H, W) bool (each object alone, hidden parts included);
    depth (T, H, W) float32, distance along the pixel ray, BACKGROUND_DEPTH for sky;
    K (T, 3, 3) Kubric-normalised; cam_positions (T, 3); cam_R (T, 3, 3) world-from-camera;
    cam_quaternions (T, 4) (w, x, y, z); objects: one metadata dict per object (Kubric
    instance fields, boxes from the visible masks; "scale" is the half-size of the unit
    shape in world units, "size" twice that); object_depth (N, T, H, W) float32, inf
    off the object, only when requested.
    """

    seed: int
    frames: np.ndarray
    visible_ids: np.ndarray
    amodal: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    cam_positions: np.ndarray
    cam_R: np.ndarray
    cam_quaternions: np.ndarray
    objects: list[dict[str, Any]]
    config: SceneConfig
    scene_info: dict[str, Any]
    object_depth: np.ndarray | None = None

    @property
    def num_objects(self) -> int:
        return int(self.amodal.shape[0])

    def visible_objects(self) -> list[int]:
        """Objects visible in at least one frame (the ones listed in instance_list)."""
        return [i for i, o in enumerate(self.objects) if len(o["bbox_frames"])]


def _unit_corners() -> np.ndarray:
    """(8, 3) corners of [-1, 1]^3 (x slowest, z fastest), scaled to each object's local box."""
    return np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float64)


def _project(points: np.ndarray, K: np.ndarray, cam_pos: np.ndarray, cam_R: np.ndarray) -> np.ndarray:
    """World points (T, 3) -> Kubric image coordinates (T, 2) (u right, v down, in [0, 1])."""
    cam = np.einsum("tji,tj->ti", cam_R, points - cam_pos)   # R^T (p - c)
    uvw = np.einsum("tij,tj->ti", K, cam)
    return uvw[:, :2] / uvw[:, 2:3]


def render_clip(seed: int, frames: int = 24, size: int | tuple[int, int] = 256, *,
                min_objects: int | None = None, max_objects: int | None = None,
                config: SceneConfig | None = None, object_depth: bool = False) -> Clip:
    """Render one clip, fully determined by ``seed`` (bit-identical on reruns).

    size: S for S x S or (H, W). ``config`` overrides every scene setting (then frames,
    size and any object counts given here replace its fields; the default config has 3-10
    objects, scene.make_config(dense=True) 6-12). object_depth=True also returns each
    object's own depth (N, T, H, W), e.g. to check occlusion order. v2 clips get their
    camera artefacts (blur, noise, JPEG) on ``frames`` only.
    """
    H, W = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    cfg = config or SceneConfig()
    counts = {k: int(v) for k, v in (("min_objects", min_objects), ("max_objects", max_objects)) if v is not None}
    cfg = dataclasses.replace(cfg, num_frames=int(frames), height=H, width=W, **counts)
    rng = np.random.default_rng(seed)
    scene = sample_scene(rng, cfg)
    T, N = cfg.num_frames, len(scene.objects)
    K = kubric_K(H, W, cfg.focal_length, cfg.sensor_width)
    rays = camera_rays(H, W, K)
    rgb = np.empty((T, H, W, 3), np.uint8)
    ids = np.empty((T, H, W), np.int32)
    depth = np.empty((T, H, W), np.float32)
    amodal = np.zeros((N, T, H, W), bool)
    odepth = np.full((N, T, H, W), np.inf, np.float32) if object_depth else None
    for f in range(T):
        render_frame(scene, f, rays, K, rgb[f], ids[f], depth[f], amodal[:, f],
                     None if odepth is None else odepth[:, f])
    if scene.look is not None:
        rgb = apply_camera_fx(rgb, scene.look.camera_fx, scene.fx_rng)

    Ks = np.repeat(K[None], T, 0).astype(np.float32)
    boxes = [kubric_boxes_of_ids(ids, k) for k in range(N)]
    visibility = [(ids == k + 1).sum(axis=(1, 2)) for k in range(N)]
    times = np.arange(T) / cfg.fps
    objects = []
    for k, obj in enumerate(scene.objects):
        ext = local_extent(obj.kind) * obj.scale
        corners = obj.positions[:, None] + np.einsum("tij,cj->tci", obj.rotations, _unit_corners() * ext)
        objects.append({
            "shape": obj.kind, "asset_id": obj.kind, "category": KINDS.index(obj.kind),
            "scale": obj.scale, "size": float(2.0 * obj.scale), "material": obj.material,
            "color": obj.color.tolist(), "resting": obj.resting,
            "positions": obj.positions, "quaternions": quat_from_matrix(obj.rotations),
            "velocities": np.repeat(obj.velocity[None], T, 0),
            "angular_velocities": np.repeat(obj.angular_velocity[None], T, 0),
            "bboxes_3d": corners,
            "image_positions": _project(obj.positions, K[None].repeat(T, 0), scene.cam_positions,
                                        scene.cam_rotations),
            "visibility": visibility[k],
            "bboxes": boxes[k][0], "bbox_frames": boxes[k][1],
            **({} if obj.surface is None else {**obj.surface.info(), "placement": obj.placement}),
        })
    info = {"light_direction": scene.light_dir.tolist(), "ambient": scene.ambient, "sun": scene.sun,
            "ground_colors": scene.ground_colors.tolist(), "ground_tile": scene.ground_tile,
            "sky_colors": scene.sky_colors.tolist(), "background_depth": BACKGROUND_DEPTH,
            "depth_convention": "euclidean distance from the camera centre along the pixel ray",
            "times": times.tolist(), "generator_version": 1 if scene.look is None else GENERATOR_VERSION}
    if scene.look is not None:
        info.update(scene.look.info())
    return Clip(seed=int(seed), frames=rgb, visible_ids=ids, amodal=amodal, depth=depth, K=Ks,
                cam_positions=scene.cam_positions.astype(np.float32), cam_R=scene.cam_rotations.astype(np.float32),
                cam_quaternions=quat_from_matrix(scene.cam_rotations).astype(np.float32), objects=objects,
                config=cfg, scene_info=info, object_depth=odepth)
