"""Inference-only recomposition of EoRaS's heavy per-frame stages, for the CPU engine.

Same function as `EoRaS.encode_frames` / `EoRaS.decode_masks`, less arithmetic and memory
traffic (see bench/RESULTS.md for what each step buys):
- the image encoder in channels-last memory format;
- eval-mode BatchNorms folded into the convolutions before them (the EfficientNet-Lite
  encoder's too: its layers then run as they are, one conv each);
- BEV lifting as one sparse gather: the first 1x1 conv is applied to P3 (16x16) per height
  slice and the bilinear samples are summed with `embedding_bag`, straight into channels-last;
- BEV cells outside the camera's view hold a constant: the two big BEV convs skip the tiles
  that only see such cells;
- the wide 3x3 convs of the BEV stack and the wide transposed convs of both mask decoders as
  fast bilinear algorithms over tiles (`TiledConv`: Winograd F(4x4,3x3) for stride 1,
  polyphase F(2,2) for stride 2 and transposed); narrow ones as oneDNN convs or one GEMM
  plus a phase scatter; the first layers of the two decoders run as one.
Weights are copied at construction: build a new one after changing the model's weights.
Outputs agree with the model to float32 rounding (tests/test_fused.py).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .efficientnet_lite import ConvBN
from .eoras import EoRaS, _chunked
from .fast_ops import (
    SAME, STRIDED, GemmTransposedConv, bilinear_matrix, fast_conv3x3, fast_transposed3x3, fold_batchnorm,
)

_SLOPE = 0.01  # nn.LeakyReLU's default, as in the BEV stack and the decoders


def _fold_conv_batchnorms(encoder: nn.Module) -> None:
    """Fold each `ConvBN`'s eval-mode BatchNorm into its conv, in place (the Lite encoder's
    48 conv+BN pairs; the ResNet encoder has none). The padding and activations are untouched."""
    for m in encoder.modules():
        if isinstance(m, ConvBN) and isinstance(m.bn, nn.BatchNorm2d):
            weight, bias = fold_batchnorm(m.conv.weight, m.conv.bias, m.bn)
            m.conv.weight = nn.Parameter(weight.contiguous(memory_format=torch.channels_last), requires_grad=False)
            m.conv.bias = nn.Parameter(bias, requires_grad=False)
            m.bn = nn.Identity()


class FusedEoRaS:
    """Fast `encode_frames` and `decode_masks` for an eval-mode EoRaS (any float dtype, any device)."""

    def __init__(self, model: EoRaS, decode_chunk: int = 8) -> None:
        c = model.config
        self.model = model
        self.cells = tuple(c.bev_cells)
        self.decode_chunk = decode_chunk
        # oneDNN's channels-last convolutions run either encoder faster on the CPU (a copy: the
        # model itself is left as it is).
        self.encoder = copy.deepcopy(model.feature_extractor).to(memory_format=torch.channels_last)
        with torch.no_grad():
            _fold_conv_batchnorms(self.encoder)
            self._fold_bev(model)
            self._fold_decoders(model)

    def _fold_bev(self, model: EoRaS) -> None:
        bev = model.bev_generator
        block1, down1, block2, down2 = bev.conv.layers
        nw, nh, nd = self.cells
        conv = block1.layer[0]
        w, b = fold_batchnorm(conv.weight, conv.bias, block1.layer[1])
        c = w.shape[1] // nh
        # Lifted channel index is c*nh + h: one (C, O) projection per height, side by side.
        self.lift_weight = w.view(-1, c, nh).permute(1, 2, 0).reshape(c, -1).contiguous()  # (C, H*O)
        self.lift_bias = b
        fold = lambda conv, bn: fold_batchnorm(conv.weight, conv.bias, bn)  # noqa: E731
        w1, b1 = fold(block2.layer[0], block2.layer[1])
        self.bev_convs = [
            fast_conv3x3(*fold(block1.layer[3], block1.layer[4]), SAME),
            fast_conv3x3(*fold(down1.Down[0], down1.Down[1]), STRIDED),
            lambda x: torch.addmm(b1, x.reshape(-1, x.shape[-1]), w1.flatten(1).t()).view(*x.shape[:-1], -1),
            fast_conv3x3(*fold(block2.layer[3], block2.layer[4]), SAME),
            fast_conv3x3(*fold(down2.Down[0], down2.Down[1]), STRIDED),
        ]
        # BEV cells that no sample reaches (outside the camera's view) hold the lift's bias, the
        # same constant in every frame; so does each conv's output over a window of such cells.
        # The two big convs skip those tiles and write the precomputed constant instead.
        value = F.leaky_relu(b.double(), _SLOPE)
        self.bev_fills = []
        for layer in (block1.layer[3:5], down1.Down[:2]):
            weight, bias = fold(*layer)
            pre = weight.double().sum((2, 3)) @ value + bias.double()
            self.bev_fills.append(pre.to(b.dtype))
            value = F.leaky_relu(pre, _SLOPE)

    def _fold_decoders(self, model: EoRaS) -> None:
        fm, vm = model.dec_fm, model.dec_vm
        pairs = [(getattr(fm, f"deconv{i}"), getattr(vm, f"deconv{i}")) for i in range(1, fm.depth + 1)]
        first, *middle, last = pairs
        # The two decoders read the same fused map: their first layers run as one.
        self.dec_first = fast_transposed3x3(torch.cat([d.weight for d in first], 1), torch.cat([d.bias for d in first]))
        self.dec_middle = [tuple(fast_transposed3x3(d.weight, d.bias) for d in pair) for pair in middle]
        # One output channel: a GEMM + phase scatter beats 25 one-column GEMMs.
        self.dec_last = [GemmTransposedConv(d.weight, d.bias) for d in last]

    # -- encoder + BEV ------------------------------------------------------------------
    def encode_frames(self, crops: torch.Tensor, K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """crops (N,3,S,S), K (N,3,3) -> P3 (N,C,S/8,S/8), BEV map (N,bev_dim,16,16), as the model."""
        encoder = lambda x: self.encoder(x.contiguous(memory_format=torch.channels_last))  # noqa: E731
        return self.model.encode_frames(crops, K, encoder, self.bev)

    def lift(self, p3: torch.Tensor, K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """P3 (N,C,h,w) -> first BEV conv (+BN) output, channels-last (N, depth, width, O), and
        (N, depth, width) bool: cells that any sample reaches (the others hold the bias alone)."""
        nw, nh, nd = self.cells
        n, c, h, w = p3.shape
        proj = p3.permute(0, 2, 3, 1).reshape(-1, c) @ self.lift_weight  # (N*h*w, H*O)
        o = proj.shape[1] // nh
        # Rows of the gather table ordered (frame, height, pixel).
        table = proj.view(n, h * w, nh, o).transpose(1, 2).reshape(-1, o)
        grid = self.model.bev_generator.sampling_grid(K).view(n, nw, nh, nd, 2).permute(0, 3, 1, 2, 4)
        idx, wts = bilinear_matrix(grid.reshape(n, -1, 2), h, w)  # (N, D*W*H, 4)
        base = (torch.arange(n, device=p3.device).view(n, 1, 1, 1) * nh + torch.arange(nh, device=p3.device).view(1, 1, nh, 1)) * (h * w)
        idx = idx.view(n, nd * nw, nh, 4) + base
        out = F.embedding_bag(idx.view(n * nd * nw, -1), table, per_sample_weights=wts.view(n * nd * nw, -1).to(p3.dtype), mode="sum")
        reached = (wts.view(n, nd * nw, -1) != 0).any(-1).view(n, nd, nw)
        return out.view(n, nd, nw, o).add_(self.lift_bias), reached

    def bev(self, p3: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        """P3 (N,C,16,16) + K (N,3,3) -> BEV map (N,bev_dim,16,16), the model's BEVTranslator."""
        x, varying = self.lift(p3, K)
        x = F.leaky_relu_(x, _SLOPE)
        for i, conv in enumerate(self.bev_convs):
            if i < len(self.bev_fills):
                x, varying = conv(x, varying, self.bev_fills[i]), conv.varying_after(varying)
            else:
                x = conv(x)
            x = F.leaky_relu_(x, _SLOPE)
        return x.permute(0, 3, 1, 2).contiguous()

    # -- mask decoders --------------------------------------------------------------------
    def decode_masks(self, fused: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fused maps (N,2D,16,16) -> amodal and visible logits, each (N,1,121,121), as the model."""
        both = _chunked(self._decode, self.decode_chunk, fused.permute(0, 2, 3, 1))
        return both[:, :1], both[:, 1:]

    def _decode(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu_(self.dec_first(x), _SLOPE)
        half = y.shape[-1] // 2
        maps = [y[..., :half], y[..., half:]]  # amodal, visible
        for layers in self.dec_middle:
            maps = [F.leaky_relu_(layer(m), _SLOPE) for layer, m in zip(layers, maps)]
        out = [layer(m) for layer, m in zip(self.dec_last, maps)]
        return torch.cat(out, dim=-1).permute(0, 3, 1, 2)  # (N, 2, S, S): amodal, visible
