"""A v2 scene's appearance, drawn from its style: floor, backdrop, lights, ambient, artefacts.

Why separate from the geometry: the look comes from its own random stream, so the same seed
renders the same objects, motion and masks in the train and the shift style (a paired
comparison of the two looks), and appearance never changes the ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backdrops import Backdrop, sample_backdrop
from .camera_fx import sample_camera_fx
from .floors import Floor, sample_floor
from .lights import Light, sample_lights
from .scene import SceneConfig
from .styles import style_of

__all__ = ["Look", "sample_look"]


@dataclass
class Look:
    """ambient: intensity of the sky light; ambient_color (3,) linear, max 1."""

    style: str
    floor: Floor
    backdrop: Backdrop
    lights: list[Light]
    ambient: float
    ambient_color: np.ndarray
    camera_fx: dict[str, Any]
    cache: dict = field(default_factory=dict, repr=False)     # per-clip lookup tables of the renderer

    def info(self) -> dict[str, Any]:
        return {"style": self.style, "floor": self.floor.info(), "backdrop": self.backdrop.info(),
                "lights": [light.info() for light in self.lights], "num_lights": len(self.lights),
                "ambient": self.ambient, "ambient_color": self.ambient_color.tolist(),
                "camera_fx": dict(self.camera_fx)}


def sample_look(rng: np.random.Generator, fx_rng: np.random.Generator, cfg: SceneConfig) -> Look:
    """Draw the look of one clip for SceneConfig ``cfg`` (its style and forced families);
    camera artefacts come from ``fx_rng`` so switching them off changes nothing else."""
    style = style_of(cfg.style)
    floor = sample_floor(rng, style, cfg.floor)
    backdrop = sample_backdrop(rng, style, cfg.backdrop)
    lights = sample_lights(rng, style, cfg.light_count, cfg.soft_shadow_prob)
    sky = (0.5 * (backdrop.horizon + backdrop.zenith)) ** 2.2
    tint = 0.5 + 0.5 * sky / max(float(sky.max()), 1e-3)          # half white, half the sky's hue
    fx = sample_camera_fx(fx_rng, cfg.width, cfg.camera_fx)
    return Look(style=style.name, floor=floor, backdrop=backdrop, lights=lights,
                ambient=float(rng.uniform(0.18, 0.35)), ambient_color=tint / tint.max(), camera_fx=fx)
