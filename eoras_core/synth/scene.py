"""Random MOVi-style scenes: camera path, lights, floor, backdrop and moving primitives.

Why a separate sampler: the scene (all random choices) is fixed before any pixel is cast,
so the renderer is a pure function of it and the same seed always gives the same clip.
All randomness comes from the one Generator passed in.

Styles: "train" and "shift" are MOVi-lite v2 (placement.py for geometry, look.py for
appearance, each from its own child stream of the Generator, so one seed gives the same
geometry and masks in both styles); "v1" is the original sampler, kept bit-identical with
legacy_v1_config() so the data the bundled demo model was trained on can be regenerated.
"""
from __future__ import annotations

import colorsys
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..intrinsics import MOVI_FOCAL_MM, MOVI_SENSOR_MM
from .geometry import look_at, random_rotation, rotation_about
from .primitives import KINDS, V1_KINDS, bounding_radius, support

__all__ = ["SceneConfig", "SceneObject", "Scene", "sample_scene", "make_config", "legacy_v1_config",
           "STYLE_NAMES"]

STYLE_NAMES = ("train", "shift", "v1")


@dataclass(frozen=True)
class SceneConfig:
    """Generator settings; recorded as ``flags`` in each video's metadata."""

    num_frames: int = 24
    height: int = 256
    width: int = 256
    fps: float = 12.0
    min_objects: int = 3
    max_objects: int = 10
    kinds: tuple[str, ...] = KINDS
    scale_range: tuple[float, float] = (0.4, 1.0)       # half-size of the unit shape, world units
    spawn_half: float = 3.5                              # objects start in [-h, h]^2 (MOVi-like)
    camera_radius: tuple[float, float] = (8.0, 12.0)
    camera_elevation_deg: tuple[float, float] = (12.0, 45.0)
    camera_orbit_deg: float = 15.0                       # max azimuth change over the clip
    camera_dolly: float = 0.1                            # max relative radius change
    camera_tilt_deg: float = 5.0                         # max elevation change
    focal_length: float = MOVI_FOCAL_MM                  # mm
    sensor_width: float = MOVI_SENSOR_MM                 # mm
    fly_prob: float = 0.25                               # object hovers and tumbles
    occlusion_prob: float = 0.3                          # placed along the view line of another
    cross_prob: float = 0.1                              # fast object crossing the image border
    max_speed: float = 1.2                               # ordinary objects, units / s
    cross_speed: tuple[float, float] = (2.0, 3.5)
    max_spin_deg: float = 180.0                          # deg / s
    metal_prob: float = 0.35
    # MOVi-lite v2 (ignored by style "v1")
    style: str = "train"                                 # "train", "shift" (held out) or "v1"
    dense: bool = False                                  # the --dense preset (make_config)
    ray_prob: float = 0.1                                # hovers on the camera ray to another
    pass_prob: float = 0.1                               # passes in front of another mid-clip
    companion_prob: float = 0.5                          # an occluder moves with its partner
    occluder_gap: tuple[float, float] = (0.02, 0.8)      # extra distance to the partner, units
    camera_fx: bool = True                               # blur / noise / JPEG on RGB
    soft_shadow_prob: float = 0.5                        # a light is an area light (penumbrae)
    floor: str | None = None                             # force a floor family of the style
    backdrop: str | None = None                          # force a backdrop family of the style
    pattern: str | None = None                           # force an object pattern of the style
    light_count: int | None = None                       # force a light count of the style


def make_config(style: str = "train", dense: bool = False, camera_fx: bool = True, **fields) -> SceneConfig:
    """The v2 settings of a style; ``dense`` packs more, larger-overlapping objects closer
    together (6-12 objects, a smaller spawn square, more occluders on camera rays). Other
    SceneConfig fields may be given as keywords and win over the preset."""
    if style not in STYLE_NAMES:
        raise ValueError(f"unknown style {style!r}; choose from {STYLE_NAMES}")
    base: dict = {"style": style, "camera_fx": camera_fx}
    if style == "v1":
        if dense:
            raise ValueError("dense scenes need a v2 style (train or shift), not v1")
        base = {**dataclasses.asdict(legacy_v1_config())}
    elif dense:
        base.update(dense=True, min_objects=6, max_objects=12, spawn_half=2.5, ray_prob=0.2,
                    occlusion_prob=0.4, pass_prob=0.15, cross_prob=0.05, companion_prob=0.7,
                    occluder_gap=(0.02, 0.5))
    return SceneConfig(**{**base, **fields})


def legacy_v1_config() -> SceneConfig:
    """The MOVi-lite v1 settings: with them render_clip reproduces v1 clips bit for bit."""
    return SceneConfig(style="v1", kinds=V1_KINDS, scale_range=(0.4, 0.9), camera_elevation_deg=(20.0, 50.0),
                       fly_prob=0.3, occlusion_prob=0.6, cross_prob=0.2, metal_prob=0.5, camera_fx=False)


