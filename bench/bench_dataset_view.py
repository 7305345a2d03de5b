"""The dataset view at 10,000 objects: time per interaction, measured in the browser.

    python bench/bench_dataset_view.py [--rows 10000] [--repeats 5]

Serves the studio with a dataset of synthetic rows (the table's columns, per-frame IoUs and
wrong-pixel counts; no masks are needed to filter, sort, page or plot), drives it in headless
Chromium at 1366x768 and times each interaction from the user's action until the page shows
its answer (the table's first cell or the summary line changed, the plot redrawn), timed inside
the page so the driver's own latency is left out. The table is appended to bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, report  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    """Rows shaped like report.object_rows, with plausible correlations (IoU falls with occlusion)."""
    rng = np.random.default_rng(seed)
    shapes = ["cube", "sphere", "cylinder", "cone", "torus", "capsule", "icosphere", "rounded_box"]
    rows = []
    for i in range(n):
        occ = float(rng.beta(1.2, 3.0))
        full = float(np.clip(0.95 - 0.45 * occ + rng.normal(0, 0.06), 0, 1))
        T = 24
        ious = np.clip(full + rng.normal(0, 0.05, T), 0, 1)
        rows.append({"video": f"video_{i // 8:05d}", "object": i % 8, "shape": shapes[i % 8], "frames": T,
                     "occlusion": occ, "size": float(rng.lognormal(7, 1)), "miou_full_clean": full,
                     "miou_occ_clean": None if occ < 0.02 else float(np.clip(full - 0.4 + rng.normal(0, 0.1), 0, 1)),
                     "miou_full": full, "miou_occ": float(rng.uniform(0, 0.5)), "worst_frame": int(ious.argmin()),
                     "worst_iou": float(ious.min()), "missed_visible": int(rng.integers(0, 500)),
                     "missed_hidden": int(rng.integers(0, 800)), "extra": int(rng.integers(0, 600)),
                     "iou_by_position": ious.round(4).tolist(), "model": "synthetic"})
    return rows


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from ui.app import CSS, KEYS_JS, build_studio
    from ui.dataset import Dataset
    from eoras_core.error_plots import plot_data
    from ui.dataset_table import ObjectTable

    rows = synthetic_rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        ds = Dataset(None, Path(tmp), None, rows, ObjectTable.from_rows(rows), plot_data(rows), "synthetic")
        app, _ = build_studio(None, None, dataset=ds, datasets_local=False)
        port = _port()
        app.queue(default_concurrency_limit=1).launch(server_name="127.0.0.1", server_port=port,
                                                      prevent_thread_lock=True, js=KEYS_JS, css=CSS, quiet=True)
        times: dict[str, list[float]] = {}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
                pg = browser.new_page(viewport={"width": 1366, "height": 768})
                pg.set_default_timeout(60_000)
                pg.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                pg.wait_for_selector("#dataset-table [data-testid='cell-0-0']")
                pg.wait_for_selector("#dataset-plotly .main-svg")
                time.sleep(1.0)

                # Timed inside the page: from the click until the watched text changes (checked every
                # animation frame), so the driver's own latency is not counted.
                timer = """async ([target, text, watch]) => {
                    const el = Array.from(document.querySelectorAll(target)).find(e => e.innerText.includes(text)
                                                                                   || !text);
                    const read = {
                        summary: () => document.querySelector('#dataset-summary')?.innerText,
                        cell: () => document.querySelector("#dataset-table [data-testid='cell-0-6']")?.innerText,
                        plot: () => String(document.querySelector('#dataset-plotly')?._fullLayout?.xaxis?.title?.text),
                        plotdata: () => String(document.querySelector('#dataset-plotly')?.calcdata?.map(
                            c => c.length + ':' + c[0]?.y).join()),
                    }[watch];
                    const before = read(), t0 = performance.now();
                    (el.querySelector('input') || el).click();
                    while (read() === before) {
                        if (performance.now() - t0 > 30000) return -1;
                        await new Promise(r => requestAnimationFrame(r));
                    }
                    return performance.now() - t0; }"""

                def timed(name: str, target: str, text: str, watch: str) -> None:
                    ms = pg.evaluate(timer, [target, text, watch])
                    if ms < 0:
                        raise SystemExit(f"{name}: the page did not change within 30 s")
                    times.setdefault(name, []).append(ms)
                    time.sleep(0.3)

                for _ in range(args.repeats):
                    for _ in range(2):
                        timed("sort: descending on / off", "#dataset-descending", "", "cell")
                    for _ in range(2):
                        timed("filter: an occlusion bin on / off (table)", "#dataset-occlusion label", "heavy", "summary")
                        time.sleep(1.0)                     # the plot that follows, before the next click
                    for _ in range(2):
                        timed("filter: an occlusion bin on / off (plot redrawn)", "#dataset-occlusion label", "heavy",
                              "plotdata")
                    timed("next page", "#dataset-next", "", "summary")
                    timed("plot: IoU vs size / vs occlusion", "#dataset-plot-choice label", "IoU vs object size", "plot")
                    timed("plot: IoU vs size / vs occlusion", "#dataset-plot-choice label", "IoU vs occlusion", "plot")
                browser.close()
        finally:
            app.close()
    lines = ["| interaction | median ms | max ms | runs |", "|---|---|---|---|"]
    for name, ms in times.items():
        lines.append(f"| {name} | {statistics.median(ms):.0f} | {max(ms):.0f} | {len(ms)} |")
    table = "\n".join(lines) + (f"\n\n({args.rows:,} objects; each time runs from the click until the page shows the "
                                f"answer; the table sends {25} rows a page and the plots at most 300 points)")
    report(f"dataset view at {args.rows:,} objects, headless Chromium 1366x768, {platform.machine()} CPU",
           "bench/bench_dataset_view.py", argv, table, args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
