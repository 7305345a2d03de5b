"""The dataset view in headless Chromium: sort, filter, click a row and land on its worst frame
with the error layer on; a plot mark lists the objects behind it; A | B frames when comparing."""
import os
import time

import numpy as np
import pytest
import torch

from conftest import _free_port
from eoras_core import build_eoras
from eoras_core.engine import EorasPredictor
from eoras_core.error_plots import rows_behind
from eoras_core.predictions import predict_split, write_manifest
from movi_fixture import write_rect_split
from test_browser import CHROMIUM, WINDOWS, browser, wait_until  # noqa: F401 (browser: a fixture)

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)")


def _cache(seed, split, out):
    torch.manual_seed(seed)
    model = build_eoras("tiny").eval()
    predict_split(EorasPredictor(model), split, out, f"tiny seed {seed}", progress=False)
    write_manifest(out, split, f"tiny seed {seed}")
    return out, model


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from ui.app import CSS, KEYS_JS, build_studio
    from ui.dataset import open_dataset
    from ui.projects import ProjectStore

    root = tmp_path_factory.mktemp("dsbrowser")
    split = write_rect_split(root / "split", videos=4, T=6)
    a, model = _cache(0, split, root / "A")
    b, _ = _cache(1, split, root / "B")
    ds = open_dataset(a, split, b)
    projects = ProjectStore(root / "projects")
    app, ctx = build_studio(model, None, projects=projects, dataset=ds, datasets_local=True)
    port = _free_port()
    app.queue(default_concurrency_limit=1).launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                                                  js=KEYS_JS, css=CSS, run_history=False, quiet=True)
    yield f"http://127.0.0.1:{port}/", ctx, ds, split
    app.close()


def open_page(browser, url, size=(1366, 768)):
    """A new tab on the studio, once the dataset table is shown."""
    pg = browser.new_page(viewport={"width": size[0], "height": size[1]})
    pg.set_default_timeout(90_000)
    pg.goto(url, wait_until="domcontentloaded")
    pg.wait_for_selector("#dataset-table [data-testid='cell-0-0']")
    return pg


def cell(pg, row: int, col: int) -> str:
    return pg.locator(f"#dataset-table [data-testid='cell-{row}-{col}']").inner_text().strip()


def table_column(pg, col: int, rows: int) -> list[str]:
    return [cell(pg, r, col) for r in range(rows)]


def session_of(ctx):
    return max(ctx.store._sessions.values(), key=lambda s: s.clip_key or ("", 0))


