"""The real studio in headless Debian Chromium: exact boxes at two window sizes and two clip
sizes, calm errors, a layout that fits one screen, previews, keys, plots and panels."""
import io
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WINDOWS = [(1366, 768), (1920, 1080)]
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)")
SHOTS = Path(os.environ.get("EORAS_SHOTS", "/tmp/eoras_shots"))

CONTENT_JS = """() => { const img = document.querySelector('#frame img');
    if (!img || !img.complete || !(img.naturalWidth > 0)) return null;
    const r = img.getBoundingClientRect();
    const s = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
    const cw = img.naturalWidth * s, ch = img.naturalHeight * s;
    return {left: r.left + (r.width - cw) / 2, top: r.top + (r.height - ch) / 2, width: cw, height: ch,
            boxLeft: r.left, boxTop: r.top, boxWidth: r.width, boxHeight: r.height}; }"""


def std_of(png: bytes) -> float:
    """Standard deviation of a screenshot's pixels: a blank page is ~0."""
    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32).std())


def frame_src(page) -> str:
    return page.evaluate("() => document.querySelector('#frame img')?.src || ''")


def wait_until(predicate, timeout: float = 60.0, what: str = "condition"):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def newest_session(ctx):
    """The session that opened a clip last (each test opens its own right before asking)."""
    sessions = list(ctx.store._sessions.values())
    return max(sessions, key=lambda s: s.clip_key or ("", 0))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def open_page(browser, studio, size):
    url, _ = studio
    pg = browser.new_page(viewport={"width": size[0], "height": size[1]})
    pg.set_default_timeout(90_000)
    pg.goto(url, wait_until="domcontentloaded")
    pg.wait_for_selector("#scrub input[type=range]")
    return pg


def open_demo(pg):
    pg.click("#open-demo")
    pg.wait_for_function("document.querySelector('#info')?.innerText.includes('MOVi scene')")
    pg.wait_for_function("document.querySelector('#frame img')?.naturalWidth > 0")


def upload(pg, path: Path):
    pg.set_input_files("#upload input[type=file]", str(path))
    pg.wait_for_function(f"document.querySelector('#info')?.innerText.includes('{path.name}')")
    pg.wait_for_function("document.querySelector('#frame img')?.naturalWidth > 0")


def content(pg) -> dict:
    """Where the frame's picture is drawn on the page (once the current image has loaded)."""
    return pg.wait_for_function(CONTENT_JS).json_value()


def aim(pg, x: float, y: float, size_hw: tuple[int, int]) -> tuple[float, float]:
    """Page position of frame pixel (x, y) of a clip stored at size_hw."""
    c = content(pg)
    H, W = size_hw
    return c["left"] + x / W * c["width"], c["top"] + y / H * c["height"]


def tolerance(pg, size_hw) -> float:
    """1 source pixel, or 1 displayed pixel in source units where the frame is shown smaller."""
    c = content(pg)
    return max(1.0, size_hw[1] / c["width"])


def toast_text(pg) -> str:
    return pg.evaluate("() => Array.from(document.querySelectorAll('.toast-body')).map(e => e.innerText).join(' | ')")


def error_badges(pg) -> int:
    return pg.evaluate("() => Array.from(document.querySelectorAll('.error')).filter(e => e.offsetParent).length")


def hd_video(tmp: Path) -> Path:
    """A 1920x1080 clip (textured, moving) written with the project's encoder."""
    from eoras_core.media import write_video

    rng = np.random.default_rng(0)
    base = (rng.random((135, 240, 3)) * 255).astype(np.uint8)
    frames = []
    for t in range(6):
        f = np.kron(base, np.ones((8, 8, 1), np.uint8))
        frames.append(np.roll(f, 12 * t, axis=1))
    return write_video(tmp / "hd_1080p.mp4", frames, 25.0)


