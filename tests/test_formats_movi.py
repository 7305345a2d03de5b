"""Labels -> MOVi split: read by the dataset reader, read back into labels, trained on; bad splits refused."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from eoras_core.data import movi_layout as layout
from eoras_core.data.movi import MoviSplit, write_instance_list
from eoras_core.formats.movi_split import labels_from_movi, write_movi_split
from eoras_core.intrinsics import kubric_K
from eoras_core.labels import FrameLabel, ObjectLabels, VideoLabels
from eoras_core.media import LoadCaps, load_clip, write_video
from eoras_core.training.trainer import TrainConfig, Trainer

T, H, W = 8, 64, 96
BIG, SMALL = 7, 3  # object ids: a large static box crossed by a small moving one
UNLABELLED = 6     # the small object has no label on this frame


def _box(y0: int, x0: int, y1: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def _masks(obj_id: int, f: int) -> tuple[np.ndarray, np.ndarray]:
    """(amodal, visible) of an object on source frame f; both visible masks are whole boxes,
    so they overlap wherever the boxes cross."""
    if obj_id == BIG:
        m = _box(8, 20, 48, 70)                    # 40 x 50 = 2000 px
        return m, m
    x = 4 + 10 * f
    amodal = _box(20, x, 40, x + 16)               # 20 x 16 = 320 px
    return amodal, amodal & ~_box(36, 0, 40, W)   # bottom rows occluded by something unlabelled


def _overlap(f: int) -> np.ndarray:
    return _masks(BIG, f)[1] & _masks(SMALL, f)[1]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A real encoded video of textured content moving one pixel a frame."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (H, W + T, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(texture[::4, ::4], 4, 0), 4, 1)[:H, :W + T]
    path = tmp_path_factory.mktemp("clip") / "my clip.mp4"
    return write_video(path, [np.ascontiguousarray(texture[:, f:f + W]) for f in range(T)], fps=10.0)


def _labels(clip, decoded: list[int] | None = None) -> VideoLabels:
    frames = decoded if decoded is not None else list(range(T))
    big = ObjectLabels(id=BIG, name="table", category="furniture", color="#ff0000",
                       frames={f: FrameLabel.from_masks(*_masks(BIG, f)) for f in frames})
    small = ObjectLabels(id=SMALL, name="cup", frames={f: FrameLabel.from_masks(*_masks(SMALL, f))
                                                       for f in frames if f != UNLABELLED})
    return VideoLabels(name="my clip.mp4", width=W, height=H, num_frames=T, fps=10.0, objects=[big, small],
                       source=clip, decoded=decoded)


@pytest.fixture(scope="module")
def split(clip, tmp_path_factory):
    return write_movi_split([_labels(clip)], tmp_path_factory.mktemp("movi") / "split")


def _png(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.array(im)


def test_split_is_read_by_the_dataset_reader(split, clip):
    reader = MoviSplit(split)
    assert reader.videos == ["my_clip"]
    assert reader.tracks == [("my_clip", 0), ("my_clip", 1)]
    video = reader.load_video("my_clip")
    source = load_clip(clip, LoadCaps(max_side=W, max_frames=T, quality=None))
    assert video.frames.shape == (T, H, W, 3)
    np.testing.assert_array_equal(video.frames, np.stack(list(source)))
    np.testing.assert_allclose(video.K, np.repeat(kubric_K(H, W)[None], T, 0), rtol=1e-6)
    meta = reader.metadata("my_clip")
    assert meta["camera"]["default"] is True
    assert meta["metadata"]["source_frames"] == list(range(T))
    assert [inst["id"] for inst in meta["instances"]] == [BIG, SMALL]

    for n, obj_id in enumerate((BIG, SMALL)):
        track = reader.track("my_clip", n)
        for i, f in enumerate(track.frames):
            np.testing.assert_array_equal(track.amodal[i], _masks(obj_id, int(f))[0])
    assert list(reader.track("my_clip", 0).frames) == list(range(T))
    assert list(reader.track("my_clip", 1).frames) == [f for f in range(T) if f != UNLABELLED]
    # No label: an empty amodal mask on that frame.
    assert not _png(split / "my_clip" / layout.amodal_name(1, UNLABELLED)).any()

    overlapping = [f for f in range(T) if f != UNLABELLED and _overlap(f).any()]
    assert len(overlapping) >= 3
    for f in overlapping:  # the smaller amodal mask is in front
        ids = reader.load_visible_ids("my_clip", f)
        assert (ids[_overlap(f)] == 2).all()
        assert (ids[_masks(BIG, f)[1] & ~_overlap(f)] == 1).all()


def test_depth_order_decides_overlaps(clip, tmp_path):
    root = write_movi_split([_labels(clip)], tmp_path / "split", depth_order=[BIG, SMALL])
    reader = MoviSplit(root)
    f = 3
    assert _overlap(f).any()
    ids = reader.load_visible_ids("my_clip", f)
    assert (ids[_overlap(f)] == 1).all()
    assert (ids[_masks(SMALL, f)[1] & ~_overlap(f)] == 2).all()


def test_round_trip_to_labels(split, clip):
    (video,) = labels_from_movi(split)
    assert (video.name, video.width, video.height, video.num_frames, video.decoded) == ("my clip.mp4", W, H, T, None)
    assert video.fps == 10.0 and video.source == split / "my_clip"
    assert [(o.id, o.name, o.category, o.color) for o in video.objects] == [
        (BIG, "table", "furniture", "#ff0000"), (SMALL, "cup", "object", None)]
    original = _labels(clip)
    for got, want in zip(video.objects, original.objects):
        assert sorted(got.frames) == sorted(want.frames)
        for f, label in want.frames.items():
            amodal, visible = got.frames[f].masks()
            want_amodal, want_visible = label.masks()
            np.testing.assert_array_equal(amodal, want_amodal)
            apart = ~_overlap(f)
            np.testing.assert_array_equal(visible[apart], want_visible[apart])


def test_decoded_subset_is_written_consecutively(clip, tmp_path):
    decoded = [0, 2, 3, 6, 7]
    root = write_movi_split([_labels(clip, decoded)], tmp_path / "split")
    reader = MoviSplit(root)
    meta = reader.metadata("my_clip")["metadata"]
    assert meta["num_frames"] == len(decoded) and meta["source_frames"] == decoded
    source = load_clip(clip, LoadCaps(max_side=W, max_frames=T, quality=None))
    np.testing.assert_array_equal(reader.load_video("my_clip").frames, np.stack([source[f] for f in decoded]))
    np.testing.assert_array_equal(reader.track("my_clip", 0).amodal[3], _masks(BIG, 6)[0])
    (video,) = labels_from_movi(root)
    assert video.decoded == decoded and video.num_frames == T
    assert sorted(video.objects[0].frames) == decoded
    assert sorted(video.objects[1].frames) == [0, 2, 3, 7]
    np.testing.assert_array_equal(video.objects[1].frames[7].masks()[0], _masks(SMALL, 7)[0])


def test_one_training_step_on_the_split(split, tmp_path):
    torch.manual_seed(0)
    cfg = TrainConfig(data=str(split), out=str(tmp_path / "run"), preset="tiny", steps=1, batch=1, seq_len=2,
                      warmup=1, augment=False, resume=False, amp=False)
    trainer = Trainer(cfg)
    batch = {k: v[None] for k, v in trainer.data[1].items()}
    assert batch["crops"].shape == (1, 2, 3, 128, 128)
    before = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    loss = trainer.train_step(batch)
    assert math.isfinite(loss) and trainer.step == 1
    changed = [k for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed


def test_missing_metadata_is_refused(clip, tmp_path):
    root = write_movi_split([_labels(clip)], tmp_path / "split")
    (root / "my_clip" / layout.METADATA).unlink()
    with pytest.raises(ValueError, match=r"my_clip/metadata\.json"):
        labels_from_movi(root)


def test_instance_list_naming_a_missing_video_is_refused(clip, tmp_path):
    root = write_movi_split([_labels(clip)], tmp_path / "split")
    write_instance_list(root, [("my_clip", 0), ("gone", 0)])
    with pytest.raises(ValueError, match=r"instance_list\.npy: entry 'gone-0' names video folder .*gone"):
        labels_from_movi(root)


def test_unreadable_metadata_is_refused(clip, tmp_path):
    root = write_movi_split([_labels(clip)], tmp_path / "split")
    (root / "my_clip" / layout.METADATA).write_text(json.dumps({"metadata": {}}))
    with pytest.raises(ValueError, match=r"my_clip/metadata\.json: missing field metadata\.num_frames"):
        labels_from_movi(root)


def test_non_empty_target_is_refused(clip, tmp_path):
    (tmp_path / "split").mkdir()
    (tmp_path / "split" / "old.txt").write_text("x")
    with pytest.raises(ValueError, match="empty or new folder"):
        write_movi_split([_labels(clip)], tmp_path / "split")