@pytest.mark.parametrize("size", WINDOWS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sort_filter_and_open_the_worst_frame(browser, served, size):
    url, ctx, ds, _ = served
    pg = open_page(browser, url, size)
    assert "8 objects in 4 videos" in pg.locator("#dataset-summary").inner_text()
    # Comparing: sorted by the change B - A, regressions first.
    headers = pg.locator("#dataset-table thead th").all_inner_texts()
    delta_col = [h.strip() for h in headers].index("Δ full (B − A)")
    deltas = [float(v) for v in table_column(pg, delta_col, 8)]
    assert deltas == sorted(deltas)
    # Sort by clean IoU full, worst first, then descending.
    pg.click("#dataset-sort input")
    pg.locator("ul[role=listbox] li", has_text="IoU full (clean)").first.click()
    full_col = [h.strip() for h in headers].index("IoU full (clean)")
    want = sorted(round(r["miou_full_clean"], 3) for r in ds.rows)
    wait_until(lambda: [float(v) for v in table_column(pg, full_col, 8)] == want, 30, "the table sorted by IoU full")
    pg.locator("#dataset-descending input").check()
    wait_until(lambda: [float(v) for v in table_column(pg, full_col, 8)] == want[::-1], 30, "descending order")
    # Filter: only video_00002.
    pg.click("#dataset-videos input")
    pg.locator("ul[role=listbox] li", has_text="video_00002").first.click()
    pg.keyboard.press("Escape")
    wait_until(lambda: "2 shown by the filters" in pg.locator("#dataset-summary").inner_text(), 30, "the video filter")
    assert {cell(pg, r, 0) for r in range(2)} == {"video_00002"}
    assert pg.locator("#dataset-table [data-testid='cell-2-0']").count() == 0
    # Click the first row: its track opens at its worst frame with the error layer on.
    obj = int(cell(pg, 0, 1))
    row = next(i for i, r in enumerate(ds.rows) if r["video"] == "video_00002" and r["object"] == obj)
    pg.locator("#dataset-table [data-testid='cell-0-1']").click()
    worst = ds.rows[row]["worst_frame"]
    wait_until(lambda: pg.locator("#frame-label").inner_text().startswith(f"frame {worst} /"), 60, "the worst frame")
    assert pg.locator("#scrub input[type=range]").input_value() == str(worst)
    assert pg.locator("#layers label", has_text="error vs GT").locator("input").is_checked()
    s = session_of(ctx)
    assert s.clip_name == "video_00002" and s.objects[s.selected].gt_index == obj
    assert s.dataset_track.b is not None
    wait_until(lambda: pg.evaluate("() => document.querySelector('#dataset-compare-view img')?.src || ''"), 30,
               "the A | B frames")
    pg.close()


POINT_JS = """([trace, point]) => { const gd = document.querySelector('#dataset-plotly');
    const L = gd._fullLayout, r = gd.getBoundingClientRect(), c = gd.calcdata[trace][point];
    return {x: r.left + L._size.l + L.xaxis.c2p(c.x), y: r.top + L._size.t + L.yaxis.c2p(c.y),
            mark: gd._fullData[trace].customdata[point]}; }"""


def test_a_plot_mark_lists_the_objects_behind_it(browser, served):
    url, ctx, ds, _ = served
    pg = open_page(browser, url)
    pg.wait_for_selector("#dataset-plotly .scatterlayer .point")
    pg.locator("#dataset-plotly").scroll_into_view_if_needed()
    time.sleep(0.5)
    # The binned mean of the unoccluded objects: a click lists exactly them.
    mark = pg.evaluate(POINT_JS, [1, 0])
    behind = rows_behind(mark["mark"], ds.plots, np.arange(len(ds.rows))).tolist()
    assert sorted(behind) == sorted(i for i, r in enumerate(ds.rows) if r["occlusion"] < 0.1)
    pg.mouse.click(mark["x"], mark["y"])
    n = len(behind)
    wait_until(lambda: f"{n} shown by the filters" in pg.locator("#dataset-summary").inner_text(), 30,
               "the objects behind the mark")
    assert n < len(ds.rows) and pg.locator("#dataset-show-all").is_visible()
    shown = {(cell(pg, r, 0), int(cell(pg, r, 1))) for r in range(n)}
    assert shown == {(ds.rows[i]["video"], ds.rows[i]["object"]) for i in behind}
    pg.click("#dataset-show-all")
    wait_until(lambda: f"{len(ds.rows)} shown by the filters" in pg.locator("#dataset-summary").inner_text(), 30,
               "every object again")
    # A scatter point opens its object at its worst frame.
    pg.locator("#dataset-plot-choice label", has_text="IoU vs object size").click()
    wait_until(lambda: pg.evaluate("() => document.querySelector('#dataset-plotly')?.layout?.xaxis?.type")
               == "log", 30, "the size plot")
    pg.locator("#dataset-plotly").scroll_into_view_if_needed()
    time.sleep(0.5)
    count = pg.evaluate("() => document.querySelector('#dataset-plotly').calcdata[0].length")
    marks = [pg.evaluate(POINT_JS, [0, j]) for j in range(count)]
    apart = lambda m: min(((m["x"] - o["x"]) ** 2 + (m["y"] - o["y"]) ** 2 for o in marks if o is not m), default=1e9)  # noqa: E731
    mark = max(marks, key=apart)                          # the point farthest from the others: no doubt which is hit
    assert apart(mark) > 36
    want = mark["mark"]
    before = {id(s) for s in ctx.store._sessions.values() if s.dataset_track is not None}
    pg.mouse.click(mark["x"], mark["y"])
    opened = lambda: [s for s in ctx.store._sessions.values() if s.dataset_track is not None and id(s) not in before]  # noqa: E731
    s = wait_until(opened, 60, "a point opening its object")[0]
    assert s.dataset_track.row == want and s.clip_name == ds.rows[want]["video"]
    worst = ds.rows[want]["worst_frame"]
    wait_until(lambda: pg.locator("#frame-label").inner_text().startswith(f"frame {worst} /"), 60, "its worst frame")
    pg.close()


def test_a_local_page_opens_a_split_and_predicts_it_with_progress(browser, served):
    url, ctx, ds, split = served
    pg = open_page(browser, url)
    pg.click("#dataset-source")                                       # unfold "Open a split"
    pg.fill("#dataset-split textarea, #dataset-split input", str(split))
    pg.fill("#dataset-cache textarea, #dataset-cache input", "")
    pg.fill("#dataset-compare textarea, #dataset-compare input", "")
    pg.click("#dataset-open")
    wait_until(lambda: "model A studio model (tiny)" in pg.locator("#dataset-summary").inner_text(), 120,
               "the studio's own predictions")
    assert "8 objects in 4 videos" in pg.locator("#dataset-summary").inner_text()
    s = next(s for s in ctx.store._sessions.values() if s.dataset is not None)
    assert s.dataset.cache.parent == ctx.projects.root / "predictions" and s.dataset.compare is None
    assert [r["miou_full_clean"] for r in s.dataset.rows] == [r["miou_full_clean"] for r in ds.rows]  # model A again
    assert not pg.locator("#dataset-compare-view").is_visible()
    pg.close()
