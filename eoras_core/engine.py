"""Object-centric inference engine (predictor style).

`set_video()` takes frames and intrinsics; `predict()` takes one box track per object and
returns per-object results that paste masks, probabilities and attention maps back into
frame coordinates on demand. The per-frame work (crop, encoder, BEV) is cached by
(frame, crop window), so re-running after editing one object's boxes only recomputes
that object's changed frames; the slot recurrence always runs over the whole track.
"""
from __future__ import annotations

import contextlib
import itertools
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Hashable, Mapping, Sequence

import numpy as np
import torch

from .crop import crop_batch, crop_patch, crop_positions, paste_back, paste_back_prob
from .cuda_graphs import StepGraphs
from .intrinsics import default_intrinsics
from .modeling import EoRaS
from .modeling.fused import FusedEoRaS
from .boxes import TrackInput, as_track, xyxy_to_kubric

Progress = Callable[[float, str], None]
_anonymous = itertools.count()


def device_batch_frames(device: torch.device) -> int:
    """Frames per batch for a device: 64 on a CPU; on a GPU 16 per GiB of its memory, from 64
    to 1024 (a 16 GiB card: 256; an 80 GiB one: 1024, ~40 tracks of 24 frames at once)."""
    if device.type != "cuda":
        return 64
    gib = torch.cuda.get_device_properties(device).total_memory / 2**30
    return int(min(1024, max(64, 16 * gib)))


