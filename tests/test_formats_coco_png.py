"""COCO (KINS / COCOA-cls amodal) and PNG-zip exports of VideoLabels: pycocotools reads the
COCO file, the COCO reader gives the labels back exactly and refuses bad files by field, and
the zip holds one 0/255 PNG per object, frame and kind."""
import copy
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from eoras_core.export import mask_to_rle, rle_to_mask
from eoras_core.formats.coco import SCHEMA_VERSION, coco_document, labels_from_coco
from eoras_core.formats.png_masks import write_png_zip
from eoras_core.labels import FrameLabel, ObjectLabels, VideoLabels

W, H, N = 64, 48, 6
HUMAN = {"source": "human", "checkpoint": None, "time": 1700000000.5}
MODEL = {"source": "model", "checkpoint": "eoras-small.pt", "time": None}


def box(x0, y0, x1, y1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def clip(name="clip one.mp4", objects=None):
    """Two objects on a 64x48, 6-frame clip whose frame 4 was not decoded. The car is hidden
    behind the person on frame 2 (visible empty) and has an empty label on frame 5; the two
    visible masks overlap on frames 0, 1 and 3."""
    car = ObjectLabels(id=3, name="red car", category="car", hidden={2}, reviewed={0, 1})
    person = ObjectLabels(id=7, name="walker/1", category="person", reviewed={3})
    for f in (0, 1, 2, 3):
        car_amodal = box(5 + f, 10, 30 + f, 30)
        car_visible = np.zeros((H, W), bool) if f == 2 else car_amodal & ~box(22, 0, 40, 48)
        car.frames[f] = FrameLabel.from_masks(car_amodal, car_visible, HUMAN if f < 2 else MODEL)
        person_amodal = box(20, 5 + f, 40, 45)
        person_visible = person_amodal & ~box(0, 40, W, H)
        person.frames[f] = FrameLabel.from_masks(person_amodal, person_visible, MODEL)
    car.frames[5] = FrameLabel.from_masks(np.zeros((H, W), bool), np.zeros((H, W), bool), MODEL)
    return VideoLabels(name=name, width=W, height=H, num_frames=N, fps=25.0, sha256="ab" * 32,
                       objects=objects if objects is not None else [car, person], decoded=[0, 1, 2, 3, 5])


def second_clip():
    dog = ObjectLabels(id=1, name="dog", category="dog")
    dog.frames[0] = FrameLabel.from_masks(box(0, 0, 10, 10), box(0, 0, 5, 10), MODEL)
    walker = ObjectLabels(id=2, name="walker", category="person")
    walker.frames[1] = FrameLabel.from_masks(box(30, 30, 50, 40), box(30, 30, 50, 40), HUMAN)
    return VideoLabels(name="other/clip two.mov", width=W, height=H, num_frames=3, fps=30.0, sha256="cd" * 32,
                       objects=[dog, walker])


def masks(label):
    return label.masks()


# --- COCO: pycocotools reads it --------------------------------------------------------------------

def test_pycocotools_loads_the_file_and_every_mask_decodes(tmp_path):
    video = clip()
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(coco_document([video])))
    coco = COCO(str(path))
    assert len(coco.getImgIds()) == N
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == 8  # 4 frames x 2 objects; the car's empty frame 5 is left out
    objects = {obj.id: obj for obj in video.objects}
    for ann in anns:
        frame = coco.imgs[ann["image_id"]]["frame_index"]
        amodal, visible = masks(objects[ann["track_id"]].frames[frame])
        assert np.array_equal(coco.annToMask(ann).astype(bool), amodal)
        decoded = {key: mask_utils.decode({"size": ann[key]["size"], "counts": ann[key]["counts"].encode()})
                   for key in ("segmentation", "visible_mask", "invisible_mask")}
        assert np.array_equal(decoded["segmentation"].astype(bool), amodal)
        assert np.array_equal(decoded["visible_mask"].astype(bool), visible)
        assert np.array_equal(decoded["invisible_mask"].astype(bool), amodal & ~visible)
        assert ann["area"] == int(amodal.sum())
        assert ann["bbox"] == [float(v) for v in mask_utils.toBbox(
            {"size": ann["segmentation"]["size"], "counts": ann["segmentation"]["counts"].encode()})]


