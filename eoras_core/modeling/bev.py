"""Front view -> bird's-eye view: sample P3 at a fixed 3D grid projected by K, then convolve.

The grid is a camera-space box (width x height x depth cells); each sample's intrinsics
project it onto the feature map, so the same weights serve any camera.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def camera_space_grid(
    x_range: Sequence[float], y_range: Sequence[float], z_range: Sequence[float],
    cells: Sequence[int], camera_position: Sequence[float] | None,
) -> torch.Tensor:
    """Cell-centre points (3, W*H*D), ordered meshgrid(width, height, depth, 'ij') like the paper.

    With a camera position the box is tilted about x by the camera elevation, so that it
    lies on the ground plane of an elevated camera (the MOVi-D configuration).
    """
    axes = []
    for (lo, hi), n in zip((x_range, y_range, z_range), cells):
        half = (hi - lo) / n / 2
        axes.append(torch.linspace(lo + half, hi - half, n, dtype=torch.float64))
    gx, gy, gz = torch.meshgrid(*axes, indexing="ij")
    points = torch.stack([gx.flatten(), gy.flatten(), gz.flatten()])
    if camera_position is not None:
        cx, cy, cz = camera_position
        a = math.atan(cz / math.sqrt(cx * cx + cy * cy))
        rot = torch.tensor(
            [[1.0, 0.0, 0.0], [0.0, math.cos(a), -math.sin(a)], [0.0, math.sin(a), math.cos(a)]],
            dtype=torch.float64,
        )
        points = rot @ points
    return points


class ConvBlock(nn.Module):
    """1x1 conv + BN + LeakyReLU + 3x3 conv + BN + LeakyReLU (published key layout `layer.N`)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.layer = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 1), nn.BatchNorm2d(out_ch), nn.LeakyReLU(),
            nn.Conv2d(out_ch, out_ch, 3, padding=1), nn.BatchNorm2d(out_ch), nn.LeakyReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class DownBlock(nn.Module):
    """3x3 stride-2 conv + BN + LeakyReLU (published key layout `Down.N`)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.Down = nn.Sequential(nn.Conv2d(ch, ch, 3, stride=2, padding=1), nn.BatchNorm2d(ch), nn.LeakyReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.Down(x)


class BEVConvs(nn.Module):
    def __init__(self, in_ch: int, hidden: int, out_ch: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(ConvBlock(in_ch, hidden), DownBlock(hidden), ConvBlock(hidden, out_ch), DownBlock(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def _sampling_dtype(x: torch.Tensor) -> torch.dtype:
    """float32 for half-precision features, else their own dtype (float64 stays float64):
    sample positions rounded to bf16 move by up to 1/128 of the map, a visible shift."""
    return torch.promote_types(x.dtype, torch.float32)


class BEVTranslator(nn.Module):
    """P3 (N,C,h,w) + intrinsics K (N,3,3) -> BEV map (N,bev_dim,D/4,W/4)."""

    def __init__(
        self, fpn_dim: int, hidden: int, bev_dim: int, x_range: Sequence[float],
        y_range: Sequence[float], z_range: Sequence[float], cells: Sequence[int],
        camera_position: Sequence[float] | None,
    ) -> None:
        super().__init__()
        self.cells = tuple(cells)
        # Kept in float64 and cast per call, so model.double() reproduces float64 references.
        self.register_buffer("points", camera_space_grid(x_range, y_range, z_range, cells, camera_position), persistent=False)
        self.conv = BEVConvs(fpn_dim * cells[1], hidden, bev_dim)

    def sampling_grid(self, K: torch.Tensor) -> torch.Tensor:
        """K (N,3,3) -> grid_sample grid (N, W, H*D, 2) in [-1, 1] feature-map coordinates."""
        nw, nh, nd = self.cells
        # Projection stays in full precision even under autocast: it sets sample positions.
        with torch.autocast("cuda" if K.is_cuda else "cpu", enabled=False):
            p = K.to(self.points.dtype) @ self.points
            uv = p[:, :2] / p[:, 2:3]
            grid = 2.0 * (uv - 0.5)
        return grid.transpose(1, 2).reshape(-1, nw, nh * nd, 2)

    def lift(self, p3: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        """(N,C,h,w) -> stacked height slices (N, C*H, D, W), before the convolutions."""
        nw, nh, nd = self.cells
        dtype = _sampling_dtype(p3)
        grid = self.sampling_grid(K).to(dtype)
        vol = F.grid_sample(p3.to(dtype), grid, mode="bilinear", padding_mode="zeros", align_corners=True).to(p3.dtype)
        n, c = vol.shape[:2]
        vol = vol.view(n, c, nw, nh, nd).permute(0, 1, 3, 4, 2)
        return vol.reshape(n, c * nh, nd, nw)

    def lift_project(self, p3: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        """The first 1x1 conv applied to `lift(p3, K)`, computed without building the lifted volume.

        Bilinear sampling and a 1x1 conv are both linear, so they commute: project P3 by the
        conv's per-height weight slices at 16x16, then sample each height's map at that
        height's points and sum. Same result, ~16x fewer multiply-adds than conv-after-lift.
        """
        nw, nh, nd = self.cells
        conv = self.conv.layers[0].layer[0]
        n, c = p3.shape[:2]
        weight = conv.weight.view(-1, c, nh)  # channel index of the lifted volume is c*nh + h
        proj = torch.einsum("ohc,ncyx->nhoyx", weight.permute(0, 2, 1), p3)  # (N,H,O,16,16)
        dtype = _sampling_dtype(proj)
        grid = self.sampling_grid(K).to(dtype).view(n, nw, nh, nd, 2).transpose(1, 2)
        sampled = F.grid_sample(
            proj.flatten(0, 1).to(dtype), grid.reshape(n * nh, nw, nd, 2), mode="bilinear", padding_mode="zeros",
            align_corners=True,
        ).to(proj.dtype)  # (N*H, O, W, D)
        out = sampled.view(n, nh, -1, nw, nd).sum(1).transpose(2, 3)  # (N, O, D, W)
        return out + conv.bias.view(1, -1, 1, 1)

    def forward(self, p3: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        x = self.lift_project(p3, K)
        x = self.conv.layers[0].layer[1:](x)
        return self.conv.layers[1:](x)
