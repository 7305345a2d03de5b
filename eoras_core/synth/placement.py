"""MOVi-lite v2 geometry: where objects go and how they move, arranged to occlude each other.

Why: an amodal model learns hidden parts only from hidden parts, and v1 scenes hid about a
tenth of the objects' area. v2 places most objects relative to one already placed:
  "ray"   hovering on the camera's view ray to it (in front: it hides its partner's middle),
  "line"  on the ground along the camera's line of sight to it, just behind or in front,
  "pass"  crossing in front of it around mid-clip (an occlusion event: hidden, then back),
and the rest free or crossing the image border as in v1. Occluders often move with their
partner so occlusions last. Objects are kept apart with vertical cylinders (resting objects
spin about z) instead of bounding spheres, which lets them stand much closer. Object kinds
come from a shuffled bag, so a clip shows as many different kinds as it has objects.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .geometry import random_rotation, rotation_about
from .look import sample_look
from .materials import sample_surface
from .primitives import bounding_radius, horizontal_radius, support
from .scene import Scene, SceneConfig, SceneObject, _camera_path
from .styles import style_of

__all__ = ["sample_scene_v2", "place_objects"]

_MARGIN = 0.05                     # minimum clearance between objects, world units
_CAMERA_CLEARANCE = 1.0            # minimum distance of any object surface to the camera


@dataclass
class _Bounds:
    """A vertical cylinder holding the object at every frame: centre xy (T, 2), radius, z range."""

    xy: np.ndarray
    r: float
    z0: float
    z1: float
    R: float                       # bounding-sphere radius
    centers: np.ndarray            # (T, 3)


def _pose(rng: np.random.Generator, kind: str, scale: float, hover: bool,
          height: float | None) -> tuple[np.ndarray, np.ndarray, float, float, float, float]:
    """(base rotation (3, 3), spin axis (3,), centre height, xy radius, z0, z1) of a resting
    object (spins about z) or a hovering one (tumbles; at ``height`` when given)."""
    R = scale * bounding_radius(kind)
    if not hover:
        base = np.eye(3)
        if kind in ("sphere", "icosphere"):
            base = random_rotation(rng)
        elif kind in ("cylinder", "capsule") and rng.uniform() < 0.4:
            base = rotation_about(np.array([1.0, 0, 0]), np.array([math.pi / 2]))[0]
        down = scale * support(kind, base.T @ np.array([0.0, 0.0, -1.0]))
        up = scale * support(kind, base.T @ np.array([0.0, 0.0, 1.0]))
        return base, np.array([0.0, 0.0, 1.0]), down, scale * horizontal_radius(kind, base), 0.0, down + up
    base = random_rotation(rng)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    h = R + rng.uniform(0.1, 1.8) if height is None else height
    return base, axis, h, R, h - R, h + R


def _motion(rng: np.random.Generator, cfg: SceneConfig, placed: list[SceneObject], bounds: list[_Bounds],
            cam: np.ndarray, times: np.ndarray, r_new: float, R_new: float,
            mode: str) -> tuple[np.ndarray, np.ndarray, float, float | None]:
    """Centre xy (2,) at the reference time, velocity (2,), the reference time and (for "ray")
    the hovering height; r_new / R_new: the new object's xy and bounding radii."""
    tm = len(times) // 2
    t_ref = float(times[tm])
    duration = float(times[-1]) if len(times) > 1 else 1.0
    if mode in ("line", "ray", "pass"):
        j = int(rng.integers(len(placed)))
        other, ob = placed[j], bounds[j]
        anchor = ob.centers[tm]
        view = anchor[:2] - cam[tm, :2]
        view /= max(np.linalg.norm(view), 1e-9)
        side = np.array([-view[1], view[0]])
        follow = rng.uniform() < cfg.companion_prob
        vel = other.velocity[:2] + rng.normal(0, 0.15, 2) if follow else None
        if mode == "ray":                                # on the 3-D ray camera -> partner's centre
            lam = rng.uniform(0.1, 0.4)
            p = anchor + lam * (cam[tm] - anchor)
            h = max(float(p[2]), R_new + 0.1 + rng.uniform(0.0, 0.3))
            if vel is None:
                vel = _random_velocity(rng, 0.6)
            return p[:2], vel, t_ref, h
        gap = r_new + ob.r
        if mode == "line":
            along = rng.choice([-1.0, 1.0]) * rng.uniform(gap + cfg.occluder_gap[0], gap + cfg.occluder_gap[1])
            start = anchor[:2] + along * view + rng.uniform(-0.35, 0.35) * gap * side
            return start, (_random_velocity(rng, cfg.max_speed) if vel is None else vel), t_ref, None
        tc = rng.uniform(0.3, 0.7) * duration                          # "pass": in front of it at tc
        at_tc = ob.centers[0, :2] + tc * other.velocity[:2]
        point = at_tc - view * (gap + rng.uniform(0.1, 1.0))
        speed = rng.uniform(0.8, 2.0)
        vel = other.velocity[:2] + rng.choice([-1.0, 1.0]) * speed * side
        return point, vel, tc, None
    if mode == "cross":
        through = rng.uniform(-1.5, 1.5, 2)
        vel = _random_velocity(rng, None, rng.uniform(*cfg.cross_speed))
        return through, vel, rng.uniform(0, duration), None
    start = rng.uniform(-cfg.spawn_half, cfg.spawn_half, 2)
    return start, _random_velocity(rng, cfg.max_speed), 0.0, None


