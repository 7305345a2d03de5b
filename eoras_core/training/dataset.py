"""Training samples: a window of frames of one object track, cropped around jittered boxes.

Box jitter and scale augmentation make the model robust to boxes drawn by people or
trackers (loose, tight, off-centre), not only the exact boxes of rendered ground truth;
photometric augmentation (photometric.py) to cameras that do not render cleanly.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..crop import crop_mask, crop_patch, enlarged_box
from ..data.movi import MoviSplit
from . import photometric
from .photometric import Photometric


@dataclass(frozen=True)
class Augment:
    jitter: float = 0.08         # centre shift, fraction of box size, per track (+ half that per frame)
    scale: float = 0.15          # log-uniform size change up to +-15% per track, per axis
    flip: bool = True            # horizontal flip of the whole window (K's x axis flips too)
    photometric: Photometric | None = Photometric()   # colour, grey, blur, noise, JPEG (crops only)


def jitter_boxes(boxes: np.ndarray, rng: np.random.Generator, aug: Augment) -> np.ndarray:
    """(n,4) Kubric boxes -> perturbed boxes, clipped to [0,1] (track-level + small per-frame)."""
    y0, x0, y1, x1 = boxes.T
    cy, cx, h, w = (y0 + y1) / 2, (x0 + x1) / 2, y1 - y0, x1 - x0
    n = len(boxes)
    sy, sx = np.exp(rng.uniform(-aug.scale, aug.scale, 2))
    dy, dx = rng.uniform(-aug.jitter, aug.jitter, 2)
    fy, fx = rng.uniform(-aug.jitter / 2, aug.jitter / 2, (2, n))
    cy, cx = cy + (dy + fy) * h, cx + (dx + fx) * w
    h, w = h * sy, w * sx
    out = np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=1)
    return np.clip(out, 0.0, 1.0)


class TrackWindows(Dataset):
    """Item i -> dict(crops (T,3,128,128), K (T,3,3), amodal, visible (T,1,121,121))."""

    def __init__(self, root: str | Path, seq_len: int = 12, augment: Augment | None = Augment(), seed: int = 0) -> None:
        self.split = MoviSplit(root)
        # An object never in view (no box on any frame) has nothing to learn from.
        self.tracks = [(v, o) for v, o in self.split.tracks
                       if len(self.split.metadata(v)["instances"][o].get("bbox_frames", []))]
        if not self.tracks:
            raise ValueError(f"{root}: no tracks to train on")
        self.seq_len = seq_len
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.tracks)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, i))
        video, obj = self.tracks[i]
        track = self.split.track(video, obj)
        n = len(track.frames)
        start = int(rng.integers(0, max(1, n - self.seq_len + 1)))
        idx = np.arange(start, min(n, start + self.seq_len))
        idx = np.concatenate([idx, np.full(self.seq_len - len(idx), idx[-1])])  # pad: repeat last
        boxes = track.boxes_kubric[idx].astype(np.float64)
        if self.augment is not None:
            boxes = jitter_boxes(boxes, rng, self.augment)
        crops, full, vis, Ks = [], [], [], []
        meta_K = self._video_K(video)
        flip = self.augment is not None and self.augment.flip and rng.random() < 0.5
        look = (photometric.sample(rng, self.augment.photometric)
                if self.augment is not None and self.augment.photometric is not None else None)
        for j, b in zip(idx, boxes):
            f = int(track.frames[j])
            frame = self.split.load_frame(video, f)
            amodal, visible = track.amodal[j], track.visible[j]
            H, W = frame.shape[:2]
            if flip:
                frame, amodal, visible = frame[:, ::-1], amodal[:, ::-1], visible[:, ::-1]
                b = np.array([b[0], 1 - b[3], b[2], 1 - b[1]])
            pos = enlarged_box(b, H, W)
            crops.append(photometric.apply(crop_patch(frame, pos), look, rng))
            full.append(crop_mask(amodal, pos))
            vis.append(crop_mask(visible, pos))
            k = meta_K[f].copy()
            if flip:  # mirrored image: u' = 1 - u (normalised) or W - u (pixels)
                k[0] = (k[2] if abs(k[0, 2]) <= 1 else W * k[2]) - k[0]
            Ks.append(k)
        return {
            "crops": torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous(),
            "K": torch.from_numpy(np.stack(Ks)).float(),
            "amodal": torch.from_numpy(np.stack(full)).float()[:, None],
            "visible": torch.from_numpy(np.stack(vis)).float()[:, None],
        }

    def _video_K(self, video: str) -> np.ndarray:
        meta = self.split.metadata(video)
        T = int(meta["metadata"]["num_frames"])
        K = np.asarray(meta["camera"]["K"], dtype=np.float32)
        return np.broadcast_to(K, (T, 3, 3)) if K.shape == (3, 3) else K
