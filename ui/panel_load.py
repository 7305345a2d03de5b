"""Step 1 — load a clip: upload, demo clips, and the decoding caps (range, stride, size)."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from eoras_core.video import LoadCaps

UPLOAD_TYPES = [".mp4", ".webm", ".mov", ".mkv", ".avi", ".gif", ".m4v", ".zip"]


@dataclass
class LoadPanel:
    upload: gr.File
    demo: gr.Dropdown
    open_demo: gr.Button
    start: gr.Number
    end: gr.Number
    stride: gr.Number
    max_side: gr.Number
    max_frames: gr.Number
    info: gr.Textbox

    @property
    def caps_inputs(self) -> list:
        return [self.start, self.end, self.stride, self.max_side, self.max_frames]


def caps_from(start: float | None, end: float | None, stride: float | None, max_side: float | None,
              max_frames: float | None) -> LoadCaps:
    return LoadCaps(start=int(start or 0), end=int(end) if end else None, stride=max(1, int(stride or 1)),
                    max_side=int(max_side or 960), max_frames=int(max_frames or 600))


def build(demo_names: list[str]) -> LoadPanel:
    with gr.Accordion("1 · Load a clip", open=True):
        with gr.Row():
            demo = gr.Dropdown(demo_names, value=demo_names[0] if demo_names else None, label="Demo clips",
                               scale=3, elem_id="demo-select")
            open_demo = gr.Button("Open demo", variant="primary", scale=1, elem_id="open-demo")
        upload = gr.File(label="…or upload a video (mp4, webm, mov, mkv, avi, gif), a zip of frames, or a MOVi scene (zip)",
                         file_types=UPLOAD_TYPES, elem_id="upload")
        caps = LoadCaps()
        with gr.Accordion("Decoding caps (long or large videos)", open=False):
            with gr.Row():
                start = gr.Number(caps.start, label="first frame", precision=0, minimum=0)
                end = gr.Number(None, label="end frame (exclusive, empty = to the end)", precision=0, minimum=1)
                stride = gr.Number(caps.stride, label="every n-th frame", precision=0, minimum=1)
            with gr.Row():
                max_side = gr.Number(caps.max_side, label="max side (px)", precision=0, minimum=64)
                max_frames = gr.Number(caps.max_frames, label="max frames", precision=0, minimum=1)
        info = gr.Textbox(label="Clip", interactive=False, lines=2, elem_id="info")
    return LoadPanel(upload, demo, open_demo, start, end, stride, max_side, max_frames, info)
