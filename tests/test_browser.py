"""The real studio in headless Debian Chromium: open a demo, draw a box, segment, scrub, toggle, panels."""
import io
import os
import time

import numpy as np
import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)")


def not_blank(png: bytes) -> float:
    """Standard deviation of the screenshot's pixels: a blank page is ~0."""
    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32).std())


def frame_src(page) -> str:
    return page.evaluate("() => document.querySelector('#frame img')?.src || ''")


def wait_new_frame(page, old: str, timeout: float = 30.0) -> str:
    end = time.time() + timeout
    while time.time() < end:
        src = frame_src(page)
        if src and src != old:
            return src
        time.sleep(0.05)
    raise AssertionError("the frame image did not change")


def set_slider(page, value: int) -> None:
    page.evaluate("""(v) => { const r = document.querySelector('#scrub input[type=range]');
        r.value = String(v); r.dispatchEvent(new Event('input', {bubbles: true})); }""", value)


@pytest.fixture(scope="module")
def page(studio_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1600})
        pg.set_default_timeout(90_000)
        pg.goto(studio_url, wait_until="domcontentloaded")
        pg.wait_for_selector("#scrub input[type=range]")
        yield pg
        browser.close()


def test_studio_end_to_end(page, tmp_path):
    pg = page
    pg.click("#open-demo")
    pg.wait_for_function("document.querySelector('#info textarea').value.includes('MOVi scene')")
    pg.wait_for_function("document.querySelector('#frame img')?.src?.length > 0")
    first = frame_src(pg)

    # Add an object with two clicks on the frame image.
    img = pg.locator("#frame img")
    box = img.bounding_box()
    pg.click("#click-mode label:has-text('New object')")
    img.click(position={"x": box["width"] * 0.30, "y": box["height"] * 0.30})
    pg.wait_for_function("document.querySelector('#status textarea').value.includes('First corner')")
    # The box follows the mouse before the second click.
    pg.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.55)
    band = pg.evaluate("() => { const b = document.getElementById('box-band'); return b ? [b.offsetWidth, b.offsetHeight] : null; }")
    assert band is not None and band[0] > 20 and band[1] > 20
    img.click(position={"x": box["width"] * 0.60, "y": box["height"] * 0.65})
    pg.wait_for_function("document.querySelector('#status textarea').value.includes('Added object')")
    assert pg.evaluate("() => document.getElementById('box-band') === null")

    # Segment everything (ground-truth objects and the new one).
    pg.click("#segment-btn")
    pg.wait_for_function("document.querySelector('#status textarea').value.includes('Segmented')", timeout=240_000)
    segmented = wait_new_frame(pg, first)

    # Scrub: the slider drives the frame image and the label.
    set_slider(pg, 10)
    pg.wait_for_function("document.querySelector('#frame-label').innerText.includes('frame 10')")
    after_scrub = wait_new_frame(pg, segmented)
    pg.click("#next-btn")
    pg.wait_for_function("document.querySelector('#frame-label').innerText.includes('frame 11')")
    pg.keyboard.press("ArrowLeft")
    pg.wait_for_function("document.querySelector('#frame-label').innerText.includes('frame 10')")

    # Toggle every layer on, one by one: each toggle re-renders the frame.
    labels = pg.locator("#layers label")
    current = after_scrub
    for i in range(labels.count()):
        label = labels.nth(i)
        if label.locator("input").is_checked():
            continue
        label.click()
        current = wait_new_frame(pg, current)
    shot = pg.screenshot(path=str(tmp_path / "layers.png"), full_page=True)
    assert not_blank(shot) > 10

    # BEV and slot panels.
    pg.click("button[role=tab]:has-text('BEV')")
    pg.wait_for_function("document.querySelector('#bev-pca img')?.src?.length > 0")
    pg.click("button[role=tab]:has-text('Slots')")
    pg.wait_for_function("document.querySelectorAll('#slot-gallery img').length >= 8")
    pg.click("#slot-direction label:has-text('backward')")
    pg.wait_for_function("document.querySelector('#slot-assign img')?.src?.length > 0")
    shot = pg.locator("#slot-gallery").screenshot()
    assert not_blank(shot) > 5
    pg.click("button[role=tab]:has-text('Plots')")
    pg.click("#plots-refresh")
    pg.wait_for_selector("#plots .js-plotly-plot", timeout=60_000)
    frame_shot = pg.locator("#frame").screenshot()
    assert not_blank(frame_shot) > 10