def test_coco_fields():
    video = clip()
    doc = coco_document([video])
    assert doc["info"]["schema_version"] == SCHEMA_VERSION
    assert doc["info"]["source_sha256"] == "ab" * 32
    assert doc["info"]["videos"] == [{"name": "clip one.mp4", "sha256": "ab" * 32, "width": W, "height": H,
                                      "num_frames": N, "fps": 25.0}]
    assert [im["id"] for im in doc["images"]] == [1, 2, 3, 4, 5, 6]
    assert [im["file_name"] for im in doc["images"]] == [f"clip one/{f:05d}.jpg" for f in range(N)]
    assert {(im["width"], im["height"], im["video"], im["video_id"]) for im in doc["images"]} == {
        (W, H, "clip one.mp4", 1)}
    assert [im["frame_index"] for im in doc["images"]] == list(range(N))
    anns = {(a["track_id"], a["image_id"] - 1): a for a in doc["annotations"]}
    assert sorted(anns) == [(3, 0), (3, 1), (3, 2), (3, 3), (7, 0), (7, 1), (7, 2), (7, 3)]
    assert [a["id"] for a in doc["annotations"]] == list(range(1, 9))
    hidden = anns[3, 2]
    assert hidden["i_bbox"] == [0, 0, 0, 0]
    assert hidden["occlude_rate"] == 1.0
    assert hidden["hidden"] is True and hidden["reviewed"] is False
    assert rle_to_mask(hidden["visible_mask"]).sum() == 0
    assert hidden["visible_mask"]["size"] == [H, W]
    seen = anns[3, 0]
    amodal, visible = masks(video.objects[0].frames[0])
    assert seen["occlude_rate"] == pytest.approx(1 - visible.sum() / amodal.sum())
    assert 0 < seen["occlude_rate"] < 1
    assert seen["i_bbox"] == [5.0, 10.0, 17.0, 20.0]  # the car left of x=22
    assert seen["bbox"] == [5.0, 10.0, 25.0, 20.0]
    assert seen["reviewed"] is True and seen["hidden"] is False
    assert seen["provenance"] == HUMAN
    assert seen["object_name"] == "red car" and seen["iscrowd"] == 0
    person = anns[7, 1]
    assert person["occlude_rate"] == pytest.approx(1 - 680 / 780)  # rows 6..39 of 6..44, 20 wide
    assert doc["categories"] == [{"id": 1, "name": "car", "supercategory": "car"},
                                 {"id": 2, "name": "person", "supercategory": "person"}]
    assert {a["category_id"] for a in anns.values() if a["track_id"] == 7} == {2}


def test_categories_merge_by_name_with_the_shared_list_first():
    doc = coco_document([clip(), second_clip()], categories=["person", "tree"])
    assert [c["name"] for c in doc["categories"]] == ["person", "tree", "car", "dog"]
    assert [c["id"] for c in doc["categories"]] == [1, 2, 3, 4]
    ids = {c["name"]: c["id"] for c in doc["categories"]}
    by_track = {(a["image_id"] > N, a["track_id"]): a["category_id"] for a in doc["annotations"]}
    assert by_track == {(False, 3): ids["car"], (False, 7): ids["person"], (True, 1): ids["dog"],
                        (True, 2): ids["person"]}
    assert len(doc["images"]) == N + 3
    assert [im["id"] for im in doc["images"]] == list(range(1, N + 4))
    assert [im["video_id"] for im in doc["images"]] == [1] * N + [2] * 3
    assert doc["images"][N]["file_name"] == "clip two/00000.jpg"
    assert "source_sha256" not in doc["info"]
    assert len({a["id"] for a in doc["annotations"]}) == len(doc["annotations"]) == 10


# --- COCO: read back -----------------------------------------------------------------------------

def test_round_trip_gives_back_masks_marks_and_provenance():
    videos = [clip(), second_clip()]
    back = labels_from_coco(json.loads(json.dumps(coco_document(videos))))
    assert [(v.name, v.width, v.height, v.num_frames, v.fps, v.sha256) for v in back] == [
        (v.name, v.width, v.height, v.num_frames, v.fps, v.sha256) for v in videos]
    for original, read in zip(videos, back):
        assert [(o.id, o.name, o.category) for o in read.objects] == [
            (o.id, o.name, o.category) for o in original.objects]
        for o, r in zip(original.objects, read.objects):
            kept = {f for f, label in o.frames.items() if masks(label)[0].any()}
            assert set(r.frames) == kept
            for f in kept:
                assert np.array_equal(masks(r.frames[f])[0], masks(o.frames[f])[0])
                assert np.array_equal(masks(r.frames[f])[1], masks(o.frames[f])[1])
                assert r.frames[f].amodal == o.frames[f].amodal and r.frames[f].visible == o.frames[f].visible
                assert r.frames[f].provenance == o.frames[f].provenance
            assert r.hidden == o.hidden & kept and r.reviewed == o.reviewed & kept
    car, person = back[0].objects
    assert sorted(car.frames) == [0, 1, 2, 3] and sorted(person.frames) == [0, 1, 2, 3]  # car's empty frame 5 left out
    assert car.hidden == {2} and car.reviewed == {0, 1} and person.reviewed == {3}
    # the two visible masks overlap, and each comes back whole
    assert (masks(car.frames[0])[1] & masks(person.frames[0])[1]).any()


