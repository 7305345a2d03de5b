"""Segment and the status line: one button runs every changed object; all progress and
messages show in the one status place under it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from . import refresh
from .actions import apply_results, plan_segment, run_segment, segment_message
from .context import StudioContext, calm
from .plots import figure

if TYPE_CHECKING:
    from .app import Studio


@dataclass
class SegmentPanel:
    run: gr.Button
    status: gr.Textbox


def build() -> SegmentPanel:
    with gr.Row(equal_height=True, elem_id="segment-row"):
        run = gr.Button("Segment (S)", variant="primary", elem_id="segment-btn", scale=1, min_width=130)
        status = gr.Textbox(show_label=False, interactive=False, lines=2, max_lines=2, elem_id="status", scale=4,
                            container=False, placeholder="Status: open a clip, draw boxes, press Segment.")
    return SegmentPanel(run, status)


def wire(ui: Studio, ctx: StudioContext) -> None:
    P = ui.player
    outs = {ui.segment.status, *ui.frame_outputs, *ui.side_outputs, *ui.object_outputs, ui.plots.plot}

    @calm(outs)
    def on_segment(f, request: gr.Request, progress=gr.Progress()):
        with ctx.session(request) as s:
            job = plan_segment(s)
            if isinstance(job, str):
                return {ui.segment.status: job}
        progress(0.0, desc="segmenting")

        def keep(chunk):
            with ctx.session(request) as s:
                apply_results(s, job, chunk)

        results = run_segment(job, ctx.engine, lambda frac, text: progress(frac, desc=text), ctx.runner, keep)
        with ctx.session(request) as s:
            kept = sum(1 for i in results if s.result_sig.get(i) == job.signatures[i])
            f = refresh.clamp_frame(s, f)
            return {ui.segment.status: segment_message(job, results, kept), **refresh.everything(ui, s, f),
                    ui.plots.plot: figure(s, f)}

    ui.segment.run.click(on_segment, P.scrub, outs, show_progress="full", show_progress_on=[ui.segment.status],
                         api_visibility="private", concurrency_id="segment", concurrency_limit=1)
