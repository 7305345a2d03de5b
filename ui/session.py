"""Server-side per-session state: the clip, its objects, model results and view settings.

Frames and results are large, so they live here (keyed by the browser session) rather than
in gr.State copies; the store evicts the least recently used sessions beyond a cap and
drops a session when its tab closes.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from eoras_core.engine import EorasPredictor, TrackResult
from eoras_core.modeling import EoRaS

from .annotations import MaskEdits
from .objects import LabelledObject, colour_for, fill_track


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
    hidden: frozenset[int] = frozenset()


@dataclass
class Session:
    clip: Sequence[np.ndarray] | None = None      # FrameStore or (T,H,W,3) array
    clip_name: str = ""
    fps: float = 24.0
    K: np.ndarray | None = None
    gt: GroundTruth | None = None
    objects: dict[int, LabelledObject] = field(default_factory=dict)
    selected: int | None = None
    next_id: int = 1
    pending: tuple[int, int] | None = None         # first click of a two-click box
    results: dict[int, TrackResult] = field(default_factory=dict)
    result_sig: dict[int, str] = field(default_factory=dict)
    tracks: dict[int, tuple[str, np.ndarray, np.ndarray]] = field(default_factory=dict)
    rates: dict[int, tuple[str, np.ndarray]] = field(default_factory=dict)  # occlusion rate per result
    edits: MaskEdits = field(default_factory=MaskEdits)
    view: ViewSettings = field(default_factory=ViewSettings)
    predictor: EorasPredictor | None = None
    pca: Any = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def num_frames(self) -> int:
        return 0 if self.clip is None else len(self.clip)

    @property
    def size(self) -> tuple[int, int]:
        if self.clip is None:
            return (0, 0)
        return tuple(np.asarray(self.clip[0]).shape[:2])  # type: ignore[return-value]

    def reset_clip(self, clip: Sequence[np.ndarray], name: str, fps: float, K: np.ndarray | None,
                   gt: GroundTruth | None) -> None:
        self.clip, self.clip_name, self.fps, self.K, self.gt = clip, name, fps, K, gt
        self.objects.clear()
        self.results.clear()
        self.result_sig.clear()
        self.tracks.clear()
        self.rates.clear()
        self.edits = MaskEdits()
        self.selected, self.next_id, self.pending, self.pca = None, 1, None, None
        if self.predictor is not None:
            self.predictor.set_video(clip, K)

    def add_object(self, name: str | None = None, category: str = "object", **kw: Any) -> LabelledObject:
        obj_id = self.next_id
        self.next_id += 1
        obj = LabelledObject(obj_id, name or f"object {obj_id}", category, colour_for(obj_id), **kw)
        self.objects[obj_id] = obj
        self.selected = obj_id
        return obj

    def delete_object(self, obj_id: int) -> None:
        self.objects.pop(obj_id, None)
        self.results.pop(obj_id, None)
        self.result_sig.pop(obj_id, None)
        self.tracks.pop(obj_id, None)
        self.edits.drop_object(obj_id)
        if self.selected == obj_id:
            self.selected = next(iter(self.objects), None)

    def track_of(self, obj_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Effective (T,4) boxes and (T,) sources of an object, recomputed only when it changed."""
        obj = self.objects[obj_id]
        sig = obj.signature()
        cached = self.tracks.get(obj_id)
        if cached is None or cached[0] != sig:
            track, source = fill_track(obj, self.clip, self.num_frames)
            cached = (sig, track, source)
            self.tracks[obj_id] = cached
        return cached[1], cached[2]

    def stale_objects(self) -> list[int]:
        """Objects whose boxes changed since their last model run (or that never ran)."""
        return [i for i, o in self.objects.items() if self.result_sig.get(i) != o.signature()]


class SessionStore:
    """Sessions by id; least recently used ones are dropped beyond `capacity`."""

    def __init__(self, model: EoRaS | None, capacity: int = 16) -> None:
        self.model = model
        self.capacity = capacity
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sid: str) -> Session:
        with self._lock:
            s = self._sessions.get(sid)
            if s is None:
                s = Session(predictor=EorasPredictor(self.model) if self.model is not None else None)
                self._sessions[sid] = s
                while len(self._sessions) > self.capacity:
                    self._sessions.popitem(last=False)
            self._sessions.move_to_end(sid)
            return s

    def drop(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def __len__(self) -> int:
        return len(self._sessions)
