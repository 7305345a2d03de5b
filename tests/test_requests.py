"""`segment_video` requests: what is accepted, and every rejection naming its field."""
from __future__ import annotations

import json

import pytest

from eoras_core.requests import ObjectRequest, RequestError, parse_objects_request

T, H, W = 30, 272, 640


def _one(**obj) -> str:
    return json.dumps({"objects": [obj]})


def test_accepts_a_full_request_and_fills_defaults():
    text = json.dumps({"objects": [
        {"id": 7, "name": "cyclist", "category": "person", "boxes": {"5": [250, 60, 400, 260]}},
        {"boxes": {"0": [0, 100, 150.5, 250], "29": [10, 10, 20, 20]}},
    ]})
    assert parse_objects_request(text, T, H, W) == [
        ObjectRequest(7, "cyclist", "person", {5: (250.0, 60.0, 400.0, 260.0)}),
        ObjectRequest(2, "object 2", None, {0: (0.0, 100.0, 150.5, 250.0), 29: (10.0, 10.0, 20.0, 20.0)}),
    ]


def test_a_box_partly_outside_the_frame_is_kept_as_given():
    (obj,) = parse_objects_request(_one(boxes={"3": [600, -20, 700, 40]}), T, H, W)
    assert obj.boxes == {3: (600.0, -20.0, 700.0, 40.0)}


@pytest.mark.parametrize("text, message", [
    ("not json", r"^request: not valid JSON"),
    (None, r"^request: not valid JSON"),
    ('[{"boxes": {}}]', r"^objects: must be a non-empty list"),
    ('{"objects": []}', r"^objects: must be a non-empty list"),
    ('{"things": [{"boxes": {"0": [0, 0, 9, 9]}}]}', r"^objects: must be a non-empty list"),
    ('{"objects": [3]}', r"^objects\[0\]: must be an object with 'boxes'"),
    (_one(id="seven", boxes={"0": [0, 0, 9, 9]}), r"^objects\[0\]\.id: must be an integer, got 'seven'"),
    (_one(id=True, boxes={"0": [0, 0, 9, 9]}), r"^objects\[0\]\.id: must be an integer, got True"),
    (_one(name=5, boxes={"0": [0, 0, 9, 9]}), r"^objects\[0\]\.name: must be a string, got 5"),
    (_one(category=["car"], boxes={"0": [0, 0, 9, 9]}), r"^objects\[0\]\.category: must be a string or null"),
    (_one(name="x"), r"^objects\[0\]\.boxes: required, a non-empty map"),
    (_one(boxes={}), r"^objects\[0\]\.boxes: required, a non-empty map"),
    (_one(boxes=[[0, 0, 9, 9]]), r"^objects\[0\]\.boxes: required, a non-empty map"),
    (_one(boxes={"first": [0, 0, 9, 9]}), r'^objects\[0\]\.boxes\["first"\]: the frame must be an integer'),
    (_one(boxes={"99": [0, 0, 10, 10]}), r'^objects\[0\]\.boxes\["99"\]: frame 99 is outside the video \(frames 0\.\.29\)'),
    (_one(boxes={"-1": [0, 0, 10, 10]}), r'^objects\[0\]\.boxes\["-1"\]: frame -1 is outside the video'),
    (_one(boxes={"0": [0, 0, 10]}), r'^objects\[0\]\.boxes\["0"\]: must be \[x0, y0, x1, y1\], four numbers'),
    (_one(boxes={"0": ["0", 0, 10, 10]}), r'^objects\[0\]\.boxes\["0"\]: must be \[x0, y0, x1, y1\], four numbers'),
    (_one(boxes={"0": {"x0": 0}}), r'^objects\[0\]\.boxes\["0"\]: must be \[x0, y0, x1, y1\], four numbers'),
    ('{"objects": [{"boxes": {"0": [0, 0, NaN, 10]}}]}', r'^request: NaN is not a number JSON allows'),
    ('{"objects": [{"boxes": {"0": [0, 0, Infinity, 10]}}]}', r'^request: Infinity is not a number JSON allows'),
    ('{"objects": [{"boxes": {"0": [0, 0, 9, 9], "0": [1, 1, 9, 9]}}]}', r'^request: the key "0" appears twice'),
    (_one(boxes={"0": [0, 0, 9, 9], "00": [1, 1, 9, 9]}), r'^objects\[0\]\.boxes\["00"\]: frame 0 is given twice'),
    (_one(boxes={" 1": [0, 0, 9, 9]}), r'^objects\[0\]\.boxes\[" 1"\]: the frame must be an integer'),
    (_one(boxes={"1.5": [0, 0, 9, 9]}), r'^objects\[0\]\.boxes\["1.5"\]: the frame must be an integer'),
    (_one(boxes={"0": "1234"}), r'^objects\[0\]\.boxes\["0"\]: must be \[x0, y0, x1, y1\], four numbers'),
    (_one(id=1.7, boxes={"0": [0, 0, 9, 9]}), r"^objects\[0\]\.id: must be an integer, got 1.7"),
    ("[" * 100000 + "]" * 100000, r"^request: (nested too deeply|.*more than the)"),
    ('{"objects": [{"id": 1' + "0" * 5000 + ', "boxes": {"0": [0, 0, 9, 9]}}]}', r"^request: holds a number too large"),
    ('{"objects": [{"boxes": {"0": [0, 0, 1e400, 10]}}]}', r'^objects\[0\]\.boxes\["0"\]: coordinates must be finite'),
    (_one(boxes={"0": [700, 0, 800, 10]}), r'^objects\[0\]\.boxes\["0"\]: box \[700, 0, 800, 10\] has no area inside the 640x272 video'),
    (_one(boxes={"0": [5, 5, 5, 50]}), r'^objects\[0\]\.boxes\["0"\]: box \[5, 5, 5, 50\] has no area'),
    (json.dumps({"objects": [{"id": 4, "boxes": {"0": [0, 0, 9, 9]}},
                             {"id": 4, "boxes": {"1": [0, 0, 9, 9]}}]}), r"^objects\[1\]\.id: 4 appears twice"),
])
def test_rejections_name_the_field(text, message):
    with pytest.raises(RequestError, match=message):
        parse_objects_request(text, T, H, W)


def test_request_error_is_a_value_error():
    assert issubclass(RequestError, ValueError)
