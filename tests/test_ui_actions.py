"""Studio logic without a browser: load, draw, segment, re-run only what changed, render, export."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from eoras_core import build_eoras
from eoras_core.export import rle_to_mask
from eoras_core.video import LoadCaps, load_clip
from ui.actions import UserError, click, delete_keyframe, open_clip, recentre, segment
from ui.exporting import export_annotations, export_overlay
from ui.plots import clip_scores, figure
from ui.render import ALL_LAYERS, bev_views, render_frame, render_timeline, slot_views
from ui.scene_loading import open_any
from ui.session import SessionStore

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "assets" / "demo_clips" / "movilite_1"


@pytest.fixture(scope="module")
def store():
    torch.manual_seed(0)
    return SessionStore(build_eoras("tiny"))


@pytest.fixture()
def demo_session(store):
    s = store.get("demo")
    open_clip(s, open_any(DEMO, LoadCaps(max_frames=8)))
    return s


def test_demo_scene_brings_ground_truth_objects(demo_session):
    s = demo_session
    assert s.num_frames == 8 and s.gt is not None
    assert len(s.objects) == s.gt.amodal.shape[0] > 0
    obj = next(iter(s.objects.values()))
    track, source = s.track_of(obj.obj_id)
    assert obj.from_ground_truth and not obj.keyframes and (source > 0).any()


def test_click_segment_and_rerun_only_changed(demo_session):
    s = demo_session
    assert "First corner" in click(s, 0, 40, 50, "new")
    assert "Added" in click(s, 0, 120, 140, "new")
    new_id = s.selected
    assert s.objects[new_id].keyframes[0] == (40.0, 50.0, 120.0, 140.0)
    msg = segment(s)
    assert f"Segmented {len(s.objects)} object(s)" in msg
    assert segment(s) == "All objects are up to date."
    click(s, 3, 45, 55, "edit")
    click(s, 3, 125, 150, "edit")
    assert s.stale_objects() == [new_id]
    assert "Segmented 1 object(s)" in segment(s)
    res = s.results[new_id]
    assert res.amodal_mask(3).shape == s.size
    # Re-centring snaps the box to the effective visible mask (here a human edit).
    edited = np.zeros(s.size, bool)
    edited[60:90, 70:110] = True
    s.edits.push(new_id, 3, "visible", edited)
    assert "Re-centred" in recentre(s, 3)
    assert s.objects[new_id].keyframes[3] == (70.0, 60.0, 110.0, 90.0)
    s.edits.undo(new_id, 3, "visible")
    assert "Deleted" in delete_keyframe(s, 3)
    with pytest.raises(UserError, match="no keyframe"):
        delete_keyframe(s, 5)


def test_tiny_or_outside_boxes_are_refused(demo_session):
    click(demo_session, 0, 10, 10, "new")
    assert "too small" in click(demo_session, 0, 11, 11, "new")
    click(demo_session, 0, 300, 300, "new")
    assert "outside" in click(demo_session, 0, 400, 400, "new")


def test_every_layer_changes_the_picture(demo_session):
    s = demo_session
    segment(s)
    raw = np.asarray(s.clip[2])
    s.view.layers = ()
    np.testing.assert_array_equal(render_frame(s, 2), raw)
    for layer in ALL_LAYERS:
        s.view.layers = (layer,)
        img = render_frame(s, 2)
        assert img.shape == raw.shape and img.dtype == np.uint8
        if layer in ("visible", "boxes", "GT visible", "GT amodal", "slot attention", "BEV footprint"):
            assert (img != raw).any(), layer
    s.view.layers = tuple(ALL_LAYERS)
    s.view.hidden = frozenset(s.objects)
    hidden = render_frame(s, 2)
    s.view.hidden = frozenset()
    assert (render_frame(s, 2) != hidden).any()


def test_panels_plots_and_scores(demo_session):
    s = demo_session
    segment(s)
    s.selected = next(iter(s.results))
    f = int(s.results[s.selected].frames[0])
    pca, energy, note = bev_views(s, f)
    assert pca.shape[2] == 3 and energy.shape[2] == 3 and pca.std() > 0
    tiles, assign, _ = slot_views(s, f, "image")
    assert len(tiles) == 8 and assign.ndim == 3
    tiles_bev, _, _ = slot_views(s, f, "bev")
    assert not np.array_equal(tiles[0][0], tiles_bev[0][0])
    assert render_timeline(s, f).shape[0] >= 18 * len(s.objects)
    scores = clip_scores(s)
    assert scores is not None and 0 <= scores["miou_full_clean"] <= 1
    fig = figure(s, f)
    assert len(fig.data) >= 3


def test_exports(demo_session, tmp_path):
    s = demo_session
    segment(s)
    path = export_annotations(s)
    doc = json.loads(Path(path).read_text())
    assert doc["videos"][0]["length"] == s.num_frames
    ann = doc["annotations"][0]
    assert len(ann["segmentations"]) == s.num_frames
    obj_id = ann["track_id"] if "track_id" in ann else next(iter(s.results))
    res = s.results[obj_id]
    f = int(res.frames[0])
    if ann["segmentations"][f] is not None:
        np.testing.assert_array_equal(rle_to_mask(ann["segmentations"][f]), res.amodal_mask(f))
    video = export_overlay(s)
    back = load_clip(video)
    assert len(back) == s.num_frames and back.size == s.size


def test_errors_say_what_to_do(store):
    s = store.get("empty")
    with pytest.raises(UserError, match="Load a clip"):
        segment(s)
    with pytest.raises(UserError, match="Load a clip"):
        click(s, 0, 1, 1, "new")
