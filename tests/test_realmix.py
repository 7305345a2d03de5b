"""Composited real footage: exact amodal ground truth over real backgrounds, held-out footage only."""
import json

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


def test_training_mode_never_draws_held_out_footage(tmp_path):
    from eoras_core.synth.photos import HELD_OUT_PHOTOS
    from eoras_core.synth.styles import style_of
    from eoras_core.realmix import training_sources

    sources = training_sources()
    bases = {s.name.split("#")[0] for s in sources}
    shift = style_of("shift")
    REGISTERED = set(style_of("train").floor_photos) | set(style_of("train").backdrop_photos)
    assert bases == REGISTERED and not bases & HELD_OUT_PHOTOS
    assert not bases & (set(shift.floor_photos) | set(shift.backdrop_photos))   # style-shift stays unseen
    assert not bases & {c.removesuffix(".mp4") for c in CLIPS} and not bases & set(PHOTOS)
    summary = write_split(tmp_path, videos=2, frames=6, size=64, seed=5, train=True)
    split = MoviSplit(tmp_path)
    assert len(split.videos) == 2 and summary["hidden_fraction"] > 0.0
    meta = json.loads((tmp_path / "realmix_5_0000" / "metadata.json").read_text())
    assert "held-out" not in json.dumps(meta) and "training" in json.dumps(meta)
    texture_names = {n.split("#")[0] for n in _realmix_notes(meta)}
    assert texture_names and texture_names <= set(REGISTERED)


def _realmix_notes(meta) -> list[str]:
    """Every footage name recorded in a video's metadata (backgrounds and textures)."""
    names = []
    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ("texture_from", "background"):
                    names.append(v)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(meta)
    return names
