"""Load a clip: demo clips, upload, recent projects, and the decoding caps (range, stride, size).

Opening a file opens its project too (see ui/projects.py): a file opened before comes back
with its labels, decoded with the caps it was labelled with. Folds away once a clip is open,
so the frame and the working controls fit one screen.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from eoras_core.media import LoadCaps

from . import refresh
from .actions import UserError, open_clip
from .context import FAST, USER_ERRORS, StudioContext, calm, sid_of
from .projects import ProjectPlan, ProjectStore, attach
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
    recent: gr.Dropdown
    reopen: gr.Button
    browser: gr.BrowserState   # this browser's random project key (public studios)

    @property
    def caps_inputs(self) -> list:
        return [self.start, self.end, self.stride, self.max_side, self.max_frames]


def caps_from(start: float | None, end: float | None, stride: float | None, max_side: float | None,
              max_frames: float | None) -> LoadCaps:
    return LoadCaps(start=int(start or 0), end=int(end) if end else None, stride=max(1, int(stride or 1)),
                    max_side=int(max_side or 960), max_frames=int(max_frames or 600))


def build(demo_names: list[str], projects: ProjectStore | None) -> LoadPanel:
    browser = gr.BrowserState(None, storage_key="eoras-studio-browser",
                              secret=projects.browser_secret() if projects is not None else None)
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
        with gr.Row(equal_height=True, visible=projects is not None):
            recent = gr.Dropdown([], label="Recent projects", scale=3, elem_id="recent-projects")
            reopen = gr.Button("Reopen", scale=1, min_width=90, elem_id="reopen-project")
        if projects is not None:
            gr.Markdown(f"Labels are saved as you work, in `{projects.root}` (one folder per clip).",
                        elem_classes=["eoras-caption"], elem_id="projects-root")
    info = gr.Markdown("", elem_id="info")
    return LoadPanel(accordion, upload, demo, open_demo, start, end, stride, max_side, max_frames, info, recent,
                     reopen, browser)


def recent_choices(projects: ProjectStore | None, owner: str | None) -> list[tuple[str, str]]:
    return [(r.label, r.folder) for r in projects.recent(owner)] if projects is not None else []


def wire(ui: Studio, ctx: StudioContext) -> None:
    L = ui.load
    outs = {L.info, L.accordion, L.recent, ui.player.scrub, ui.segment.status, ui.plots.plot,
            *ui.frame_outputs, *ui.side_outputs, *ui.object_outputs}
    projects = ctx.projects

    def opened(source: Path, caps: tuple, request, owner: str | None, plan: ProjectPlan | None = None) -> dict:
        """Read its project, decode, then (under the session lock) switch the session to it.
        Every check that can refuse runs before the session changes."""
        if projects is not None and plan is None:
            plan = projects.plan(source, owner)
        use_caps = plan.saved.caps if plan is not None and plan.saved is not None else caps_from(*caps)
        try:
            clip = open_any(source, use_caps, ctx.budget)  # decode before taking the lock: scrubbing stays live
        except USER_ERRORS as exc:
            raise UserError(f"{exc} {WHAT_TO_OPEN} The clip you had open is unchanged.") from None
        source_file = None
        if plan is not None:
            try:
                source_file = projects.keep_source(plan, source)
            except OSError as exc:
                raise UserError(f"Could not copy {source.name} into its project folder {plan.folder} "
                                f"({exc.strerror or exc}); free some space or start the studio with another "
                                "--projects folder. The clip you had open is unchanged.") from None
        with ctx.session(request, opening=True) as s:
            sid = sid_of(request)
            if plan is not None:
                plan = projects.take(plan, sid)   # may refuse: the session is still as it was
            note = open_clip(s, clip, ctx.engine)
            if plan is not None:
                attach(s, plan, source_file, projects, sid)
            if plan is not None and plan.saved is not None:
                reviewed = sum(len(o.reviewed) for o in s.objects.values())
                hint = (f"Reopened its project: {len(s.objects)} object(s), {len(s.edits.newest_all())} corrected "
                        f"mask(s), {reviewed} reviewed frame(s); decoded with the caps it was labelled with.")
            elif s.objects:
                hint = f"{len(s.objects)} object(s) from ground truth: press Segment."
            else:
                hint = "Click two opposite corners on the frame to box an object."
            where = f" · project `{s.project.folder.name}`" if s.project is not None else ""
            return {L.info: f"**{s.clip_name}** · {note}{where}", L.accordion: gr.Accordion(open=False),
                    L.recent: gr.Dropdown(choices=recent_choices(projects, owner), value=None),
                    ui.player.scrub: gr.Slider(minimum=0, maximum=max(1, s.num_frames - 1), value=0, step=1),
                    ui.segment.status: f"Opened {s.clip_name}. {hint}", ui.plots.plot: None,
                    **refresh.everything(ui, s, 0)}

    @calm(outs)
    def on_upload(path, start, end, stride, max_side, max_frames, owner, request: gr.Request):
        if not path:
            raise UserError(f"No file was received. {WHAT_TO_OPEN}")
        return opened(Path(path), (start, end, stride, max_side, max_frames), request, owner)

    def clear_upload():
        return None  # ready for the next file, whatever happened to this one

    @calm(outs)
    def on_demo(name, start, end, stride, max_side, max_frames, owner, request: gr.Request):
        if name not in ctx.demos:
            raise UserError("Choose a demo clip first.")
        return opened(ctx.demos[name], (start, end, stride, max_side, max_frames), request, owner)

    @calm(outs)
    def on_reopen(folder, owner, request: gr.Request):
        if projects is None or not folder:
            raise UserError("Choose a project from Recent projects first.")
        plan = projects.plan_recent(folder, owner)
        return opened(plan.source_path, (), request, owner, plan)

    lane = dict(api_visibility="private", concurrency_id="load", concurrency_limit=4, show_progress="full",
                show_progress_on=[ui.segment.status])
    L.upload.upload(on_upload, [L.upload, *L.caps_inputs, L.browser], outs, **lane).then(
        clear_upload, None, L.upload, api_visibility="private", show_progress="hidden")
    L.open_demo.click(on_demo, [L.demo, *L.caps_inputs, L.browser], outs, **lane)
    L.reopen.click(on_reopen, [L.recent, L.browser], outs, **lane)

    def on_page_load(owner):
        """Give a new browser its random project key, and list its recent projects."""
        owner = owner if isinstance(owner, str) and len(owner) >= 16 else secrets.token_hex(16)
        return owner, gr.Dropdown(choices=recent_choices(projects, owner), value=None)

    ui.blocks.load(on_page_load, L.browser, [L.browser, L.recent], **FAST)
