"""Every request's budget is checked before the work it bounds, and each refusal names its limit."""
import json
import time

import numpy as np
import pytest
import torch
from PIL import Image

from eoras_core import build_eoras
from eoras_core.annotate import annotate
from eoras_core.budget import Budget, BudgetError
from eoras_core.shared_predictor import SharedPredictor


@pytest.fixture(scope="module")
def engine():
    torch.manual_seed(0)
    return SharedPredictor(build_eoras("tiny").eval())


def _gif(path, size, frames):
    """A tiny file that declares many pixels (one colour per frame compresses to almost nothing)."""
    ims = [Image.new("RGB", size, (40 * i % 256, 0, 0)) for i in range(frames)]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=40)
    return path


def _request(n, frame=0, box=(2, 2, 30, 30)):
    return json.dumps({"objects": [{"id": i + 1, "boxes": {str(frame): list(box)}} for i in range(n)]})


def test_a_small_file_declaring_many_pixels_is_refused_before_decoding(engine, tmp_path):
    gif = _gif(tmp_path / "bomb.gif", (3000, 3000), 6)
    assert gif.stat().st_size < 200_000
    budget = Budget(max_source_pixels=20_000_000)
    t0 = time.perf_counter()
    with pytest.raises(BudgetError, match=r"bomb.gif: 6 frames of 3000x3000 is 54 M pixels to decode, more than "
                                          r"this server allows \(20 M, --max-source-pixels\)"):
        annotate(engine, gif, _request(1), budget=budget)
    assert time.perf_counter() - t0 < 5.0             # refused from the header, not after decoding


def test_objects_and_object_frames_are_bounded_before_the_model_runs(engine, tmp_path):
    gif = _gif(tmp_path / "small.gif", (64, 48), 5)
    with pytest.raises(BudgetError, match=r"objects: 4 objects, more than this server allows \(3, --max-objects\)"):
        annotate(engine, gif, _request(4), budget=Budget(max_objects=3))
    with pytest.raises(BudgetError, match=r"2 objects over 5 frames is 10 object-frames.*\(9, --max-object-frames\)"):
        annotate(engine, gif, _request(2), budget=Budget(max_object_frames=9))
    labels = annotate(engine, gif, _request(2), budget=Budget(max_object_frames=10))
    assert [o.id for o in labels.objects] == [1, 2]


def test_the_time_limit_stops_a_request_between_steps(engine, tmp_path):
    gif = _gif(tmp_path / "slow.gif", (64, 48), 5)
    with pytest.raises(BudgetError, match=r"took longer than this server allows \(0 s, --max-seconds\)"):
        annotate(engine, gif, _request(1), budget=Budget(max_seconds=0.0))


def test_defaults_are_sized_to_the_machine():
    small, large = Budget.for_machine(2 << 30), Budget.for_machine(64 << 30)
    assert small.max_object_frames == 10_000 and large.max_object_frames == 40_000
    assert small.max_objects == large.max_objects == Budget().max_objects
    assert np.isfinite(small.max_seconds)


def test_studio_uploads_are_checked_against_the_budget_too(tmp_path):
    from eoras_core.media import LoadCaps
    from ui.scene_loading import open_any

    gif = _gif(tmp_path / "upload.gif", (2000, 2000), 4)
    with pytest.raises(BudgetError, match=r"upload.gif: 4 frames of 2000x2000 .* --max-source-pixels"):
        open_any(gif, LoadCaps(), Budget(max_source_pixels=10_000_000))
    assert len(open_any(gif, LoadCaps(max_frames=2), Budget(max_source_pixels=10_000_000)).frames) == 2   # 2 frames fit
