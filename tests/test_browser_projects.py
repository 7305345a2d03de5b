"""Projects through the real app process (`python app.py --projects DIR`) in headless Chromium:
an edit survives undo, redo and a page reload, and a server killed with SIGKILL loses
nothing the page had shown as applied."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import _free_port
from test_browser import CHROMIUM, WINDOWS, browser, error_badges, wait_until  # noqa: F401 (browser: a fixture)

ROOT = Path(__file__).resolve().parent.parent
CLIPS = ROOT / "assets" / "demo_clips"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)")


class AppProcess:
    """The studio as a user starts it, in its own process."""

    def __init__(self, projects: Path, log: Path, host: str = "127.0.0.1") -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "app.py", "--projects", str(projects), "--no-browser",
                                      "--port", str(self.port), "--host", host],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        end = time.time() + 180
        while time.time() < end:
            assert self.proc.poll() is None, f"the app exited early; see {log}"
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"the app did not start; see {log}")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    return tmp_path_factory.mktemp("projects")


def page_of(browser, app: AppProcess, size=WINDOWS[0]):
    pg = browser.new_page(viewport={"width": size[0], "height": size[1]})
    pg.set_default_timeout(90_000)
    pg.goto(app.url, wait_until="domcontentloaded")
    pg.wait_for_selector("#scrub input[type=range]")
    return pg


def upload(pg, path: Path, says: str = "") -> None:
    pg.set_input_files("#upload input[type=file]", str(path))
    pg.wait_for_function(f"document.querySelector('#info')?.innerText.includes('{path.name}')")
    pg.wait_for_function("document.querySelector('#frame img')?.naturalWidth > 0")
    if says:
        pg.wait_for_function(f"document.querySelector('#status textarea')?.value.includes({json.dumps(says)})")


def at(pg, x: float, y: float, size: int = 256) -> tuple[float, float]:
    """Page position of pixel (x, y) of a square clip of `size` pixels."""
    r = pg.wait_for_function("""() => { const img = document.querySelector('#frame img');
        if (!img || !img.complete || !(img.naturalWidth > 0)) return null;
        const r = img.getBoundingClientRect(), s = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
        const cw = img.naturalWidth * s, ch = img.naturalHeight * s;
        return {left: r.left + (r.width - cw) / 2, top: r.top + (r.height - ch) / 2, width: cw, height: ch}; }""").json_value()
    return r["left"] + x / size * r["width"], r["top"] + y / size * r["height"]


def caption(pg) -> str:
    return pg.inner_text("#frame-label")


def project_doc(projects: Path, clip: str) -> dict:
    (pj,) = projects.glob(f"{Path(clip).stem}-*/project.json")
    return json.loads(pj.read_text())


def box_and_stroke(pg) -> None:
    pg.mouse.click(*at(pg, 60, 60))
    pg.mouse.click(*at(pg, 170, 170))
    pg.wait_for_function("document.querySelector('#frame-label')?.innerText.includes('selected:')")
    pg.click("#guide")
    pg.keyboard.press("b")  # brush
    pg.wait_for_function("document.querySelector('#edit-tool input[value=brush]').checked")
    pg.mouse.move(*at(pg, 20, 20))
    pg.mouse.down()
    for x in range(25, 70, 5):
        pg.mouse.move(*at(pg, x, 22))
    pg.mouse.up()
    wait_until(lambda: "visible human" in caption(pg), what="the stroke in the caption")


def test_an_edit_survives_undo_redo_and_a_page_reload(browser, projects, tmp_path):
    app = AppProcess(projects, tmp_path / "app.log")
    try:
        pg = page_of(browser, app)
        assert str(projects) in pg.inner_text("#projects-root")
        clip = CLIPS / "movilite_3.mp4"
        upload(pg, clip)
        box_and_stroke(pg)
        wait_until(lambda: "✓ saved" in caption(pg), what="the saved indicator")
        assert project_doc(projects, clip.name)["objects"][0]["human_masks"] == [0]
        pg.keyboard.press("Control+z")
        wait_until(lambda: project_doc(projects, clip.name)["objects"][0]["human_masks"] == [], what="undo on disk")
        pg.keyboard.press("Control+y")
        wait_until(lambda: project_doc(projects, clip.name)["objects"][0]["human_masks"] == [0], what="redo on disk")
        wait_until(lambda: "visible human" in caption(pg), what="the redone stroke")
        pg.reload(wait_until="domcontentloaded")
        pg.wait_for_selector("#scrub input[type=range]")
        # The recent list offers the project; reopening it brings the edit back.
        pg.click("#recent-projects input")
        pg.get_by_role("option", name="movilite_3.mp4", exact=False).first.click()
        pg.click("#reopen-project")
        pg.wait_for_function("document.querySelector('#status textarea')?.value.includes('Reopened its project')")
        assert "1 object(s), 2 corrected mask(s)" in pg.evaluate("document.querySelector('#status textarea').value")
        wait_until(lambda: "visible human" in caption(pg) and "amodal human" in caption(pg), what="the edit after reload")
        assert error_badges(pg) == 0
        pg.close()
    finally:
        app.kill()


def test_sigkill_loses_nothing_that_was_shown_applied(browser, projects, tmp_path):
    clip = CLIPS / "movilite_2.mp4"
    app = AppProcess(projects, tmp_path / "first.log")
    pg = page_of(browser, app, WINDOWS[1])
    upload(pg, clip)
    box_and_stroke(pg)
    pg.keyboard.press("h")  # hidden on frame 0 ...
    wait_until(lambda: "hidden" in caption(pg), what="the hidden mark")
    pg.keyboard.press("h")  # ... and not hidden again
    pg.keyboard.press("v")  # reviewed
    wait_until(lambda: "reviewed 1/" in caption(pg) and " · hidden" not in caption(pg), what="the review mark")
    app.kill()  # no shutdown, no flush: whatever the page showed must already be on disk
    pg.close()
    doc = project_doc(projects, clip.name)
    (obj,) = doc["objects"]
    assert obj["reviewed"] == [0] and obj["hidden"] == [] and obj["human_masks"] == [0] and "0" in obj["keyframes"]

    again = AppProcess(projects, tmp_path / "second.log")  # the dead process's folder lock went with it
    try:
        pg = page_of(browser, again)
        upload(pg, clip, says="Reopened its project")
        wait_until(lambda: "reviewed ✓" in caption(pg) and "visible human" in caption(pg), what="marks and edit")
        assert "1 object(s), 2 corrected mask(s), 1 reviewed frame(s)" in pg.evaluate(
            "document.querySelector('#status textarea').value")
        pg.close()
    finally:
        again.kill()


def test_a_public_studio_keeps_each_browsers_projects_apart(browser, tmp_path):
    """Listening beyond localhost, a project belongs to the browser (its local-storage key)
    that made it: the same upload from another browser starts a project of its own."""
    projects = tmp_path / "public"
    app = AppProcess(projects, tmp_path / "public.log", host="0.0.0.0")
    clip = CLIPS / "movilite_1.mp4"
    try:
        size = {"width": 1366, "height": 768}
        alice, bob = browser.new_context(viewport=size), browser.new_context(viewport=size)   # separate local storage
        pages = []
        for ctx in (alice, bob):
            pg = ctx.new_page()
            pg.set_default_timeout(90_000)
            pg.goto(app.url, wait_until="domcontentloaded")
            pg.wait_for_selector("#scrub input[type=range]")
            pg.wait_for_function("localStorage.getItem('eoras-studio-browser') !== null")  # the browser's key
            upload(pg, clip, says="Opened movilite_1.mp4")
            pages.append(pg)
        box_and_stroke(pages[0])
        folders = sorted(projects.glob("browsers/*/movilite_1-*"))
        assert len(folders) == 2 and folders[0].name == folders[1].name
        docs = sorted(len(json.loads((f / "project.json").read_text())["objects"]) for f in folders)
        assert docs == [0, 1]   # Bob's project did not get Alice's object
        # Alice, back after a reload, finds her own work; Bob's copy stays empty.
        pages[0].reload(wait_until="domcontentloaded")
        pages[0].wait_for_selector("#scrub input[type=range]")
        upload(pages[0], clip, says="Reopened its project: 1 object(s)")
        pages[1].reload(wait_until="domcontentloaded")
        pages[1].wait_for_selector("#scrub input[type=range]")
        upload(pages[1], clip, says="Reopened its project: 0 object(s)")
        alice.close()
        bob.close()
    finally:
        app.kill()
