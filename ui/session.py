"""Server-side per-session state: the clip, its objects, model results and view settings.

Frames and results are large, so they live here (keyed by the browser session) rather than
in gr.State copies. Every read or change of a session goes through `SessionStore.use()`,
which holds that session's lock. `revision` counts changes, so caches know when to refresh.
"""
from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from eoras_core.engine import TrackResult
from eoras_core.shared_predictor import SharedPredictor, VideoRef

from .annotations import MaskEdits
from .history import History
from .objects import LabelledObject, colour_for, fill_track

if TYPE_CHECKING:
    from .scene_loading import SourceVideo

_clip_keys = itertools.count(1)


@dataclass
class GroundTruth:
    """Scene ground truth at the stored frame size: amodal (N,T,H,W) bool, visible ids (T,H,W)."""

    amodal: np.ndarray
    visible_ids: np.ndarray
    names: list[str]

    def visible(self, index: int, frame: int) -> np.ndarray:
        return self.visible_ids[frame] == index + 1


@dataclass
class ViewSettings:
    layers: tuple[str, ...] = ("visible", "occluded", "boxes", "labels")
    mask_opacity: float = 0.45
    occluded_opacity: float = 0.6
    direction: int = 0            # slot attention: 0 forward pass, 1 backward
    slot: int = 0                 # slot overlaid on the frame
    over: str = "image"           # slot attention over image or BEV cells
    scale: str = "shared"         # slot tiles: one colour range or one per slot
    hidden: frozenset[int] = frozenset()


@dataclass
class Preview:
    """A single-frame model run right after a box was drawn; replaced by the clip run."""

    frame: int
    signature: str
    result: TrackResult


@dataclass
class Playback:
    """Wall-clock playback: the frame shown follows elapsed time, so slow ticks skip frames."""

    start_time: float = 0.0
    start_frame: int = 0
    ticks: list[float] = field(default_factory=list)

    def restart(self, frame: int) -> None:
        self.start_time, self.start_frame, self.ticks = time.monotonic(), frame, []

    def frame_now(self, fps: float, num_frames: int) -> int:
        now = time.monotonic()
        self.ticks = [t for t in self.ticks if now - t < 2.0] + [now]
        return (self.start_frame + int((now - self.start_time) * fps)) % max(1, num_frames)

    def rate(self) -> float:
        """Frames shown per second over the last two seconds."""
        if len(self.ticks) < 2:
            return 0.0
        return (len(self.ticks) - 1) / max(1e-6, self.ticks[-1] - self.ticks[0])


