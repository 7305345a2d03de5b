"""Every preset: output contract, backward pass, config round trip, chunking invariance."""
import pytest
import torch

from eoras_core import PRESETS, EorasConfig, build_eoras

KUBRIC_K = torch.tensor([[35 / 32, 0, -0.5], [0, -35 / 32, -0.5], [0, 0, -1.0]])


def inputs(b: int, t: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, 3, 128, 128, generator=g), KUBRIC_K.expand(b, t, 3, 3).clone()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_output_contract(preset):
    model = build_eoras(preset)
    crops, K = inputs(1, 2)
    with torch.no_grad():
        out = model(crops, K, intermediates=True)
    s = model.config.num_slots
    assert out["full_mask"].shape == (1, 2, 1, 121, 121)
    assert out["vis_mask"].shape == (1, 2, 1, 121, 121)
    assert out["bev"].shape == (1, 2, model.config.bev_dim, 16, 16)
    assert out["attn_slot_bev"].shape == (2, 1, 2, s, 256)
    assert out["attn_slot_feature"].shape == (2, 1, 2, s, 256)
    assert out["attn_feature_slot"].shape == (2, 1, 2, 256, s)
    # Attention rows are distributions.
    torch.testing.assert_close(out["attn_slot_bev"].sum(-1), torch.ones(2, 1, 2, s))
    torch.testing.assert_close(out["attn_feature_slot"].sum(-1), torch.ones(2, 1, 2, 256, s)[..., 0])
    assert 0 <= out["full_mask"].min() and out["full_mask"].max() <= 1


def test_tiny_backward_and_config_roundtrip():
    model = build_eoras("tiny").train()
    crops, K = inputs(2, 3)
    out = model(crops, K)
    out["full_logits"].mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads[:10])
    cfg = model.config
    assert EorasConfig.from_json(cfg.to_json()) == cfg


def test_chunking_does_not_change_results():
    model = build_eoras("tiny")
    crops, K = inputs(2, 5, seed=3)
    with torch.no_grad():
        ref = model(crops, K, intermediates=True)
        for chunk in (3, 5):  # 3: windowed memory projections; 5: shared ones, projected in chunks
            model.chunk = chunk
            got = model(crops, K, intermediates=True)
            for key in ("full_mask", "vis_mask", "bev", "attn_slot_bev", "attn_feature_slot"):
                torch.testing.assert_close(got[key], ref[key], rtol=1e-5, atol=1e-5)


def test_backward_direction_sees_future():
    """Bidirectional fusion: changing the last frame changes the first frame's mask."""
    model = build_eoras("tiny")
    crops, K = inputs(1, 4, seed=1)
    with torch.no_grad():
        a = model(crops, K)["full_mask"][0, 0]
        crops[0, 3] = 1 - crops[0, 3]
        b = model(crops, K)["full_mask"][0, 0]
    assert (a - b).abs().max() > 1e-6


def test_unknown_preset_lists_choices():
    with pytest.raises(ValueError, match="movi_b"):
        build_eoras("nope")
