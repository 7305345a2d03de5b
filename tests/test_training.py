"""Training: the loss goes down on a tiny set, resume continues, DDP runs with 2 CPU processes."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors import safe_open

from eoras_core.checkpoint import load_eoras
from eoras_core.training.dataset import Augment, TrackWindows, jitter_boxes
from eoras_core.training.losses import eoras_loss, focal_loss
from eoras_core.training.trainer import TrainConfig, Trainer
from movi_fixture import write_rect_split

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return write_rect_split(tmp_path_factory.mktemp("train") / "train", videos=2, T=6)


def read_extra(path) -> dict:
    """The training info `save_eoras` stored in the file's metadata."""
    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()["extra"])


def test_focal_loss_values():
    p = torch.tensor([0.9, 0.2])
    y = torch.tensor([1.0, 0.0])
    expected = -((0.1 ** 2) * np.log(0.9 + 1e-6) + (0.2 ** 2) * np.log(0.8 + 1e-6)) / 2
    assert focal_loss(p, y).item() == pytest.approx(expected, rel=1e-5)
    assert focal_loss(y, y).item() < 1e-5


def test_windows_shapes_padding_and_jitter(split):
    ds = TrackWindows(split, seq_len=8, augment=None)  # tracks have 6 frames: the last frame repeats
    item = ds[0]
    assert item["crops"].shape == (8, 3, 128, 128) and item["amodal"].shape == (8, 1, 121, 121)
    torch.testing.assert_close(item["amodal"][6], item["amodal"][7])
    assert set(item["visible"].unique().tolist()) <= {0.0, 1.0}
    assert (item["visible"] <= item["amodal"]).all()  # visible is part of amodal
    augmented = TrackWindows(split, seq_len=8)[0]
    assert not torch.equal(augmented["crops"], item["crops"])
    boxes = np.array([[0.2, 0.2, 0.6, 0.5]] * 4)
    moved = jitter_boxes(boxes, np.random.default_rng(0), Augment())
    assert not np.allclose(moved, boxes) and (moved >= 0).all() and (moved <= 1).all()


def test_objects_never_in_view_are_left_out_of_training(tmp_path):
    root = write_rect_split(tmp_path / "split", videos=1, T=4)
    meta_path = next(root.glob("*/metadata.json"))
    meta = json.loads(meta_path.read_text())
    meta["instances"][0]["bbox_frames"], meta["instances"][0]["bboxes"] = [], []   # out of view throughout
    meta_path.write_text(json.dumps(meta))
    ds = TrackWindows(root, seq_len=3, augment=None)
    assert len(ds) == len(meta["instances"]) - 1 and all(obj != 0 for _, obj in ds.tracks)
    assert all(ds[i]["crops"].shape == (3, 3, 128, 128) for i in range(len(ds)))


def test_photometric_augmentation_changes_crops_not_masks(split):
    from eoras_core.training import photometric

    crop = np.random.default_rng(1).random((128, 128, 3)).astype(np.float32)   # as crop_patch gives it
    params = photometric.sample(np.random.default_rng(3), photometric.Photometric(p=1.0, grey=1.0, noise=1.0, jpeg=1.0))
    out = photometric.apply(crop, params, np.random.default_rng(4))
    assert out.shape == crop.shape and out.dtype == np.float32 and not np.array_equal(out, crop)
    assert 0.0 <= out.min() and out.max() <= 1.0 and 0.2 < out.mean() < 0.8          # still an image in [0, 1]
    assert np.abs(out[..., 0] - out[..., 1]).mean() < 6 / 255   # grey (up to noise and JPEG)
    again = photometric.apply(crop, params, np.random.default_rng(4))
    np.testing.assert_array_equal(out, again)                     # deterministic per window seed
    plain = TrackWindows(split, seq_len=4, augment=Augment(jitter=0, scale=0, flip=False, photometric=None))[1]
    looked = TrackWindows(split, seq_len=4, augment=Augment(jitter=0, scale=0, flip=False,
                                                            photometric=photometric.Photometric(p=1.0)))[1]
    assert not torch.equal(plain["crops"], looked["crops"]) and looked["crops"].dtype == plain["crops"].dtype
    assert (looked["crops"] - plain["crops"]).abs().mean() < 0.25   # changed, not destroyed
    torch.testing.assert_close(plain["amodal"], looked["amodal"])
    torch.testing.assert_close(plain["visible"], looked["visible"])


