"""Objects being labelled in the studio: identity, colour, keyframe boxes and re-centring.

How keyframes fill the other frames (interpolation, optical-flow tracking) is
eoras_core.tracking; box formats are eoras_core.boxes. No Gradio here.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from eoras_core import tracking
from eoras_core.boxes import Box, box_of_mask, clip_box

__all__ = ["Box", "PALETTE", "LabelledObject", "box_of_mask", "clip_box", "colour_for", "fill_track",
           "recentre_on_mask"]

PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40)]


def colour_for(obj_id: int) -> tuple[int, int, int]:
    return PALETTE[(obj_id - 1) % len(PALETTE)]


@dataclass
class LabelledObject:
    """One object: identity, keyframe boxes and how the remaining frames are filled."""

    obj_id: int
    name: str = "object"
    category: str = "object"
    colour: tuple[int, int, int] = (230, 25, 75)
    keyframes: dict[int, Box] = field(default_factory=dict)
    given: dict[int, Box] = field(default_factory=dict)  # per-frame boxes from ground truth or an import
    track_after_last: bool = True      # track past the last keyframe (else out of view there)
    shown: bool = True
    from_ground_truth: bool = False
    gt_index: int | None = None        # object index in the scene's ground truth
    hidden: set[int] = field(default_factory=set)       # present but fully occluded: visible mask empty
    out_of_view: set[int] = field(default_factory=set)  # the track ends here: no box, nothing carried across
    reviewed: set[int] = field(default_factory=set)     # frames a person has checked ("done")

    def signature(self) -> str:
        """Changes whenever the boxes the model would see change (drives re-running)."""
        items = sorted((k, tuple(round(v, 2) for v in b)) for k, b in self.keyframes.items())
        given = sorted((k, tuple(round(v, 2) for v in b)) for k, b in self.given.items())
        key = (items, given, self.track_after_last, sorted(self.out_of_view))
        return hashlib.sha1(repr(key).encode()).hexdigest()[:16]


def fill_track(obj: LabelledObject, frames: Sequence[np.ndarray] | None, T: int) -> tuple[np.ndarray, np.ndarray]:
    """(T,4) boxes (NaN = out of view) and (T,) sources of an object; see eoras_core.tracking.fill_track."""
    return tracking.fill_track(obj.keyframes, obj.given, obj.track_after_last, frames, T, obj.out_of_view)


def recentre_on_mask(box: Box, visible: np.ndarray, blend: float = 1.0) -> Box:
    """Move a box toward the tight box of the model's visible mask (blend 1 = snap)."""
    tight = box_of_mask(visible)
    if tight is None:
        return box
    return tuple(float(b + blend * (t - b)) for b, t in zip(box, tight))  # type: ignore[return-value]
