"""The amodal video JSON: every source frame listed, masks at source size, visible ⊆ amodal,
and an exact round trip of masks, provenance and marks; malformed files refused by field."""
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from eoras_core.export import mask_to_rle, rle_to_mask, write_json
from eoras_core.formats.amodal_json import SCHEMA_VERSION, amodal_video_document, labels_from_amodal_json
from eoras_core.labels import FrameLabel, ObjectLabels, VideoLabels

H, W, T = 30, 40, 6


def box(y0, x0, y1, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def sample() -> VideoLabels:
    human = {"source": "human", "checkpoint": None, "time": 1796000000.5}
    model = {"source": "model", "checkpoint": "tiny", "time": 1796000000.0}
    car = ObjectLabels(3, "car", "vehicle", "#e6194b", keyframes={1: [5.0, 4.0, 25.0, 20.0]}, hidden={4},
                       out_of_view={5}, reviewed={1, 2})
    car.frames[1] = FrameLabel.from_masks(box(4, 5, 20, 25), box(4, 5, 12, 25), human)
    car.frames[2] = FrameLabel.from_masks(box(4, 6, 20, 26), box(4, 6, 20, 16), model)
    car.frames[4] = FrameLabel.from_masks(box(5, 6, 20, 26), np.zeros((H, W), bool), model)
    person = ObjectLabels(8, "person", "person")
    person.frames[1] = FrameLabel.from_masks(box(10, 20, 28, 30), box(10, 20, 28, 30), model)   # overlaps the car
    return VideoLabels("street.mp4", W, H, T, 25.0, "ab" * 32, objects=[car, person], decoded=[0, 1, 2, 3, 4, 5])


def test_document_lists_every_frame_at_source_size_with_marks_and_provenance(tmp_path):
    doc = json.loads(write_json(amodal_video_document([sample()]), tmp_path / "a.json").read_text())
    assert doc["info"]["schema_version"] == SCHEMA_VERSION == "eoras-amodal-vis/2.0"
    assert doc["info"]["source_sha256"] == "ab" * 32 and doc["info"]["mask_scale"] == 1.0
    (video,) = doc["videos"]
    assert (video["width"], video["height"], video["length"], video["fps"]) == (W, H, T, 25.0)
    assert len(video["file_names"]) == T and video["file_names"][0] == "street/00000.jpg"
    assert [c["name"] for c in doc["categories"]] == ["vehicle", "person"]
    car, person = doc["annotations"]
    assert car["track_id"] == 3 and car["color"] == "#e6194b" and car["keyframes"] == {"1": [5.0, 4.0, 25.0, 20.0]}
    for key in ("segmentations", "bboxes", "areas", "visible_segmentations", "visible_bboxes", "visible_areas",
                "occlusion_rates", "provenance", "reviewed", "hidden", "out_of_view"):
        assert len(car[key]) == T, key
    assert [s is not None for s in car["segmentations"]] == [False, True, True, False, True, False]
    assert car["bboxes"][1] == [5.0, 4.0, 20.0, 16.0] and car["areas"][1] == 320
    assert car["visible_bboxes"][1] == [5.0, 4.0, 20.0, 8.0] and car["visible_areas"][1] == 160
    assert car["occlusion_rates"][1] == pytest.approx(0.5) and car["occlusion_rates"][4] == 1.0
    assert car["visible_bboxes"][4] == [0.0, 0.0, 0.0, 0.0] and car["visible_areas"][4] == 0
    assert car["provenance"][1]["source"] == "human" and car["provenance"][2]["checkpoint"] == "tiny"
    assert car["reviewed"] == [False, True, True, False, False, False]
    assert car["hidden"][4] is True and car["out_of_view"][5] is True
    for ann in (car, person):
        for seg, vis in zip(ann["segmentations"], ann["visible_segmentations"]):
            if seg is None:
                continue
            amodal = mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()}).astype(bool)
            visible = mask_utils.decode({"size": vis["size"], "counts": vis["counts"].encode()}).astype(bool)
            assert amodal.shape == (H, W) and not (visible & ~amodal).any()


def test_round_trip_is_exact():
    before = sample()
    (after,) = labels_from_amodal_json(json.loads(json.dumps(amodal_video_document([before]))))
    assert (after.name, after.width, after.height, after.num_frames, after.fps, after.sha256) == (
        "street.mp4", W, H, T, 25.0, "ab" * 32)
    for a, b in zip(before.objects, after.objects):
        assert (a.id, a.name, a.category, a.color, a.hidden, a.out_of_view, a.reviewed, a.keyframes) == (
            b.id, b.name, b.category, b.color, b.hidden, b.out_of_view, b.reviewed, b.keyframes)
        assert sorted(a.frames) == sorted(b.frames)
        for f in a.frames:
            for x, y in zip(a.frames[f].masks(), b.frames[f].masks()):
                np.testing.assert_array_equal(x, y)
            assert a.frames[f].provenance == b.frames[f].provenance


def test_several_videos_share_merged_categories():
    one, two = sample(), sample()
    two.name, two.objects[0].category = "other.mp4", "person"
    doc = amodal_video_document([one, two], categories=["person", "bicycle"])
    assert [c["name"] for c in doc["categories"]] == ["person", "bicycle", "vehicle"]
    assert [a["video_id"] for a in doc["annotations"]] == [1, 1, 2, 2]
    assert "source_sha256" not in doc["info"]
    back = labels_from_amodal_json(doc)
    assert [v.name for v in back] == ["street.mp4", "other.mp4"] and back[1].objects[0].category == "person"


@pytest.mark.parametrize("edit, says", [
    (lambda d: d["info"].update(schema_version="something/1.0"), "info.schema_version"),
    (lambda d: d.pop("videos"), "videos is missing"),
    (lambda d: d["annotations"][0]["segmentations"].pop(), "annotations[0].segmentations has 5 entries"),
    (lambda d: d["annotations"][0]["segmentations"].__setitem__(1, mask_to_rle(np.zeros((H + 1, W), bool))),
     "annotations[0].segmentations[1] must be a COCO RLE of the video's size 40x30"),
    (lambda d: d["annotations"][0]["segmentations"][1].update(counts="zzzz"),
     "annotations[0].segmentations[1] is not a usable COCO RLE"),
    (lambda d: d["annotations"][1].update(video_id=9), "annotations[1].video_id refers to video 9"),
    (lambda d: d["annotations"][1].update(track_id=3), "annotations[1].track_id"),
])
def test_malformed_documents_are_refused_by_field(edit, says):
    doc = json.loads(json.dumps(amodal_video_document([sample()])))
    edit(doc)
    with pytest.raises(ValueError) as err:
        labels_from_amodal_json(doc, "mine.json")
    assert str(err.value).startswith("mine.json: ") and says in str(err.value)
