"""Step 2 — objects: draw boxes, keyframes, names, categories, colours, tracking."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

CLICK_MODES = [("New object", "new"), ("Set box of selected object", "edit")]


@dataclass
class ObjectsPanel:
    selector: gr.Dropdown
    click_mode: gr.Radio
    name: gr.Textbox
    category: gr.Textbox
    colour: gr.ColorPicker
    track_after: gr.Checkbox
    save: gr.Button
    del_key: gr.Button
    recentre: gr.Button
    delete: gr.Button
    prev_key: gr.Button
    next_key: gr.Button


def build() -> ObjectsPanel:
    with gr.Accordion("2 · Objects", open=True):
        gr.Markdown("Click two opposite corners on the frame to draw a box. Boxes between keyframes are "
                    "interpolated; after the last keyframe they are tracked (optical flow) if enabled.")
        click_mode = gr.Radio(CLICK_MODES, value="new", label="A drawn box…", elem_id="click-mode")
        selector = gr.Dropdown([], label="Selected object", elem_id="object-select")
        with gr.Row():
            name = gr.Textbox(label="name", elem_id="object-name")
            category = gr.Textbox(label="category", elem_id="object-category")
            colour = gr.ColorPicker(label="colour", elem_id="object-colour")
        track_after = gr.Checkbox(True, label="track after the last keyframe")
        with gr.Row():
            save = gr.Button("Save details", size="sm", elem_id="save-object")
            prev_key = gr.Button("◆ prev key (E)", size="sm", elem_id="prev-key")
            next_key = gr.Button("next key ◆ (R)", size="sm", elem_id="next-key")
        with gr.Row():
            del_key = gr.Button("Delete keyframe here (Del)", size="sm", elem_id="del-key")
            recentre = gr.Button("Re-centre on visible mask", size="sm", elem_id="recentre")
            delete = gr.Button("Delete object", size="sm", variant="stop", elem_id="delete-object")
    return ObjectsPanel(selector, click_mode, name, category, colour, track_after, save, del_key, recentre, delete,
                        prev_key, next_key)