@dataclass
class Session:
    clip: Sequence[np.ndarray] | None = None      # FrameStore or (T,H,W,3) array
    clip_name: str = ""
    source: SourceVideo | None = None              # the opened file before caps (project coordinates)
    project: Any = None                            # ProjectLink of the folder this clip is saved in
    clip_key: tuple = ()                           # names the clip in the shared encoder cache
    fps: float = 24.0
    K: np.ndarray | None = None                    # (T,3,3) the model's K for this clip
    given_K: np.ndarray | None = None              # K that came with the clip (MOVi scenes)
    gt: GroundTruth | None = None
    objects: dict[int, LabelledObject] = field(default_factory=dict)
    selected: int | None = None
    next_id: int = 1
    pending: tuple[float, float] | None = None     # first corner of a two-click box (display only)
    last_press: int = 0                            # serial of the last frame press handled
    results: dict[int, TrackResult] = field(default_factory=dict)
    result_sig: dict[int, str] = field(default_factory=dict)
    result_time: dict[int, float] = field(default_factory=dict)   # when each clip result was made
    model_name: str = ""                                          # checkpoint the results came from
    previews: dict[int, Preview] = field(default_factory=dict)
    tracks: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    flow_done: set[int] = field(default_factory=set)   # objects whose tracks include optical flow
    edits: MaskEdits = field(default_factory=MaskEdits)
    view: ViewSettings = field(default_factory=ViewSettings)
    playback: Playback = field(default_factory=Playback)
    history: History = field(default_factory=History)
    confirm_delete: int | None = None              # object whose deletion awaits a second press
    revision: int = 0
    caches: dict[str, tuple[Any, Any]] = field(default_factory=dict)   # name -> (key it was made for, value)
    dataset: Any = None                            # ui.dataset.Dataset opened from this page (else the studio's)
    dataset_track: Any = None                      # ui.dataset.OpenTrack: the dataset object in the viewer
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def num_frames(self) -> int:
        return 0 if self.clip is None else len(self.clip)

    @property
    def size(self) -> tuple[int, int]:
        if self.clip is None:
            return (0, 0)
        return tuple(np.asarray(self.clip[0]).shape[:2])  # type: ignore[return-value]

    @property
    def video(self) -> VideoRef:
        return VideoRef(self.clip_key, self.clip, self.given_K)

    def changed(self) -> None:
        self.revision += 1

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """compute() once per revision of the session (and of its mask edits)."""
        key = (self.revision, self.edits.revision)
        hit = self.caches.get(name)
        if hit is None or hit[0] != key:
            hit = (key, compute())
            self.caches[name] = hit
        return hit[1]

    def reset_clip(self, clip: Sequence[np.ndarray], name: str, fps: float, K: np.ndarray | None,
                   gt: GroundTruth | None, model_K: np.ndarray | None, source: SourceVideo | None = None) -> None:
        self.clip, self.clip_name, self.fps, self.given_K, self.gt = clip, name, fps, K, gt
        self.source, self.project = source, None
        self.K = model_K
        self.clip_key = ("clip", next(_clip_keys))
        for store in (self.objects, self.results, self.result_sig, self.result_time, self.previews, self.tracks,
                      self.caches):
            store.clear()
        self.flow_done.clear()
        self.history.clear()
        self.confirm_delete = None
        self.edits = MaskEdits()
        self.selected, self.next_id, self.pending = None, 1, None
        self.view.hidden = frozenset()      # object ids of the last clip mean nothing here
        self.dataset_track = None
        self.changed()

    def add_object(self, name: str | None = None, category: str = "object", **kw: Any) -> LabelledObject:
        obj_id = self.next_id
        self.next_id += 1
        obj = LabelledObject(obj_id, name or f"object {obj_id}", category, colour_for(obj_id), **kw)
        self.objects[obj_id] = obj
        self.selected = obj_id
        self.boxes_changed(obj_id)
        return obj

    def delete_object(self, obj_id: int) -> None:
        for store in (self.objects, self.results, self.result_sig, self.previews, self.tracks):
            store.pop(obj_id, None)
        self.flow_done.discard(obj_id)
        self.edits.drop_object(obj_id)
        if self.selected == obj_id:
            self.selected = next(iter(self.objects), None)
        self.changed()

    def boxes_changed(self, obj_id: int) -> None:
        """An object's keyframes changed: its interpolated track is recomputed now (cheap);
        optical flow past the last keyframe follows in `update_flow`."""
        obj = self.objects[obj_id]
        self.tracks[obj_id] = fill_track(obj, None, self.num_frames)
        self.flow_done.discard(obj_id)
        self.changed()

    def update_flow(self) -> list[int]:
        """Track every object that needs it past its last keyframe; returns the ids updated."""
        todo = [i for i, o in self.objects.items()
                if i not in self.flow_done and o.keyframes and o.track_after_last]
        for obj_id in todo:
            self.tracks[obj_id] = fill_track(self.objects[obj_id], self.clip, self.num_frames)
            self.flow_done.add(obj_id)
        for obj_id, obj in self.objects.items():
            if not (obj.keyframes and obj.track_after_last):
                self.flow_done.add(obj_id)
        if todo:
            self.changed()
        return todo

    def track_of(self, obj_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Effective (T,4) boxes (NaN = none) and (T,) sources of an object (computed on change)."""
        return self.tracks[obj_id]

    def corrected_boxes(self, obj_id: int) -> dict[int, tuple[float, float, float, float]]:
        """Frames where a person corrected the visible mask -> the tight box of that mask.

        These boxes are what a re-run sees there: a corrected mask says where the object is
        better than a keyframe box does.
        """

        def compute() -> dict:
            revisions = {f: self.edits.newest(obj_id, f, "visible") for f in
                         self.edits.frames(obj_id, "visible", source="human")}
            return {f: rev.box for f, rev in revisions.items() if rev.box is not None}

        return self.cached(f"corrected:{obj_id}", compute)

    def signature(self, obj_id: int) -> str:
        """Changes whenever the boxes the model would see for this object change."""
        corrected = sorted((f, tuple(round(v, 1) for v in b)) for f, b in self.corrected_boxes(obj_id).items())
        base = self.objects[obj_id].signature()
        return base + "+" + hashlib.sha1(repr(corrected).encode()).hexdigest()[:8] if corrected else base

    def model_track(self, obj_id: int) -> np.ndarray:
        """(T,4) boxes a clip run uses: the object's track with corrected frames' boxes in place."""
        track = self.track_of(obj_id)[0].copy()
        for frame, box in self.corrected_boxes(obj_id).items():
            if 0 <= frame < self.num_frames and frame not in self.objects[obj_id].out_of_view:
                track[frame] = box
        return track

    def stale_objects(self) -> list[int]:
        """Objects whose boxes changed since their last model run (or that never ran)."""
        return [i for i in self.objects if self.result_sig.get(i) != self.signature(i)]


class SessionStore:
    """Sessions by id; least recently used ones are dropped beyond `capacity`.

    `use(sid)` is the one way in: it yields the session with its lock held. Dropped
    sessions free their frames in the shared predictor's cache.
    """

    def __init__(self, engine: SharedPredictor | None, capacity: int = 16,
                 on_drop: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.capacity = capacity
        self.on_drop = on_drop   # told the id of every session that goes (its project folder is freed)
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, sid: str) -> Session:
        with self._lock:
            s = self._sessions.get(sid)
            evicted = []
            if s is None:
                s = Session()
                self._sessions[sid] = s
                while len(self._sessions) > self.capacity:
                    evicted.append(self._sessions.popitem(last=False))
            self._sessions.move_to_end(sid)
        for old_sid, old in evicted:
            self._release(old_sid, old)
        return s

    @contextmanager
    def use(self, sid: str) -> Iterator[Session]:
        s = self._get(sid)
        with s.lock:
            yield s

    def drop(self, sid: str) -> None:
        with self._lock:
            s = self._sessions.pop(sid, None)
        if s is not None:
            self._release(sid, s)

    def _release(self, sid: str, s: Session) -> None:
        if self.engine is not None and s.clip_key:
            self.engine.forget(s.clip_key)
        if self.on_drop is not None:
            self.on_drop(sid)

    def __contains__(self, sid: str) -> bool:
        return sid in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)
