"""Test helper: a small MOVi-layout split of moving, overlapping rectangles (written, not rendered)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from eoras_core.data import write_instance_list, write_movi_video
from eoras_core.intrinsics import kubric_K


def write_rect_split(root: Path, videos: int = 2, T: int = 5, H: int = 64, W: int = 80, seed: int = 0) -> Path:
    """Each video: a far object (id 0) crossed by a near one (id 1), so object 0 is partly hidden."""
    rng = np.random.default_rng(seed)
    entries = []
    for v in range(videos):
        frames = np.full((T, H, W, 3), 90, np.uint8)
        frames += rng.integers(0, 30, frames.shape, dtype=np.uint8)
        amodal = np.zeros((2, T, H, W), bool)
        for t in range(T):
            amodal[0, t, 10:40, 15 + v:45 + v] = True
            x = 5 + 12 * t
            amodal[1, t, 25:55, x:x + 20] = True
        ids = np.zeros((T, H, W), np.int64)
        for obj, colour in ((0, (220, 40, 40)), (1, (40, 40, 220))):
            ids[amodal[obj]] = obj + 1
            frames[ids == obj + 1] = colour
        name = f"video_{v:05d}"
        write_movi_video(root / name, frames, ids, amodal, kubric_K(H, W))
        entries += [(name, 0), (name, 1)]
    write_instance_list(root, entries)
    return root