def _random_velocity(rng: np.random.Generator, max_speed: float | None, speed: float | None = None) -> np.ndarray:
    if speed is None:
        speed = rng.uniform(0, max_speed)
    ang = rng.uniform(0, 2 * math.pi)
    return speed * np.array([math.cos(ang), math.sin(ang)])


def _clear(b: _Bounds, bounds: list[_Bounds], cam: np.ndarray) -> bool:
    """No overlap with any placed object's cylinder at any frame, above the ground, and the
    bounding sphere stays clear of the camera."""
    if b.z0 < -1e-9 or np.any(np.linalg.norm(b.centers - cam, axis=-1) < b.R + _CAMERA_CLEARANCE):
        return False
    for o in bounds:
        if b.z0 >= o.z1 + _MARGIN or o.z0 >= b.z1 + _MARGIN:
            continue
        if np.any(np.linalg.norm(b.xy - o.xy, axis=-1) < b.r + o.r + _MARGIN):
            return False
    return True


def place_objects(rng: np.random.Generator, cfg: SceneConfig, cam: np.ndarray,
                  times: np.ndarray) -> list[SceneObject]:
    """Objects for camera positions ``cam`` (T, 3) at ``times`` (T,), rejection-sampled."""
    target = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    bag = rng.permutation(len(cfg.kinds))
    placed: list[SceneObject] = []
    bounds: list[_Bounds] = []
    p_ray, p_line, p_pass = cfg.ray_prob, cfg.occlusion_prob, cfg.pass_prob
    slot = misses = 0                                  # a kind that keeps failing gives way
    for _ in range(60 * target):
        if len(placed) >= target:
            break
        if misses >= 20:
            slot, misses = slot + 1, 0
        kind = str(cfg.kinds[bag[slot % len(bag)]])
        scale = float(rng.uniform(*cfg.scale_range))
        u = rng.uniform()
        if placed and u < p_ray:
            mode = "ray"
        elif placed and u < p_ray + p_line:
            mode = "line"
        elif placed and u < p_ray + p_line + p_pass:
            mode = "pass"
        elif u > 1.0 - cfg.cross_prob:
            mode = "cross"
        else:
            mode = "free"
        hover = mode == "ray" or (mode in ("line", "free") and rng.uniform() < cfg.fly_prob)
        R = scale * bounding_radius(kind)
        r_guess = R if hover else scale * horizontal_radius(kind, np.eye(3))
        xy, vel, t_ref, height = _motion(rng, cfg, placed, bounds, cam, times, r_guess, R, mode)
        base, axis, h, r, z0, z1 = _pose(rng, kind, scale, hover, height)
        spin = math.radians(rng.uniform(-cfg.max_spin_deg, cfg.max_spin_deg))
        path = xy[None] + (times - t_ref)[:, None] * vel[None]
        centers = np.concatenate([path, np.full((len(times), 1), h)], axis=1)
        b = _Bounds(xy=path, r=r, z0=z0, z1=z1, R=R, centers=centers)
        if not _clear(b, bounds, cam):
            misses += 1
            continue
        rotations = rotation_about(axis, rng.uniform(0, 2 * math.pi) + spin * times) @ base
        placed.append(SceneObject(kind=kind, scale=scale, color=np.zeros(3), material="rubber",
                                  positions=centers, rotations=rotations, velocity=np.array([vel[0], vel[1], 0.0]),
                                  angular_velocity=axis * spin, resting=not hover, placement=mode))
        bounds.append(b)
        slot, misses = slot + 1, 0
    if len(placed) < cfg.min_objects:
        raise RuntimeError(f"could only place {len(placed)} of {cfg.min_objects} objects; "
                           "enlarge spawn_half or shrink scale_range")
    return placed


def sample_scene_v2(rng: np.random.Generator, cfg: SceneConfig) -> Scene:
    """A v2 scene: geometry, look and camera artefacts each from their own child stream."""
    geo_rng, look_rng, fx_rng = rng.spawn(3)
    style = style_of(cfg.style)
    times = np.arange(cfg.num_frames, dtype=np.float64) / cfg.fps
    cam_pos, cam_rot = _camera_path(geo_rng, cfg, times)
    objects = place_objects(geo_rng, cfg, cam_pos, times)
    look = sample_look(look_rng, fx_rng, cfg)
    for obj in objects:
        obj.surface = sample_surface(look_rng, style, cfg.metal_prob, cfg.pattern)
        obj.color = obj.surface.colors[0]
        obj.material = obj.surface.finish
    key = look.lights[0]
    scene = Scene(config=cfg, cam_positions=cam_pos, cam_rotations=cam_rot, light_dir=key.direction,
                  ambient=look.ambient, sun=key.intensity, ground_colors=look.floor.colors,
                  ground_tile=look.floor.world_size, sky_colors=np.stack([look.backdrop.horizon, look.backdrop.zenith]),
                  objects=objects, look=look, fx_rng=fx_rng)
    return scene
