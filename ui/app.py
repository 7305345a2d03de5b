"""Compose the studio from its panels; each panel wires its own events.

Nothing is created at import time: `build_app(model)` makes the shared predictor, the
session store, the Blocks and every callback.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gradio as gr

from eoras_core.budget import Budget
from eoras_core.modeling import EoRaS
from eoras_core.shared_predictor import SharedPredictor

from . import (panel_bev, panel_dataset, panel_export, panel_layers, panel_load, panel_objects, panel_player,
               panel_plots, panel_segment, panel_slots)
from .api import ResponseFolder, segment_video
from .context import StudioContext
from .dataset import Dataset
from .projects import ProjectStore
from .session import SessionStore

KEYS_JS = (Path(__file__).with_name("keys.js")).read_text()
CSS = (Path(__file__).with_name("studio.css")).read_text()
GUIDE = ("**EoRaS Studio** · open a clip · click two corners (or drag) to box an object · **Segment** · "
         "inspect and correct · keys under *Keys* (right)")
KEYS_HELP = ("**Player** ←/→ or D/F frame · space play/pause · type a frame number in the box by the slider  \n"
             "**Objects** E/R previous/next keyframe · Del delete keyframe · Esc cancel a box · S segment  \n"
             "**Labelling** B brush · X eraser · P polygon (click corners; double-click, Enter or the first corner "
             "closes it) — the key again goes back to boxes · H hidden here · O out of view · "
             "V reviewed · N next unreviewed · A accept the model's masks · C copy masks from the previous frame · "
             "Ctrl+Z undo · Ctrl+Y or Ctrl+Shift+Z redo  \n"
             "**View** wheel zooms the frame · shift- or middle-drag pans · 0 resets the zoom")


@dataclass
class Studio:
    config: object
    load: panel_load.LoadPanel
    player: panel_player.PlayerPanel
    objects: panel_objects.ObjectsPanel
    segment: panel_segment.SegmentPanel
    layers: panel_layers.LayersPanel
    bev: panel_bev.BevPanel
    slots: panel_slots.SlotPanel
    plots: panel_plots.PlotPanel
    export: panel_export.ExportPanel
    dataset: panel_dataset.DatasetPanel
    blocks: gr.Blocks | None = None

    @property
    def frame_outputs(self) -> set:
        return {self.player.frame, self.player.label, self.player.timeline}

    @property
    def side_outputs(self) -> set:
        return {self.bev.plot, self.bev.note, self.slots.plot, self.slots.note}

    @property
    def object_outputs(self) -> set:
        O = self.objects
        return {O.selector, O.name, O.category, O.colour, O.track_after, self.layers.shown}


def demo_clips(demo_dir: Path | None) -> dict[str, Path]:
    if demo_dir is None or not demo_dir.is_dir():
        return {}
    return {p.name: p for p in sorted(demo_dir.iterdir()) if p.is_dir() and (p / "metadata.json").exists()}


def build_app(model: EoRaS | None, demo_dir: Path | None = None, max_sessions: int = 16,
              runner: Callable | None = None, cache_bytes: int | None = None,
              projects: ProjectStore | None = None, dataset: Dataset | None = None,
              datasets_local: bool = False, budget: Budget | None = None) -> gr.Blocks:
    """runner: where clip runs go instead of the shared predictor (ZeroGPU: ui.zero_gpu.gpu_runner).

    cache_bytes bounds the shared encoder cache (None: sized to the machine); projects: where
    labels are saved (None: nothing is kept on disk); dataset: a split opened for error
    analysis; datasets_local: the page may open splits by path (only when served locally);
    budget: the limits of one upload or API request (None: the defaults).
    """
    return build_studio(model, demo_dir, max_sessions, runner, cache_bytes, projects, dataset, datasets_local,
                        budget)[0]


def build_studio(model: EoRaS | None, demo_dir: Path | None = None, max_sessions: int = 16,
                 runner: Callable | None = None, cache_bytes: int | None = None,
                 projects: ProjectStore | None = None, dataset: Dataset | None = None,
                 datasets_local: bool = False, budget: Budget | None = None) -> tuple[gr.Blocks, StudioContext]:
    """The Blocks and the context its handlers share (tests inspect the sessions through it)."""
    engine = SharedPredictor(model, cache_bytes=cache_bytes) if model is not None else None
    store = SessionStore(engine, capacity=max_sessions, on_drop=projects.release if projects is not None else None)
    ctx = StudioContext(store, engine, demo_clips(demo_dir), runner, projects, dataset, datasets_local,
                        budget or Budget())
    num_slots = model.config.num_slots if model is not None else 8

    with gr.Blocks(title="EoRaS Studio", delete_cache=(600, 3600)) as app:
        gr.Markdown(GUIDE, elem_id="guide")
        with gr.Row(equal_height=False, elem_id="workspace"):
            with gr.Column(scale=3, min_width=480, elem_id="stage"):
                player = panel_player.build()
            with gr.Column(scale=2, min_width=360, elem_id="controls"):
                load = panel_load.build(list(ctx.demos), projects)
                objects = panel_objects.build()
                seg = panel_segment.build()
                layers = panel_layers.build()
                export = panel_export.build()
                with gr.Accordion("Keys", open=False, elem_id="keys-help"):
                    gr.Markdown(KEYS_HELP)
        with gr.Tabs(elem_id="inspect", selected="dataset" if dataset is not None else "bev"):
            with gr.Tab("BEV", id="bev", elem_id="tab-bev"):
                bev = panel_bev.build()
            with gr.Tab("Slots", elem_id="tab-slots"):
                slots = panel_slots.build(num_slots)
            with gr.Tab("Plots", elem_id="tab-plots"):
                plots = panel_plots.build()
            with gr.Tab("Dataset", id="dataset", elem_id="tab-dataset"):
                data_panel = panel_dataset.build(datasets_local, dataset)
        ui = Studio(ctx.config, load, player, objects, seg, layers, bev, slots, plots, export, data_panel, app)
        for panel in (panel_load, panel_player, panel_objects, panel_segment, panel_layers, panel_slots,
                      panel_plots, panel_export, panel_dataset):
            panel.wire(ui, ctx)
        _api(ctx)

        def forget(request: gr.Request) -> None:
            if request is not None:
                ctx.store.drop(request.session_hash)

        app.unload(forget)
    return app, ctx


def _api(ctx: StudioContext) -> None:
    """The public endpoint: `segment_video` (video + objects JSON -> YouTube-VIS JSON)."""
    with gr.Row(visible=False):
        video = gr.File(label="video")
        objects = gr.Textbox(label="objects JSON")
        out = gr.File(label="segmentation JSON")
        button = gr.Button("segment_video")

    answers = ResponseFolder()

    def run(video_path, objects_json):
        if ctx.engine is None:
            raise gr.Error("No model is loaded.")
        try:
            return str(segment_video(ctx.engine, video_path, objects_json, answers.new(), ctx.budget))
        except ValueError as exc:  # request and media errors name the field or file
            raise gr.Error(str(exc), print_exception=False) from None

    button.click(run, [video, objects], out, api_name="segment_video", concurrency_id="segment",
                 concurrency_limit=1).then(lambda: answers.sweep(), None, None, api_visibility="private",
                                          show_progress="hidden")   # answers sent earlier are gone



