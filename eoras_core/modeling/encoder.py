"""Image encoder: a ResNet-shaped backbone with GroupNorm stages and a small FPN.

Only P3 (stride 8) feeds the rest of EoRaS; P6/P7 weights exist in published checkpoints
and are kept so those files load, but they are never computed.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided) -> 1x1 residual block; GroupNorm so batch size never matters."""

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int, groups: int) -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.GroupNorm(groups, width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.GroupNorm(groups, width)
        self.conv3 = nn.Conv2d(width, out_ch, 1, bias=False)
        self.bn3 = nn.GroupNorm(groups, out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.GroupNorm(groups, out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class FPNEncoder(nn.Module):
    """Crops (N,3,S,S) in [0,1] -> P3 features (N,fpn_dim,S/8,S/8)."""

    def __init__(
        self, blocks: Sequence[int], widths: Sequence[int], fpn_dim: int, groups: int, stem: int
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        in_ch = stem
        for i, (n, w) in enumerate(zip(blocks, widths)):
            stride = 1 if i == 0 else 2
            layers = []
            for b in range(n):
                layers.append(Bottleneck(in_ch, w, stride if b == 0 else 1, groups))
                in_ch = w * Bottleneck.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        c3, c4, c5 = (w * Bottleneck.expansion for w in widths[1:])
        self.conv6 = nn.Conv2d(c5, fpn_dim, 3, stride=2, padding=1)
        self.conv7 = nn.Conv2d(fpn_dim, fpn_dim, 3, stride=2, padding=1)
        for p in (*self.conv6.parameters(), *self.conv7.parameters()):
            p.requires_grad_(False)  # P6/P7 are never computed; kept so published files load
        self.latlayer1 = nn.Conv2d(c5, fpn_dim, 1)
        self.latlayer2 = nn.Conv2d(c4, fpn_dim, 1)
        self.latlayer3 = nn.Conv2d(c3, fpn_dim, 1)
        self.toplayer1 = nn.Conv2d(fpn_dim, fpn_dim, 3, padding=1)
        self.toplayer2 = nn.Conv2d(fpn_dim, fpn_dim, 3, padding=1)
        # Stored by the published model but never applied to its inputs.
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN))
        self.register_buffer("std", torch.tensor(IMAGENET_STD))

    @staticmethod
    def _up_add(top: torch.Tensor, lateral: torch.Tensor) -> torch.Tensor:
        size = lateral.shape[-2:]
        return F.interpolate(top, size=size, mode="bilinear", align_corners=False) + lateral

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 3, stride=2, padding=1)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        p5 = self.latlayer1(c5)
        p4 = self.toplayer1(self._up_add(p5, self.latlayer2(c4)))
        return self.toplayer2(self._up_add(p4, self.latlayer3(c3)))