@pytest.mark.parametrize("size", WINDOWS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_boxes_land_where_aimed_on_the_demo_clip(browser, studio, size):
    _, ctx = studio
    pg = open_page(browser, studio, size)
    open_demo(pg)
    s = newest_session(ctx)
    hw = s.size
    tol = tolerance(pg, hw)
    # Two clicks, right after opening the clip, make a new object's box.
    for x, y in ((40.5, 50.5), (120.5, 140.5)):
        pg.mouse.click(*aim(pg, x, y, hw))
    wait_until(lambda: any(o.keyframes for o in s.objects.values()), what="a stored box")
    box = next(o for o in s.objects.values() if o.keyframes).keyframes[0]
    np.testing.assert_allclose(box, (40.5, 50.5, 120.5, 140.5), atol=tol)
    # A drag works too, and a press outside the picture clamps to its edge.
    c = content(pg)
    start = aim(pg, 150.5, 160.5, hw)
    pg.mouse.move(*start)
    pg.mouse.down()
    pg.mouse.move(start[0] + 40, start[1] + 40, steps=4)
    pg.mouse.move(c["left"] + c["width"] + 30, c["top"] + c["height"] + 30, steps=4)
    pg.mouse.up()
    wait_until(lambda: sum(bool(o.keyframes) for o in s.objects.values()) == 2, what="the dragged box")
    dragged = [o for o in s.objects.values() if o.keyframes][-1].keyframes[0]
    np.testing.assert_allclose(dragged, (150.5, 160.5, hw[1], hw[0]), atol=tol)
    # The preview's masks reach the page without pressing Segment.
    wait_until(lambda: len(s.previews) == 2, what="previews")
    pg.close()


@pytest.mark.parametrize("max_side", [960, 1920], ids=["capped-960", "full-1920"])
@pytest.mark.parametrize("size", WINDOWS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_boxes_land_where_aimed_on_a_1080p_video(browser, studio, size, max_side, tmp_path_factory):
    _, ctx = studio
    video = hd_video(tmp_path_factory.mktemp("hd"))
    pg = open_page(browser, studio, size)
    if max_side != 960:  # keep every pixel: the frame is then shown smaller than its size
        pg.get_by_text("Decoding caps (long or large videos)").click()
        field = pg.locator("#cap-max-side input")
        field.wait_for(state="visible")

        def typed() -> bool:  # the folded panel may still be filling in its defaults: retry until it sticks
            field.fill(str(max_side))
            field.press("Enter")
            pg.wait_for_timeout(300)
            return field.input_value() == str(max_side)

        wait_until(typed, timeout=20, what="the max side field to take the new value")
    upload(pg, video)
    s = newest_session(ctx)
    hw = s.size
    assert hw == (max_side * 9 // 16, max_side)
    tol = tolerance(pg, hw)
    aimed = tuple(v * max_side / 960 for v in (101.0, 87.0, 603.0, 402.0))
    pg.mouse.click(*aim(pg, aimed[0], aimed[1], hw))
    pg.mouse.click(*aim(pg, aimed[2], aimed[3], hw))
    wait_until(lambda: any(o.keyframes for o in s.objects.values()), what="a stored box")
    np.testing.assert_allclose(next(iter(s.objects.values())).keyframes[0], aimed, atol=tol)
    pg.close()


@pytest.mark.parametrize("size", WINDOWS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_layout_fits_one_screen(browser, studio, size):
    pg = open_page(browser, studio, size)
    open_demo(pg)
    time.sleep(0.5)
    for sel in ("#frame img", "#scrub input[type=range]", "#play-btn", "#object-select", "#box-mode", "#layers",
                "#segment-btn", "#status"):
        r = pg.evaluate(f"() => {{ const r = document.querySelector('{sel}').getBoundingClientRect();"
                        " return [r.top, r.bottom, r.left, r.right, innerHeight, innerWidth]; }")
        assert r[0] >= 0 and r[1] <= r[4] + 1 and r[2] >= 0 and r[3] <= r[5] + 1, (sel, r)
    # The timeline caption sits under the timeline, not on it.
    tl, cap = pg.evaluate("""() => [document.querySelector('#timeline img').getBoundingClientRect().bottom,
        document.querySelector('.eoras-caption').getBoundingClientRect().top]""")
    assert cap >= tl - 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = pg.screenshot(path=str(SHOTS / f"studio_{size[0]}x{size[1]}.png"))
    assert std_of(png) > 20
    frame_png = pg.locator("#frame img").screenshot()
    assert std_of(frame_png) > 20
    pg.close()


def test_mistakes_leave_the_page_as_it_was(browser, studio, caplog, monkeypatch):
    _, ctx = studio
    pg = open_page(browser, studio, WINDOWS[0])
    pg.click("#segment-btn")  # before any clip
    wait_until(lambda: "Load a clip" in toast_text(pg), what="the no-clip toast")
    upload(pg, Path(__file__).resolve().parent.parent / "assets" / "demo_clips" / "movilite_2.mp4")
    s = newest_session(ctx)
    src = frame_src(pg)
    cases = [("#segment-btn", "Add an object first"), ("#recentre", "Select an object"),
             ("#del-key", "Select an object")]
    for button, text in cases:
        pg.click(button)
        wait_until(lambda text=text: text in toast_text(pg), what=f"the toast for {button}")
        time.sleep(0.3)
        assert error_badges(pg) == 0 and frame_src(pg) == src
    # The next click still works.
    hw = s.size
    pg.mouse.click(*aim(pg, 20, 20, hw))
    pg.mouse.click(*aim(pg, 90, 100, hw))
    wait_until(lambda: len(s.objects) == 1, what="a box after the mistakes")
    wait_until(lambda: frame_src(pg) != src, what="the frame to show the box")
    src = frame_src(pg)
    pg.click("#guide")  # keys go to the page, not to a field
    pg.keyboard.press("ArrowRight")  # the keyframe is on frame 0 only
    wait_until(lambda: pg.evaluate("document.querySelector('#scrub input[type=range]').value") == "1", what="frame 1")
    pg.click("#del-key")
    wait_until(lambda: "no keyframe on frame 1" in toast_text(pg), what="the keyframe toast")
    pg.click("#recentre")
    wait_until(lambda: "Segment object 1 first" in toast_text(pg), what="the re-centre toast")
    assert error_badges(pg) == 0
    # An unexpected failure: logged with its traceback, one short message, nothing lost.
    import ui.actions

    def broken(*args, **kwargs):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(ui.actions, "selected_object", broken)
    with caplog.at_level(logging.ERROR, logger="ui.context"):
        pg.click("#recentre")
        wait_until(lambda: "Something went wrong" in toast_text(pg), what="the unexpected-error toast")
    assert "simulated fault" in caplog.text and "Traceback" in caplog.text
    assert "simulated fault" not in toast_text(pg)
    monkeypatch.undo()
    assert error_badges(pg) == 0 and len(s.objects) == 1 and s.objects[1].keyframes
    pg.close()


def test_segment_keys_panels_and_plot_clicks(browser, studio):
    _, ctx = studio
    pg = open_page(browser, studio, WINDOWS[1])
    open_demo(pg)
    s = newest_session(ctx)
    pg.click("#segment-btn")
    wait_until(lambda: "Segmented" in pg.evaluate("document.querySelector('#status textarea').value"),
               timeout=180, what="Segment to finish")
    assert len(s.results) == len(s.objects) == 9
    # Keys step the frame; a burst coalesces to its last frame.
    pg.click("#guide")
    for _ in range(5):
        pg.keyboard.press("ArrowRight")
    wait_until(lambda: "frame 5 /" in pg.inner_text("#frame-label"), what="frame 5 label")
    assert pg.evaluate("document.querySelector('#scrub input[type=range]').value") == "5"
    # Every layer on, then the BEV and slot panels show figures for the selected object.
    pg.evaluate("""() => document.querySelectorAll('#layers input[type=checkbox]').forEach(c => { if (!c.checked) c.click(); })""")
    pg.get_by_role("tab", name="BEV").click()
    pg.wait_for_selector("#bev-plot .js-plotly-plot", state="attached")
    pg.get_by_role("tab", name="Slots").click()
    pg.wait_for_selector("#slot-plot .js-plotly-plot", state="attached")
    # Plots: a click on a point jumps to its frame.
    pg.get_by_role("tab", name="Plots").click()
    pg.click("#plots-refresh")
    pg.wait_for_selector("#plots .js-plotly-plot .points path")
    target = pg.evaluate("""() => { const pts = Array.from(document.querySelectorAll('#plots .points path'));
        const p = pts.find(e => e.__data__ && e.__data__.x === 12) || pts[Math.floor(pts.length / 2)];
        p.scrollIntoView(); const r = p.getBoundingClientRect();
        return {x: p.__data__.x, cx: r.left + r.width / 2, cy: r.top + r.height / 2}; }""")
    pg.mouse.click(target["cx"], target["cy"])
    wait_until(lambda: pg.evaluate("document.querySelector('#scrub input[type=range]').value") == str(target["x"]),
               what="the plot click to move the slider")
    wait_until(lambda: f"frame {target['x']} /" in pg.inner_text("#frame-label"), what="the frame to follow")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / "studio_segmented_full.png"), full_page=True)
    pg.close()


def test_undo_redo_keys_and_review_marks(browser, studio):
    _, ctx = studio
    pg = open_page(browser, studio, WINDOWS[0])
    upload(pg, Path(__file__).resolve().parent.parent / "assets" / "demo_clips" / "movilite_3.mp4")
    s = newest_session(ctx)
    pg.mouse.click(*aim(pg, 30, 30, s.size))
    pg.mouse.click(*aim(pg, 120, 110, s.size))
    wait_until(lambda: len(s.objects) == 1, what="the box")
    pg.keyboard.press("v")  # reviewed
    wait_until(lambda: s.objects[1].reviewed == {0}, what="the review mark")
    wait_until(lambda: "reviewed 1/" in pg.inner_text("#frame-label"), what="the coverage in the caption")
    pg.keyboard.press("Control+z")
    wait_until(lambda: not s.objects[1].reviewed, what="undo of the review mark")
    pg.keyboard.press("Control+z")
    wait_until(lambda: not s.objects, what="undo of the box")
    pg.keyboard.press("Control+y")
    wait_until(lambda: len(s.objects) == 1 and s.objects[1].keyframes, what="redo of the box")
    wait_until(lambda: "Redid: box." in pg.evaluate("document.querySelector('#status textarea').value"),
               what="the status to say what was redone")
    assert error_badges(pg) == 0
    pg.close()


def test_brush_strokes_undo_redo_and_exact_boxes_when_zoomed(browser, studio):
    _, ctx = studio
    pg = open_page(browser, studio, WINDOWS[1])
    upload(pg, Path(__file__).resolve().parent.parent / "assets" / "demo_clips" / "movilite_3.mp4")
    s = newest_session(ctx)
    hw = s.size
    pg.mouse.click(*aim(pg, 60, 60, hw))
    pg.mouse.click(*aim(pg, 160, 170, hw))
    wait_until(lambda: len(s.objects) == 1, what="the box")
    pg.click("#guide")
    pg.keyboard.press("b")  # brush
    pg.wait_for_function("document.querySelector('#edit-tool input[value=brush]').checked")
    pg.mouse.move(*aim(pg, 20, 20, hw))
    pg.mouse.down()
    for x in range(25, 60, 5):
        pg.mouse.move(*aim(pg, x, 20, hw))
    pg.mouse.up()
    wait_until(lambda: s.edits.current(1, 0, "visible") is not None, what="the stroke to reach the masks")
    painted = s.edits.current(1, 0, "visible")
    assert painted[20, 20:55].all() and s.edits.current(1, 0, "amodal")[20, 20:55].all()
    pg.keyboard.press("Control+z")
    wait_until(lambda: s.edits.current(1, 0, "visible") is None, what="undo of the stroke")
    pg.keyboard.press("Control+y")
    wait_until(lambda: s.edits.current(1, 0, "visible") is not None, what="redo of the stroke")
    np.testing.assert_array_equal(s.edits.current(1, 0, "visible"), painted)
    # Zoomed in, a box still lands where it was aimed.
    pg.keyboard.press("b")  # back to boxes
    pg.wait_for_function("document.querySelector('#edit-tool input[value=box]').checked")
    pg.mouse.move(*aim(pg, 128, 128, hw))
    for _ in range(3):
        pg.mouse.wheel(0, -100)
    wait_until(lambda: "scale" in pg.evaluate("document.querySelector('#frame img').style.transform"), what="zoom")
    tol = tolerance(pg, hw)
    assert tol == 1.0
    pg.mouse.click(*aim(pg, 110.5, 100.5, hw))
    pg.mouse.click(*aim(pg, 150.5, 140.5, hw))
    wait_until(lambda: len(s.objects) == 2, what="the box drawn while zoomed")
    np.testing.assert_allclose(s.objects[2].keyframes[0], (110.5, 100.5, 150.5, 140.5), atol=tol)
    pg.close()


def test_polygon_tool_fills_the_amodal_mask(browser, studio):
    _, ctx = studio
    pg = open_page(browser, studio, WINDOWS[0])
    upload(pg, Path(__file__).resolve().parent.parent / "assets" / "demo_clips" / "movilite_2.mp4")
    s = newest_session(ctx)
    hw = s.size
    pg.mouse.click(*aim(pg, 60, 60, hw))
    pg.mouse.click(*aim(pg, 180, 180, hw))
    wait_until(lambda: len(s.objects) == 1, what="the box")
    pg.click("#guide")
    pg.keyboard.press("p")
    pg.wait_for_function("document.querySelector('#edit-tool input[value=polygon]').checked")
    pg.locator("#paint-target input[value=amodal]").check()
    for x, y in ((100, 100), (160, 100), (160, 150), (100, 150)):
        pg.mouse.click(*aim(pg, x, y, hw))
        pg.wait_for_timeout(150)
    pg.keyboard.press("Enter")
    wait_until(lambda: s.edits.current(1, 0, "amodal") is not None, what="the polygon")
    amo, vis = s.edits.current(1, 0, "amodal"), s.edits.current(1, 0, "visible")
    assert amo[101:149, 101:159].all() and not (vis & ~amo).any()
    pg.close()
