"""The dataset view's functions: open a cache (and a second to compare), open a row's track at
its worst frame with the cache's masks, the A|B frame, the plots' click-through data."""
from pathlib import Path

import numpy as np
import pytest
import torch

from eoras_core import build_eoras
from eoras_core.data.movi import DatasetError
from eoras_core.engine import EorasPredictor
from eoras_core.error_plots import COMPARE_PLOT, make_plot, plot_names, rows_behind
from eoras_core.export import rle_to_mask
from eoras_core.predictions import predict_split, read_video, write_manifest
from movi_fixture import write_rect_split
from ui.actions import open_clip
from ui.dataset import ERROR_LAYER, compare_image, default_cache, install_track, make_cache, open_dataset, open_video, worst_frame
from ui.dataset_table import Query, page_of
from ui.session import Session


def _cache(model, split: Path, out: Path, name: str) -> Path:
    predict_split(EorasPredictor(model), split, out, name, progress=False)
    write_manifest(out, split, name)
    return out


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    root = tmp_path_factory.mktemp("dsview")
    split = write_rect_split(root / "split", videos=3, T=6)
    torch.manual_seed(0)
    a = build_eoras("tiny").eval()
    torch.manual_seed(1)
    b = build_eoras("tiny").eval()
    return split, _cache(a, split, root / "A", "model A"), _cache(b, split, root / "B", "model B")


def test_open_dataset_reads_every_object_and_the_comparison(caches):
    split, a, b = caches
    ds = open_dataset(a, split, b)
    assert len(ds.rows) == 6 and ds.data == split and (ds.model, ds.model_b) == ("model A", "model B")
    assert ds.table.names[:7] == ("video", "object", "shape", "frames", "occlusion", "size", "miou_full_clean")
    assert "delta_full" in ds.table.names
    for r in ds.rows:
        assert r["delta_full"] == pytest.approx(r["miou_full_clean_b"] - r["miou_full_clean"])
    ranked = page_of(ds.table, Query(sort_by="delta_full"))
    deltas = [ds.rows[i]["delta_full"] for i in ranked.indices]
    assert deltas == sorted(deltas)                                    # regressions first


def test_a_folder_that_is_not_a_cache_gets_a_message(caches, tmp_path):
    split, a, _ = caches
    with pytest.raises(DatasetError, match="not a prediction cache"):
        open_dataset(tmp_path)
    other = write_rect_split(tmp_path / "other", videos=1, T=4)
    torch.manual_seed(0)
    c = _cache(build_eoras("tiny").eval(), other, tmp_path / "C", "model C")
    with pytest.raises(DatasetError, match="other videos"):
        open_dataset(a, split, c)


def test_a_row_opens_its_track_at_the_worst_frame_with_the_cache_masks(caches):
    split, a, b = caches
    ds = open_dataset(a, split, b)
    row = int(page_of(ds.table, Query()).indices[0])                   # the worst object
    r = ds.rows[row]
    s = Session()
    opened = open_video(ds, row)
    open_clip(s, opened, None)
    track = install_track(s, ds, row, opened)
    assert s.clip_name == r["video"] and s.objects[s.selected].gt_index == r["object"]
    assert ERROR_LAYER in s.view.layers and s.view.hidden == frozenset(i for i in s.objects if i != s.selected)
    f = worst_frame(ds, row, s)
    assert f == r["worst_frame"]
    record = next(o for o in read_video(a, r["video"])["objects"] if o["object"] == r["object"])
    want = rle_to_mask(record["amodal"][record["frames"].index(f)])
    np.testing.assert_array_equal(s.results[s.selected].amodal_mask(f), want)
    truth = s.gt.amodal[r["object"], f]
    iou = (want & truth).sum() / max(1, (want | truth).sum())
    assert iou == pytest.approx(r["worst_iou"], abs=1e-6)              # the table's number is this frame's
    # A | B side by side, B's masks from the second cache
    ab = compare_image(s, track, f)
    scale = int(np.ceil(200 / s.size[0]))                             # small scenes are drawn larger
    assert ab.shape == (s.size[0] * scale, 2 * s.size[1] * scale + 6, 3)
    other = next(o for o in read_video(b, r["video"])["objects"] if o["object"] == r["object"])
    np.testing.assert_array_equal(track.b.amodal_mask(f), rle_to_mask(other["amodal"][other["frames"].index(f)]))


