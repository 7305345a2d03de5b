"""Studio logic without a browser: load, draw, preview, segment, re-run only what changed,
render every layer, export, errors, sessions and the shared predictor."""
import json
import threading
import warnings
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from eoras_core import load_eoras
from eoras_core.export import rle_to_mask
from eoras_core.media import LoadCaps, load_clip
from eoras_core.shared_predictor import SharedPredictor
from ui.actions import (UserError, accept_model, apply_preview, apply_results, chunks, delete_keyframe, delete_selected, draw_box,
                        copy_masks, first_corner,
                        keyframe_target, mark_hidden, mark_out_of_view, mark_reviewed, next_unreviewed, open_clip, paint,
                        plan_preview, plan_segment, recentre, run_segment, segment)
from ui.clicks import parse_press, to_pixels
from ui.context import UNEXPECTED, calm
from ui.exporting import LABEL_FORMATS, export_labels, export_overlay
from ui.history import redo, undo
from ui.objects import box_of_mask
from ui.painting import shift_mask
from ui.plots import clip_scores, figure
from ui.queries import frame_text, model_result, object_masks, occlusion_rates, provenance, review_coverage
from ui.render import ALL_LAYERS, render_frame, render_timeline
from ui.scene_loading import open_any
from ui.session import SessionStore

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "assets" / "demo_clips" / "movilite_1"


@pytest.fixture(scope="module")
def engine():
    return SharedPredictor(load_eoras(device="cpu"))


@pytest.fixture(scope="module")
def store(engine):
    return SessionStore(engine)


def use(store, sid):
    with store.use(sid) as s:
        return s


@pytest.fixture()
def demo_session(store, engine):
    s = use(store, "demo")
    open_clip(s, open_any(DEMO, LoadCaps(max_frames=8)), engine)
    return s


def test_demo_scene_brings_ground_truth_objects(demo_session):
    s = demo_session
    assert s.num_frames == 8 and s.gt is not None
    assert len(s.objects) == s.gt.amodal.shape[0] == 9
    obj = next(iter(s.objects.values()))
    track, source = s.track_of(obj.obj_id)
    assert obj.from_ground_truth and not obj.keyframes
    np.testing.assert_array_equal(source > 0, ~np.isnan(track[:, 0]))
    assert (source > 0).sum() == len(obj.given)


def test_click_preview_segment_and_rerun_only_changed(demo_session, engine):
    s = demo_session
    assert "First corner" in first_corner(s, 40, 50)
    assert s.pending == (40.0, 50.0)
    assert "Added" in draw_box(s, 0, (40, 50, 120, 140), "new")
    assert s.pending is None
    new_id = s.selected
    assert s.objects[new_id].keyframes == {0: (40.0, 50.0, 120.0, 140.0)}
    # Right after the box: a single-frame preview on that frame, nothing elsewhere.
    job = plan_preview(s, 0)
    assert job.obj_id == new_id and job.box == (40.0, 50.0, 120.0, 140.0)
    apply_preview(s, job, engine.preview(job.video, job.frame, job.box, job.obj_id))
    assert plan_preview(s, 0) is None  # already previewed
    vis, amo = object_masks(s, new_id, 0)
    assert vis.shape == s.size and amo.any() and not (vis & ~amo).all()
    assert object_masks(s, new_id, 1) == (None, None)
    msg = segment(s, engine)
    assert msg.startswith(f"Segmented {len(s.objects)} object(s)")
    assert new_id not in s.previews and model_result(s, new_id, 0) is s.results[new_id]
    assert segment(s, engine) == "All objects are up to date."
    draw_box(s, 3, (125, 150, 45, 55), "edit")  # corners in any order
    assert s.stale_objects() == [new_id]
    assert "Segmented 1 object(s)" in segment(s, engine)
    res = s.results[new_id]
    assert res.amodal_mask(3).shape == s.size and 3 in res.frames
    # Re-centring snaps the box to the effective visible mask (here a human edit).
    edited = np.zeros(s.size, bool)
    edited[60:90, 70:110] = True
    s.edits.push(new_id, 3, "visible", edited)
    assert "Re-centred" in recentre(s, 3)
    assert s.objects[new_id].keyframes[3] == (70.0, 60.0, 110.0, 90.0)
    s.edits.undo(new_id, 3, "visible")
    assert keyframe_target(s, 0, +1) == 3 and keyframe_target(s, 5, -1) == 3
    assert "Deleted" in delete_keyframe(s, 3)
    with pytest.raises(UserError, match="no keyframe on frame 5"):
        delete_keyframe(s, 5)
    with pytest.raises(UserError, match="no keyframe after frame 0"):
        keyframe_target(s, 0, +1)


