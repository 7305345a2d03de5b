"""Step 5 — export: the overlay video with the chosen layers, and the amodal annotations."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass
class ExportPanel:
    overlay: gr.Button
    overlay_file: gr.DownloadButton
    annotations: gr.Button
    annotations_file: gr.DownloadButton


def build() -> ExportPanel:
    with gr.Accordion("5 · Export", open=False):
        with gr.Row():
            overlay = gr.Button("Render overlay MP4 (current layers)", size="sm", elem_id="export-overlay")
            overlay_file = gr.DownloadButton("overlay.mp4", visible=False, elem_id="overlay-dl")
        with gr.Row():
            annotations = gr.Button("Export amodal annotations (YouTube-VIS JSON)", size="sm", elem_id="export-json")
            annotations_file = gr.DownloadButton("annotations.json", visible=False, elem_id="json-dl")
    return ExportPanel(overlay, overlay_file, annotations, annotations_file)