def default_cache_bytes(device: torch.device | None = None) -> int:
    """Encoder-cache budget sized to where the cache lives: 1/16 of the machine's memory, or of
    the GPU's when the model is on one (the encoded frames stay there), between 256 MB and 4 GB."""
    if device is not None and device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
        return int(min(4 << 30, max(256 << 20, total // 16)))
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        total = 8 << 30
    return int(min(4 << 30, max(256 << 20, total // 16)))


@dataclass
class TrackResult:
    """One object's model outputs on the frames where it had a box.

    frames (n,) frame indices; positions (n,4) crop windows (row_min,row_max,col_min,col_max);
    full_prob / vis_prob (n,121,121) float32; bev (n,C,16,16) float16; attn_slot_bev and
    attn_slot_feature (2,n,S,256); attn_feature_slot (2,n,256,S) (index 0 forward pass).
    """

    obj_id: int
    frame_size: tuple[int, int]
    frames: np.ndarray
    boxes: np.ndarray
    positions: np.ndarray
    full_prob: np.ndarray
    vis_prob: np.ndarray
    bev: np.ndarray | None = None
    attn_slot_bev: np.ndarray | None = None
    attn_slot_feature: np.ndarray | None = None
    attn_feature_slot: np.ndarray | None = None
    _lookup: dict[int, int] = field(default_factory=dict, repr=False)
    _masks: OrderedDict = field(default_factory=OrderedDict, repr=False)
    cache_frames: int = 256  # thresholded masks kept per object, window-sized and bit-packed (scrubbing reuses them)

    def __post_init__(self) -> None:
        self._lookup = {int(f): i for i, f in enumerate(self.frames)}

    def _window_masks(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Amodal and visible masks of entry i, thresholded inside the crop window only."""
        packed = self._masks.get(i)
        if packed is None:
            H, W = self.frame_size
            r0, r1, c0, c1 = (int(v) for v in self.positions[i])
            h, w = max(0, min(r1, H - 1) - r0 + 1), max(0, min(c1, W - 1) - c0 + 1)
            local = (0, r1 - r0, 0, c1 - c0)  # paste into the window's own frame, then cut to the image
            hit = tuple(paste_back(p[i], local, r1 - r0 + 1, c1 - c0 + 1)[:h, :w] for p in (self.full_prob, self.vis_prob))
            # Bit-packed: a 720p object's window masks shrink 8x, so many sessions fit in memory.
            self._masks[i] = ((h, w), np.packbits(hit[0]), np.packbits(hit[1]))
            while len(self._masks) > self.cache_frames:
                self._masks.popitem(last=False)
            return hit
        self._masks.move_to_end(i)
        (h, w), amodal, visible = packed
        return tuple(np.unpackbits(m, count=h * w).view(bool).reshape(h, w) for m in (amodal, visible))

    def _full(self, frame: int, which: int) -> np.ndarray:
        out = np.zeros(self.frame_size, bool)
        i = self.index(frame)
        if i is not None:
            r0, c0 = int(self.positions[i][0]), int(self.positions[i][2])
            m = self._window_masks(i)[which]
            out[r0:r0 + m.shape[0], c0:c0 + m.shape[1]] = m
        return out

    def index(self, frame: int) -> int | None:
        return self._lookup.get(int(frame))

    def _paste(self, maps: np.ndarray, frame: int, fn: Callable) -> np.ndarray | None:
        i = self.index(frame)
        if i is None:
            return None
        H, W = self.frame_size
        return fn(maps[i], self.positions[i], H, W)

    def amodal_prob(self, frame: int) -> np.ndarray:
        """(H,W) float32 amodal probability; zeros where the object has no box."""
        out = self._paste(self.full_prob, frame, paste_back_prob)
        return np.zeros(self.frame_size, np.float32) if out is None else out

    def visible_prob(self, frame: int) -> np.ndarray:
        out = self._paste(self.vis_prob, frame, paste_back_prob)
        return np.zeros(self.frame_size, np.float32) if out is None else out

    def amodal_mask(self, frame: int) -> np.ndarray:
        """(H,W) bool: the object's full extent, hidden parts included (the published paste-back, > 0.5)."""
        return self._full(frame, 0)

    def visible_mask(self, frame: int) -> np.ndarray:
        return self._full(frame, 1)

    def occluded_mask(self, frame: int) -> np.ndarray:
        """(H,W) bool: amodal and not visible."""
        return self.amodal_mask(frame) & ~self.visible_mask(frame)

    def masks_at(self, frame: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(amodal, visible) (H',W') bool at another frame size (the source's, when the clip was
        decoded smaller): the crop window is scaled and the 121x121 outputs pasted into it, so
        edges are as fine as that size allows instead of upscaled pixels."""
        H, W = self.frame_size
        Hs, Ws = size
        i = self.index(frame)
        if i is None:
            empty = np.zeros(size, bool)
            return empty, empty.copy()
        if (Hs, Ws) == (H, W):
            return self.amodal_mask(frame), self.visible_mask(frame)
        r0, r1, c0, c1 = (int(v) for v in self.positions[i])
        sy, sx = Hs / H, Ws / W
        pos = (round(r0 * sy), round((r1 + 1) * sy) - 1, round(c0 * sx), round((c1 + 1) * sx) - 1)
        return paste_back(self.full_prob[i], pos, Hs, Ws), paste_back(self.vis_prob[i], pos, Hs, Ws)

    def _cell_map(self, cells: np.ndarray, frame: int) -> np.ndarray | None:
        """A (256,) per-image-cell value -> (H,W) float32 over the crop window."""
        i = self.index(frame)
        if i is None:
            return None
        side = int(round(np.sqrt(cells.shape[-1])))
        H, W = self.frame_size
        return paste_back_prob(cells.reshape(side, side).astype(np.float32), self.positions[i], H, W)

    def slot_image_attention(self, frame: int, slot: int, direction: int = 0) -> np.ndarray | None:
        """(H,W) attention of one slot over the image cells, pasted into the frame."""
        i = self.index(frame)
        if i is None or self.attn_slot_feature is None:
            return None
        return self._cell_map(self.attn_slot_feature[direction, i, slot], frame)

    def slot_bev_attention(self, frame: int, slot: int, direction: int = 0) -> np.ndarray | None:
        """(16,16) attention of one slot over the BEV cells (depth rows, width columns)."""
        i = self.index(frame)
        if i is None or self.attn_slot_bev is None:
            return None
        a = self.attn_slot_bev[direction, i, slot]
        side = int(round(np.sqrt(a.shape[-1])))
        return a.reshape(side, side)

    def cell_assignment(self, frame: int, direction: int = 0) -> np.ndarray | None:
        """(16,16) int: the slot each image cell attends to most (feature -> slot attention)."""
        i = self.index(frame)
        if i is None or self.attn_feature_slot is None:
            return None
        a = self.attn_feature_slot[direction, i]
        side = int(round(np.sqrt(a.shape[0])))
        return a.argmax(-1).reshape(side, side)

    def bev_map(self, frame: int) -> np.ndarray | None:
        i = self.index(frame)
        return None if i is None or self.bev is None else self.bev[i].astype(np.float32)


class EorasPredictor:
    """Runs a resident EoRaS model over a clip; see the module docstring."""

    def __init__(
        self, model: EoRaS, amp: bool | None = None, cuda_graphs: bool | None = None,
        batch_frames: int | None = None, cache_bytes: int | None = None, fused: bool | None = None,
        fast_crops: bool = False,
    ) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        cuda = self.device.type == "cuda"
        # CPU: the fused fast path (modeling/fused.py; same outputs to fp32 rounding).
        # GPU: cuDNN under bf16 autocast serves better, so the model's own layers run there.
        self.fused = FusedEoRaS(model) if (not cuda if fused is None else fused) else None
        self._stages = self.fused or model
        self.amp = cuda if amp is None else amp
        self.cuda_graphs = cuda if cuda_graphs is None else (cuda_graphs and cuda)
        # Frames per encoder batch and object-frames per recurrence group: a GPU wants many
        # (sized to its memory), a CPU's caches want few.
        self.batch_frames = batch_frames or device_batch_frames(self.device)
        # The exact published crop unless asked for crops resized on the device (crop_batch),
        # which the studio does on a GPU; eval keeps the published one.
        self.fast_crops = fast_crops
        if cuda:
            model.chunk = max(model.chunk, 512)  # large batches pay on a GPU, not on CPU caches
        # Encoded frames of every video this predictor has seen, least recently used first,
        # keyed by (video key, frame, crop window) and bounded in bytes.
        self.cache_bytes = default_cache_bytes(self.device) if cache_bytes is None else int(cache_bytes)
        self._frames: Sequence[np.ndarray] | None = None
        self._K: np.ndarray | None = None
        self._video: Hashable = None
        self._cache: OrderedDict[tuple, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self._held = 0
        # One recurrence step per batch size, captured once and replayed at every step.
        self.graphs = StepGraphs(model) if self.cuda_graphs else None

    @property
    def config(self):
        return self.model.config

    # -- video ----------------------------------------------------------------------
    def set_video(
        self, frames: Sequence[np.ndarray] | np.ndarray, K: np.ndarray | None = None,
        focal_mm: float | None = None, fov_deg: float | None = None, key: Hashable | None = None,
    ) -> None:
        """frames: (T,H,W,3) uint8 array or any sequence of (H,W,3) uint8 frames (lazy stores work).

        K: (3,3) or (T,3,3) in the model's convention (config.intrinsics); None uses the
        documented default camera, adjustable with focal_mm / fov_deg.
        key: names the video in the shared encoder cache, so one predictor can serve several
        clips in turn and keep each one's encoded frames; None starts an anonymous video
        and drops the previous anonymous one's entries.
        """
        T = len(frames)
        if T == 0:
            raise ValueError("the clip has no frames")
        first = np.asarray(frames[0])
        if first.ndim != 3 or first.shape[2] != 3 or first.dtype != np.uint8:
            raise ValueError(f"frames must be (H,W,3) uint8 RGB, got {first.shape} {first.dtype}")
        H, W = first.shape[:2]
        if K is None:
            K = default_intrinsics(self.config.intrinsics, H, W, T, focal_mm, fov_deg)
        K = np.asarray(K, dtype=np.float32)
        if K.shape == (3, 3):
            K = np.broadcast_to(K, (T, 3, 3)).copy()
        if K.shape != (T, 3, 3):
            raise ValueError(f"K must be (3,3) or ({T},3,3), got {K.shape}")
        if key is None:
            if isinstance(self._video, tuple) and self._video[:1] == ("anonymous",):
                self.forget(self._video)
            key = ("anonymous", next(_anonymous))
        self._frames, self._K, self.frame_size, self._video = frames, K, (H, W), key

    def forget(self, key: Hashable) -> None:
        """Drop a video's encoded frames from the cache (its session closed)."""
        for k in [k for k in self._cache if k[0] == key]:
            self._held -= _nbytes(self._cache.pop(k))

    @property
    def cached_bytes(self) -> int:
        return self._held

    @property
    def intrinsics(self) -> np.ndarray | None:
        """(T,3,3) K of the current clip, in the model's convention."""
        return self._K

    @property
    def num_frames(self) -> int:
        return 0 if self._frames is None else len(self._frames)

    # -- inference --------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp:
            # No cast cache: cached casts would be baked into a captured CUDA graph.
            return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=False)
        return contextlib.nullcontext()

    def _encode_missing(self, keys: list[tuple], progress: Progress | None) -> None:
        keys = [(self._video, *k) for k in keys]
        todo = [k for k in dict.fromkeys(keys) if k not in self._cache]
        for start in range(0, len(todo), self.batch_frames):
            batch = todo[start : start + self.batch_frames]
            x = self._crops([self._frames[f] for _, f, _ in batch], [pos for _, _, pos in batch])
            k = torch.from_numpy(self._K[[f for _, f, _ in batch]]).to(self.device)
            with torch.inference_mode(), self._autocast():
                p3, bev = self._stages.encode_frames(x, k)
            for key, a, b in zip(batch, p3, bev):
                # Clones, so an entry does not pin the whole batch's storage.
                entry = (a.clone(), b.clone())
                self._cache[key] = entry
                self._held += _nbytes(entry)
            if progress:
                progress((start + len(batch)) / max(1, len(todo)) * 0.7, f"encoded {start + len(batch)}/{len(todo)} frames")
        for key in keys:
            self._cache.move_to_end(key)

    def _crops(self, frames: Sequence[np.ndarray], positions: Sequence) -> torch.Tensor:
        """(N, 3, S, S) float32 model inputs on the device."""
        size = self.config.crop_size
        if self.fast_crops:
            return crop_batch(frames, positions, size, self.device)
        crops = np.stack([crop_patch(np.asarray(f), p, size) for f, p in zip(frames, positions)])
        return torch.from_numpy(crops).permute(0, 3, 1, 2).to(self.device, non_blocking=True)

    def _trim_cache(self) -> None:
        while self._held > self.cache_bytes and self._cache:
            self._held -= _nbytes(self._cache.popitem(last=False)[1])

    def _recurrence(self) -> Callable | None:
        return None if self.graphs is None else self.graphs.run_slots

    def run_crops(self, crops: torch.Tensor, K: torch.Tensor, intermediates: bool = False) -> dict[str, torch.Tensor]:
        """Ready crops (B,T,3,S,S) + K (B,T,3,3) through the engine's path (autocast, graphs), no
        cache; every output comes back float32."""
        b, t = crops.shape[:2]
        crops = crops.to(self.device, non_blocking=True)
        K = K.to(self.device, non_blocking=True)
        with torch.inference_mode(), self._autocast():
            p3, bev = self._stages.encode_frames(crops.flatten(0, 1), K.flatten(0, 1).to(crops.dtype))
            p3 = p3.view(b, t, *p3.shape[1:])
            bev = bev.view(b, t, *bev.shape[1:])
            out = self.model.forward_features(p3, bev, intermediates, self._recurrence(), self._stages.decode_masks)
        # float32 whatever the autocast, so callers can read any output with .numpy().
        return {k: v.float() for k, v in out.items()}

    def predict(
        self, tracks: Mapping[int, TrackInput], box_format: str = "xyxy", intermediates: bool = True,
        progress: Progress | None = None,
    ) -> dict[int, TrackResult]:
        """One box track per object id -> {obj_id: TrackResult}.

        A track is (T,4) boxes with NaN rows, or {frame: box}; pixel xyxy by default or
        Kubric-normalised with box_format='kubric'. Objects with equal track lengths run as
        one batch through the recurrence; all frames of all objects share the encoder batches.
        """
        if self._frames is None:
            raise RuntimeError("call set_video(frames) before predict()")
        T = self.num_frames
        H, W = self.frame_size
        plans = {}
        for obj_id, boxes in tracks.items():
            track = as_track(boxes, T, H, W, box_format)
            frames = np.flatnonzero(~np.isnan(track[:, 0]))
            pos = crop_positions(xyxy_to_kubric(track[frames], H, W), H, W) if len(frames) else np.zeros((0, 4), np.int64)
            plans[obj_id] = (frames, track[frames], pos)
        keys = [(int(f), tuple(int(v) for v in p)) for frames, _, pos in plans.values() for f, p in zip(frames, pos)]
        self._encode_missing(keys, progress)

        results: dict[int, TrackResult] = {}
        by_len: dict[int, list] = {}
        for obj_id, plan in plans.items():
            by_len.setdefault(len(plan[0]), []).append(obj_id)
        done = 0
        for n, ids in sorted(by_len.items()):
            if n == 0:
                for obj_id in ids:
                    results[obj_id] = self._empty_result(obj_id, plans[obj_id])
                continue
            for start in range(0, len(ids), max(1, self.batch_frames // n)):
                group = ids[start : start + max(1, self.batch_frames // n)]
                results.update(self._run_group(group, plans, intermediates))
                done += len(group)
                if progress:
                    progress(0.7 + 0.3 * done / max(1, len(plans)), f"segmented {done}/{len(plans)} objects")
        self._trim_cache()
        return {obj_id: results[obj_id] for obj_id in tracks}

    def _empty_result(self, obj_id: int, plan: tuple) -> TrackResult:
        z = np.zeros((0, self.config.mask_size, self.config.mask_size), np.float32)
        return TrackResult(obj_id, self.frame_size, plan[0], plan[1], plan[2], z, z.copy())

    def _run_group(self, ids: list[int], plans: dict, intermediates: bool) -> dict[int, TrackResult]:
        feats = []
        for obj_id in ids:
            frames, _, pos = plans[obj_id]
            pairs = [self._cache[(self._video, int(f), tuple(int(v) for v in p))] for f, p in zip(frames, pos)]
            feats.append((torch.stack([a for a, _ in pairs]), torch.stack([b for _, b in pairs])))
        p3 = torch.stack([a for a, _ in feats])
        bev = torch.stack([b for _, b in feats])
        b, t = p3.shape[:2]
        with torch.inference_mode(), self._autocast():
            out = self.model.forward_features(
                p3, bev, intermediates, self._recurrence(), self._stages.decode_masks
            )
        return self._to_results(out, ids, plans, intermediates, self.frame_size)

    def _to_results(self, out: dict[str, torch.Tensor], ids: list[int], plans: dict, intermediates: bool,
                    frame_size: tuple[int, int]) -> dict[int, TrackResult]:
        host = {k: v.float().cpu().numpy() for k, v in out.items() if not k.endswith("logits")}
        results = {}
        for j, obj_id in enumerate(ids):
            frames, boxes, pos = plans[obj_id]
            extra = {}
            if intermediates:
                extra = dict(
                    bev=host["bev"][j].astype(np.float16),
                    attn_slot_bev=host["attn_slot_bev"][:, j], attn_slot_feature=host["attn_slot_feature"][:, j],
                    attn_feature_slot=host["attn_feature_slot"][:, j],
                )
            results[obj_id] = TrackResult(
                obj_id, frame_size, frames, boxes, pos,
                host["full_mask"][j, :, 0], host["vis_mask"][j, :, 0], **extra,
            )
        return results

    def predict_frame(self, image: np.ndarray, box: Sequence[float], frame_index: int = 0,
                      K: np.ndarray | None = None, obj_id: int = 0, intermediates: bool = True) -> TrackResult:
        """One object on one frame, for instant previews: image (H,W,3) uint8, box pixel xyxy.

        Stateless (no set_video, no cache), so it may run while another thread is inside
        predict(). K (3,3) in the model's convention; None uses the default camera.
        """
        H, W = image.shape[:2]
        track = as_track({0: box}, 1, H, W)
        if np.isnan(track[0, 0]):
            raise ValueError(f"box {tuple(box)} has no area inside the {W}x{H} frame")
        if K is None:
            K = default_intrinsics(self.config.intrinsics, H, W, 1)[0]
        pos = crop_positions(xyxy_to_kubric(track, H, W), H, W)
        x = self._crops([image], [pos[0]])
        k = torch.from_numpy(np.asarray(K, np.float32).reshape(1, 3, 3)).to(self.device)
        with torch.inference_mode(), self._autocast():
            p3, bev = self._stages.encode_frames(x, k)
            out = self.model.forward_features(p3[None], bev[None], intermediates, None, self._stages.decode_masks)
        plans = {obj_id: (np.array([frame_index]), track, pos)}
        return self._to_results(out, [obj_id], plans, intermediates, (H, W))[obj_id]

def _nbytes(entry: tuple[torch.Tensor, torch.Tensor]) -> int:
    return sum(t.element_size() * t.nelement() for t in entry)
