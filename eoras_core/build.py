"""`build_eoras(preset, **overrides)`: one entry point from a preset name to a model."""
from __future__ import annotations

from typing import Any

from .config import EorasConfig, get_config
from .modeling import EoRaS


def build_eoras(preset: str | EorasConfig = "movi_b", **overrides: Any) -> EoRaS:
    """Build an untrained EoRaS in eval mode from a preset name (or a config) plus overrides."""
    config = get_config(preset, **overrides) if isinstance(preset, str) else preset
    return EoRaS(config).eval()


def build_movi_b(**overrides: Any) -> EoRaS:
    return build_eoras("movi_b", **overrides)


def build_movi_d(**overrides: Any) -> EoRaS:
    return build_eoras("movi_d", **overrides)


def build_kitti(**overrides: Any) -> EoRaS:
    return build_eoras("kitti", **overrides)


def build_tiny(**overrides: Any) -> EoRaS:
    return build_eoras("tiny", **overrides)


MODEL_REGISTRY = {"movi_b": build_movi_b, "movi_d": build_movi_d, "kitti": build_kitti, "tiny": build_tiny}
