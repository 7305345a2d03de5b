"""Dataset panel: a split's objects as a sortable, filterable table with plots; a row opens
that object in the viewer at its worst frame with the error layer on.

The table and plots are answered from the table's columns (ui/dataset_table.py) page by page,
so the browser only ever receives the rows and points it shows. With two caches (A and B)
the table gains B's IoUs and the change, the A-vs-B scatter appears, and an opened object
shows A and B against the truth side by side, synced to the player's frame.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import numpy as np

from eoras_core.error_plots import make_plot, plot_names, rows_behind

from . import refresh
from .actions import UserError, open_clip
from .context import FAST, USER_ERRORS, StudioContext, calm
from .dataset import Dataset, compare_image, default_cache, install_track, make_cache, open_dataset, open_video, worst_frame
from .dataset_table import OCCLUSION_BINS, SIZE_BINS, Query, page_of, select

if TYPE_CHECKING:
    from .app import Studio

HEADERS = {"video": "video", "object": "object", "shape": "shape", "frames": "frames", "occlusion": "occlusion",
           "size": "size (px)", "miou_full_clean": "IoU full (clean)", "miou_occ_clean": "IoU occluded (clean)",
           "miou_full": "IoU full", "miou_occ": "IoU occluded", "worst_frame": "worst frame",
           "miou_full_clean_b": "B: IoU full (clean)", "miou_occ_clean_b": "B: IoU occluded (clean)",
           "delta_full": "Δ full (B − A)", "delta_occ": "Δ occluded (B − A)"}
PAGE_SIZE = 25
MAX_POINTS = 300      # scatter points drawn (the worst objects); binned curves use every object


@dataclass
class DatasetPanel:
    source: gr.Accordion
    split: gr.Textbox
    cache: gr.Textbox
    compare: gr.Textbox
    open: gr.Button
    summary: gr.Markdown
    occlusion: gr.CheckboxGroup
    size: gr.CheckboxGroup
    shapes: gr.Dropdown
    videos: gr.Dropdown
    full_lo: gr.Number
    full_hi: gr.Number
    occ_lo: gr.Number
    occ_hi: gr.Number
    sort: gr.Dropdown
    descending: gr.Checkbox
    page: gr.Number
    prev: gr.Button
    next: gr.Button
    picked: gr.State           # row numbers behind a clicked plot mark, or None
    show_all: gr.Button
    table: gr.Dataframe
    compare_view: gr.Image
    plot_choice: gr.Radio
    plot: gr.HTML              # the figure as data; keys.js redraws one lasting plot from it
    pick: gr.Textbox           # keys.js writes the clicked mark's rows here

    @property
    def query_inputs(self) -> list:
        return [self.occlusion, self.size, self.shapes, self.videos, self.full_lo, self.full_hi, self.occ_lo,
                self.occ_hi, self.sort, self.descending, self.page, self.picked]


def build(local: bool, ds: Dataset | None) -> DatasetPanel:
    with gr.Accordion("Open a split", open=ds is None, visible=local, elem_id="dataset-source") as source:
        gr.Markdown("A MOVi-layout split and its prediction cache (`python -m eoras_core predict`). Leave the cache "
                    "empty to have the studio predict the split with the loaded model (kept for next time).",
                    elem_classes=["eoras-caption"])
        with gr.Row():
            split = gr.Textbox(label="split folder", value=str(ds.data) if ds and ds.data else "", elem_id="dataset-split")
            cache = gr.Textbox(label="prediction cache (A)", value=str(ds.cache) if ds else "", elem_id="dataset-cache")
            compare = gr.Textbox(label="second cache to compare (B, optional)",
                                 value=str(ds.compare) if ds and ds.compare else "", elem_id="dataset-compare")
        open_btn = gr.Button("Open split", variant="primary", elem_id="dataset-open")
    summary = gr.Markdown(_summary(ds, None) if ds else "No split is open." + ("" if local else
                          " This studio is public: splits are opened by whoever runs it."), elem_id="dataset-summary")
    with gr.Row(equal_height=False):
        occlusion = gr.CheckboxGroup(list(OCCLUSION_BINS), label="occlusion", elem_id="dataset-occlusion", scale=3)
        size = gr.CheckboxGroup(list(SIZE_BINS), label="size (mean amodal area)", elem_id="dataset-size", scale=2)
    with gr.Row(equal_height=True):
        shapes = gr.Dropdown(_shapes(ds), multiselect=True, label="shape / category", elem_id="dataset-shapes", scale=2)
        videos = gr.Dropdown(_videos(ds), multiselect=True, label="video", elem_id="dataset-videos", scale=2)
        full_lo = gr.Number(0.0, label="IoU full ≥", minimum=0, maximum=1, step=0.05, elem_id="dataset-full-lo", min_width=80)
        full_hi = gr.Number(1.0, label="IoU full ≤", minimum=0, maximum=1, step=0.05, elem_id="dataset-full-hi", min_width=80)
        occ_lo = gr.Number(0.0, label="IoU occ. ≥", minimum=0, maximum=1, step=0.05, elem_id="dataset-occ-lo", min_width=80)
        occ_hi = gr.Number(1.0, label="IoU occ. ≤", minimum=0, maximum=1, step=0.05, elem_id="dataset-occ-hi", min_width=80)
    with gr.Row(equal_height=True):
        sort = gr.Dropdown(_sort_choices(ds), value=default_sort(ds), label="sort by", elem_id="dataset-sort", scale=2)
        descending = gr.Checkbox(False, label="descending", elem_id="dataset-descending", min_width=100)
        prev = gr.Button("◀ page", size="sm", elem_id="dataset-prev", min_width=70)
        page = gr.Number(1, label="page", precision=0, minimum=1, elem_id="dataset-page", min_width=80)
        nxt = gr.Button("page ▶", size="sm", elem_id="dataset-next", min_width=70)
        show_all = gr.Button("Show all objects", size="sm", elem_id="dataset-show-all", visible=False, min_width=120)
    picked = gr.State(None)
    first = _page(ds, Query(sort_by=default_sort(ds), page_size=PAGE_SIZE)) if ds else None
    table = gr.Dataframe(value=first, headers=_headers(ds), interactive=False, elem_id="dataset-table", max_height=520,
                         wrap=False, show_label=False)
    gr.Markdown("Click a row to open that object at its worst frame, with the error layer on (magenta: extra, cyan: "
                "missed). Click a point or bar of a plot to list the objects behind it.", elem_classes=["eoras-caption"])
    compare_view = gr.Image(format="png", interactive=False, buttons=[], visible=False, height=300,
                            label="A | B against the truth on the player's frame (green right, cyan missed, "
                                  "magenta extra)", elem_id="dataset-compare-view")
    names = plot_names(bool(ds and ds.compare))
    plot_choice = gr.Radio(names, value=names[0], label="plot", elem_id="dataset-plot-choice")
    plot = gr.HTML(figure_html(make_plot(names[0], ds.plots, None, MAX_POINTS)) if ds else "", elem_id="dataset-plot")
    # A plot component that is never shown: it makes the page load plotly.js, which draws the
    # dataset plot (Plotly.react on one lasting div is far quicker than a new plot per change).
    gr.Plot(_loader_figure(), elem_classes=["eoras-hidden"], show_label=False)
    pick = gr.Textbox(elem_id="dataset-pick", elem_classes=["eoras-hidden"], show_label=False, container=False)
    return DatasetPanel(source, split, cache, compare, open_btn, summary, occlusion, size, shapes, videos, full_lo,
                        full_hi, occ_lo, occ_hi, sort, descending, page, prev, nxt, picked, show_all, table,
                        compare_view, plot_choice, plot, pick)


def figure_html(fig) -> str:
    """The figure as a data attribute, drawn by keys.js into the one lasting plot."""
    return f'<div class="eoras-figure" hidden data-fig="{html.escape(fig.to_json(), quote=True)}"></div>'


def _loader_figure():
    import plotly.graph_objects as go

    return go.Figure(go.Scatter(x=[0], y=[0]))


def default_sort(ds: Dataset | None) -> str:
    """Worst first: by clean IoU full, or by the change B - A when comparing (regressions first)."""
    return "delta_full" if ds is not None and ds.compare is not None else "miou_full_clean"


def _shapes(ds: Dataset | None) -> list[str]:
    return sorted({str(r["shape"]) for r in ds.rows}) if ds else []


def _videos(ds: Dataset | None) -> list[str]:
    return sorted({r["video"] for r in ds.rows}) if ds else []


def _headers(ds: Dataset | None) -> list[str]:
    names = ds.table.names if ds else tuple(list(HEADERS)[:11])
    return [HEADERS[c] for c in names]


def _sort_choices(ds: Dataset | None) -> list[tuple[str, str]]:
    names = ds.table.names if ds else tuple(list(HEADERS)[:11])
    return [(HEADERS[c], c) for c in names]


def _page(ds: Dataset, q: Query) -> list[list[Any]]:
    return page_of(ds.table, q).rows


def _summary(ds: Dataset, q: Query | None, total: int | None = None, page: tuple[int, int] | None = None) -> str:
    vids = len({r["video"] for r in ds.rows})
    head = f"**{ds.name}** · model A `{ds.model}`" + (f" · B `{ds.model_b}`" if ds.model_b else "")
    full = np.nanmean(ds.table.columns["miou_full_clean"])
    occ = ds.table.columns["miou_occ_clean"]
    occ_mean = np.nanmean(occ) if np.isfinite(occ).any() else float("nan")
    line = f"{len(ds.rows):,} objects in {vids:,} videos · mean clean IoU full {full:.3f}, occluded {occ_mean:.3f}"
    if total is not None and page is not None:
        line += f" · **{total:,} shown by the filters** · page {page[0] + 1} of {page[1]}"
    return f"{head}  \n{line}"


def query_from(occlusion, size, shapes, videos, full_lo, full_hi, occ_lo, occ_hi, sort, descending, page,
               picked) -> Query:
    """The table's query from the filter controls (empty or odd values read as no limit)."""
    def unit(v, default):
        try:
            v = float(v)
        except (TypeError, ValueError):
            return default
        return float(np.clip(v, 0.0, 1.0)) if np.isfinite(v) else default

    return Query(occlusion=tuple(o for o in occlusion or () if o in OCCLUSION_BINS),
                 size=tuple(o for o in size or () if o in SIZE_BINS), shapes=tuple(shapes or ()),
                 videos=tuple(videos or ()), iou_full=(unit(full_lo, 0.0), unit(full_hi, 1.0)),
                 iou_occ=(unit(occ_lo, 0.0), unit(occ_hi, 1.0)), sort_by=str(sort or "miou_full_clean"),
                 descending=bool(descending), page=max(0, int(page or 1) - 1), page_size=PAGE_SIZE,
                 rows=tuple(int(i) for i in picked) if picked is not None else None)