@dataclass
class SceneObject:
    """One primitive over the clip: positions (T, 3), rotations (T, 3, 3) world-from-local.

    v2 objects also carry their Surface (materials.py); ``color`` is then its first colour
    and ``material`` its finish.
    """

    kind: str
    scale: float
    color: np.ndarray                 # (3,) display RGB in [0, 1]
    material: str                     # "rubber" or "metal"
    positions: np.ndarray
    rotations: np.ndarray
    velocity: np.ndarray              # (3,) units / s
    angular_velocity: np.ndarray      # (3,) rad / s, world axis * rate
    resting: bool                     # on the ground (spins about z) or hovering (tumbles)
    surface: Any = None               # materials.Surface (v2 only)
    placement: str = "v1"             # v2: "free", "line", "ray", "pass" or "cross"

    @property
    def radius(self) -> float:
        """World radius of the bounding sphere about ``positions``."""
        return self.scale * bounding_radius(self.kind)


@dataclass
class Scene:
    """Everything the renderer needs; arrays are float64, per frame along axis 0."""

    config: SceneConfig
    cam_positions: np.ndarray         # (T, 3)
    cam_rotations: np.ndarray         # (T, 3, 3) world-from-camera
    light_dir: np.ndarray             # (3,) unit, towards the sun
    ambient: float
    sun: float
    ground_colors: np.ndarray         # (2, 3) checker colours, display RGB
    ground_tile: float
    sky_colors: np.ndarray            # (2, 3) horizon and zenith
    objects: list[SceneObject] = field(default_factory=list)
    look: Any = None                  # look.Look (v2 only): floor, backdrop, lights, camera artefacts
    fx_rng: np.random.Generator | None = None   # v2: the stream the camera artefacts' noise uses


