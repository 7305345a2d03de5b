"""Inference-only kernels that compute the same functions as the model's layers with less work.

Used by `fused.FusedEoRaS` on the CPU. Every function here is checked against the plain
PyTorch layer it replaces (tests/test_fused.py); activations are channels-last (N,H,W,C).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def fold_batchnorm(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Conv weight (O,...) and bias followed by an eval-mode BatchNorm -> one conv's (weight, bias)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    b = shift if bias is None else bias * scale + shift
    return weight * scale.view(-1, *([1] * (weight.dim() - 1))), b


# Minimal filtering algorithms F(n, k): n outputs of a k-tap correlation with n+k-1 multiplies,
# as (Bt, G, At): y = At @ ((G @ g) * (Bt @ d)). F(4,3) uses the points 0, +-1, +-2, inf.
_F43 = (
    [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
     [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
    [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
     [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
)
_F22 = ([[1, -1, 0], [0, 1, 0], [0, -1, 1]], [[1, 0], [1, 1], [0, 1]], [[1, 1, 0], [0, 1, 1]])


def _minimal_filter(n: int, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if k == 1:
        eye = torch.eye(n, dtype=torch.float64)
        return eye, torch.ones(n, 1, dtype=torch.float64), eye
    table = {(2, 2): _F22, (4, 3): _F43}[(n, k)]
    return tuple(torch.tensor(m, dtype=torch.float64) for m in table)


@dataclass(frozen=True)
class _Phase:
    """One polyphase component along an axis: a k-tap correlation over part of a tile's window."""

    positions: tuple[int, ...]  # window positions it reads (n + k - 1)
    taps: tuple[int, ...]  # kernel taps, in correlation order (k)
    outputs: tuple[int, ...]  # output-tile positions it adds into (n)


