"""Load a clip: demo clips, upload, and the decoding caps (range, stride, size).

Folds away once a clip is open, so the frame and the working controls fit one screen.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from eoras_core.media import LoadCaps

from . import refresh
from .actions import UserError, open_clip
from .context import USER_ERRORS, StudioContext, calm
from .scene_loading import open_any

if TYPE_CHECKING:
    from .app import Studio

WHAT_TO_OPEN = "Choose a video (mp4, webm, mov, mkv, avi, gif), a zip of frames or a MOVi scene (zip)."


@dataclass
class LoadPanel:
    accordion: gr.Accordion
    upload: gr.File
    demo: gr.Dropdown
    open_demo: gr.Button
    start: gr.Number
    end: gr.Number
    stride: gr.Number
    max_side: gr.Number
    max_frames: gr.Number
    info: gr.Markdown

    @property
    def caps_inputs(self) -> list:
        return [self.start, self.end, self.stride, self.max_side, self.max_frames]


def caps_from(start: float | None, end: float | None, stride: float | None, max_side: float | None,
              max_frames: float | None) -> LoadCaps:
    return LoadCaps(start=int(start or 0), end=int(end) if end else None, stride=max(1, int(stride or 1)),
                    max_side=int(max_side or 960), max_frames=int(max_frames or 600))


def build(demo_names: list[str]) -> LoadPanel:
    with gr.Accordion("Clip", open=True, elem_id="load-panel") as accordion:
        with gr.Row(equal_height=True):
            demo = gr.Dropdown(demo_names, value=demo_names[0] if demo_names else None, show_label=False,
                               scale=3, elem_id="demo-select", container=False)
            open_demo = gr.Button("Open demo", variant="primary", scale=1, elem_id="open-demo", min_width=100)
        # Any file is accepted here and checked on the server, so a wrong one gets a message
        # that names it and says what would work.
        upload = gr.File(label="…or upload a video (mp4, webm, mov, mkv, avi, gif), a zip of frames, or a MOVi scene",
                         elem_id="upload")
        caps = LoadCaps()
        with gr.Accordion("Decoding caps (long or large videos)", open=False):
            with gr.Row():
                start = gr.Number(caps.start, label="first frame", precision=0, minimum=0)
                end = gr.Number(None, label="end frame (exclusive; empty or 0 = to the end)", precision=0, minimum=0)
                stride = gr.Number(caps.stride, label="every n-th frame", precision=0, minimum=1)
            with gr.Row():
                max_side = gr.Number(caps.max_side, label="max side (px)", precision=0, minimum=64, elem_id="cap-max-side")
                max_frames = gr.Number(caps.max_frames, label="max frames", precision=0, minimum=1)
    info = gr.Markdown("", elem_id="info")
    return LoadPanel(accordion, upload, demo, open_demo, start, end, stride, max_side, max_frames, info)


def wire(ui: Studio, ctx: StudioContext) -> None:
    L = ui.load
    outs = {L.info, L.accordion, ui.player.scrub, ui.segment.status, ui.plots.plot,
            *ui.frame_outputs, *ui.side_outputs, *ui.object_outputs}

    def opened(source, caps, request) -> dict:
        try:
            clip = open_any(source, caps_from(*caps))  # decode before taking the lock: scrubbing stays live
        except USER_ERRORS as exc:
            raise UserError(f"{exc} {WHAT_TO_OPEN} The clip you had open is unchanged.") from None
        with ctx.session(request) as s:
            note = open_clip(s, clip, ctx.engine)
            hint = (f"{len(s.objects)} object(s) from ground truth: press Segment." if s.objects else
                    "Click two opposite corners on the frame to box an object.")
            return {L.info: f"**{s.clip_name}** · {note}", L.accordion: gr.Accordion(open=False),
                    ui.player.scrub: gr.Slider(minimum=0, maximum=max(1, s.num_frames - 1), value=0, step=1),
                    ui.segment.status: f"Opened {s.clip_name}. {hint}", ui.plots.plot: None,
                    **refresh.everything(ui, s, 0)}

    @calm(outs)
    def on_upload(path, start, end, stride, max_side, max_frames, request: gr.Request):
        if not path:
            raise UserError(f"No file was received. {WHAT_TO_OPEN}")
        return opened(path, (start, end, stride, max_side, max_frames), request)

    def clear_upload():
        return None  # ready for the next file, whatever happened to this one

    @calm(outs)
    def on_demo(name, start, end, stride, max_side, max_frames, request: gr.Request):
        if name not in ctx.demos:
            raise UserError("Choose a demo clip first.")
        return opened(ctx.demos[name], (start, end, stride, max_side, max_frames), request)

    lane = dict(api_visibility="private", concurrency_id="load", concurrency_limit=4, show_progress="full",
                show_progress_on=[ui.segment.status])
    L.upload.upload(on_upload, [L.upload, *L.caps_inputs], outs, **lane).then(
        clear_upload, None, L.upload, api_visibility="private", show_progress="hidden")
    L.open_demo.click(on_demo, [L.demo, *L.caps_inputs], outs, **lane)
