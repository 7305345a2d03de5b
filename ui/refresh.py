"""Output updates shared by the panels' handlers, as {component: value} dicts.

Each function reads a session (its caller holds the lock) and says what a group of
components should now show; handlers merge the groups they affect.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr
import numpy as np

from .projects import save
from .queries import frame_text, selected_object
from .render import bev_views, render_frame, render_timeline, slot_views
from .session import Session
from .uncertainty import confidence

if TYPE_CHECKING:
    from .app import Studio


def clamp_frame(s: Session, f: Any) -> int:
    return int(np.clip(int(f or 0), 0, max(0, s.num_frames - 1)))


def frame_view(ui: Studio, s: Session, f: int) -> dict:
    save(s)  # before the caption says "saved"
    if s.clip is None:
        return {ui.player.frame: None, ui.player.label: frame_text(s, 0)}
    return {ui.player.frame: render_frame(s, f, ui.config), ui.player.label: frame_text(s, f)}


def timeline_view(ui: Studio, s: Session, f: int) -> dict:
    return {ui.player.timeline: render_timeline(s, f) if s.clip is not None and s.objects else None}


def side_views(ui: Studio, s: Session, f: int) -> dict:
    """BEV and slot panels for the selected object on frame f."""
    bev_fig, bev_note = bev_views(s, f, ui.config)
    slot_fig, slot_note = slot_views(s, f, ui.config)
    return {ui.bev.plot: bev_fig, ui.bev.note: bev_note, ui.slots.plot: slot_fig, ui.slots.note: slot_note}


def object_label(s: Session, obj_id: int) -> str:
    """The object's name, with how sure the model is of its masks once it has a clip run."""
    res = s.results.get(obj_id)
    sure = confidence(res) if res is not None else None
    name = s.objects[obj_id].name
    return name if sure is None else f"{name} · {round(100 * sure)}% sure"


def object_view(ui: Studio, s: Session) -> dict:
    """The object list, the selected object's details and the per-object show toggles."""
    choices = [(object_label(s, i), i) for i in s.objects]
    sel = selected_object(s)
    shown = [i for i, o in s.objects.items() if o.shown and i not in s.view.hidden]
    O = ui.objects
    return {
        O.selector: gr.Dropdown(choices=choices, value=s.selected if sel else None),
        O.name: sel.name if sel else "", O.category: sel.category if sel else "",
        O.colour: "#%02x%02x%02x" % sel.colour if sel else "#e6194b",
        O.track_after: sel.track_after_last if sel else True,
        ui.layers.shown: gr.CheckboxGroup(choices=[(o.name, i) for i, o in s.objects.items()], value=shown),
    }


def scrub_to(ui: Studio, s: Session, f: int) -> dict:
    """Everything that follows the current frame, the slider included."""
    return {ui.player.scrub: f, **frame_view(ui, s, f), **timeline_view(ui, s, f), **side_views(ui, s, f)}


def everything(ui: Studio, s: Session, f: int) -> dict:
    return {**frame_view(ui, s, f), **timeline_view(ui, s, f), **side_views(ui, s, f), **object_view(ui, s)}
