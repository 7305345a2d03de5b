"""The frame and its transport: slider, previous/next, play/pause, timeline.

Wires scrubbing, stepping, playback at the clip's frame rate, timeline seeks and the
'sync' event that refreshes the side panels once a burst of key presses settles.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from . import refresh
from .actions import require_clip
from .context import FAST, StudioContext, calm
from .clicks import parse_press
from .render import TIMELINE_WIDTH
from .views import timeline_frame_at

if TYPE_CHECKING:
    from .app import Studio


PLAY, PAUSE = "▶ play", "❚❚ pause"


@dataclass
class PlayerPanel:
    frame: gr.Image
    clicks: gr.Textbox       # exact frame clicks, written by keys.js (see ui/clicks.py)
    scrub: gr.Slider
    prev: gr.Button
    play: gr.Button
    next: gr.Button
    label: gr.Markdown
    timer: gr.Timer
    timeline: gr.Image
    timeline_clicks: gr.Textbox   # exact timeline clicks, written by keys.js
    sync: gr.Button
    playing: gr.State


def build() -> PlayerPanel:
    frame = gr.Image(format="jpeg", interactive=False, buttons=[], elem_id="frame", show_label=False,
                     container=False)
    clicks = gr.Textbox(elem_id="frame-clicks", elem_classes=["eoras-hidden"], show_label=False, container=False)
    with gr.Row(elem_id="transport", equal_height=True):
        prev = gr.Button("◀ prev", elem_id="prev-btn", size="sm", min_width=70, scale=0)
        play = gr.Button(PLAY, elem_id="play-btn", size="sm", min_width=80, scale=0, variant="secondary")
        nxt = gr.Button("next ▶", elem_id="next-btn", size="sm", min_width=70, scale=0)
        scrub = gr.Slider(0, 1, value=0, step=1, show_label=False, container=False, elem_id="scrub", scale=8)
    label = gr.Markdown("No clip loaded — open a demo clip or upload a video.", elem_id="frame-label")
    timeline = gr.Image(format="png", interactive=False, buttons=[], elem_id="timeline", show_label=False,
                        container=False)
    timeline_clicks = gr.Textbox(elem_id="timeline-clicks", elem_classes=["eoras-hidden"], show_label=False,
                                 container=False)
    gr.Markdown("Timeline: ◆ keyframe · colour = in view (green visible → red hidden) · grey = no box. "
                "Click it to jump.", elem_classes=["eoras-caption"])
    timer = gr.Timer(1 / 24, active=False)
    sync = gr.Button("sync", elem_id="sync-btn", elem_classes=["eoras-hidden"])
    playing = gr.State(False)
    return PlayerPanel(frame, clicks, scrub, prev, play, nxt, label, timer, timeline, timeline_clicks, sync, playing)


def wire(ui: Studio, ctx: StudioContext) -> None:
    P = ui.player
    frame_outs = {P.frame, P.label}
    scrub_outs = {P.scrub, P.frame, P.label, P.timeline, *ui.side_outputs}
    lane = dict(FAST, trigger_mode="always_last", concurrency_id="frames", concurrency_limit=8)

    @calm(frame_outs)
    def show(f, request: gr.Request):
        with ctx.session(request) as s:
            return refresh.frame_view(ui, s, refresh.clamp_frame(s, f))

    @calm(scrub_outs)
    def settle(f, request: gr.Request):
        with ctx.session(request) as s:
            return refresh.scrub_to(ui, s, refresh.clamp_frame(s, f))

    P.scrub.input(show, P.scrub, frame_outs, **lane)
    P.scrub.release(settle, P.scrub, scrub_outs, **lane)
    P.sync.click(settle, P.scrub, scrub_outs, **lane)

    def step(delta: int):
        @calm(scrub_outs)
        def go(f, request: gr.Request):
            with ctx.session(request) as s:
                require_clip(s)
                return refresh.scrub_to(ui, s, (int(f or 0) + delta) % max(1, s.num_frames))
        return go

    P.prev.click(step(-1), P.scrub, scrub_outs, **lane)
    P.next.click(step(+1), P.scrub, scrub_outs, **lane)

    toggled = {P.playing, P.timer, P.play, P.frame, P.label}

    @calm(toggled)
    def toggle(playing, f, request: gr.Request):
        with ctx.session(request) as s:
            require_clip(s)
            if playing:
                return {P.playing: False, P.timer: gr.Timer(active=False), P.play: gr.Button(PLAY),
                        **refresh.frame_view(ui, s, int(f or 0))}
            s.playback.restart(int(f or 0))
            return {P.playing: True, P.timer: gr.Timer(1 / max(1.0, min(s.fps, 60.0)), active=True),
                    P.play: gr.Button(PAUSE)}

    P.play.click(toggle, [P.playing, P.scrub], toggled, **FAST)

    ticked = {P.scrub, P.frame, P.label, P.timeline}

    @calm(ticked)
    def tick(request: gr.Request):
        with ctx.session(request) as s:
            if s.clip is None:
                return {}
            f = s.playback.frame_now(s.fps, s.num_frames)
            out = {P.scrub: f, **refresh.frame_view(ui, s, f), **refresh.timeline_view(ui, s, f)}
            rate = s.playback.rate()
            if rate:
                out[P.label] = out[P.label] + f" · ▶ playing at {rate:.1f} fps (clip {s.fps:.3g} fps)"
            return out

    P.timer.tick(tick, None, ticked, **dict(lane, trigger_mode="multiple"))
    # Stopping playback refreshes the side panels for the frame it stopped on.
    P.play.click(None, None, None, js="() => { setTimeout(() => document.getElementById('sync-btn')?.click(), 300); }",
                 api_visibility="private")

    @calm(scrub_outs)
    def seek(message, request: gr.Request):
        with ctx.session(request) as s:
            require_clip(s)
            press = parse_press(message)
            f = timeline_frame_at(press.points[0][0] * TIMELINE_WIDTH, s.num_frames, TIMELINE_WIDTH)
            if f is None:
                return {}
            return refresh.scrub_to(ui, s, f)

    P.timeline_clicks.change(seek, P.timeline_clicks, scrub_outs, **FAST, trigger_mode="always_last")
