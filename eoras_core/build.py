"""`build_eoras(preset, **overrides)`: one entry point from a preset name to a model."""
from __future__ import annotations

from typing import Any

from .config import EorasConfig, get_config
from .modeling import EoRaS


def build_eoras(preset: str | EorasConfig = "movi_b", **overrides: Any) -> EoRaS:
    """Build an untrained EoRaS in eval mode from a preset name (or a config) plus overrides."""
    config = get_config(preset, **overrides) if isinstance(preset, str) else preset
    return EoRaS(config).eval()