def test_changes_during_a_run_are_not_overwritten(demo_session, engine):
    s = demo_session
    draw_box(s, 0, (30, 30, 100, 110), "new")
    obj_id = s.selected
    job = plan_segment(s)
    assert chunks(job, max_object_frames=8)[0] != list(job.tracks)  # several chunks
    results = run_segment(job, engine)
    draw_box(s, 2, (35, 30, 105, 110), "edit")  # the user moved the box meanwhile
    assert apply_results(s, job, results) == len(results) - 1
    assert obj_id not in s.results and obj_id in s.stale_objects()


def test_small_boxes_are_refused_and_edges_clamp(demo_session):
    s = demo_session
    first_corner(s, 10, 10)
    with pytest.raises(UserError, match="too small"):
        draw_box(s, 0, (10, 10, 11, 11), "new")
    assert s.pending is None
    H, W = s.size
    draw_box(s, 0, (-20, -5, W + 40, 30), "new")
    assert s.objects[s.selected].keyframes[0] == (0.0, 0.0, float(W), 30.0)


def test_click_messages_map_to_frame_pixels():
    press = parse_press(json.dumps({"kind": "box", "points": [[0.25, 0.5], [1.7, -0.2]], "n": 3}))
    assert press.kind == "box" and press.points == ((0.25, 0.5), (1.0, 0.0))
    assert to_pixels(press.points[0], 272, 640) == (160.0, 136.0)
    assert to_pixels(press.points[1], 272, 640) == (640.0, 0.0)
    for bad in ("", "{}", '{"kind": "click", "points": [[0.1, 0.2], [0.3, 0.4]]}', '{"kind": "tap", "points": [[0, 0]]}',
                '{"kind": "click", "points": [["x", 0]]}'):
        with pytest.raises(UserError, match="click the frame again"):
            parse_press(bad)


