"""Engine: batched predictor equals the plain model on the same crops; caching; edge cases."""
import numpy as np
import pytest
import torch

from eoras_core import build_eoras
from eoras_core.crop import crop_patch, crop_positions, paste_back
from eoras_core.engine import EorasPredictor
from eoras_core.intrinsics import default_intrinsics
from eoras_core.boxes import as_track, xyxy_to_kubric
from eoras_core.tracking import interpolate_keyframes

T, H, W = 6, 96, 128


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (T, H, W, 3), dtype=np.uint8)
    frames[:, 30:60, 40:80] = (200, 30, 30)
    return frames


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_eoras("tiny")


def reference(model, frames, track):
    """The plain model on the track's frames, pasted back frame by frame."""
    keep = np.flatnonzero(~np.isnan(track[:, 0]))
    kub = xyxy_to_kubric(track[keep], H, W)
    pos = crop_positions(kub, H, W)
    crops = torch.from_numpy(np.stack([crop_patch(frames[f], p) for f, p in zip(keep, pos)])).permute(0, 3, 1, 2)
    K = torch.from_numpy(default_intrinsics("kubric", H, W, len(keep)))
    with torch.no_grad():
        out = model(crops[None], K[None])
    return keep, out["full_mask"][0, :, 0].numpy(), out["vis_mask"][0, :, 0].numpy()


def test_predictor_matches_model(model, clip):
    boxes_a = {0: [40, 30, 80, 60], 5: [50, 32, 90, 62]}
    track_a = interpolate_keyframes(boxes_a, T)
    track_b = as_track({1: [5, 5, 30, 40], 2: [6, 5, 31, 40], 4: [8, 6, 33, 41]}, T, H, W)
    track_c = as_track({0: [100, 60, 127, 95], 1: [100, 60, 127, 95], 2: [99, 60, 127, 95]}, T, H, W)
    pred = EorasPredictor(model, batch_frames=5)
    pred.set_video(clip)
    res = pred.predict({1: track_a, 2: track_b, 3: track_c})
    for obj, track in ((1, track_a), (2, track_b), (3, track_c)):
        keep, full, vis = reference(model, clip, track)
        r = res[obj]
        np.testing.assert_array_equal(r.frames, keep)
        np.testing.assert_allclose(r.full_prob, full, atol=2e-5)
        np.testing.assert_allclose(r.vis_prob, vis, atol=2e-5)
        f = int(keep[0])
        pos = r.positions[0]
        np.testing.assert_array_equal(r.amodal_mask(f), paste_back(full[0], pos, H, W))
        assert r.amodal_mask(3 if obj == 2 else 99 % T).shape == (H, W)
        assert r.bev.shape == (len(keep), model.config.bev_dim, 16, 16)
        assert r.attn_feature_slot.shape == (2, len(keep), 256, model.config.num_slots)
        occ = r.occluded_mask(f)
        assert not (occ & r.visible_mask(f)).any()
        att = r.slot_image_attention(f, slot=0)
        assert att.shape == (H, W) and att.max() > 0
        assert r.cell_assignment(f).shape == (16, 16)
    # Frames without a box give empty masks, not errors.
    assert not res[2].amodal_mask(0).any() and res[2].index(0) is None


def test_cache_reencodes_only_changed_frames(model, clip, monkeypatch):
    pred = EorasPredictor(model)
    pred.set_video(clip)
    calls = []
    stages = pred.fused or model  # the fused CPU path or the model's own layers
    original = stages.encode_frames
    monkeypatch.setattr(stages, "encode_frames", lambda x, k: calls.append(len(x)) or original(x, k))
    track = interpolate_keyframes({0: [40, 30, 80, 60], 5: [40, 30, 80, 60]}, T)
    first = pred.predict({7: track})
    assert sum(calls) == T
    edited = track.copy()
    edited[2] = [10, 10, 50, 50]
    second = pred.predict({7: edited})
    assert sum(calls) == T + 1
    assert not np.allclose(first[7].full_prob[2], second[7].full_prob[2])


def test_out_of_frame_and_empty_tracks(model, clip):
    pred = EorasPredictor(model)
    pred.set_video(clip)
    res = pred.predict({1: {0: [-50, -50, -10, -10], 1: [200, 10, 300, 40]}, 2: {}})
    assert len(res[1].frames) == 0 and len(res[2].frames) == 0
    assert not res[1].amodal_mask(0).any()
    partly = pred.predict({3: {0: [-20, -20, 30, 30]}})[3]
    np.testing.assert_array_equal(partly.boxes[0], [0, 0, 30, 30])


def test_errors_say_what_to_do(model, clip):
    pred = EorasPredictor(model)
    with pytest.raises(RuntimeError, match="set_video"):
        pred.predict({1: {}})
    with pytest.raises(ValueError, match="uint8"):
        pred.set_video(clip.astype(np.float32))
    pred.set_video(clip)
    with pytest.raises(ValueError, match="frames 0..5"):
        pred.predict({1: {9: [0, 0, 10, 10]}})


def test_bf16_autocast_agrees_with_fp32_on_cpu(model, clip):
    track = interpolate_keyframes({0: [40, 30, 80, 60], 5: [45, 30, 85, 60]}, T)
    fp32 = EorasPredictor(model, amp=False)
    fp32.set_video(clip)
    bf16 = EorasPredictor(model, amp=True)
    bf16.set_video(clip)
    a = fp32.predict({1: track})[1].full_prob
    b = bf16.predict({1: track})[1].full_prob
    assert np.abs(a - b).max() < 0.05


def test_reference_schedule_matches_batched_model(model):
    from eoras_core.reference import reference_forward

    g = torch.Generator().manual_seed(5)
    crops = torch.rand(2, 4, 3, 128, 128, generator=g)
    K = torch.from_numpy(default_intrinsics("kubric", 128, 128, 4))[None].expand(2, -1, -1, -1)
    with torch.no_grad():
        batched = model(crops, K)
    ref = reference_forward(model, crops, K)
    for key in ("full_mask", "vis_mask"):
        torch.testing.assert_close(ref[key], batched[key], atol=2e-5, rtol=0)
