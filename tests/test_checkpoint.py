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


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("echo this must never run",))


def test_non_weights_pickle_is_refused_naming_the_blocked_object(tmp_path):
    path = tmp_path / "code_movib.pth"
    torch.save({"model": {"w": torch.zeros(1)}, "callback": _RunsCode()}, path)
    with pytest.raises(CheckpointError, match=r"needs the Python object (posix|os)\.system .*weights-only") as err:
        load_eoras(path, device="cpu")
    assert "Error" not in str(err.value) and "<" not in str(err.value)


def test_legacy_torch_files_load_and_bad_contents_get_true_messages(tmp_path):
    torch.manual_seed(0)
    model = build_eoras("tiny").eval()
    legacy = tmp_path / "legacy.pth"
    torch.save({"model": model.state_dict()}, legacy, _use_new_zipfile_serialization=False)
    loaded = load_eoras(legacy, preset="tiny", device="cpu")
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), k
    # NaN weights are an error, not empty masks
    state = {k: v.clone() for k, v in model.state_dict().items()}
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name][...] = float("nan")
    nan_file = tmp_path / "nan.pth"
    torch.save({"model": state}, nan_file)
    with pytest.raises(CheckpointError, match=f"not finite .* in {name}"):
        load_eoras(nan_file, preset="tiny", device="cpu")
    # gzip of something that is not a checkpoint, and a gzip bomb (refused before it fills the disk)
    garbage = tmp_path / "garbage.pth.gz"
    with gzip.open(garbage, "wb") as f:
        f.write(bytes(range(256)) * 40)
    with pytest.raises(CheckpointError, match="does not hold a torch checkpoint"):
        load_eoras(garbage, preset="tiny", device="cpu")
    bomb = tmp_path / "bomb.pth.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        for _ in range(80):
            f.write(bytes(1 << 20))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(CheckpointError, match="unpacks to more than 64 MB"):
        load_eoras(bomb, preset="tiny", device="cpu")


def test_preset_inference():
    assert infer_preset("x/wd_5e-4_movib_slot8/checkpoint-0050.pth.gz") == "movi_b"
    assert infer_preset("x/..._movid_.../checkpoint-0050.pth") == "movi_d"
    assert infer_preset("KITTI/ckpt.pth") == "kitti"
    assert infer_preset("checkpoint-0050.pth.gz") is None
