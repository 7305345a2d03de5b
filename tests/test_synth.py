"""MOVi-lite: deterministic clips whose ground truth is exact and consistent, written in
the published layout and read back by MoviSplit."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from eoras_core.boxes import kubric_boxes_of_ids
from eoras_core.data.movi import MoviSplit
from eoras_core.synth import SceneConfig, render_clip
from eoras_core.synth.cli import main as synth_main
from eoras_core.synth.cli import seed_for_video
from eoras_core.synth.geometry import quat_from_matrix, random_rotation
from eoras_core.synth.primitives import CONE_SLOPE, KINDS, TORUS_MAJOR, TORUS_MINOR
from eoras_core.synth.raycast import BACKGROUND_DEPTH

T, S = 6, 64


def interior_point(kind: str) -> tuple[np.ndarray, float]:
    """A point (3,) inside the unit solid and the radius of a ball around it inside the solid:
    any ray passing closer than that radius to the point must hit the shape."""
    if kind == "torus":
        return np.array([TORUS_MAJOR, 0.0, 0.0]), TORUS_MINOR
    if kind == "cone":
        return np.zeros(3), 1.0 / math.sqrt(1.0 + 1.0 / CONE_SLOPE ** 2)
    return np.zeros(3), 1.0


@pytest.fixture(scope="module")
def clips():
    """A few small clips with per-object depth, shared by the consistency tests."""
    return [render_clip(seed, frames=T, size=S, object_depth=True) for seed in (1, 7, 11)]


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def test_same_seed_is_bit_identical_and_seeds_differ() -> None:
    a = render_clip(3, frames=4, size=48)
    b = render_clip(3, frames=4, size=48)
    for name in ("frames", "visible_ids", "amodal", "depth", "K", "cam_positions", "cam_R", "cam_quaternions"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
    for oa, ob in zip(a.objects, b.objects):
        np.testing.assert_array_equal(oa["positions"], ob["positions"])
        np.testing.assert_array_equal(oa["quaternions"], ob["quaternions"])
    c = render_clip(4, frames=4, size=48)
    assert not np.array_equal(a.frames, c.frames)


def test_shapes_and_dtypes(clips) -> None:
    for clip in clips:
        N = clip.num_objects
        assert 3 <= N <= 10
        assert clip.frames.shape == (T, S, S, 3) and clip.frames.dtype == np.uint8
        assert clip.visible_ids.shape == (T, S, S) and clip.visible_ids.max() <= N
        assert clip.amodal.shape == (N, T, S, S) and clip.amodal.dtype == bool
        assert clip.depth.shape == (T, S, S) and clip.depth.dtype == np.float32
        assert clip.K.shape == (T, 3, 3) and clip.cam_R.shape == (T, 3, 3)
        assert clip.cam_positions.shape == (T, 3) and clip.cam_quaternions.shape == (T, 4)
        for obj in clip.objects:
            assert obj["positions"].shape == (T, 3) and obj["quaternions"].shape == (T, 4)
            assert obj["bboxes_3d"].shape == (T, 8, 3)


def test_non_square_frames() -> None:
    clip = render_clip(0, frames=2, size=(24, 40))
    assert clip.frames.shape == (2, 24, 40, 3) and clip.amodal.shape[1:] == (2, 24, 40)
    np.testing.assert_allclose(clip.K[0, 1, 1], -35 / (32 * 24 / 40), rtol=1e-6)


def test_visible_ids_are_the_nearest_amodal_hit(clips) -> None:
    overlaps = 0
    for clip in clips:
        ids, od = clip.visible_ids, clip.object_depth
        np.testing.assert_array_equal(clip.amodal, np.isfinite(od))
        any_obj = clip.amodal.any(axis=0)
        for k in range(clip.num_objects):                 # visible subset of amodal
            assert not np.any((ids == k + 1) & ~clip.amodal[k])
        assert np.all(ids[~any_obj] == 0)                 # no object -> background
        nearest = np.argmin(od, axis=0) + 1               # objects always lie above the ground
        np.testing.assert_array_equal(ids[any_obj], nearest[any_obj])
        np.testing.assert_array_equal(clip.depth[any_obj], od.min(axis=0)[any_obj])
        overlaps += int((clip.amodal.sum(axis=0) >= 2).sum())
    assert overlaps > 50                                  # occlusion actually happens


def test_depth_is_distance_along_the_ray(clips) -> None:
    clip = clips[0]
    ground = (clip.visible_ids == 0) & (clip.depth < BACKGROUND_DEPTH)
    assert ground.mean() > 0.3 and np.all(clip.depth > 0)
    f, (i, j) = 0, np.argwhere(ground[0])[0]
    fx, fy = clip.K[f, 0, 0], -clip.K[f, 1, 1]
    d_cam = np.array([((j + 0.5) / S - 0.5) / fx, -((i + 0.5) / S - 0.5) / fy, -1.0])
    d = clip.cam_R[f].astype(np.float64) @ (d_cam / np.linalg.norm(d_cam))
    p = clip.cam_positions[f] + clip.depth[f, i, j] * d
    assert abs(p[2]) < 1e-3                               # lands on the ground plane z = 0


def test_boxes_match_visible_masks(clips) -> None:
    for clip in clips:
        for k, obj in enumerate(clip.objects):
            frames, boxes = [], []
            for f in range(T):
                ys, xs = np.nonzero(clip.visible_ids[f] == k + 1)
                if ys.size:
                    frames.append(f)
                    boxes.append([ys.min() / S, xs.min() / S, (ys.max() + 1) / S, (xs.max() + 1) / S])
            assert list(obj["bbox_frames"]) == frames
            np.testing.assert_allclose(np.reshape(obj["bboxes"], (-1, 4)), np.reshape(boxes, (-1, 4)))
            ref_boxes, ref_frames = kubric_boxes_of_ids(clip.visible_ids, k)
            assert ref_frames.tolist() == frames
            np.testing.assert_allclose(np.reshape(obj["bboxes"], (-1, 4)), np.reshape(ref_boxes, (-1, 4)))
            np.testing.assert_array_equal(obj["visibility"], (clip.visible_ids == k + 1).sum(axis=(1, 2)))


def test_intrinsics_project_solid_points_into_amodal_masks() -> None:
    size, checked = 96, 0
    for seed in (2, 5):
        clip = render_clip(seed, frames=3, size=size)
        K = clip.K[0].astype(np.float64)
        np.testing.assert_allclose(K, [[35 / 32, 0, -0.5], [0, -35 / 32, -0.5], [0, 0, -1]], rtol=1e-6)
        for k, obj in enumerate(clip.objects):
            local, margin = interior_point(obj["shape"])
            for f in range(3):
                R = quat_to_matrix(obj["quaternions"][f])
                point = obj["positions"][f] + R @ (obj["scale"] * local)
                cam = clip.cam_R[f].astype(np.float64).T @ (point - clip.cam_positions[f])
                u, v, w = K @ cam
                u, v = u / w, v / w
                # a pixel-centre ray passes within half a pixel diagonal of the point
                half_diag = math.sqrt(0.5) * (-cam[2]) / (K[0, 0] * size)
                if not (0 <= u < 1 and 0 <= v < 1) or obj["scale"] * margin <= 1.2 * half_diag:
                    continue
                assert clip.amodal[k, f, int(v * size), int(u * size)], (seed, k, f)
                checked += 1
            center = obj["positions"]
            cams = np.einsum("tji,tj->ti", clip.cam_R.astype(np.float64), center - clip.cam_positions)
            uvw = cams @ K.T
            np.testing.assert_allclose(obj["image_positions"], uvw[:, :2] / uvw[:, 2:], atol=1e-5)
    assert checked >= 10


def test_all_primitive_kinds_and_object_counts() -> None:
    seen = set()
    for seed in range(6):
        clip = render_clip(seed, frames=1, size=16, min_objects=4, max_objects=6)
        assert 4 <= clip.num_objects <= 6
        seen.update(o["shape"] for o in clip.objects)
    assert seen == set(KINDS) and len(KINDS) >= 5


def test_quaternions_round_trip() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        R = random_rotation(rng)
        q = quat_from_matrix(R)
        assert q[0] >= 0 and abs(np.linalg.norm(q) - 1) < 1e-12
        np.testing.assert_allclose(quat_to_matrix(q), R, atol=1e-12)


def test_config_rejects_bad_object_counts() -> None:
    with pytest.raises(ValueError, match="min_objects"):
        render_clip(0, frames=1, size=16, min_objects=5, max_objects=2, config=SceneConfig())


def test_cli_writes_layout_that_movisplit_reads(tmp_path: Path) -> None:
    args = ["--videos", "3", "--seed", "9", "--test-videos", "1", "--frames", "3", "--size", "32",
            "--max-objects", "5"]
    assert synth_main(["--out", str(tmp_path / "a"), "--workers", "2", *args]) == 0
    assert synth_main(["--out", str(tmp_path / "b"), "--workers", "1", *args]) == 0
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b                             # independent of the worker count
    assert all((tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in files_a)

    train, test = MoviSplit(tmp_path / "a" / "train"), MoviSplit(tmp_path / "a" / "test")
    assert train.videos == ["video_00000", "video_00001"] and test.videos == ["video_00002"]
    assert train.tracks and test.tracks
    for split, index in ((train, 0), (train, 1), (test, 2)):
        name = f"video_{index:05d}"
        clip = render_clip(seed_for_video(9, index), frames=3, size=32, max_objects=5)
        meta = split.metadata(name)
        assert meta["metadata"]["seed"] == clip.seed and meta["flags"]["generator"] == "movi-lite"
        assert sorted(o for v, o in split.tracks if v == name) == clip.visible_objects()
        video = split.load_video(name)
        np.testing.assert_array_equal(video.frames, clip.frames)
        np.testing.assert_allclose(video.K, clip.K)
        depth = np.stack([np.asarray(Image.open(split.video_dir(name) / f"depth_full_{f:05d}.tiff"))
                          for f in range(len(clip.frames))])
        np.testing.assert_array_equal(depth, clip.depth)
        for k in clip.visible_objects():
            track = split.track(name, k)
            np.testing.assert_array_equal(track.amodal, clip.amodal[k][track.frames])
            np.testing.assert_array_equal(track.visible, clip.visible_ids[track.frames] == k + 1)
            np.testing.assert_allclose(track.boxes_kubric, clip.objects[k]["bboxes"], rtol=1e-6)
        cam = meta["camera"]
        np.testing.assert_allclose(cam["R"], clip.cam_R, atol=1e-6)
        np.testing.assert_allclose(cam["positions"], clip.cam_positions, atol=1e-6)
        assert cam["focal_length"] == 35.0 and cam["sensor_width"] == 32.0


def test_an_unwritable_out_is_a_message(tmp_path, capsys) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert synth_main(["--out", str(blocker / "data"), "--videos", "1", "--seed", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --out {blocker / 'data'}: cannot write") and "Not a directory" in err
    assert "Traceback" not in err