def _camera_path(rng: np.random.Generator, cfg: SceneConfig, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A point on MOVi's camera shell that orbits/dollies linearly over the clip."""
    r0 = rng.uniform(*cfg.camera_radius)
    el0 = math.radians(rng.uniform(*cfg.camera_elevation_deg))
    az0 = rng.uniform(0.0, 2.0 * math.pi)
    d_az = math.radians(rng.uniform(-cfg.camera_orbit_deg, cfg.camera_orbit_deg))
    d_r = r0 * rng.uniform(-cfg.camera_dolly, cfg.camera_dolly)
    el1 = min(max(math.degrees(el0) + rng.uniform(-cfg.camera_tilt_deg, cfg.camera_tilt_deg),
                  cfg.camera_elevation_deg[0]), cfg.camera_elevation_deg[1])
    d_el = math.radians(el1) - el0                     # the tilt keeps the elevation in range
    s = times / max(times[-1], 1e-9)
    r, el, az = r0 + d_r * s, el0 + d_el * s, az0 + d_az * s
    pos = np.stack([r * np.cos(el) * np.cos(az), r * np.cos(el) * np.sin(az), r * np.sin(el)], -1)
    return pos, look_at(pos, np.zeros(3))


def _random_color(rng: np.random.Generator) -> np.ndarray:
    """Saturated random hue, as MOVi-B's uniformly random object colours."""
    h, s, v = rng.uniform(0, 1), rng.uniform(0.55, 1.0), rng.uniform(0.55, 1.0)
    return np.array(colorsys.hsv_to_rgb(h, s, v))


def _start_motion(rng: np.random.Generator, cfg: SceneConfig, placed: list[SceneObject],
                  cam0: np.ndarray, radius: float, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal start (2,) and velocity (2,): behind/in front of another object, crossing
    the border, or anywhere in the spawn square."""
    u = rng.uniform()
    if placed and u < cfg.occlusion_prob:
        other = placed[rng.integers(len(placed))]
        anchor = other.positions[0, :2]
        view = anchor - cam0[:2]
        view /= max(np.linalg.norm(view), 1e-9)
        gap = radius + other.radius
        along = rng.choice([-1.0, 1.0]) * rng.uniform(gap + 0.1, gap + 2.0)
        side = rng.uniform(-0.5, 0.5) * gap
        start = anchor + along * view + side * np.array([-view[1], view[0]])
        speed = rng.uniform(0, cfg.max_speed)
    elif u < cfg.occlusion_prob + cfg.cross_prob:
        through = rng.uniform(-1.5, 1.5, 2)               # passes near the centre at time tc
        speed = rng.uniform(*cfg.cross_speed)
        ang = rng.uniform(0, 2 * math.pi)
        vel = speed * np.array([math.cos(ang), math.sin(ang)])
        return through - vel * rng.uniform(0, duration), vel
    else:
        start = rng.uniform(-cfg.spawn_half, cfg.spawn_half, 2)
        speed = rng.uniform(0, cfg.max_speed)
    ang = rng.uniform(0, 2 * math.pi)
    return start, speed * np.array([math.cos(ang), math.sin(ang)])


def _sample_object(rng: np.random.Generator, cfg: SceneConfig, placed: list[SceneObject],
                   cam0: np.ndarray, times: np.ndarray) -> SceneObject:
    kind = str(cfg.kinds[rng.integers(len(cfg.kinds))])
    scale = float(rng.uniform(*cfg.scale_range))
    color = _random_color(rng)
    material = "metal" if rng.uniform() < cfg.metal_prob else "rubber"
    spin = math.radians(rng.uniform(-cfg.max_spin_deg, cfg.max_spin_deg))
    resting = rng.uniform() >= cfg.fly_prob
    if resting:                                        # stable pose, spins about world z
        base = np.eye(3)
        if kind == "sphere":
            base = random_rotation(rng)
        elif kind == "cylinder" and rng.uniform() < 0.3:
            base = rotation_about(np.array([1.0, 0, 0]), np.array([math.pi / 2]))[0]
        axis = np.array([0.0, 0.0, 1.0])
        height = scale * support(kind, base.T @ np.array([0.0, 0.0, -1.0]))
    else:                                              # hovering and tumbling
        base = random_rotation(rng)
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        height = scale * bounding_radius(kind) + rng.uniform(0.1, 1.8)
    radius = scale * bounding_radius(kind)
    start, vel2 = _start_motion(rng, cfg, placed, cam0, radius, float(times[-1]) if len(times) > 1 else 1.0)
    velocity = np.array([vel2[0], vel2[1], 0.0])
    positions = np.concatenate([start[None] + times[:, None] * vel2[None],
                                np.full((len(times), 1), height)], axis=1)
    rotations = rotation_about(axis, rng.uniform(0, 2 * math.pi) + spin * times) @ base
    return SceneObject(kind=kind, scale=scale, color=color, material=material, positions=positions,
                       rotations=rotations, velocity=velocity, angular_velocity=axis * spin, resting=resting)


def _clear_of(obj: SceneObject, placed: list[SceneObject], cam_pos: np.ndarray) -> bool:
    """True when obj's bounding sphere never touches another's, nor comes within one unit
    of the camera (cam_pos (T, 3)), during the clip."""
    if np.any(np.linalg.norm(obj.positions - cam_pos, axis=-1) < obj.radius + 1.0):
        return False
    for other in placed:
        dist = np.linalg.norm(obj.positions - other.positions, axis=-1)
        if np.any(dist < obj.radius + other.radius + 0.05):
            return False
    return True


def sample_scene(rng: np.random.Generator, cfg: SceneConfig) -> Scene:
    """Draw one scene; objects are rejection-sampled so they never interpenetrate."""
    if not 1 <= cfg.min_objects <= cfg.max_objects:
        raise ValueError(f"need 1 <= min_objects <= max_objects, got {cfg.min_objects}, {cfg.max_objects}")
    if cfg.style != "v1":
        from .placement import sample_scene_v2
        return sample_scene_v2(rng, cfg)
    times = np.arange(cfg.num_frames, dtype=np.float64) / cfg.fps
    cam_pos, cam_rot = _camera_path(rng, cfg, times)
    light_az = rng.uniform(0, 2 * math.pi)
    light_el = math.radians(rng.uniform(35.0, 70.0))
    light = np.array([math.cos(light_el) * math.cos(light_az), math.cos(light_el) * math.sin(light_az),
                      math.sin(light_el)])
    g = np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0, 0.35), rng.uniform(0.45, 0.75)))
    ground = np.stack([g, g * rng.uniform(0.6, 0.85)])
    horizon = np.array(colorsys.hsv_to_rgb(rng.uniform(0.5, 0.7), rng.uniform(0.05, 0.3), rng.uniform(0.75, 0.95)))
    sky = np.stack([horizon, horizon * np.array([0.7, 0.8, 1.0])])
    scene = Scene(config=cfg, cam_positions=cam_pos, cam_rotations=cam_rot, light_dir=light,
                  ambient=float(rng.uniform(0.25, 0.4)), sun=float(rng.uniform(0.8, 1.0)),
                  ground_colors=ground, ground_tile=float(rng.uniform(0.6, 1.6)), sky_colors=sky)
    target = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    for _ in range(60 * target):
        if len(scene.objects) >= target:
            break
        obj = _sample_object(rng, cfg, scene.objects, cam_pos[0], times)
        if _clear_of(obj, scene.objects, cam_pos):
            scene.objects.append(obj)
    if len(scene.objects) < cfg.min_objects:
        raise RuntimeError(f"could only place {len(scene.objects)} of {cfg.min_objects} objects; "
                           "enlarge spawn_half or shrink scale_range")
    return scene