def test_every_layer_changes_the_picture(demo_session, engine):
    s = demo_session
    segment(s, engine)
    s.selected = next(iter(s.results))
    f = int(s.results[s.selected].frames[len(s.results[s.selected].frames) // 2])
    raw = np.asarray(s.clip[f])
    s.view.layers = ()
    np.testing.assert_array_equal(render_frame(s, f, engine.config, display=False), raw)
    for layer in ALL_LAYERS:
        s.view.layers = (layer,)
        img = render_frame(s, f, engine.config, display=False)
        assert img.shape == raw.shape and img.dtype == np.uint8
        assert (img != raw).any(), layer
    s.view.layers = tuple(ALL_LAYERS)
    s.view.hidden = frozenset(s.objects)
    hidden = render_frame(s, f, engine.config)
    s.view.hidden = frozenset()
    shown = render_frame(s, f, engine.config)
    assert shown.shape == (raw.shape[0] * 3, raw.shape[1] * 3, 3)  # 256 px frames are drawn 3x for the screen
    assert (shown != hidden).any()


def test_uncertainty_band_and_per_object_confidence(demo_session, engine):
    from ui.refresh import object_label
    from ui.uncertainty import confidence, uncertain_band

    s = demo_session
    segment(s, engine)
    obj_id = next(iter(s.results))
    res = s.results[obj_id]
    sure = confidence(res)
    probs = res.full_prob
    assert 0.0 < sure <= 1.0 and sure == pytest.approx((probs >= 0.7).sum() / (probs > 0.5).sum())
    assert object_label(s, obj_id).endswith(f"· {round(100 * sure)}% sure")
    f = int(res.frames[0])
    band = uncertain_band(res, f)
    p = res.amodal_prob(f)
    np.testing.assert_array_equal(band, (p > 0.3) & (p < 0.7))
    assert uncertain_band(res, s.num_frames + 5) is None


def test_occlusion_rates_follow_edits(demo_session, engine):
    s = demo_session
    segment(s, engine)
    obj_id = next(iter(s.results))
    f = int(s.results[obj_id].frames[0])
    before = occlusion_rates(s, obj_id).copy()
    _, amo = object_masks(s, obj_id, f)
    s.edits.push(obj_id, f, "visible", np.zeros(s.size, bool))
    after = occlusion_rates(s, obj_id)
    assert after[f] == 1.0 and before[f] != 1.0
    s.edits.undo(obj_id, f, "visible")
    assert occlusion_rates(s, obj_id)[f] == before[f]


def test_plots_timeline_and_scores(demo_session, engine):
    s = demo_session
    segment(s, engine)
    f = 2
    assert render_timeline(s, f).shape[0] >= 18 * len(s.objects)
    scores = clip_scores(s)
    assert 0.5 < scores["miou_full_clean"] <= 1 and 0 <= scores["miou_occ_clean"] <= 1
    fig = figure(s, f)
    assert len(fig.data) >= 3 * len(s.objects)
    assert all("markers" in trace.mode for trace in fig.data)


def test_exports(demo_session, engine):
    s = demo_session
    segment(s, engine)
    doc = json.loads(Path(export_labels(s, "amodal video JSON")).read_text())
    # Every source frame is listed (the scene has 24; 8 were decoded), at the source size.
    assert doc["videos"][0]["length"] == s.source.num_frames == 24 and s.num_frames == 8
    ann = doc["annotations"][0]
    assert len(ann["segmentations"]) == 24 and ann["segmentations"][8:] == [None] * 16
    obj_id = next(iter(s.results))
    res = s.results[obj_id]
    for f in (int(v) for v in res.frames):
        # The model's amodal mask, kept with amodal ∪= visible.
        np.testing.assert_array_equal(rle_to_mask(ann["segmentations"][f]), res.amodal_mask(f) | res.visible_mask(f))
    for choice in LABEL_FORMATS:   # every format from the page, written at the source size
        path = export_labels(s, choice)
        assert path.exists() and path.stat().st_size > 0, choice
    back = load_clip(export_overlay(s, engine.config))
    assert len(back) == s.num_frames and back.size == s.size


def test_errors_say_what_to_do(store, engine):
    s = use(store, "empty")
    with pytest.raises(UserError, match="Load a clip"):
        segment(s, engine)
    with pytest.raises(UserError, match="Load a clip"):
        first_corner(s, 1, 1)
    open_clip(s, open_any(ROOT / "assets" / "demo_clips" / "movilite_2.mp4", LoadCaps(max_frames=4)), engine)
    with pytest.raises(UserError, match="Add an object first"):
        segment(s, engine)
    with pytest.raises(UserError, match="Select an object"):
        recentre(s, 0)
    draw_box(s, 0, (10, 10, 60, 60), "new")
    with pytest.raises(UserError, match="Segment object 1 first"):
        recentre(s, 1)
    job = plan_preview(s, 0)
    apply_preview(s, job, engine.preview(job.video, job.frame, job.box, job.obj_id))
    with pytest.raises(UserError, match="Segment object 1 first"):  # a preview is too rough to snap to
        recentre(s, 0)
    assert s.objects[1].keyframes[0] == (10.0, 10.0, 60.0, 60.0)
    with pytest.raises(UserError, match="no keyframe on frame 2"):
        delete_keyframe(s, 2)


def test_calm_handlers_skip_every_output():
    a, b = object(), object()

    @calm([a, b])
    def mistake():
        raise UserError("Do this instead.")

    @calm([a, b])
    def bug():
        raise KeyError("internal")

    @calm([a, b])
    def partial():
        return {b: 5}

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert all(isinstance(v, type(gr.skip())) for v in mistake().values()) and set(mistake()) == {a, b}
        out = bug()
    messages = [str(w.message) for w in seen]
    assert "Do this instead." in messages and UNEXPECTED in messages
    assert "internal" not in " ".join(messages)
    assert set(out) == {a, b}
    assert partial()[b] == 5 and isinstance(partial()[a], type(gr.skip()))


def test_sessions_share_one_predictor_and_free_their_frames(engine):
    small = SessionStore(engine, capacity=2)
    clip = ROOT / "assets" / "demo_clips" / "movilite_3.mp4"
    keys = {}
    for sid in ("a", "b"):
        s = use(small, sid)
        open_clip(s, open_any(clip, LoadCaps(max_frames=4)), engine)
        draw_box(s, 0, (60, 60, 160, 170), "new")
        segment(s, engine)
        keys[sid] = s.clip_key
    held = engine.cached_bytes
    key_a = keys["a"]
    assert any(k[0] == key_a for k in engine.predictor._cache)
    use(small, "c")  # a third session evicts the least recently used one
    assert "a" not in small and "b" in small and len(small) == 2
    assert not any(k[0] == key_a for k in engine.predictor._cache)
    assert engine.cached_bytes < held
    small.drop("b")
    assert len(small) == 1


def test_encoder_cache_is_bounded_in_bytes():
    bounded = SharedPredictor(load_eoras(device="cpu"), cache_bytes=200_000)
    store = SessionStore(bounded)
    s = use(store, "x")
    open_clip(s, open_any(ROOT / "assets" / "demo_clips" / "movilite_2.mp4", LoadCaps(max_frames=12)), bounded)
    draw_box(s, 0, (60, 60, 160, 170), "new")
    segment(s, bounded)
    assert 0 < bounded.cached_bytes <= 200_000


def test_two_quick_boxes_both_get_a_preview(engine, demo_session):
    s = demo_session
    draw_box(s, 0, (40, 50, 120, 140), "new")
    first = s.selected
    draw_box(s, 0, (150, 160, 220, 230), "new")   # drawn before the first box's preview ran
    second = s.selected
    jobs = []
    while (job := plan_preview(s, 0)) is not None:
        jobs.append(job.obj_id)
        apply_preview(s, job, engine.preview(job.video, job.frame, job.box, job.obj_id))
    assert jobs == [second, first] and set(s.previews) == {first, second}
    assert plan_preview(s, 1) is None                # no box on frame 1: nothing to preview there


def test_previews_do_not_wait_behind_a_clip_run(engine, demo_session):
    s = demo_session
    draw_box(s, 0, (40, 50, 120, 140), "new")
    job = plan_preview(s, 0)
    done = []
    with engine._clip_lock:  # somebody else's Segment is running
        worker = threading.Thread(target=lambda: done.append(engine.preview(job.video, job.frame, job.box, job.obj_id)))
        worker.start()
        worker.join(timeout=60)
        assert done and done[0].index(0) == 0


def test_hidden_out_of_view_and_review_marks(demo_session, engine):
    s = demo_session
    segment(s, engine)
    # Present but hidden: the amodal mask stays, the visible mask is empty, the rate is 1.
    s.selected = gt_id = next(iter(s.objects))
    f = int(s.results[gt_id].frames[0])
    vis, amo = object_masks(s, gt_id, f)
    assert amo.sum() > 50 and vis.sum() > 0
    assert "present but hidden" in mark_hidden(s, f)
    vis_h, amo_h = object_masks(s, gt_id, f)
    assert not vis_h.any() and np.array_equal(amo_h, amo)
    assert occlusion_rates(s, gt_id)[f] == 1.0
    assert "no longer marked hidden" in mark_hidden(s, f)
    draw_box(s, 0, (40, 50, 120, 140), "new")
    draw_box(s, 6, (60, 50, 140, 140), "edit")
    obj = s.objects[s.selected]
    obj.track_after_last = False
    s.boxes_changed(obj.obj_id)
    with pytest.raises(UserError, match="has no box on frame 7"):
        mark_hidden(s, 7)
    # Out of view: the keyframe there goes, the track ends, nothing is carried across.
    assert "its keyframe there was removed" in mark_out_of_view(s, 6)
    track, source = s.track_of(obj.obj_id)
    assert 6 not in obj.keyframes and source[6] == 0 and np.isnan(track[1:, 0]).all()
    assert obj.obj_id in s.stale_objects()
    assert "no longer ends" in mark_out_of_view(s, 6)
    draw_box(s, 6, (60, 50, 140, 140), "edit")
    # Review: marks, coverage and the next unreviewed frame.
    mark_reviewed(s, 0)
    mark_reviewed(s, 1)
    per, clip = review_coverage(s)
    assert per[obj.obj_id] == (2, 7) and clip[0] >= 2
    assert next_unreviewed(s, 0) == 2 and next_unreviewed(s, 6) == 2
    for f in range(2, 7):
        mark_reviewed(s, f)
    with pytest.raises(UserError, match="is reviewed"):
        next_unreviewed(s, 0)
    assert "no longer marked reviewed" in mark_reviewed(s, 4)
    assert next_unreviewed(s, 0) == 4
    assert "reviewed 6/7" in frame_text(s, 0)


def test_undo_and_redo_cover_objects_keyframes_marks_and_edits(demo_session):
    s = demo_session
    n = len(s.objects)
    assert undo(s) == "Nothing to undo."
    draw_box(s, 0, (40, 50, 120, 140), "new")
    obj_id = s.selected
    draw_box(s, 5, (50, 50, 130, 140), "edit")
    mark_out_of_view(s, 3)
    assert np.isnan(s.track_of(obj_id)[0][2, 0])  # no interpolation across the mark
    with pytest.raises(UserError):
        delete_keyframe(s, 3)  # a refused action is not a step
    assert undo(s) == "Undid: out-of-view mark."
    assert 3 not in s.objects[obj_id].out_of_view and not np.isnan(s.track_of(obj_id)[0][2, 0])
    assert undo(s) == "Undid: box."
    assert set(s.objects[obj_id].keyframes) == {0}
    assert redo(s) == "Redid: box." and set(s.objects[obj_id].keyframes) == {0, 5}
    assert undo(s) and undo(s) == "Undid: box."
    assert len(s.objects) == n and obj_id not in s.tracks
    assert redo(s) and obj_id in s.objects
    delete_keyframe(s, 0)  # a new step drops what could be redone
    assert redo(s) == "Nothing to redo."
    # Deleting an object with hand-corrected masks asks first, and undo brings masks and object back.
    edited = np.zeros(s.size, bool)
    edited[60:90, 70:110] = True
    s.edits.push(obj_id, 5, "visible", edited)
    s.selected = obj_id
    with pytest.raises(UserError, match="Press delete again"):
        delete_selected(s)
    assert obj_id in s.objects
    assert "Deleted" in delete_selected(s)
    assert obj_id not in s.objects and s.edits.current(obj_id, 5, "visible") is None
    assert undo(s) == "Undid: delete object."
    assert obj_id in s.objects and np.array_equal(s.edits.current(obj_id, 5, "visible"), edited)


def test_brush_strokes_edit_masks_with_provenance_and_undo(demo_session, engine):
    s = demo_session
    draw_box(s, 0, (40, 50, 120, 140), "new")
    obj_id = s.selected
    segment(s, engine)
    before_vis, before_amo = object_masks(s, obj_id, 0)
    assert "Painted" in paint(s, 0, [(10.0, 10.0), (30.0, 10.0)], "visible", False, 3)
    vis, amo = object_masks(s, obj_id, 0)
    assert vis[10, 20] and amo[10, 20] and not (vis & ~amo).any()
    assert s.edits.provenance(obj_id, 0, "visible") == "human"
    paint(s, 0, [(80.0, 95.0)], "amodal", True, 200)  # erase everything
    vis, amo = object_masks(s, obj_id, 0)
    assert not vis.any() and not amo.any()
    assert undo(s) == "Undid: eraser."
    assert undo(s) == "Undid: brush."
    vis, amo = object_masks(s, obj_id, 0)
    np.testing.assert_array_equal(vis, before_vis)
    np.testing.assert_array_equal(amo, before_amo)
    assert redo(s) == "Redid: brush." and object_masks(s, obj_id, 0)[0][10, 20]
    mark_hidden(s, 0)
    with pytest.raises(UserError, match="marked hidden"):
        paint(s, 0, [(50.0, 60.0)], "visible", False, 3)


def test_accept_and_copy_masks(demo_session, engine):
    s = demo_session
    draw_box(s, 0, (40, 50, 120, 140), "new")
    draw_box(s, 2, (60, 60, 140, 150), "edit")
    obj_id = s.selected
    with pytest.raises(UserError, match="press Segment first"):
        accept_model(s, 1)
    segment(s, engine)
    res = s.results[obj_id]
    assert "Accepted" in accept_model(s, 1)
    assert s.edits.provenance(obj_id, 1, "amodal") == "human"
    np.testing.assert_array_equal(s.edits.current(obj_id, 1, "amodal"), res.amodal_mask(1) | res.visible_mask(1))
    # Frame 2's box is the keyframe box; frame 1's is interpolated halfway: the copy moves by the centre change.
    vis0, amo0 = object_masks(s, obj_id, 1)
    assert "moved by (+10, +5)" in copy_masks(s, 2, -1)
    np.testing.assert_array_equal(s.edits.current(obj_id, 2, "amodal"), shift_mask(amo0, 10, 5))
    assert not (s.edits.current(obj_id, 2, "visible") & ~s.edits.current(obj_id, 2, "amodal")).any()
    with pytest.raises(UserError, match="no frame -1"):
        copy_masks(s, 0, -1)
    assert undo(s) == "Undid: copy masks."


def test_rerun_uses_corrected_masks_and_keeps_edits_and_reviewed_frames(demo_session, engine):
    s = demo_session
    s.selected = obj_id = next(iter(s.objects))  # a ground-truth object present on every frame
    segment(s, engine)
    res0 = s.results[obj_id]
    frames = [int(f) for f in res0.frames]
    f, reviewed = frames[3], frames[6]
    s.objects[obj_id].reviewed.add(reviewed)
    kept_vis, kept_amo = object_masks(s, obj_id, reviewed)
    again = engine.predict(s.video, {obj_id: s.model_track(obj_id)})[obj_id]
    np.testing.assert_array_equal(again.full_prob, res0.full_prob)  # runs are deterministic
    # Correct frame f's visible mask: the object is a block 12 px to the right of the model's mask.
    vis, _ = object_masks(s, obj_id, f)
    corrected = shift_mask(vis, 12, 0)
    s.edits.push(obj_id, f, "visible", corrected)
    s.changed()
    assert s.stale_objects() == [obj_id]
    assert s.model_track(obj_id)[f].tolist() == list(box_of_mask(corrected))  # the corrected box wins
    segment(s, engine)
    res1 = s.results[obj_id]
    i, j = res0.index(frames[2]), res1.index(frames[2])
    assert np.abs(res1.full_prob[j] - res0.full_prob[i]).max() > 1e-6  # so this change comes from frame f
    np.testing.assert_array_equal(object_masks(s, obj_id, f)[0], corrected)  # the human edit is kept
    after_vis, after_amo = object_masks(s, obj_id, reviewed)
    np.testing.assert_array_equal(after_amo, kept_amo | kept_vis)  # the reviewed frame did not change
    np.testing.assert_array_equal(after_vis, kept_vis)
    assert s.edits.provenance(obj_id, reviewed, "amodal") == "model"


def test_every_mask_carries_its_provenance(demo_session, engine):
    s = demo_session
    draw_box(s, 0, (40, 50, 120, 140), "new")
    obj_id = s.selected
    assert provenance(s, obj_id, 5, "amodal") is None
    segment(s, engine)
    model = provenance(s, obj_id, 0, "amodal")
    assert model["source"] == "model" and model["checkpoint"] == engine.config.name and model["time"] > 0
    paint(s, 0, [(50.0, 60.0)], "visible", False, 4)
    human = provenance(s, obj_id, 0, "visible")
    assert human["source"] == "human" and human["time"] >= model["time"]
    assert "visible human" in frame_text(s, 0) and "amodal human" in frame_text(s, 0)
    assert "visible model" in frame_text(s, 1)
