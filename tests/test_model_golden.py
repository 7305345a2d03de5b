"""Conformance: the three published configurations reproduce the golden outputs."""
import numpy as np
import pytest
import torch

from eoras_core import build_eoras
from golden_recipe import golden, recipe_state_dict

PAIRS = [
    ("p3", "p3_b0_t0"), ("bev", "bev_b0_t0"), ("full_mask", "full_mask"), ("vis_mask", "vis_mask"),
    ("attn_slot_bev", "attn_slot_update_bev"), ("attn_slot_feature", "attn_slot_update_feature"),
    ("attn_feature_slot", "attn_feature_update"),
]


def recipe_model(preset: str) -> torch.nn.Module:
    model = build_eoras(preset)
    model.load_state_dict(recipe_state_dict(model.state_dict()))
    return model


def check(out: dict, ref: dict, atol: float, rtol: float) -> None:
    for key, gkey in PAIRS:
        got = out[key].detach().cpu().double().numpy()
        if key in ("p3", "bev"):
            got = got[0, 0]
        assert got.shape == ref[gkey].shape, key
        np.testing.assert_allclose(got, ref[gkey], atol=atol, rtol=rtol, err_msg=key)


@pytest.mark.parametrize("preset", ["movi_b", "movi_d", "kitti"])
def test_golden_float64(preset):
    ref = golden(preset)
    model = recipe_model(preset).double()
    with torch.no_grad():
        out = model(torch.from_numpy(ref["input"]).double(), torch.from_numpy(ref["calib"]).double(), intermediates=True)
    # Golden arrays were computed in float64 and stored as float32: allow that rounding.
    check(out, ref, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("preset", ["movi_b", "movi_d", "kitti"])
def test_golden_float32(preset):
    ref = golden(preset)
    model = recipe_model(preset)
    with torch.no_grad():
        out = model(torch.from_numpy(ref["input"]), torch.from_numpy(ref["calib"]), intermediates=True)
    check(out, ref, atol=1e-4, rtol=0)


def test_presets_differ_only_in_camera():
    b, d, k = (build_eoras(p).config for p in ("movi_b", "movi_d", "kitti"))
    assert b.camera_position is None and k.camera_position is None and d.camera_position is not None
    assert set(build_eoras("movi_b").state_dict()) == set(build_eoras("movi_d").state_dict())
