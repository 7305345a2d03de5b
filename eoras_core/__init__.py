"""EoRaS core: model, checkpoints, inference engine, data, training and export."""
from .build import build_eoras
from .checkpoint import CheckpointError, load_eoras, save_eoras
from .config import PRESETS, EorasConfig

__all__ = ["build_eoras", "load_eoras", "save_eoras", "CheckpointError", "EorasConfig", "PRESETS"]