def test_mask_probabilities_are_float32_under_bf16_autocast(split):
    """A confident false positive must keep its gradient: p never rounds to 1.0 in bf16."""
    from eoras_core.build import build_eoras

    model = build_eoras("tiny").train()
    item = TrackWindows(split, seq_len=2, augment=None)[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(item["crops"][None], item["K"][None])
    assert out["full_mask"].dtype == torch.float32 and out["vis_mask"].dtype == torch.float32
    logits = torch.tensor([7.0, 9.0], requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        p = torch.sigmoid(logits.to(torch.bfloat16).float())
    focal_loss(p, torch.zeros(2)).backward()
    assert (p < 1).all() and (logits.grad.abs() > 0).all()


def _fixed_batch_loss(model, ds):
    batch = {k: torch.stack([ds[i][k] for i in range(len(ds))]) for k in ("crops", "K", "amodal", "visible")}
    model.eval()
    with torch.no_grad():
        out = model(batch["crops"], batch["K"])
    return eoras_loss(out, batch["amodal"], batch["visible"]).item()


def test_training_lowers_loss_and_resumes(split, tmp_path):
    cfg = TrainConfig(data=str(split), out=str(tmp_path / "run"), steps=25, batch=2, seq_len=4, lr=2e-3,
                      warmup=3, save_every=10, eval_every=1000, augment=False)
    trainer = Trainer(cfg)
    ds = TrackWindows(split, seq_len=4, augment=None)
    before = _fixed_batch_loss(trainer.model, ds)
    trainer.model.train()
    summary = trainer.fit()
    after = _fixed_batch_loss(trainer.model, ds)
    assert summary["step"] == 25
    assert after < 0.7 * before, (before, after)
    # Resume: a longer run in the same folder continues from step 25.
    cfg2 = TrainConfig(**{**cfg.__dict__, "steps": 28})
    t2 = Trainer(cfg2)
    assert t2.step == 25
    t2.fit()
    extra = read_extra(tmp_path / "run" / "last.safetensors")
    assert extra["step"] == 28 and extra["train"]["preset"] == "tiny"
    assert load_eoras(tmp_path / "run" / "last.safetensors", device="cpu").config.name == "tiny"


def test_ddp_two_cpu_processes(split, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "eoras_core", "train", "--data", str(split), "--out", str(out), "--steps", "3",
           "--batch", "1", "--seq-len", "3", "--threads", "1", "--no-augment",
           "--eval-data", str(split), "--eval-every", "2", "--eval-videos", "2"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_extra(out / "last.safetensors")["step"] == 3
    lines = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert lines and lines[0]["step"] == 1
    (evaluation,) = [x["eval"] for x in lines if "eval" in x]     # both ranks scored a share, one line
    assert 0.0 <= evaluation["miou_full_clean"] <= 1.0


def test_shared_evaluation_equals_one_evaluation(split):
    from eoras_core import build_eoras
    from eoras_core.engine import EorasPredictor
    from eoras_core.evaluate import evaluate_split, merge_scores

    torch.manual_seed(0)
    predictor = EorasPredictor(build_eoras("tiny"))
    whole = evaluate_split(predictor, split, baselines=False, progress=False)
    shares = []
    for rank in range(2):
        evaluate_split(predictor, split, baselines=False, progress=False, shard=(rank, 2), scores=shares)
    merged = merge_scores(shares)
    assert len(shares) == 2 and merged["frames"] == whole["frames"] > 0
    for key in ("miou_full", "miou_full_clean", "miou_occ_clean"):
        assert merged[key] == pytest.approx(whole[key], abs=1e-9)


def test_fine_tune_from_published_format_checkpoint(split, tmp_path):
    """--init takes a published-style file (torch zip, 'model' with module. keys, optimiser state)."""
    from eoras_core import build_eoras

    torch.manual_seed(1)
    source = build_eoras("tiny")
    published = tmp_path / "wd_run" / "checkpoint-0050.pth"
    published.parent.mkdir()
    torch.save({"epoch": 50, "model": {f"module.{k}": v for k, v in source.state_dict().items()},
                "optim": {"state": {}, "param_groups": []}, "iters": 10}, published)
    cfg = TrainConfig(data=str(split), out=str(tmp_path / "ft"), init=str(published), preset="tiny", steps=1,
                      batch=1, seq_len=2, augment=False, resume=False)
    trainer = Trainer(cfg)
    torch.testing.assert_close(trainer.model.slot.weight, source.slot.weight)
    trainer.fit()
    assert not torch.equal(trainer.model.slot.weight, source.slot.weight)


def test_lite_training_starts_from_imagenet_with_slow_statistics(split, tmp_path):
    from eoras_core.build import build_eoras

    trainer = Trainer(TrainConfig(data=str(split), out=str(tmp_path / "run"), preset="lite", steps=1, batch=1,
                                  seq_len=2, resume=False))
    reference = build_eoras("lite", pretrained=True).feature_extractor.state_dict()
    for key, value in trainer.model.feature_extractor.state_dict().items():
        if "backbone" in key or key.startswith(("stem", "blocks")):
            torch.testing.assert_close(value, reference[key], msg=key)
    norms = [m for m in trainer.model.feature_extractor.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 48 and all(m.momentum == 0.01 for m in norms)
    tiny = Trainer(TrainConfig(data=str(split), out=str(tmp_path / "tiny"), preset="tiny", steps=1, resume=False))
    assert all(m.momentum == 0.1 for m in tiny.model.modules() if isinstance(m, torch.nn.BatchNorm2d))
