"""`python -m eoras_core eval`: a contract that outside checks call."""
import json
import subprocess
import sys

import pytest
import torch

from eoras_core import build_eoras, save_eoras
from eoras_core.data import MoviSplit
from eoras_core.metrics import CleanAccumulator
from movi_fixture import write_rect_split

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    data = write_rect_split(tmp / "test")
    torch.manual_seed(0)
    ckpt = save_eoras(build_eoras("tiny"), tmp / "tiny.safetensors")
    return tmp, data, ckpt


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "eoras_core", "eval", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_eval_writes_the_documented_json(setup):
    tmp, data, ckpt = setup
    out = tmp / "res.json"
    proc = run_cli("--data", data, "--checkpoint", ckpt, "--device", "cpu", "--json", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    for key in ("miou_full", "miou_occ", "miou_full_clean", "miou_occ_clean"):
        assert key in doc and (doc[key] is None or 0.0 <= doc[key] <= 1.0)
    assert len(doc["per_object"]) == 4
    assert {"video", "object", "miou_full_clean"} <= set(doc["per_object"][0])
    # Baseline amodal = visible, recomputed here independently of the CLI.
    split = MoviSplit(data)
    acc = CleanAccumulator()
    for video, obj in split.tracks:
        tr = split.track(video, obj)
        acc.add(tr.visible, tr.amodal, tr.visible)
    vis = doc["baselines"]["visible"]
    assert vis["miou_full_clean"] == pytest.approx(acc.miou_full, abs=1e-9)
    assert vis["miou_occ_clean"] == 0.0  # amodal = visible never recovers a hidden pixel
    hull = doc["baselines"]["convex_hull"]
    assert hull["miou_full_clean"] >= vis["miou_full_clean"] - 1e-9
    assert "it/s" in proc.stderr or "obj/s" in proc.stderr or "s/obj" in proc.stderr  # progress bar


def test_eval_errors_are_messages_not_tracebacks(setup):
    tmp, data, ckpt = setup
    bad = tmp / "bad.pth"
    bad.write_bytes(b"nope" * 100)
    proc = run_cli("--data", data, "--checkpoint", bad, "--preset", "tiny", "--json", tmp / "x.json")
    assert proc.returncode == 2 and "error:" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("--data", tmp / "missing", "--checkpoint", ckpt, "--json", tmp / "x.json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_eval_refuses_an_empty_split_and_an_unwritable_json_before_any_work(setup, tmp_path):
    tmp, data, ckpt = setup
    empty = tmp_path / "not_movi"
    (empty / "some_folder").mkdir(parents=True)
    (empty / "notes.txt").write_text("hello")
    out = tmp_path / "res.json"
    proc = run_cli("--data", empty, "--checkpoint", ckpt, "--json", out)
    assert proc.returncode == 2 and "no MOVi videos with objects found" in proc.stderr and str(empty) in proc.stderr
    assert "Traceback" not in proc.stderr and "eval:" not in proc.stderr    # failed before the progress bar
    proc = run_cli("--data", data, "--checkpoint", ckpt, "--json", tmp_path)
    assert proc.returncode == 2 and "--json" in proc.stderr and "is a folder" in proc.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("--data", data, "--checkpoint", ckpt, "--json", blocker / "res.json")
    assert proc.returncode == 2 and "cannot be written" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("--data", data, "--checkpoint", ckpt, "--json", out, "--limit-videos", "0")
    assert proc.returncode == 2 and "--limit-videos" in proc.stderr
