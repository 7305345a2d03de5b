"""A clip's labels at the source video's resolution: what every export writes and every import reads.

Exports and imports meet here rather than in the studio's session, so the command line and
the studio write the same files. Masks are COCO RLE dicts at (height, width) of the source
video; frame numbers are the source's. visible ⊆ amodal holds for every frame (`FrameLabel`
enforces it when built from masks).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .export import mask_to_rle, rle_to_mask

Box = list[float]  # [x0, y0, x1, y1] in source pixels
DEFAULT_CATEGORY = "object"


@dataclass
class FrameLabel:
    """One object on one frame: amodal and visible RLE (source size) and where they came from.

    provenance: {"source": "model" | "human" | "import", "checkpoint": str | None, "time": float | None}
    of the amodal mask, and of the visible one unless visible_provenance says otherwise.
    """

    amodal: dict
    visible: dict
    provenance: dict = field(default_factory=lambda: {"source": "model", "checkpoint": None, "time": None})
    visible_provenance: dict | None = None   # when the visible mask came from elsewhere (an import)

    @property
    def visible_source(self) -> dict:
        """Provenance of the visible mask."""
        return self.visible_provenance or self.provenance

    @classmethod
    def from_masks(cls, amodal: np.ndarray, visible: np.ndarray, provenance: dict | None = None) -> "FrameLabel":
        """From (H, W) bool masks; the amodal mask is widened to hold the visible one."""
        visible = np.asarray(visible, bool)
        amodal = np.asarray(amodal, bool) | visible
        return cls(mask_to_rle(amodal), mask_to_rle(visible), dict(provenance or {"source": "model", "checkpoint": None,
                                                                              "time": None}))

    def masks(self) -> tuple[np.ndarray, np.ndarray]:
        """(amodal, visible) (H, W) bool."""
        return rle_to_mask(self.amodal), rle_to_mask(self.visible)


@dataclass
class ObjectLabels:
    """One object over the clip: identity, per-frame masks and the marks a person made."""

    id: int
    name: str
    category: str = "object"
    color: str | None = None                                   # "#rrggbb"
    frames: dict[int, FrameLabel] = field(default_factory=dict)   # source frame -> masks
    keyframes: dict[int, Box] = field(default_factory=dict)      # boxes a person drew
    hidden: set[int] = field(default_factory=set)              # present, fully occluded (visible empty)
    out_of_view: set[int] = field(default_factory=set)         # the track ends here
    reviewed: set[int] = field(default_factory=set)            # checked by a person


@dataclass
class VideoLabels:
    """Every object of one video. `decoded`: the source frames the studio or the model saw
    (None: all of them); exports list every source frame, with null where nothing is known."""

    name: str
    width: int
    height: int
    num_frames: int
    fps: float | None = None
    sha256: str | None = None
    objects: list[ObjectLabels] = field(default_factory=list)
    source: Path | None = None          # the video file (exports that write frames read it)
    decoded: list[int] | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    def check(self) -> None:
        """Raise ValueError when two objects share an id, a mask is not at the video's size or
        a frame is out of range."""
        ids = [obj.id for obj in self.objects]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"video {self.name}: object id {twice[0]} is used by two objects")
        for obj in self.objects:
            for f, label in obj.frames.items():
                if not 0 <= f < self.num_frames:
                    raise ValueError(f"object {obj.id} ({obj.name}): frame {f} is outside the video's "
                                     f"{self.num_frames} frames")
                for kind in ("amodal", "visible"):
                    size = getattr(label, kind).get("size")
                    if list(size) != [self.height, self.width]:
                        raise ValueError(f"object {obj.id} ({obj.name}): {kind} mask of frame {f} is "
                                         f"{size[1]}x{size[0]}, expected the video's {self.width}x{self.height}")


def category_names(videos: Sequence[VideoLabels], shared: Sequence[str] | None = None) -> list[str]:
    """Categories merged by name: a shared list first (in its order), then others as they appear."""
    names = list(dict.fromkeys(shared or ()))
    for video in videos:
        for obj in video.objects:
            if (obj.category or DEFAULT_CATEGORY) not in names:
                names.append(obj.category or DEFAULT_CATEGORY)
    return names or [DEFAULT_CATEGORY]
