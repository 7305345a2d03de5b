"""Per-object, per-frame masks with provenance: what the model said and what people changed.

Model results stay as the engine returned them; a human revision of a mask is stored as a
COCO RLE with its source and time, newest last, so edits can be undone, audited and
written to disk without touching the model's output. The effective mask is the newest
revision, or the model's mask where nobody edited.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from eoras_core.boxes import box_of_mask
from eoras_core.export import mask_to_rle, rle_to_mask

KINDS = ("amodal", "visible")


@dataclass(frozen=True)
class Revision:
    rle: dict
    source: str  # "human" | "model" | "import"
    created: float
    checkpoint: str | None = None  # the model that made it, for source "model"
    box: tuple[float, float, float, float] | None = None  # tight box of the mask (None: empty)


class MaskEdits:
    """Revisions keyed by (obj_id, frame, kind)."""

    def __init__(self) -> None:
        self._revs: dict[tuple[int, int, str], list[Revision]] = {}
        self.revision = 0  # counts changes, so caches of effective masks know when to refresh

    def push(self, obj_id: int, frame: int, kind: str, mask: np.ndarray, source: str = "human",
             checkpoint: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        tight = box_of_mask(mask)
        revision = Revision(mask_to_rle(mask), source, time.time(), checkpoint,
                            None if tight is None else tuple(float(v) for v in tight))
        self._revs.setdefault((obj_id, frame, kind), []).append(revision)
        self.revision += 1

    def undo(self, obj_id: int, frame: int, kind: str) -> bool:
        revs = self._revs.get((obj_id, frame, kind))
        if not revs:
            return False
        revs.pop()
        self.revision += 1
        return True

    def current(self, obj_id: int, frame: int, kind: str) -> np.ndarray | None:
        revs = self._revs.get((obj_id, frame, kind))
        return rle_to_mask(revs[-1].rle) if revs else None

    def provenance(self, obj_id: int, frame: int, kind: str) -> str:
        revs = self._revs.get((obj_id, frame, kind))
        return revs[-1].source if revs else "model"

    def newest(self, obj_id: int, frame: int, kind: str) -> Revision | None:
        revs = self._revs.get((obj_id, frame, kind))
        return revs[-1] if revs else None

    def state(self) -> dict[tuple[int, int, str], list[Revision]]:
        """A copy of every revision list (revisions are immutable, so they are shared)."""
        return {key: list(revs) for key, revs in self._revs.items()}

    def restore(self, state: dict[tuple[int, int, str], list[Revision]]) -> None:
        self._revs = {key: list(revs) for key, revs in state.items()}
        self.revision += 1

    def newest_all(self) -> dict[tuple[int, int, str], Revision]:
        """The newest revision of every mask that has one, keyed by (obj_id, frame, kind)."""
        return {key: revs[-1] for key, revs in self._revs.items() if revs}

    def put(self, obj_id: int, frame: int, kind: str, revision: Revision) -> None:
        """Add a revision made elsewhere (a project read back from disk)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self._revs.setdefault((obj_id, frame, kind), []).append(revision)
        self.revision += 1

    def frames(self, obj_id: int, kind: str, source: str | None = None) -> list[int]:
        """Frames where the object's `kind` mask has revisions (the newest from `source`, if given)."""
        return sorted(f for (o, f, k), revs in self._revs.items()
                      if o == obj_id and k == kind and revs and (source is None or revs[-1].source == source))

    def human_count(self, obj_id: int) -> int:
        """How many of an object's masks carry a human revision."""
        return sum(1 for (o, _, _), revs in self._revs.items() if o == obj_id and any(r.source == "human" for r in revs))

    def drop_object(self, obj_id: int) -> None:
        for key in [k for k in self._revs if k[0] == obj_id]:
            del self._revs[key]
        self.revision += 1

    def __len__(self) -> int:
        return sum(len(v) for v in self._revs.values())