def wire(ui: Studio, ctx: StudioContext) -> None:
    D = ui.dataset

    def dataset_of(request) -> Dataset:
        with ctx.session(request) as s:
            ds = s.dataset or ctx.dataset
        if ds is None:
            raise UserError("Open a split first (Dataset tab, Open a split).")
        return ds

    table_outs = {D.table, D.summary, D.page, D.show_all}
    view_outs = {*table_outs, D.plot}

    def table_view(ds: Dataset, q: Query) -> dict:
        p = page_of(ds.table, q)
        return {D.table: gr.Dataframe(value=p.rows, headers=_headers(ds)),
                D.summary: _summary(ds, q, p.total, (p.page, p.pages)), D.page: p.page + 1,
                D.show_all: gr.Button(visible=q.rows is not None)}

    def plot_view(ds: Dataset, q: Query, plot_name: str) -> dict:
        names = plot_names(ds.compare is not None)
        name = plot_name if plot_name in names else names[0]
        return {D.plot: figure_html(make_plot(name, ds.plots, _filtered(ds, q), MAX_POINTS))}

    def view(ds: Dataset, q: Query, plot_name: str) -> dict:
        return {**table_view(ds, q), **plot_view(ds, q, plot_name)}

    @calm(view_outs)
    def on_filter(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked, plot_name,
                  request: gr.Request):
        """Page 1 of what passes, and the plot of it (drawn by the page once the table is in)."""
        q = query_from(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked)
        return view(dataset_of(request), replace(q, page=0), plot_name)

    @calm(table_outs)
    def on_order(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked, request: gr.Request):
        """Sorting and paging change no object, so the plot stays as it is."""
        return table_view(dataset_of(request), query_from(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked))

    @calm({D.plot})
    def on_plot(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked, plot_name, request: gr.Request):
        return plot_view(dataset_of(request), query_from(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked), plot_name)

    def stepped(q: Query, delta: int) -> Query:
        return replace(q, page=max(0, q.page + delta))

    @calm(table_outs)
    def on_prev(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked, request: gr.Request):
        return table_view(dataset_of(request), stepped(query_from(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked), -1))

    @calm(table_outs)
    def on_next(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked, request: gr.Request):
        return table_view(dataset_of(request), stepped(query_from(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked), 1))

    open_outs = {ui.player.scrub, ui.segment.status, ui.layers.layers, D.compare_view, ui.load.info, ui.load.accordion,
                 *ui.frame_outputs, *ui.side_outputs, *ui.object_outputs}

    def open_row(ds: Dataset, row: int, request) -> dict:
        opened = open_video(ds, row)          # decode before the lock: scrubbing stays live
        with ctx.session(request, opening=True) as s:
            if ctx.projects is not None:
                ctx.projects.release(getattr(request, "session_hash", None) or "anonymous")
            open_clip(s, opened, ctx.engine)
            track = install_track(s, ds, row, opened)
            s.dataset_track = track
            f = worst_frame(ds, row, s)
            r = ds.rows[row]
            iou = r.get("worst_iou")
            status = (f"{r['video']} object {r['object']} ({r['shape']}): worst frame {r['worst_frame']}"
                      + (f", clean IoU full {iou:.3f} there" if iou is not None else "")
                      + ". The error layer shows magenta where the model's amodal mask is extra and cyan where it "
                        "missed the truth.")
            ab = compare_image(s, track, f)
            return {**refresh.everything(ui, s, f),
                    ui.player.scrub: gr.Slider(minimum=0, maximum=max(1, s.num_frames - 1), value=f, step=1),
                    ui.segment.status: status, ui.layers.layers: list(s.view.layers),
                    ui.load.info: f"**{s.clip_name}** · from the split {ds.name} (masks from the cache of `{ds.model}`)",
                    ui.load.accordion: gr.Accordion(open=False),
                    D.compare_view: gr.Image(value=ab, visible=ab is not None)}

    @calm(open_outs)
    def on_row(evt: gr.SelectData, occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked, request: gr.Request):
        ds = dataset_of(request)
        q = query_from(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked)
        p = page_of(ds.table, q)
        r = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if not isinstance(r, int) or not 0 <= r < len(p.indices):
            raise UserError("That row is no longer on this page; click it again.")
        return open_row(ds, int(p.indices[r]), request)

    @calm({*open_outs, *view_outs, D.picked})
    def on_pick(message, occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked, plot_name, request: gr.Request):
        try:
            mark = json.loads(message or "{}").get("mark")
        except (ValueError, TypeError, AttributeError):
            raise UserError("That plot mark carries no objects.") from None
        ds = dataset_of(request)
        q = query_from(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked)
        rows = rows_behind(mark, ds.plots, _filtered(ds, q)).tolist()
        if not rows:
            raise UserError("No objects lie behind that mark.")
        if len(rows) == 1:
            return open_row(ds, rows[0], request)
        q = query_from(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, rows)
        return {**view(ds, replace(q, page=0), plot_name), D.picked: rows}

    @calm({*view_outs, D.picked})
    def on_show_all(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, picked, plot_name, request: gr.Request):
        q = query_from(occ, size, shapes, videos, flo, fhi, olo, ohi, sort, desc, page, None)
        return {**view(dataset_of(request), replace(q, page=0), plot_name), D.picked: None}

    source_outs = {*view_outs, D.shapes, D.videos, D.sort, D.plot_choice, D.picked, D.compare_view, D.source}

    @calm(source_outs)
    def on_open(split, cache, compare, request: gr.Request, progress=gr.Progress()):
        if not ctx.datasets_local:
            raise UserError("This studio is public: splits are opened by whoever runs it (python app.py --data).")
        split, cache, compare = (str(v or "").strip() for v in (split, cache, compare))
        if not cache:
            if not split:
                raise UserError("Give the split folder (and a prediction cache, or none to make one).")
            if ctx.engine is None or ctx.projects is None:
                raise UserError("No model or projects folder to make predictions with: give a prediction cache.")
            target = default_cache(ctx.projects.root, Path(split), ctx.engine.config.name)
            make_cache(ctx.engine.model, split, target, f"studio model ({ctx.engine.config.name})",
                       progress=lambda done, total: progress(done / max(1, total), desc=f"predicting {done}/{total} videos"))
            cache = str(target)
        ds = open_dataset(cache, split or None, compare or None)
        with ctx.session(request) as s:
            s.dataset, s.dataset_track = ds, None
        names = plot_names(ds.compare is not None)
        q = Query(sort_by=default_sort(ds), page_size=PAGE_SIZE)
        return {**view(ds, q, names[0]), D.shapes: gr.Dropdown(choices=_shapes(ds), value=[]),
                D.videos: gr.Dropdown(choices=_videos(ds), value=[]),
                D.sort: gr.Dropdown(choices=_sort_choices(ds), value=default_sort(ds)),
                D.plot_choice: gr.Radio(choices=names, value=names[0]), D.picked: None,
                D.compare_view: gr.Image(value=None, visible=False), D.source: gr.Accordion(open=False)}

    @calm({D.compare_view})
    def on_frame(f, request: gr.Request):
        with ctx.session(request) as s:
            track = s.dataset_track
            if track is None or track.b is None or s.clip_name != track.video:
                return {}
            return {D.compare_view: compare_image(s, track, refresh.clamp_frame(s, f))}

    inputs = [*D.query_inputs, D.plot_choice]
    filters = [D.occlusion.input, D.size.input, D.shapes.input, D.videos.input, D.full_lo.submit, D.full_hi.submit,
               D.occ_lo.submit, D.occ_hi.submit, D.full_lo.blur, D.full_hi.blur, D.occ_lo.blur, D.occ_hi.blur]
    lane = dict(**FAST, trigger_mode="always_last", queue=False)   # answered at once: no model work
    gr.on(filters, on_filter, inputs, view_outs, **lane)
    gr.on([D.sort.input, D.descending.input, D.page.submit], on_order, D.query_inputs, table_outs, **lane)
    D.plot_choice.input(on_plot, inputs, {D.plot}, **lane)
    D.prev.click(on_prev, D.query_inputs, table_outs, **lane)
    D.next.click(on_next, D.query_inputs, table_outs, **lane)
    D.show_all.click(on_show_all, inputs, {*view_outs, D.picked}, **lane)
    to_top = "(...args) => { window.scrollTo({top: 0, behavior: 'smooth'}); return args; }"
    open_lane = dict(api_visibility="private", show_progress="full", show_progress_on=[ui.segment.status],
                     concurrency_id="load", concurrency_limit=4)
    D.table.select(on_row, D.query_inputs, open_outs, js=to_top, **open_lane)
    D.pick.change(on_pick, [D.pick, *inputs], {*open_outs, *view_outs, D.picked}, **open_lane)
    D.open.click(on_open, [D.split, D.cache, D.compare], source_outs, api_visibility="private",
                 concurrency_id="load", concurrency_limit=1)
    ui.player.scrub.change(on_frame, ui.player.scrub, {D.compare_view}, **FAST, trigger_mode="always_last",
                           concurrency_id="frames", concurrency_limit=8)


def _filtered(ds: Dataset, q: Query) -> np.ndarray:
    return select(ds.table, q)
