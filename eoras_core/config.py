"""Typed model configuration and the named presets.

A config fully describes an architecture; project checkpoints carry it as JSON so a model
can be rebuilt from the file alone.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

MOVI_D_CAMERA_POSITION = (8.48113, -7.50764, 1.5)
ENCODERS = ("resnet", "efficientnet_lite0")


@dataclass(frozen=True)
class EorasConfig:
    name: str = "movi_b"
    crop_size: int = 128                       # model input side; P3 is crop_size / 8
    mask_size: int = 121                       # decoder output side (3 stride-2 deconvs from 16)
    stem_width: int = 64                       # stem conv channels
    stage_blocks: tuple[int, ...] = (3, 4, 6, 3)   # bottlenecks per stage (ResNet-50)
    stage_widths: tuple[int, ...] = (64, 128, 256, 512)  # bottleneck widths (x4 out)
    norm_groups: int = 16                      # GroupNorm groups inside the stages
    fpn_dim: int = 256                         # P3 channels
    bev_hidden: int = 640                      # first BEV conv block width
    bev_dim: int = 256                         # BEV map channels
    bev_x: tuple[float, float] = (-10.0, 10.0)  # camera-space width extent of the BEV box
    bev_y: tuple[float, float] = (-3.5, 1.5)    # height extent
    bev_z: tuple[float, float] = (0.0, 20.0)    # depth extent
    bev_cells: tuple[int, int, int] = (64, 5, 64)  # width, height, depth cells
    camera_position: tuple[float, float, float] | None = None  # tilts the BEV box (MOVi-D)
    d_model: int = 512                         # token width in the transformers
    heads: int = 8
    ffn_dim: int = 2048
    num_layers: int = 2                        # layers per transformer decoder
    num_slots: int = 8
    decoder_widths: tuple[int, ...] = (512, 256)  # mask decoder hidden widths
    intrinsics: str = "kubric"                 # which K convention the weights expect: kubric | pixel
    # Image encoder: "resnet" (FPNEncoder, sized by stem_width/stage_*/norm_groups) or
    # "efficientnet_lite0" (LiteFPNEncoder: fixed ImageNet backbone; those fields are unused).
    encoder: str = "resnet"

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; choose one of {list(ENCODERS)}")

    @property
    def feature_side(self) -> int:
        return self.crop_size // 8

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> "EorasConfig":
        raw = json.loads(text) if isinstance(text, str) else dict(text)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ValueError(f"unknown config fields {unknown}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


PRESETS: dict[str, EorasConfig] = {
    "movi_b": EorasConfig(name="movi_b"),
    "movi_d": EorasConfig(name="movi_d", camera_position=MOVI_D_CAMERA_POSITION),
    "kitti": EorasConfig(name="kitti", intrinsics="pixel"),
    # Same stages and outputs, narrow and shallow: runs a 24-frame track in well under a
    # second on two CPU cores.
    "tiny": EorasConfig(
        name="tiny", stem_width=16, stage_blocks=(1, 1, 1, 1), stage_widths=(16, 32, 48, 64),
        norm_groups=8, fpn_dim=64, bev_hidden=64, bev_dim=64, d_model=128, heads=4,
        ffn_dim=256, num_layers=2, decoder_widths=(64, 32),
    ),
    # tiny's BEV, transformer and decoder widths on an ImageNet-pretrained EfficientNet-Lite0
    # (its C3/C4/C5 have 40/112/320 channels). fpn_dim 64: the FPN's cost grows with fpn_dim^2
    # (its two 3x3 smoothing convs); at 64 it adds 13 M multiply-adds per 128x128 crop to the
    # backbone's 119 M (96 would add 29 M, 128 50 M). EfficientDet-D0 pairs the same-sized B0
    # with 64-channel maps, and the stages after P3 are tiny's, sized for 64 channels.
    # 4.9 M numbers, 9.8 MB in fp16. The ResNet fields (stem_width, stage_*, norm_groups) are
    # unused by this encoder.
    "lite": EorasConfig(
        name="lite", encoder="efficientnet_lite0", fpn_dim=64, bev_hidden=64, bev_dim=64, d_model=128,
        heads=4, ffn_dim=256, num_layers=2, decoder_widths=(64, 32),
    ),
}


def get_config(preset: str, **overrides: Any) -> EorasConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    return dataclasses.replace(PRESETS[preset], **overrides)
