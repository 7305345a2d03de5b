"""YouTube-VIS export: RLE round trips, document structure, occlusion rates, read-back."""
from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from eoras_core.export import (SCHEMA_VERSION, ObjectTrackExport, mask_to_rle, rle_to_mask,
                               write_json, youtube_vis_document)

# pycocotools' decode trips a numpy 2 DeprecationWarning inside its C extension; harmless.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

H, W, T = 20, 30, 4


def _box_mask(y0: int, x0: int, y1: int, x1: int, shape=(H, W)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.fixture
def doc() -> dict:
    amodal = _box_mask(0, 0, 10, 10)  # 100 px
    visible = _box_mask(0, 0, 5, 5)  # 25 px inside it
    car = ObjectTrackExport(id=0, name="car", category="vehicle",
                            amodal=[amodal, None, amodal, np.zeros((H, W), bool)],
                            visible=[visible, None, np.zeros((H, W), bool), None])
    blob = ObjectTrackExport(id=7, name="blob", category=None,
                             amodal=lambda f: _box_mask(2, 3 + f, 6, 9 + f),
                             visible=lambda f: _box_mask(2, 3 + f, 6, 9 + f))
    return youtube_vis_document("clip", W, H, T, [car, blob], fps=12.5,
                                extra={"source": "test", "schema_version": "overridden?"})


# --------------------------------------------------------------------------- RLE


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (64, 48), (5, 200)])
def test_rle_round_trip_random(shape):
    rng = np.random.default_rng(sum(shape))
    mask = rng.random(shape) > 0.6
    rle = mask_to_rle(mask)
    assert rle["size"] == list(shape) and isinstance(rle["counts"], str)
    np.testing.assert_array_equal(rle_to_mask(rle), mask)


@pytest.mark.parametrize("fill", [False, True])
def test_rle_empty_and_full(fill):
    mask = np.full((9, 17), fill)
    back = rle_to_mask(mask_to_rle(mask))
    assert back.dtype == bool and back.shape == (9, 17)
    np.testing.assert_array_equal(back, mask)


def test_rle_accepts_integer_masks_and_refuses_floats():
    m = np.zeros((4, 6), np.uint8)
    m[1, 2] = 255
    np.testing.assert_array_equal(rle_to_mask(mask_to_rle(m)), m > 0)
    with pytest.raises(ValueError, match="threshold"):
        mask_to_rle(m.astype(np.float32))
    with pytest.raises(ValueError, match="2-D"):
        mask_to_rle(np.zeros((2, 3, 4), bool))


def test_rle_to_mask_bytes_and_uncompressed():
    mask = _box_mask(1, 2, 3, 5, shape=(4, 6))
    rle = mask_to_rle(mask)
    np.testing.assert_array_equal(rle_to_mask({**rle, "counts": rle["counts"].encode()}), mask)
    # uncompressed COCO RLE: column-major run lengths, starting with a run of zeros
    runs = [9, 2, 2, 2, 2, 2, 5]
    np.testing.assert_array_equal(np.repeat(np.arange(len(runs)) % 2, runs).reshape(6, 4).T, mask)
    np.testing.assert_array_equal(rle_to_mask({"size": [4, 6], "counts": runs}), mask)


# --------------------------------------------------------------------------- document


def test_document_top_level(doc):
    assert doc["info"]["schema_version"] == SCHEMA_VERSION
    assert doc["info"]["source"] == "test" and doc["info"]["description"]
    (video,) = doc["videos"]
    assert video == {"id": 1, "name": "clip", "width": W, "height": H, "length": T, "fps": 12.5,
                     "file_names": [f"clip/{i:05d}.jpg" for i in range(T)]}
    assert doc["categories"] == [{"id": 1, "name": "object", "supercategory": "object"},
                                 {"id": 2, "name": "vehicle", "supercategory": "vehicle"}]
    car, blob = doc["annotations"]
    assert (car["id"], car["track_id"], car["category_id"], car["name"]) == (1, 0, 2, "car")
    assert (blob["id"], blob["track_id"], blob["category_id"]) == (2, 7, 1)
    for ann in doc["annotations"]:
        assert (ann["video_id"], ann["iscrowd"], ann["length"]) == (1, 0, 1)
        assert (ann["height"], ann["width"]) == (H, W)
        for key in ("segmentations", "visible_segmentations", "bboxes", "areas",
                    "occlusion_rates"):
            assert len(ann[key]) == T, key


