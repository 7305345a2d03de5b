"""Composited real footage: exact amodal ground truth over real backgrounds, held-out footage only."""
import numpy as np

from eoras_core.data.movi import MoviSplit
from eoras_core.realmix import CLIPS, PHOTOS, composite_clip, load_sources, write_split


def test_clips_are_deterministic_with_exact_ground_truth():
    sources = load_sources(max_frames=30)
    assert [s.name for s in sources] == [*CLIPS, *PHOTOS]
    a = composite_clip(sources, np.random.default_rng((3, 1)), T=8, size=96)
    b = composite_clip(sources, np.random.default_rng((3, 1)), T=8, size=96)
    for x, y in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(x, y)
    frames, ids, amodal, notes = a
    assert frames.shape == (8, 96, 96, 3) and amodal.shape[1:] == (8, 96, 96) and len(notes) == len(amodal)
    for k in range(len(amodal)):
        visible = ids == k + 1
        assert visible.any() and not (visible & ~amodal[k]).any()   # visible ⊆ amodal
    assert ids.max() == len(amodal)


def test_split_is_read_by_the_movi_reader(tmp_path):
    summary = write_split(tmp_path, videos=3, frames=6, size=64, seed=5)
    split = MoviSplit(tmp_path)
    assert len(split.videos) == 3 and len(split.tracks) >= 3
    video, obj = split.tracks[0]
    track = split.track(video, obj)
    assert track.amodal.shape[1:] == (64, 64) and (track.visible <= track.amodal).all()
    assert 0.0 < summary["hidden_fraction"] < 1.0
