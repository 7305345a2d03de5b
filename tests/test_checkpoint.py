"""Checkpoint loading: published format (module. keys, optimiser state, gzip), project files, errors."""
import gzip
import shutil

import numpy as np
import pytest
import torch

from eoras_core import CheckpointError, build_eoras, load_eoras, save_eoras
from eoras_core.checkpoint import infer_preset
from golden_recipe import golden, recipe_state_dict


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A checkpoint written the way the published training script writes one."""
    folder = tmp_path_factory.mktemp("wd_5e-4_full_wobevgt_bid_movid_slot8_possincos")
    model = build_eoras("movi_d")
    state = recipe_state_dict(model.state_dict())
    model.load_state_dict(state)
    small = [model.dec_vm.deconv3.weight, model.slot.weight]
    optim = torch.optim.AdamW(small, lr=1e-5, weight_decay=5e-4)
    sum(p.sum() for p in small).backward()
    optim.step()
    sched = torch.optim.lr_scheduler.StepLR(optim, 10)
    payload = {"epoch": 50, "model": {f"module.{k}": v for k, v in state.items()},
               "optim": optim.state_dict(), "scheduler": sched.state_dict(), "iters": 1234}
    plain = folder / "checkpoint-0050.pth"
    torch.save(payload, plain)
    gz = folder / "checkpoint-0050.pth.gz"
    with open(plain, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst)
    return plain, gz


def _run_golden(model):
    ref = golden("movi_d")
    with torch.no_grad():
        out = model(torch.from_numpy(ref["input"]), torch.from_numpy(ref["calib"]))
    np.testing.assert_allclose(out["full_mask"].numpy(), ref["full_mask"], atol=1e-4)
    np.testing.assert_allclose(out["vis_mask"].numpy(), ref["vis_mask"], atol=1e-4)


def test_published_plain_and_gzip_reproduce_golden(published):
    plain, gz = published
    for path in (plain, gz):
        model = load_eoras(path, device="cpu")  # preset inferred from the folder name
        assert model.config.name == "movi_d"
        _run_golden(model)


def test_project_format_roundtrip(tmp_path, published):
    model = load_eoras(published[0], device="cpu")
    out = save_eoras(model, tmp_path / "m.safetensors", extra={"note": "x"})
    again = load_eoras(out, device="cpu")  # no preset needed: the config travels in the file
    assert again.config == model.config
    _run_golden(again)


def test_state_dict_source_needs_preset():
    state = build_eoras("tiny").state_dict()
    with pytest.raises(CheckpointError, match="preset"):
        load_eoras(state, device="cpu")
    assert load_eoras(state, preset="tiny", device="cpu").config.name == "tiny"
    with pytest.raises(CheckpointError, match="movi_b.*tiny|unknown preset"):
        load_eoras(state, preset="huge", device="cpu")


def test_wrong_architecture_lists_keys(tmp_path):
    path = save_eoras(build_eoras("tiny"), tmp_path / "tiny.safetensors")
    state = build_eoras("tiny").state_dict()
    with pytest.raises(CheckpointError) as err:
        load_eoras(state, preset="movi_b", device="cpu")
    msg = str(err.value)
    assert "mis-shaped" in msg and "expected" in msg and "missing" in msg
    state.pop("slot.weight")
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"1 missing key\(s\), e.g. slot.weight.*1 unexpected"):
        load_eoras(state, preset="tiny", device="cpu")
    assert load_eoras(path, device="cpu").config.name == "tiny"


def test_bad_files_raise_checkpoint_error(tmp_path, published):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint at all" * 10)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut_movib.pth"
    truncated.write_bytes(published[0].read_bytes()[: 1 << 20])
    truncated_gz = tmp_path / "cut_movib.pth.gz"
    truncated_gz.write_bytes(published[1].read_bytes()[: 1 << 20])
    for path, pattern in [
        (junk, "not a checkpoint"), (empty, "empty"), (truncated, "truncated|damaged"),
        (truncated_gz, "truncated|damaged"), (tmp_path / "missing.pth", "not found"), (tmp_path, "folder"),
    ]:
        with pytest.raises(CheckpointError, match=pattern) as err:
            load_eoras(path, preset="movi_b", device="cpu")
        assert str(path) in str(err.value)


def test_non_weights_pickle_is_refused(tmp_path):
    path = tmp_path / "code_movib.pth"
    torch.save({"model": {"w": torch.zeros(1)}, "callback": print}, path)
    with pytest.raises(CheckpointError, match="weights-only"):
        load_eoras(path, device="cpu")


def test_preset_inference():
    assert infer_preset("x/wd_5e-4_movib_slot8/checkpoint-0050.pth.gz") == "movi_b"
    assert infer_preset("x/..._movid_.../checkpoint-0050.pth") == "movi_d"
    assert infer_preset("KITTI/ckpt.pth") == "kitti"
    assert infer_preset("checkpoint-0050.pth.gz") is None