def test_plots_carry_the_rows_behind_each_mark(caches):
    split, a, b = caches
    ds = open_dataset(a, split, b)
    d = ds.plots
    everything = np.arange(6)
    assert plot_names(True)[-1] == COMPARE_PLOT
    fig = make_plot("IoU vs occlusion", d)
    scatter = fig.data[0]
    for x, y, row in zip(scatter.x, scatter.y, scatter.customdata):
        assert (x, y) == pytest.approx((ds.rows[row]["occlusion"], ds.rows[row]["miou_full_clean"]))
    binned = fig.data[1]
    behind = [rows_behind(list(m), d, everything).tolist() for m in binned.customdata]
    assert sorted(i for rows in behind for i in rows) == list(range(6))          # every object in one bin
    for rows, mean in zip(behind, binned.y):
        assert mean == pytest.approx(np.mean([ds.rows[i]["miou_full_clean"] for i in rows]))
    kinds = make_plot("IoU per kind", d, np.array([0, 2, 4]))
    assert sorted(i for m in kinds.data[0].customdata for i in rows_behind(list(m), d, np.array([0, 2, 4]))) == [0, 2, 4]
    wrong = make_plot("Where the wrong pixels are", d)
    assert wrong.data[0].y[0] == sum(ds.rows[i]["missed_visible"] for i in range(6))
    firsts = [rows_behind(list(m), d, everything).tolist() for m in wrong.data[0].customdata]
    assert sorted(i for rows in firsts for i in rows) == [i for i in range(6) if sum(
        ds.rows[i][k] for k in ("missed_visible", "missed_hidden", "extra")) > 0]
    track = make_plot("Error over the track", d)
    worst = [rows_behind(list(m), d, everything).tolist() for m in track.data[0].customdata]
    for rows, m in zip(worst, track.data[0].customdata):
        for i in rows:
            ious = [2 if v is None else v for v in ds.rows[i]["iou_by_position"]]
            assert m[1] <= int(np.argmin(ious)) / (len(ious) - 1) < m[2]
    pair = make_plot(COMPARE_PLOT, d)
    for x, y, row in zip(pair.data[0].x, pair.data[0].y, pair.data[0].customdata):
        assert (x, y) == pytest.approx((ds.rows[row]["miou_full_clean"], ds.rows[row]["miou_full_clean_b"]))
    few = make_plot("IoU vs object size", d, None, max_points=2)
    worst_two = sorted(range(6), key=lambda i: ds.rows[i]["miou_full_clean"])[:2]
    assert sorted(few.data[0].customdata) == sorted(worst_two)
    assert rows_behind(3, d, everything).tolist() == [3] and rows_behind(["nonsense"], d, everything).size == 0


def test_the_studio_makes_a_missing_cache_and_resumes_it(caches, tmp_path):
    split, a, _ = caches
    torch.manual_seed(0)
    model = build_eoras("tiny").eval()
    target = default_cache(tmp_path, split, "model A")
    seen = []
    make_cache(model, split, target, "model A", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    ds = open_dataset(target)                                          # the split is found from the manifest
    assert ds.data == split.resolve() and len(ds.rows) == 6
    assert [r["miou_full_clean"] for r in ds.rows] == pytest.approx([r["miou_full_clean"] for r in open_dataset(a).rows])
    seen.clear()
    make_cache(model, split, target, "model A", progress=lambda done, total: seen.append((done, total)))
    assert seen == []                                                  # nothing left to do
