"""Transposed-conv mask head: fused tokens (N,2D,16,16) -> probabilities (N,1,121,121)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class MaskDecoder(nn.Module):
    def __init__(self, in_ch: int, widths: Sequence[int]) -> None:
        super().__init__()
        chans = [in_ch, *widths, 1]
        for i in range(len(chans) - 1):
            setattr(self, f"deconv{i + 1}", nn.ConvTranspose2d(chans[i], chans[i + 1], 3, stride=2, padding=1))
        self.depth = len(chans) - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns logits; the model applies the sigmoid so losses can use the stable form."""
        for i in range(1, self.depth + 1):
            x = getattr(self, f"deconv{i}")(x)
            if i < self.depth:
                x = F.leaky_relu(x)
        return x
