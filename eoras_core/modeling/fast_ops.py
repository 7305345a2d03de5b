"""Inference-only kernels that compute the same functions as the model's layers with less work.

Used by `fused.FusedEoRaS` on the CPU. Every function here is checked against the plain
PyTorch layer it replaces (tests/test_fused.py); activations are channels-last (N,H,W,C).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Winograd F(4x4, 3x3) with interpolation points 0, +-1, +-2, inf (Lavin & Gray, 2016).
_BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
       [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
_G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]
_AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]


def fold_batchnorm(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Conv weight (O,...) and bias followed by an eval-mode BatchNorm -> one conv's (weight, bias)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    b = shift if bias is None else bias * scale + shift
    return weight * scale.view(-1, *([1] * (weight.dim() - 1))), b


class Winograd3x3:
    """3x3 / stride 1 / pad 1 convolution as Winograd F(4x4,3x3): 36 GEMMs over 4x4 output tiles.

    A direct 3x3 conv does 9 multiply-adds per output and input channel; this does 36/16 = 2.25,
    plus cheap input/output transforms. Exact in real arithmetic; in float32 the error is a
    few 1e-6 relative. x (N,H,W,C) -> (N,H,W,O).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, chunk: int = 4) -> None:
        o, c = weight.shape[:2]
        f64 = dict(dtype=torch.float64, device=weight.device)
        g, bt, at = torch.tensor(_G, **f64), torch.tensor(_BT, **f64), torch.tensor(_AT, **f64)
        u = torch.einsum("ak,ockl,bl->abco", g, weight.double(), g)
        self.u = u.reshape(36, c, o).to(weight.dtype).contiguous()
        self.bb = torch.kron(bt, bt).to(weight.dtype)  # (36,36): tile (i,j) -> transformed (a,b)
        self.aa = torch.kron(at, at).to(weight.dtype)  # (16,36): transformed -> output (y,x)
        self.bias = bias.detach().clone()
        self.chunk = chunk  # frames per pass: the transformed tiles take 36*H*W/16*C floats each

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self._run(x[i : i + self.chunk]) for i in range(0, x.shape[0], self.chunk)])

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        n, h, w, c = x.shape
        th, tw = -(-h // 4), -(-w // 4)
        xp = F.pad(x, (0, 0, 1, 1 + 4 * tw - w, 1, 1 + 4 * th - h))
        tiles = torch.stack([xp[:, i : i + 4 * th : 4, j : j + 4 * tw : 4] for i in range(6) for j in range(6)])
        v = (self.bb @ tiles.view(36, -1)).view(36, -1, c)
        m = torch.bmm(v, self.u)  # (36, tiles, O)
        o = m.shape[-1]
        y = (self.aa @ m.view(36, -1)).view(4, 4, n, th, tw, o)
        y = y.permute(2, 3, 0, 4, 1, 5).reshape(n, 4 * th, 4 * tw, o)[:, :h, :w]
        return y + self.bias


def transposed_conv_s2(cols: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Scatter per-pixel 3x3 tap products into a stride-2 / pad-1 transposed-conv output.

    cols (...,h,w,3,3,C) = input pixel x tap x output channel (one GEMM of the input with the
    kernel) -> (...,2h-1,2w-1,C), as ConvTranspose2d(k=3, stride=2, padding=1) computes it:
    output row 2i-1+ky receives tap ky of input row i. Written phase by phase, no zero fill.
    """
    h, w, c = cols.shape[-5], cols.shape[-4], cols.shape[-1]
    out = cols.new_empty(*cols.shape[:-5], 2 * h - 1, 2 * w - 1, c)
    k = lambda ys, xs, ky, kx: cols[..., ys, xs, ky, kx, :]  # noqa: E731
    a, b, n = slice(None), slice(1, None), slice(None, -1)  # all, drop first, drop last
    out[..., 0::2, 0::2, :] = k(a, a, 1, 1)
    out[..., 0::2, 1::2, :] = k(a, b, 1, 0) + k(a, n, 1, 2)
    out[..., 1::2, 0::2, :] = k(b, a, 0, 1) + k(n, a, 2, 1)
    out[..., 1::2, 1::2, :] = k(b, b, 0, 0) + k(b, n, 0, 2) + k(n, b, 2, 0) + k(n, n, 2, 2)
    return out.add_(bias)


def deconv_matrix(weight: torch.Tensor) -> torch.Tensor:
    """ConvTranspose2d weight (Cin,Cout,3,3) -> GEMM operand (Cin, 3*3*Cout) ordered (ky,kx,co)."""
    cin = weight.shape[0]
    return weight.permute(0, 2, 3, 1).reshape(cin, -1).contiguous()


def bilinear_matrix(grid: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """grid_sample weights (bilinear, zero padding, align_corners=True) as a sparse gather.

    grid (N,P,2) in [-1,1] (x then y) over an (height,width) map -> flat pixel indices (N,P,4)
    and weights (N,P,4); corners outside the map get weight 0 (and a safe index 0).
    """
    ix = (grid[..., 0] + 1) * 0.5 * (width - 1)
    iy = (grid[..., 1] + 1) * 0.5 * (height - 1)
    finite = torch.isfinite(ix) & torch.isfinite(iy)
    ix = torch.where(finite, ix, torch.full_like(ix, -10.0)).clamp(-2, width + 1)
    iy = torch.where(finite, iy, torch.full_like(iy, -10.0)).clamp(-2, height + 1)
    x0, y0 = ix.floor(), iy.floor()
    fx, fy = ix - x0, iy - y0
    idx, wts = [], []
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xx, yy = x0 + dx, y0 + dy
            inside = (xx >= 0) & (xx <= width - 1) & (yy >= 0) & (yy <= height - 1)
            idx.append(torch.where(inside, yy * width + xx, torch.zeros_like(xx)).long())
            wts.append(torch.where(inside, wx * wy, torch.zeros_like(wx)))
    return torch.stack(idx, -1), torch.stack(wts, -1)
