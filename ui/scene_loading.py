"""Opening what a user brings: a video, a zip or folder of frames, or a MOVi-layout scene.

MOVi scenes come with ground truth (amodal masks and the visible instance map), which the
studio shows as layers and turns into objects automatically.
"""
from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eoras_core.boxes import kubric_to_xyxy
from eoras_core.data import movi_layout
from eoras_core.data.movi import DatasetError, MoviSplit
from eoras_core.budget import Budget
from eoras_core.media import FrameStore, LoadCaps, VideoError, is_movi_scene, load_clip, probe

from .session import GroundTruth

MAX_UNZIPPED_BYTES = 2 << 30


@dataclass(frozen=True)
class SourceVideo:
    """The opened file before any caps: what project files and exports refer to.

    frames[i] is the source frame number of kept frame i; width and height are the source's
    pixels, which project boxes and masks use whatever size the studio decoded to.
    """

    width: int
    height: int
    num_frames: int
    fps: float
    frames: tuple[int, ...]
    caps: LoadCaps
    path: Path | None = None       # the file (or folder) it was opened from


@dataclass
class OpenedClip:
    frames: FrameStore | np.ndarray
    name: str
    fps: float
    K: np.ndarray | None
    gt: GroundTruth | None
    boxes: dict[int, dict[int, tuple[float, float, float, float]]]  # GT object -> frame -> box
    note: str
    source: SourceVideo


def _movi_folder(path: Path, workdir: Path) -> Path:
    """A folder holding metadata.json and rgba_full_* frames (extracting a zip if needed)."""
    if path.is_dir():
        if (path / movi_layout.METADATA).exists():
            return path
        inner = [p.parent for p in path.rglob(movi_layout.METADATA)]
        if inner:
            return inner[0]
        raise VideoError(f"{path.name}: no {movi_layout.METADATA} found")
    with zipfile.ZipFile(path) as zf:
        total = sum(i.file_size for i in zf.infolist())
        if total > MAX_UNZIPPED_BYTES:
            raise VideoError(f"{path.name}: unpacks to {total / 2**30:.1f} GB, more than the 2 GB allowed")
        for info in zf.infolist():
            target = (workdir / info.filename).resolve()
            if not str(target).startswith(str(workdir.resolve())):
                raise VideoError(f"{path.name}: refuses a zip entry outside its folder ({info.filename})")
        zf.extractall(workdir)
    return _movi_folder(workdir, workdir)


def open_movi_scene(path: str | Path, caps: LoadCaps) -> OpenedClip:
    """Frames, intrinsics and ground truth of one MOVi-layout video (range/stride caps apply)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="eoras_scene_") as tmp:
        folder = _movi_folder(path, Path(tmp))
        split = MoviSplit(folder.parent)
        try:
            video = split.load_video(folder.name)
            meta = split.metadata(folder.name)
            n_obj = len(meta["instances"])
            T = video.frames.shape[0]
            keep = np.arange(caps.start, min(T, caps.end if caps.end is not None else T), caps.stride)[: caps.max_frames]
            if len(keep) == 0:
                raise VideoError(f"{path.name}: the frame range selects no frames (the scene has {T})")
            ids = np.stack([split.load_visible_ids(folder.name, int(f)) for f in keep])
            amodal = np.zeros((n_obj, len(keep)) + ids.shape[1:], bool)
            boxes: dict[int, dict[int, tuple]] = {}
            for obj in range(n_obj):
                tr = split.track(folder.name, obj)
                where = {int(f): j for j, f in enumerate(tr.frames)}
                for i, f in enumerate(keep):
                    j = where.get(int(f))
                    if j is None:
                        continue
                    amodal[obj, i] = tr.amodal[j]
                    x0, y0, x1, y1 = (float(v) for v in kubric_to_xyxy(tr.boxes_kubric[j], *ids.shape[1:]))
                    boxes.setdefault(obj, {})[i] = (x0, y0, x1, y1)
        except DatasetError as exc:
            raise VideoError(str(exc)) from None
    fps = movi_layout.frame_rate(meta) / caps.stride
    names = [str(inst.get("shape", inst.get("category", "object"))) for inst in meta["instances"]]
    gt = GroundTruth(amodal=amodal, visible_ids=ids, names=names)
    note = f"MOVi scene {folder.name}: {len(keep)} of {T} frames, {n_obj} objects with ground truth"
    source = SourceVideo(ids.shape[2], ids.shape[1], T, movi_layout.frame_rate(meta), tuple(int(f) for f in keep), caps,
                         path)
    return OpenedClip(video.frames[keep], folder.name, fps, video.K[keep], gt, boxes, note, source)


def open_any(path: str | Path, caps: LoadCaps, budget: Budget | None = None) -> OpenedClip:
    """Dispatch on what the file is; raises VideoError (or BudgetError, before any decoding)
    with a user-facing message."""
    path = Path(path)
    if is_movi_scene(path):
        return open_movi_scene(path, caps)
    if budget is not None:
        info = probe(path)
        budget.check_clip(info.path.name, min(caps.selected_count(info.num_frames), caps.max_frames), info.width,
                          info.height)
    store = load_clip(path, caps)
    note = store.note or f"{len(store)} frames at {store.size[1]}x{store.size[0]}"
    info = store.info
    source = SourceVideo(info.width, info.height, info.num_frames, info.fps, tuple(store.indices), caps, path)
    return OpenedClip(store, path.name, store.fps, None, None, {}, note, source)
