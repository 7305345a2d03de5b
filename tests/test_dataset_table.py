"""The dataset view's table: filters, sorts and pages over many objects, only a page out."""
import numpy as np

from ui.dataset_table import COLUMNS, ObjectTable, Query, page, select


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    shapes = ["cube", "sphere", "cone", "torus"]
    rows = []
    for i in range(n):
        occ = float(rng.uniform(0, 0.9))
        full = float(np.clip(0.95 - 0.5 * occ + rng.normal(0, 0.05), 0, 1))
        rows.append({"video": f"video_{i // 7:05d}", "object": i % 7, "shape": shapes[i % 4], "frames": 24,
                     "occlusion": occ, "size": float(rng.uniform(100, 20000)), "miou_full_clean": full,
                     "miou_occ_clean": None if occ < 0.05 else float(rng.uniform(0, 1)), "miou_full": full,
                     "miou_occ": 0.1, "worst_frame": int(rng.integers(24))})
    return rows


def test_filters_sort_and_page():
    rows = synthetic_rows(500)
    table = ObjectTable.from_rows(rows)
    q = Query(occlusion=("heavy (>= 0.6)",), shapes=("cube", "cone"), iou_full=(0.0, 0.8), page_size=20)
    idx = select(table, q)
    want = [i for i, r in enumerate(rows) if r["occlusion"] >= 0.6 and r["shape"] in ("cube", "cone")
            and r["miou_full_clean"] <= 0.8]
    assert sorted(idx.tolist()) == want
    ious = [rows[i]["miou_full_clean"] for i in idx]
    assert ious == sorted(ious)                                   # worst first by default
    shown, total = page(table, q)
    assert total == len(want) and len(shown) == min(20, total) and len(shown[0]) == len(COLUMNS)
    second, _ = page(table, Query(**{**q.__dict__, "page": 1}))
    assert total > 40 and len(second) == 20
    assert (second[0][0], second[0][1]) == (rows[idx[20]]["video"], rows[idx[20]]["object"])
    by_video = select(table, Query(videos=("video_00003",), sort_by="object", descending=True))
    assert [rows[i]["object"] for i in by_video] == [6, 5, 4, 3, 2, 1, 0]


def test_undefined_occluded_iou_passes_filters_and_sorts_last():
    rows = synthetic_rows(200, seed=1)
    table = ObjectTable.from_rows(rows)
    idx = select(table, Query(iou_occ=(0.5, 1.0), sort_by="miou_occ_clean"))
    values = [rows[i]["miou_occ_clean"] for i in idx]
    defined = [v for v in values if v is not None]
    assert defined == sorted(defined) and all(v >= 0.5 for v in defined)
    assert values[len(defined):] == [None] * (len(values) - len(defined)) and len(defined) < len(values)
    shown, _ = page(table, Query(sort_by="miou_occ_clean", descending=True, page_size=len(rows)))
    assert shown[-1][COLUMNS.index("miou_occ_clean")] is None     # still last when descending