def test_foreign_coco_with_polygons_and_without_video_fields():
    doc = {"images": [{"id": 10, "width": W, "height": H, "file_name": "a.jpg"},
                      {"id": 11, "width": W, "height": H, "file_name": "b.jpg"}],
           "categories": [{"id": 5, "name": "cup"}],
           "annotations": [{"id": 1, "image_id": 11, "category_id": 5,
                            "segmentation": [[10, 10, 30, 10, 30, 20, 10, 20]],
                            "visible_mask": mask_to_rle(box(10, 10, 20, 20))},
                           {"id": 2, "image_id": 10, "category_id": 5,
                            "segmentation": mask_to_rle(box(0, 0, 8, 8))}]}
    (video,) = labels_from_coco(doc, "kins.json")
    assert (video.name, video.width, video.height, video.num_frames) == ("kins", W, H, 2)
    first, second = video.objects
    assert (first.id, first.name, first.category, sorted(first.frames)) == (1, "object 1", "cup", [1])
    amodal, visible = masks(first.frames[1])
    polygon = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([[10, 10, 30, 10, 30, 20, 10, 20]], H, W)))
    assert np.array_equal(amodal, polygon.astype(bool))
    assert np.array_equal(visible, box(10, 10, 20, 20))
    assert first.frames[1].provenance["source"] == "import"
    assert np.array_equal(masks(second.frames[0])[1], box(0, 0, 8, 8))  # no visible_mask: all visible


# --- COCO: bad files are refused by field ----------------------------------------------------------

def refused(doc, where="coco.json"):
    with pytest.raises(ValueError) as info:
        labels_from_coco(doc, where)
    message = str(info.value)
    assert "Error" not in message and "Traceback" not in message
    assert message.startswith(f"{where}: ")
    return message


def test_malformed_coco_is_refused_with_the_field_named():
    good = coco_document([clip()])
    doc = copy.deepcopy(good)
    doc["annotations"][3]["segmentation"] = mask_to_rle(np.zeros((50, 100), bool))
    image = doc["annotations"][3]["image_id"]
    assert refused(doc) == (f"coco.json: annotations[3].segmentation: RLE size 100x50 does not match "
                            f"image {image} (64x48)")

    doc = copy.deepcopy(good)
    doc["annotations"][1]["visible_mask"]["counts"] = "zzzz"
    assert refused(doc).startswith("coco.json: annotations[1].visible_mask: ")

    doc = copy.deepcopy(good)
    doc["annotations"][0]["segmentation"]["counts"] = [1, 2, 3]
    assert refused(doc).startswith("coco.json: annotations[0].segmentation: ")

    doc = copy.deepcopy(good)
    del doc["images"]
    assert refused(doc, "mine.json") == "mine.json: images: missing"

    doc = copy.deepcopy(good)
    doc["annotations"][2]["image_id"] = 999
    assert refused(doc) == "coco.json: annotations[2].image_id: image 999 is not in images"


