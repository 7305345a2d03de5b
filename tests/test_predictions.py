"""`predict`: a split's predictions cached on disk, resumable, shardable, and equal to `eval`."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from eoras_core import build_eoras
from eoras_core.checkpoint import save_eoras
from eoras_core.engine import EorasPredictor
from eoras_core.evaluate import evaluate_split
from eoras_core.export import rle_to_mask
from eoras_core.predictions import MANIFEST, predict_split, summarise_cache, write_manifest
from movi_fixture import write_rect_split

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return write_rect_split(tmp_path_factory.mktemp("pred") / "split", videos=4, T=5)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    return save_eoras(build_eoras("tiny"), tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


def run_cli(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "eoras_core", "predict", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env=env, **kw)


def contents(cache: Path) -> dict:
    """Every video file's JSON, parsed (sharded and unsharded caches must hold the same)."""
    return {p.name: json.loads(p.read_text()) for p in sorted((cache / "videos").glob("*.json"))}


@pytest.fixture(scope="module")
def whole(split, checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "cache"
    proc = run_cli("--data", split, "--out", out, "--checkpoint", checkpoint, "--device", "cpu")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_cache_numbers_equal_eval(split, checkpoint, whole):
    from eoras_core import load_eoras

    doc = evaluate_split(EorasPredictor(load_eoras(checkpoint, device="cpu")), split, baselines=False, progress=False)
    cached = summarise_cache(whole)
    for key in ("miou_full", "miou_occ", "miou_full_clean", "miou_occ_clean", "frames", "num_occ"):
        assert cached[key] == doc[key], key                                  # the same sums, the same order
    assert [(o["video"], o["object"]) for o in cached["per_object"]] == [(o["video"], o["object"]) for o in doc["per_object"]]
    manifest = json.loads((whole / MANIFEST).read_text())
    assert manifest["complete"] and manifest["format"] == "eoras-predictions/1" and len(manifest["videos"]) == 4


def test_cache_holds_masks_and_per_frame_metrics(split, whole):
    from eoras_core.data.movi import MoviSplit

    movi = MoviSplit(split)
    video, first = next(iter(contents(whole).items()))
    obj = first["objects"][0]
    track = movi.track(first["video"], obj["object"])
    assert obj["frames"] == [int(f) for f in track.frames]
    amodal = np.stack([rle_to_mask(r) for r in obj["amodal"]])
    visible = np.stack([rle_to_mask(r) for r in obj["visible"]])
    assert amodal.shape == track.amodal.shape and visible.shape == amodal.shape
    iou = [((a & g).sum() / (a | g).sum()) if (a | g).any() else 1.0 for a, g in zip(amodal, track.amodal)]
    np.testing.assert_allclose(obj["iou_full_clean"], iou, rtol=1e-9)
    assert obj["gt_amodal_area"] == [int(m.sum()) for m in track.amodal]
    occ = [(g & ~v).any() for g, v in zip(track.amodal, track.visible)]
    assert [x is not None for x in obj["iou_occ_clean"]] == occ


def test_a_killed_run_resumes_and_redoes_at_most_one_video(split, checkpoint, whole, tmp_path):
    out = tmp_path / "cache"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "eoras_core", "predict", "--data", str(split), "--out", str(out),
                             "--checkpoint", str(checkpoint), "--device", "cpu"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not list((out / "videos").glob("*.json")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {p.name for p in (out / "videos").glob("*.json")}
    assert 1 <= len(done_before) < 4 and not (out / MANIFEST).exists()
    from eoras_core import load_eoras

    computed = predict_split(EorasPredictor(load_eoras(checkpoint, device="cpu")), split, out, "again", progress=False)
    assert {f"{v}.json" for v in computed}.isdisjoint(done_before) and len(computed) == 4 - len(done_before)
    write_manifest(out, split, "again")
    strip = lambda c: {k: {**v, "model": None} for k, v in c.items()}  # noqa: E731
    assert strip(contents(out)) == strip(contents(whole))
    assert not list((out / "videos").glob(".*.tmp"))


def test_two_ranks_write_the_same_cache(split, checkpoint, whole, tmp_path):
    out = tmp_path / "sharded"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29541",
           "-m", "eoras_core", "predict", "--data", str(split), "--out", str(out), "--checkpoint", str(checkpoint),
           "--device", "cpu"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert contents(out) == contents(whole)
    assert summarise_cache(out) == summarise_cache(whole)


def test_bad_split_is_refused_calmly(tmp_path, checkpoint):
    proc = run_cli("--data", tmp_path / "nothing", "--out", tmp_path / "c", "--checkpoint", checkpoint)
    assert proc.returncode == 2 and "error:" in proc.stderr and "Traceback" not in proc.stderr


def test_report_renders_offline_with_every_object(split, whole, tmp_path):
    from eoras_core.report import main as report_main

    out = tmp_path / "report" / "REPORT.html"
    assert report_main(["--cache", str(whole), "--compare", str(whole), "--out", str(out), "--worst", "3"]) == 0
    page = out.read_text()
    rows = json.loads((out.parent / "objects.json").read_text())
    cached = summarise_cache(whole)["per_object"]
    assert [(r["video"], r["object"]) for r in rows] == [(o["video"], o["object"]) for o in cached]
    for row, want in zip(rows, cached):
        for key in ("miou_full", "miou_occ", "miou_full_clean", "miou_occ_clean"):
            assert row[key] == (None if want[key] != want[key] else want[key])
        assert row["worst_frame"] is not None and 0.0 <= row["occlusion"] <= 1.0
    import re

    assert "Plotly.newPlot" in page and len(page) > 3_000_000           # plotly.js embedded, not linked
    assert not re.search(r"<script[^>]*\bsrc=", page) and "<link" not in page
    assert page.count("<figure>") == 3 and "data:image/png;base64," in page
    assert "Changes, A" in page and "IoU vs occlusion" in page and "Where the wrong pixels are" in page
    header = (out.parent / "objects.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["video", "object", "shape"] and len((out.parent / "objects.csv").read_text().splitlines()) == len(rows) + 1
