"""Model masks read back from a project folder, so a reopened clip shows them without a re-run.

A project keeps what the model showed (thresholded masks at the source resolution), not its
probabilities or features; so a StoredTrack answers the mask questions of a TrackResult
and has no BEV maps or slot attention (a new clip run brings those back).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from eoras_core.boxes import xyxy_to_kubric
from eoras_core.crop import crop_positions
from eoras_core.export import rle_to_mask
from eoras_core.resample import resize_mask


class StoredTrack:
    """One object's saved model masks on the frames where it had a box.

    frames (n,) kept-frame indices; boxes (n,4) xyxy at frame_size; amodal/visible: n COCO
    RLEs of any size (the source's), decoded and resampled to frame_size when asked.
    """

    bev = attn_slot_bev = attn_slot_feature = attn_feature_slot = None
    cache_frames = 64

    def __init__(self, obj_id: int, frame_size: tuple[int, int], frames: np.ndarray, boxes: np.ndarray,
                 amodal: list[dict], visible: list[dict]) -> None:
        H, W = frame_size
        self.obj_id = obj_id
        self.checkpoint: str | None = None   # the model that made these masks
        self.confidence: float | None = None  # ui/uncertainty.confidence of the run, as saved
        self.frame_size = (int(H), int(W))
        self.frames = np.asarray(frames, np.int64)
        self.boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        self.positions = (crop_positions(xyxy_to_kubric(self.boxes, H, W), H, W) if len(self.frames)
                          else np.zeros((0, 4), np.int64))
        self._rles = (list(amodal), list(visible))
        self._lookup = {int(f): i for i, f in enumerate(self.frames)}
        self._masks: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    def index(self, frame: int) -> int | None:
        return self._lookup.get(int(frame))

    def _mask(self, frame: int, which: int) -> np.ndarray:
        i = self.index(frame)
        if i is None:
            return np.zeros(self.frame_size, bool)
        hit = self._masks.get((i, which))
        if hit is None:
            hit = resize_mask(rle_to_mask(self._rles[which][i]), self.frame_size)
            self._masks[(i, which)] = hit
            while len(self._masks) > self.cache_frames:
                self._masks.popitem(last=False)
        else:
            self._masks.move_to_end((i, which))
        return hit.copy()

    def amodal_mask(self, frame: int) -> np.ndarray:
        """(H,W) bool at frame_size: the saved amodal mask (zeros where the object had no box)."""
        return self._mask(frame, 0)

    def visible_mask(self, frame: int) -> np.ndarray:
        return self._mask(frame, 1)

    def occluded_mask(self, frame: int) -> np.ndarray:
        return self.amodal_mask(frame) & ~self.visible_mask(frame)

    def masks_at(self, frame: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(amodal, visible) at another size: the saved masks themselves at the source's size."""
        i = self.index(frame)
        if i is None:
            empty = np.zeros(size, bool)
            return empty, empty.copy()
        return tuple(resize_mask(rle_to_mask(rles[i]), size) for rles in self._rles)  # type: ignore[return-value]

    def slot_image_attention(self, frame: int, slot: int, direction: int = 0) -> None:
        return None