def test_nulls_bboxes_and_occlusion(doc):
    car = doc["annotations"][0]
    # frame 1: no masks at all; frame 3: empty amodal counts as absent
    for f in (1, 3):
        assert car["segmentations"][f] is None and car["bboxes"][f] is None
        assert car["areas"][f] is None and car["occlusion_rates"][f] is None
    assert car["visible_segmentations"][1] is None
    assert car["bboxes"][0] == [0.0, 0.0, 10.0, 10.0] and car["areas"][0] == 100
    assert car["occlusion_rates"][0] == pytest.approx(0.75)
    assert car["occlusion_rates"][2] == pytest.approx(1.0)  # empty visible: fully occluded
    assert rle_to_mask(car["visible_segmentations"][2]).sum() == 0
    blob = doc["annotations"][1]
    for f in range(T):
        m = rle_to_mask(blob["segmentations"][f])
        ys, xs = np.nonzero(m)
        assert blob["bboxes"][f] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                     ys.max() - ys.min() + 1]
        assert blob["areas"][f] == m.sum() == 24
        assert blob["occlusion_rates"][f] == 0.0


def test_pycocotools_decodes_every_segmentation(doc):
    car, blob = doc["annotations"]
    assert [rle is None for rle in car["segmentations"]] == [False, True, False, True]
    assert [rle is None for rle in car["visible_segmentations"]] == [False, True, False, True]
    assert [rle is None for key in ("segmentations", "visible_segmentations") for rle in blob[key]] == [False] * 8
    for ann in doc["annotations"]:
        for key in ("segmentations", "visible_segmentations"):
            for rle in (r for r in ann[key] if r is not None):
                coded = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
                m = mask_utils.decode(coded)
                assert m.shape == (H, W) and m.dtype == np.uint8
                np.testing.assert_array_equal(m.astype(bool), rle_to_mask(rle))
    np.testing.assert_array_equal(rle_to_mask(car["segmentations"][0]), _box_mask(0, 0, 10, 10))


def test_json_serialisable(doc, tmp_path):
    path = write_json(doc, tmp_path / "out" / "annotations.json")
    back = json.loads(path.read_text())
    assert back == json.loads(json.dumps(doc))
    assert back["annotations"][0]["segmentations"][1] is None
    assert not list(path.parent.glob(".*.tmp"))


def test_size_mismatch_raises():
    obj = ObjectTrackExport(id=1, name="x", category=None, amodal=[np.zeros((H, W + 1), bool)],
                            visible=[None])
    with pytest.raises(ValueError, match="object 1 .*frame 0.*video size"):
        youtube_vis_document("v", W, H, 1, [obj])
    short = ObjectTrackExport(id=2, name="y", category=None, amodal=[None], visible=[None])
    with pytest.raises(ValueError, match="1 amodal masks for 3 frames"):
        youtube_vis_document("v", W, H, 3, [short])


def test_mask_scale_is_recorded(doc):
    assert doc["info"]["mask_scale"] == 1.0
    half = youtube_vis_document("v", W, H, 1, [], extra={"mask_scale": 3}, mask_scale=0.5)
    assert half["info"]["mask_scale"] == 0.5  # the builder's field wins over extra
    with pytest.raises(ValueError, match="mask_scale must be in"):
        youtube_vis_document("v", W, H, 1, [], mask_scale=0)


def test_no_objects():
    doc = youtube_vis_document("empty", W, H, 2, [])
    assert doc["annotations"] == [] and doc["categories"][0]["name"] == "object"
    json.dumps(doc)


@pytest.mark.parametrize("seed", range(4))
def test_rle_reader_agrees_with_pycocotools(seed):
    """rle_to_mask reads COCO strings itself (checked first); it agrees with pycocotools."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 400)), int(rng.integers(1, 700))
    mask = np.zeros((h, w), bool)
    for _ in range(5):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        mask[y:y + int(rng.integers(1, h + 1)), x:x + int(rng.integers(1, w + 1))] ^= True
    coded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    ours = rle_to_mask({"size": [h, w], "counts": coded["counts"].decode()})
    np.testing.assert_array_equal(ours, mask_utils.decode(coded).astype(bool))
    np.testing.assert_array_equal(ours, mask)


@pytest.mark.parametrize("rle, says", [
    ({"size": [10, 10], "counts": "zzzz"}, "damaged"),
    ({"size": [10, 10], "counts": "0"}, "cover"),
    ({"size": [10, 10], "counts": [50, 60]}, "cover"),
    ({"size": [10, 10], "counts": [120, -20]}, "cover"),
    ({"size": [10], "counts": ""}, "size"),
    ({"size": [10, 10], "counts": "o" * 10 + "0"}, "too long"),
    ({"size": [10, 10], "counts": None}, "counts"),
])
def test_hostile_rles_are_refused_before_decoding(rle, says):
    """pycocotools would write past its buffer for counts that overrun the mask: they never reach it."""
    with pytest.raises(ValueError, match=says):
        rle_to_mask(rle)
