"""The MOVi writer and reader round-trip; malformed folders fail with the path named."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eoras_core.boxes import kubric_boxes_of_ids
from eoras_core.data import DatasetError, MoviSplit, write_instance_list, write_movi_video

T, H, W = 3, 24, 32
K = np.array([[35 / 32, 0, -0.5], [0, -35 / 32, -0.5], [0, 0, -1]], dtype=np.float32)


def synthetic_video() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three overlapping rectangles, object 2 nearest; object 1 moves out of view in frame 2."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(T, H, W, 3), dtype=np.uint8)
    amodal = np.zeros((3, T, H, W), dtype=bool)
    for f in range(T):
        amodal[0, f, 2:14, 2 + f:16 + f] = True
        if f < 2:
            amodal[1, f, 8:20, 10:26] = True
        amodal[2, f, 12:22, 6:20] = True
    ids = np.zeros((T, H, W), dtype=np.int64)
    for obj in range(3):                   # later objects occlude earlier ones
        ids[amodal[obj]] = obj + 1
    return frames, ids, amodal


@pytest.fixture()
def split(tmp_path: Path) -> Path:
    frames, ids, amodal = synthetic_video()
    depth = np.linspace(1, 5, T * H * W, dtype=np.float32).reshape(T, H, W)
    write_movi_video(tmp_path / "vid0", frames, ids, amodal, K, [{}, {}, {"category": 3}], depth=depth)
    write_instance_list(tmp_path, [("vid0", 0), ("vid0", 1), "vid0-2"])
    return tmp_path


def test_round_trip(split: Path) -> None:
    frames, ids, amodal = synthetic_video()
    ds = MoviSplit(split)
    assert ds.tracks == [("vid0", 0), ("vid0", 1), ("vid0", 2)]
    video = ds.load_video("vid0")
    np.testing.assert_array_equal(video.frames, frames)
    assert video.K.shape == (T, 3, 3) and video.K.dtype == np.float32
    np.testing.assert_allclose(video.K, np.repeat(K[None], T, 0))
    assert video.metadata["camera"]["focal_length"] == 35.0
    assert video.metadata["instances"][2]["category"] == 3
    written = np.stack([np.asarray(Image.open(split / "vid0" / f"depth_full_{f:05d}.tiff")) for f in range(T)])
    np.testing.assert_array_equal(written, np.linspace(1, 5, T * H * W, dtype=np.float32).reshape(T, H, W))
    for obj in range(3):
        tr = ds.track("vid0", obj)
        boxes, bframes = kubric_boxes_of_ids(ids, obj)
        np.testing.assert_array_equal(tr.frames, bframes)
        np.testing.assert_allclose(tr.boxes_kubric, boxes, rtol=1e-6)
        np.testing.assert_array_equal(tr.amodal, amodal[obj][tr.frames])
        np.testing.assert_array_equal(tr.visible, ids[tr.frames] == obj + 1)
    tr1 = ds.track("vid0", 1)
    assert tr1.frames.tolist() == [0, 1]   # not visible in frame 2
    assert tr1.visible.sum() < tr1.amodal.sum()  # occluded by object 2
    # object 0, frame 0: rows 2..13, visible cols 2..15 -> (2/24, 2/32, 14/24, 16/32)
    np.testing.assert_allclose(ds.track("vid0", 0).boxes_kubric[0], [2 / 24, 2 / 32, 14 / 24, 16 / 32], rtol=1e-6)


def test_tracks_without_instance_list(split: Path) -> None:
    (split / "instance_list.npy").unlink()
    assert MoviSplit(split).tracks == [("vid0", 0), ("vid0", 1), ("vid0", 2)]


def test_uint16_ids(tmp_path: Path) -> None:
    frames, _, _ = synthetic_video()
    ids = np.zeros((T, H, W), dtype=np.int64)
    ids[:, 2:5, 2:5] = 300
    amodal = np.zeros((300, T, H, W), dtype=bool)
    amodal[299] = ids == 300
    write_movi_video(tmp_path / "v", frames, ids, amodal, K, None)
    with Image.open(tmp_path / "v" / "segmentation_299_00000.png") as im:
        assert im.mode.startswith("I")      # 16-bit, ids >= 256
    with Image.open(tmp_path / "v" / "segmentation_0_00000.png") as im:
        assert im.mode == "L"
    tr = MoviSplit(tmp_path).track("v", 299)
    assert tr.frames.tolist() == [0, 1, 2] and tr.visible.all(axis=0).sum() == 9
    np.testing.assert_array_equal(tr.amodal, amodal[299])


def test_malformed_metadata_names_path(split: Path) -> None:
    path = split / "vid0" / "metadata.json"
    meta = json.loads(path.read_text())
    del meta["metadata"]["height"]
    path.write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="metadata.json"):
        MoviSplit(split).load_video("vid0")
    path.write_text("{not json")
    with pytest.raises(DatasetError, match=str(path).replace("\\", "\\\\")):
        MoviSplit(split).track("vid0", 0)


def test_non_finite_intrinsics_are_refused(split: Path) -> None:
    path = split / "vid0" / "metadata.json"
    meta = json.loads(path.read_text())
    meta["camera"]["K"] = [[1.0, 0.0, -0.5], [0.0, -1.0, -0.5], [0.0, 0.0, float("nan")]]
    path.write_text(json.dumps(meta))                       # Python writes NaN; other tools may too
    with pytest.raises(DatasetError, match="camera.K holds NaN or infinite values"):
        MoviSplit(split).load_video("vid0")


def test_mismatched_boxes_and_missing_files(split: Path) -> None:
    path = split / "vid0" / "metadata.json"
    meta = json.loads(path.read_text())
    meta["instances"][0]["bboxes"].pop()
    path.write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="instances\\[0\\]"):
        MoviSplit(split).metadata("vid0")
    meta["instances"][0]["bboxes"].append([0, 0, 1, 1])
    path.write_text(json.dumps(meta))
    missing = split / "vid0" / "segmentation_1_00001.png"
    missing.unlink()
    with pytest.raises(DatasetError, match="segmentation_1_00001.png"):
        MoviSplit(split).track("vid0", 1)
    with pytest.raises(DatasetError, match="not a directory"):
        MoviSplit(split / "nope")
