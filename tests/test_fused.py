"""The CPU fast path computes the model's function: each kernel against the layer it replaces."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from eoras_core.build import build_eoras
from eoras_core.engine import EorasPredictor
from eoras_core.modeling.fast_ops import (
    SAME, STRIDED, TiledConv, bilinear_matrix, deconv_matrix, fold_batchnorm, transposed_conv_s2,
)
from eoras_core.modeling.fused import FusedEoRaS


@pytest.mark.parametrize("size", [(8, 8), (13, 6), (4, 9), (1, 2)])
def test_tiled_convs_match_torch_layers(size):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(7, 5, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(7, generator=g, dtype=torch.float64)
    x = torch.randn(3, 5, *size, generator=g, dtype=torch.float64)
    x_last = x.permute(0, 2, 3, 1).contiguous()
    one_frame_per_pass = 1  # bytes: forces a pass per frame, as on long clips
    for plan, stride in ((SAME, 1), (STRIDED, 2)):
        ref = F.conv2d(x, w, b, stride=stride, padding=1)
        for budget in (one_frame_per_pass, 32 << 20):
            out = TiledConv(w, b, plan, pass_bytes=budget)(x_last).permute(0, 3, 1, 2)
            assert out.shape == ref.shape
            assert (out - ref).abs().max() < 1e-11, plan.kind
    layer = nn.ConvTranspose2d(5, 7, 3, stride=2, padding=1).double()
    ref = layer(x)
    out = TiledConv.transposed(layer.weight, layer.bias, pass_bytes=one_frame_per_pass)(x_last).permute(0, 3, 1, 2)
    assert out.shape == ref.shape == (3, 7, 2 * size[0] - 1, 2 * size[1] - 1)
    assert (out - ref).abs().max() < 1e-11


@pytest.mark.parametrize("plan, stride", [(SAME, 1), (STRIDED, 2)])
def test_tiled_conv_skips_constant_regions_exactly(plan, stride):
    g = torch.Generator().manual_seed(4)
    w = torch.randn(6, 5, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(6, generator=g, dtype=torch.float64)
    const = torch.randn(5, generator=g, dtype=torch.float64)
    x = const.expand(2, 20, 24, 5).clone()
    varying = torch.zeros(2, 20, 24, dtype=torch.bool)
    varying[0, 3:6, 4:9] = True  # a blob in frame 0; frame 1 is constant everywhere
    varying[1, 19, 0] = True  # and a corner cell in frame 1
    x[varying] = torch.randn(int(varying.sum()), 5, generator=g, dtype=torch.float64)
    conv = TiledConv(w, b, plan)
    fill = w.sum((2, 3)) @ const + b
    out = conv(x, varying, fill)
    ref = F.conv2d(x.permute(0, 3, 1, 2), w, b, stride=stride, padding=1).permute(0, 2, 3, 1)
    assert (out - ref).abs().max() < 1e-11
    th, tw = -(-out.shape[1] // plan.tile), -(-out.shape[2] // plan.tile)
    assert not conv._active_tiles(varying, th, tw).all()  # some tiles really were skipped
    after = conv.varying_after(varying)
    assert after.shape == out.shape[:3]
    assert torch.allclose(out[~after], fill.expand(int((~after).sum()), 6))  # outside: the constant


def test_tiled_conv_float32_error_is_small():
    g = torch.Generator().manual_seed(3)
    w = torch.randn(64, 64, 3, 3, generator=g) * 0.05
    x = torch.randn(2, 64, 32, 32, generator=g)
    ref = F.conv2d(x.double(), w.double(), padding=1)
    out = TiledConv(w, torch.zeros(64), SAME)(x.permute(0, 2, 3, 1).contiguous()).permute(0, 3, 1, 2)
    assert (out.double() - ref).abs().max() < 1e-4 * ref.abs().max()


def test_transposed_conv_phases_match_convtranspose():
    g = torch.Generator().manual_seed(1)
    layer = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1).double()
    x = torch.randn(2, 6, 5, 7, generator=g, dtype=torch.float64)
    cols = (x.permute(0, 2, 3, 1).reshape(-1, 6) @ deconv_matrix(layer.weight)).view(2, 5, 7, 3, 3, 4)
    out = transposed_conv_s2(cols, layer.bias).permute(0, 3, 1, 2)
    ref = layer(x)
    assert out.shape == ref.shape == (2, 4, 9, 13)
    assert (out - ref).abs().max() < 1e-12


def test_bilinear_gather_matches_grid_sample():
    g = torch.Generator().manual_seed(2)
    fmap = torch.randn(2, 3, 6, 5, generator=g, dtype=torch.float64)
    grid = torch.rand(2, 40, 2, generator=g, dtype=torch.float64) * 3 - 1.5  # inside, on and outside the map
    grid[0, :4] = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [1e9, 0.0], [-1.0, 1.0]], dtype=torch.float64)
    grid[1, 0] = torch.tensor([float("inf"), 0.0])
    ref = F.grid_sample(fmap, grid[:, None], mode="bilinear", padding_mode="zeros", align_corners=True)[:, :, 0]
    idx, wts = bilinear_matrix(grid, 6, 5)
    table = fmap.flatten(2).transpose(1, 2)  # (N, h*w, C)
    out = torch.stack([(table[n][idx[n]] * wts[n, ..., None]).sum(1) for n in range(2)]).transpose(1, 2)
    finite = torch.isfinite(ref)
    assert (out[finite] - ref[finite]).abs().max() < 1e-12
    assert out[1, :, 0].abs().max() == 0  # a non-finite position samples nothing


def test_fold_batchnorm():
    conv, bn = nn.Conv2d(3, 4, 3, padding=1).double(), nn.BatchNorm2d(4).double().eval()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.uniform_(0.5, 2), bn.bias.uniform_(-1, 1)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    w, b = fold_batchnorm(conv.weight, conv.bias, bn)
    assert (F.conv2d(x, w, b, padding=1) - bn(conv(x))).abs().max() < 1e-12


def _randomise_norms(model: nn.Module) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)


@pytest.mark.parametrize("preset", ["tiny", "movi_d"])
def test_fused_stages_match_model(preset):
    torch.manual_seed(0)
    model = build_eoras(preset).eval().double()
    _randomise_norms(model)
    fast = FusedEoRaS(model)
    n = 2
    crops = torch.rand(n, 3, 128, 128, dtype=torch.float64)
    K = torch.tensor([[1.09, 0, -0.5], [0, -1.09, -0.5], [0, 0, -1.0]], dtype=torch.float64).repeat(n, 1, 1)
    K[1, :2, :2] *= 2.5  # a longer lens: the BEV grid falls partly outside the crop
    fused = torch.randn(n, 2 * model.config.d_model, 16, 16, dtype=torch.float64)
    with torch.inference_mode():
        _, reached = fast.lift(model.feature_extractor(crops), K)
        assert not reached.all()  # cells outside the view exist: constant-region skipping runs
        p3, bev = model.encode_frames(crops, K)
        p3_f, bev_f = fast.encode_frames(crops, K)
        masks, masks_f = model.decode_masks(fused), fast.decode_masks(fused)
    assert (p3 - p3_f).abs().max() < 1e-10 * p3.abs().max()
    assert (bev - bev_f).abs().max() < 1e-10 * bev.abs().max()
    for a, b in zip(masks, masks_f):
        assert a.shape == b.shape == (n, 1, 121, 121)
        assert (a - b).abs().max() < 1e-10


def test_engine_fast_path_agrees_with_model_layers():
    torch.manual_seed(0)
    model = build_eoras("tiny").eval()
    crops = torch.rand(2, 5, 3, 128, 128)
    K = torch.tensor([[1.09, 0, -0.5], [0, -1.09, -0.5], [0, 0, -1.0]]).repeat(2, 5, 1, 1)
    fast, plain = EorasPredictor(model), EorasPredictor(model, fused=False)
    assert fast.fused is not None and plain.fused is None
    a, b = fast.run_crops(crops, K, intermediates=True), plain.run_crops(crops, K, intermediates=True)
    for key in ("full_mask", "vis_mask", "bev", "attn_slot_bev", "attn_feature_slot"):
        assert (a[key] - b[key]).abs().max() < 1e-4, key