@pytest.mark.parametrize("damage, field", [
    (lambda d: d.update(images="nope"), "images: must be a list"),
    (lambda d: d["images"][1].pop("width"), "images[1].width: missing"),
    (lambda d: d["images"][1].update(id=1), "images[1].id: 1 is used twice"),
    (lambda d: d["annotations"][4].update(id=1), "annotations[4].id: 1 is used twice"),
    (lambda d: d["annotations"][0].update(category_id=9), "annotations[0].category_id: category 9"),
    (lambda d: d["annotations"][0].update(track_id="3"), "annotations[0].track_id: must be a whole number"),
    (lambda d: d["annotations"][0].update(reviewed="yes"), "annotations[0].reviewed: must be true or false"),
    (lambda d: d["annotations"][0].update(provenance=[]), "annotations[0].provenance: must be an object"),
    (lambda d: d["annotations"][0].pop("segmentation"), "annotations[0].segmentation: missing"),
    (lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 5]]), "annotations[0].segmentation[0]: "),
    (lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 5, float("nan")]]),
     "annotations[0].segmentation[0]: polygon coordinates must be finite"),
    (lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4, 5, 1e300]]),
     "annotations[0].segmentation[0]: a polygon point lies far outside"),
    (lambda d: d["annotations"][1].update(image_id=d["annotations"][0]["image_id"]),
     "annotations[1].track_id: track 3 already has an annotation"),
    (lambda d: d["categories"][1].update(id=1), "categories[1].id: 1 is used twice"),
    (lambda d: d["info"]["videos"][0].update(width="64"), "info.videos[0].width: must be a whole number"),
    (lambda d: d["images"][2].update(video_id=4), "images[2].video_id: video 4 is not in info.videos"),
    (lambda d: d["images"][2].update(frame_index=N), "images[2].frame_index: frame 6 is outside"),
    (lambda d: d["images"][2].update(frame_index=1), "images[2].frame_index: frame 1 of video clip one.mp4 is listed"),
    (lambda d: d["images"][2].update(width=65), "images[2]: image 3 is 65x48"),
])
def test_each_bad_field_is_named(damage, field):
    doc = coco_document([clip()])
    damage(doc)
    assert refused(doc).startswith(f"coco.json: {field}")


def test_a_document_that_is_not_an_object_is_refused():
    assert refused([]) == "coco.json: document: must be a JSON object, got a list"


# --- PNG zip -----------------------------------------------------------------------------------------

def read_png(zf, name):
    image = Image.open(io.BytesIO(zf.read(name)))
    assert image.mode == "L"
    return np.asarray(image)


def test_png_zip_layout_values_and_occluded(tmp_path):
    video = clip()
    path = write_png_zip([video], tmp_path / "out" / "masks.zip")
    assert path == tmp_path / "out" / "masks.zip"
    assert [p.name for p in path.parent.iterdir()] == ["masks.zip"]  # no temporary file left
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        expected = {"README.txt"}
        expected |= {f"3_red_car/{k}/{f:05d}.png" for k in ("visible", "amodal", "occluded") for f in (0, 1, 2, 3, 5)}
        expected |= {f"7_walker_1/{k}/{f:05d}.png" for k in ("visible", "amodal", "occluded") for f in (0, 1, 2, 3)}
        assert names == expected
        readme = zf.read("README.txt").decode()
        assert "indexed PNG" in readme and "overlap" in readme and "occluded" in readme
        for obj, folder in zip(video.objects, ("3_red_car", "7_walker_1")):
            for f, label in obj.frames.items():
                amodal, visible = masks(label)
                png = {k: read_png(zf, f"{folder}/{k}/{f:05d}.png") for k in ("visible", "amodal", "occluded")}
                for image in png.values():
                    assert image.shape == (H, W) and image.dtype == np.uint8
                    assert set(np.unique(image)) <= {0, 255}
                assert np.array_equal(png["amodal"] == 255, amodal)
                assert np.array_equal(png["visible"] == 255, visible)
                assert np.array_equal(png["occluded"] == 255, amodal & ~visible)
                assert not ((png["visible"] == 255) & (png["amodal"] == 0)).any()
        assert read_png(zf, "3_red_car/visible/00002.png").max() == 0
        assert read_png(zf, "3_red_car/occluded/00002.png").max() == 255
        assert read_png(zf, "3_red_car/amodal/00005.png").max() == 0


def test_png_zip_of_two_videos_prefixes_each(tmp_path):
    path = write_png_zip([clip(), second_clip()], tmp_path / "masks.zip")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert "README.txt" in names
        tops = {n.split("/")[0] for n in names if n != "README.txt"}
        assert tops == {"clip_one", "clip_two"}
        assert "clip_one/3_red_car/amodal/00000.png" in names
        assert "clip_two/1_dog/visible/00000.png" in names
        assert "clip_two/2_walker/occluded/00001.png" in names
        assert len(names) == 1 + 3 * (5 + 4) + 3 * 2
        dog = read_png(zf, "clip_two/1_dog/occluded/00000.png") == 255
        assert np.array_equal(dog, box(5, 0, 10, 10))


def test_png_zip_keeps_two_videos_with_one_stem_apart(tmp_path):
    path = write_png_zip([clip("a/x.mp4"), clip("b/x.mp4"), clip("..")], tmp_path / "m.zip")
    with zipfile.ZipFile(path) as zf:
        tops = {n.split("/")[0] for n in zf.namelist() if n != "README.txt"}
    assert tops == {"x", "x_2", "video_3"}
