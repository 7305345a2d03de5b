"""EoRaS core: model, checkpoints, inference engine, data, training and export."""
from .build import build_eoras
from .config import PRESETS, EorasConfig

__all__ = ["build_eoras", "EorasConfig", "PRESETS"]