@dataclass(frozen=True)
class _AxisPlan:
    """How one spatial axis of a 3-tap layer splits into tiles: input window and step, outputs per tile."""

    window: int
    stride: int
    tile: int
    pad_before: int
    phases: tuple[_Phase, ...]
    kind: str  # "same", "strided" or "transposed": sets the output size

    def out_size(self, n: int) -> int:
        return {"same": n, "strided": (n + 1) // 2, "transposed": 2 * n - 1}[self.kind]

    @property
    def conv_stride(self) -> int:
        """The layer's own stride (same / strided plans)."""
        return {"same": 1, "strided": 2}[self.kind]

    def matrices(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B (T,window), G (T,3), A (tile,T)): all phases stacked along the transformed axis T."""
        bs, gs, as_ = [], [], []
        for ph in self.phases:
            bt, g, at = _minimal_filter(len(ph.outputs), len(ph.taps))
            select = torch.zeros(len(ph.positions), self.window, dtype=torch.float64)
            select[range(len(ph.positions)), ph.positions] = 1
            bs.append(bt @ select)
            g_full = torch.zeros(g.shape[0], 3, dtype=torch.float64)
            g_full[:, ph.taps] = g
            gs.append(g_full)
            a_full = torch.zeros(self.tile, at.shape[1], dtype=torch.float64)
            a_full[list(ph.outputs)] = at
            as_.append(a_full)
        return torch.cat(bs), torch.cat(gs), torch.cat(as_, dim=1)


# stride 1, pad 1: Winograd F(4x4,3x3), 36 products per 16 outputs instead of 144.
SAME = _AxisPlan(6, 4, 4, 1, (_Phase((0, 1, 2, 3, 4, 5), (0, 1, 2), (0, 1, 2, 3)),), "same")
# stride 2, pad 1: out[y] = w0 x[2y] + w2 x[2y+2] (even phase, F(2,2)) + w1 x[2y+1] (odd phase).
STRIDED = _AxisPlan(5, 4, 2, 1, (_Phase((0, 2, 4), (0, 2), (0, 1)), _Phase((1, 3), (1,), (0, 1))), "strided")
# transposed, stride 2, pad 1: out[2i] = w1 x[i]; out[2i+1] = w2 x[i] + w0 x[i+1] (F(2,2)).
TRANSPOSED = _AxisPlan(3, 2, 4, 0, (_Phase((0, 1), (1,), (0, 2)), _Phase((0, 1, 2), (2, 0), (1, 3))), "transposed")


class TiledConv:
    """A 3x3 conv (same, stride-2, or stride-2 transposed) as fast bilinear algorithms over tiles.

    Each output tile is computed from one input window: gather the window (T_in positions),
    transform it (B), multiply channels in T transformed positions (T GEMMs), transform back
    (A). Polyphase splitting turns the strided and transposed layers into small stride-1
    correlations, each done with a minimal filtering algorithm. Multiply-adds per output,
    vs 9 direct: same 2.25, strided 6.25, transposed 6.25/4 per output (25 per 2x2 inputs).
    Exact in real arithmetic. x (N,H,W,C) -> (N,H',W',O), channels last.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, plan: _AxisPlan, pass_bytes: int = 16 << 20) -> None:
        """weight (O,C,3,3) in correlation form (a transposed conv's (C,O,3,3) weight permuted)."""
        o, c = weight.shape[:2]
        b, g, a = plan.matrices()
        u = torch.einsum("ak,ockl,bl->abco", g, weight.detach().double().cpu(), g)
        dev = dict(dtype=weight.dtype, device=weight.device)
        self.u = u.reshape(-1, c, o).to(**dev).contiguous()  # (T, C, O)
        self.bb = torch.kron(b, b).to(**dev)  # (T, window^2)
        self.aa = torch.kron(a, a).to(**dev)  # (tile^2, T)
        self.bias = bias.detach().clone()
        self.plan = plan
        # Frames per pass: the transformed tiles of one pass stay near this size, which keeps
        # the memory-bound transforms cache-friendly and bounds memory on long clips.
        self.pass_bytes = pass_bytes

    @classmethod
    def transposed(cls, weight: torch.Tensor, bias: torch.Tensor, pass_bytes: int = 16 << 20) -> "TiledConv":
        """From a ConvTranspose2d(k=3, stride=2, padding=1) weight (Cin,Cout,3,3)."""
        return cls(weight.transpose(0, 1), bias, TRANSPOSED, pass_bytes)

    def __call__(self, x: torch.Tensor, varying: torch.Tensor | None = None, fill: torch.Tensor | None = None) -> torch.Tensor:
        """x (N,H,W,C) -> (N,H',W',O).

        Optional constant-region skipping: `varying` (N,H,W) bool marks the cells that may
        differ from one constant vector; tiles whose whole input window is constant (padding
        counts as varying) are set to `fill` (O,), the layer's output on that constant.
        """
        p = self.plan
        n, h, w, c = x.shape
        ho, wo = p.out_size(h), p.out_size(w)
        th, tw = -(-ho // p.tile), -(-wo // p.tile)
        per_frame = self.u.shape[0] * th * tw * max(self.u.shape[1:]) * x.element_size()
        step = max(1, self.pass_bytes // per_frame)
        active = None if varying is None else self._active_tiles(varying, th, tw)
        # Whole tiles are written in place (bias added on the way); the overhang is cropped by a view.
        out = x.new_empty(n, th * p.tile, tw * p.tile, self.u.shape[2])
        for i in range(0, n, step):
            self._run(x[i : i + step], th, tw, out[i : i + step], None if active is None else active[i : i + step], fill)
        return out[:, :ho, :wo]

    def _padding(self, h: int, w: int, th: int, tw: int) -> tuple[int, int, int, int]:
        p = self.plan
        need_h, need_w = p.stride * (th - 1) + p.window, p.stride * (tw - 1) + p.window
        return p.pad_before, need_w - w - p.pad_before, p.pad_before, need_h - h - p.pad_before

    def _active_tiles(self, varying: torch.Tensor, th: int, tw: int) -> torch.Tensor:
        """(N,H,W) varying cells -> (N,th,tw) tiles whose input window holds any of them."""
        pad = self._padding(varying.shape[1], varying.shape[2], th, tw)
        v = F.pad(varying[:, None].float(), pad, value=1.0)
        return F.max_pool2d(v, self.plan.window, self.plan.stride)[:, 0] > 0

    def varying_after(self, varying: torch.Tensor) -> torch.Tensor:
        return varying_after(varying, self.plan.conv_stride)

    def _run(
        self, x: torch.Tensor, th: int, tw: int, out: torch.Tensor, active: torch.Tensor | None, fill: torch.Tensor | None
    ) -> None:
        s, win, t = self.plan.stride, self.plan.window, self.plan.tile
        n, h, w, c = x.shape
        xp = F.pad(x, (0, 0, *self._padding(h, w, th, tw)))
        tiles_out = out.view(n, th, t, tw, t, -1)
        if active is None or bool(active.all()):
            tiles = torch.stack([xp[:, i : i + s * th : s, j : j + s * tw : s] for i in range(win) for j in range(win)])
            y = self._transform(tiles.view(win * win, -1, c)).view(t, t, n, th, tw, -1)
            torch.add(y.permute(2, 3, 0, 4, 1, 5), self.bias, out=tiles_out)
            return
        tiles_out.copy_(fill.view(1, 1, 1, 1, 1, -1).expand_as(tiles_out))
        where = active.nonzero(as_tuple=True)
        if len(where[0]) == 0:
            return
        hp, wp = xp.shape[1:3]
        origin = (where[0] * hp + where[1] * s) * wp + where[2] * s  # flat index of each window's corner
        offsets = torch.tensor([i * wp + j for i in range(win) for j in range(win)], device=x.device)
        rows = (offsets[:, None] + origin[None]).flatten()
        tiles = xp.reshape(-1, c).index_select(0, rows).view(win * win, -1, c)
        y = self._transform(tiles).view(t, t, -1, tiles_out.shape[-1]).permute(2, 0, 1, 3)
        tiles_out.permute(0, 1, 3, 2, 4, 5)[where] = y + self.bias

    def _transform(self, tiles: torch.Tensor) -> torch.Tensor:
        """Gathered windows (window^2, P, C) -> output tiles (tile^2, P, O)."""
        c = tiles.shape[-1]
        v = (self.bb @ tiles.reshape(tiles.shape[0], -1)).view(self.bb.shape[0], -1, c)
        m = torch.bmm(v, self.u)  # (T, P, O)
        return self.aa @ m.view(m.shape[0], -1)


def varying_after(varying: torch.Tensor, stride: int) -> torch.Tensor:
    """Varying cells (N,H,W) of a 3x3 / pad-1 conv's output, given its input's (padding varies)."""
    v = F.pad(varying[:, None].float(), (1, 1, 1, 1), value=1.0)
    return F.max_pool2d(v, 3, stride)[:, 0] > 0


class DirectConv:
    """oneDNN's direct 3x3 conv on channels-last tensors, behind TiledConv's interface.

    Narrow layers run faster this way: their GEMMs are too small for the transforms to pay.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, plan: _AxisPlan) -> None:
        self.weight, self.bias = weight, bias
        self.stride = plan.conv_stride

    def __call__(self, x: torch.Tensor, varying: torch.Tensor | None = None, fill: torch.Tensor | None = None) -> torch.Tensor:
        y = F.conv2d(x.permute(0, 3, 1, 2), self.weight, self.bias, stride=self.stride, padding=1)
        return y.permute(0, 2, 3, 1)

    def varying_after(self, varying: torch.Tensor) -> torch.Tensor:
        return varying_after(varying, self.stride)


class GemmTransposedConv:
    """ConvTranspose2d(k=3, stride=2, padding=1) as one GEMM + phase scatter, channels last.

    For narrow layers and one-channel heads, where TiledConv's many small GEMMs do not pay.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        self.matrix, self.bias = deconv_matrix(weight), bias  # weight (Cin,Cout,3,3)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        n, h, w, c = x.shape
        return transposed_conv_s2((x.reshape(-1, c) @ self.matrix).view(n, h, w, 3, 3, -1), self.bias)


def fast_conv3x3(weight: torch.Tensor, bias: torch.Tensor, plan: _AxisPlan) -> TiledConv | DirectConv:
    """The faster implementation for a same / strided 3x3 conv of this width (2 AVX2 cores:
    tiles pay from 128 channels for `SAME`, 512 for `STRIDED`; bench/bench_fused.py)."""
    narrow = min(weight.shape[:2]) < (128 if plan.kind == "same" else 512)
    return DirectConv(weight, bias, plan) if narrow else TiledConv(weight, bias, plan)


def fast_transposed3x3(weight: torch.Tensor, bias: torch.Tensor) -> TiledConv | GemmTransposedConv:
    """The faster implementation for a ConvTranspose2d(3, 2, 1) weight (Cin,Cout,3,3) of this width."""
    return GemmTransposedConv(weight, bias) if min(weight.shape[:2]) < 512 else TiledConv.transposed(weight, bias)


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
