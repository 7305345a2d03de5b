"""A user's labelled clips as a MOVi-layout split, and such a split read back into labels.

Why: training (`python -m eoras_core train --data DIR`) and evaluation read the published
MOVi layout, so labels made in the studio become training data by being written in that
layout, through the same writer (`write_movi_video`) and read through the same reader
(`MoviSplit`) the rendered data uses. A user's video has no calibration, so every video
gets the documented default Kubric camera (`kubric_K`), marked `camera.default` in its
metadata.json. Frames stay at the source resolution; one video is held in memory at a time.

What MOVi cannot hold is recorded in metadata.json next to the standard fields:
`metadata.source_frames` (the source frame number of each written frame, when only some
frames were labelled), and per instance the label's `id`, `name`, `category`, `color` and
`label_frames` (the written frames where the labels had the object).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

from ..data import movi_layout as layout
from ..data.movi import DatasetError, MoviSplit, write_instance_list, write_movi_video
from ..intrinsics import kubric_K
from ..labels import FrameLabel, ObjectLabels, VideoLabels
from ..media import LoadCaps, load_clip

__all__ = ["write_movi_split", "labels_from_movi"]

_IMPORT = {"source": "import", "checkpoint": None, "time": None}


# ---------------------------------------------------------------- writing


def write_movi_split(videos: Sequence[VideoLabels], root: str | Path,
                     progress: Callable[[str], None] | None = None,
                     depth_order: Sequence[int] | None = None) -> Path:
    """Write `root/<video>/…` for each video and `root/instance_list.npy`; returns root.

    Per video: the labelled frames (T, H, W, 3) read from `video.source` at its own size,
    the visible instance map (T, H, W) (pixel == object index + 1), one amodal mask
    (T, H, W) per object (empty where the object has no label) and metadata.json. Where
    visible masks overlap, the front object gets the pixel: the earlier id in
    `depth_order` (object ids, front to back; unlisted objects are behind), else the object
    with the smaller amodal mask on that frame. The instance list names every object that
    is visible on some frame (a track without frames cannot be trained on). root must be
    empty or absent, so no folder of an older export is read as part of this one.
    """
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ValueError(f"{root}: expected an empty or new folder for the MOVi split")
    root.mkdir(parents=True, exist_ok=True)
    entries: list[tuple[str, int]] = []
    used: set[str] = set()
    for i, video in enumerate(videos):
        name = _folder_name(video.name, used)
        if progress:
            progress(f"video {i + 1}/{len(videos)}: {video.name} -> {name}")
        entries += _write_video(video, root / name, depth_order or ())
    write_instance_list(root, entries)
    return root


def _folder_name(name: str, used: set[str]) -> str:
    """A file-system-safe, unused folder name from a video's name (its stem)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._-") or "video"
    out, n = stem, 1
    while out in used:
        n += 1
        out = f"{stem}_{n}"
    used.add(out)
    return out


def _write_video(video: VideoLabels, folder: Path, depth_order: Sequence[int]) -> list[tuple[str, int]]:
    """Write one video folder; returns its (folder name, object index) tracks."""
    video.check()
    H, W = video.height, video.width
    labelled = {f for obj in video.objects for f in obj.frames}
    chosen = sorted(set(range(video.num_frames) if video.decoded is None else video.decoded) | labelled)
    if not chosen or not 0 <= chosen[0] <= chosen[-1] < video.num_frames:
        raise ValueError(f"{video.name}: expected decoded frames in [0, {video.num_frames}), got "
                         f"{chosen[:1] + chosen[-1:] or 'none'}")
    frames = _read_frames(video, chosen)
    T, N = len(chosen), len(video.objects)
    rank = {obj_id: r for r, obj_id in enumerate(depth_order)}
    ranks = [rank.get(obj.id, len(rank)) for obj in video.objects]
    amodal = np.zeros((N, T, H, W), bool)
    ids = np.zeros((T, H, W), np.int32)
    for t, f in enumerate(chosen):
        visible = np.zeros((N, H, W), bool)
        for n, obj in enumerate(video.objects):
            if f in obj.frames:
                amodal[n, t], visible[n] = obj.frames[f].masks()
        ids[t] = _instance_map(amodal[:, t], visible, ranks)
    instances = [{"id": obj.id, "name": obj.name, "category": obj.category, "color": obj.color,
                  "label_frames": [t for t, f in enumerate(chosen) if f in obj.frames]}
                 for obj in video.objects]
    extra: dict[str, Any] = {"video_name": video.name, "source": str(video.source), "source_frames": chosen,
                             "source_num_frames": video.num_frames, "source_fps": video.fps,
                             "sha256": video.sha256}
    steps = set(np.diff(chosen).tolist())
    if video.fps and len(steps) <= 1:
        extra["frame_rate"] = video.fps / (steps.pop() if steps else 1)
    write_movi_video(folder, frames, ids, amodal, kubric_K(H, W), instances_meta=instances,
                     camera={"default": True}, metadata_extra=extra)
    return [(folder.name, n) for n in range(N) if (ids == n + 1).any()]


def _read_frames(video: VideoLabels, chosen: list[int]) -> np.ndarray:
    """(len(chosen), H, W, 3) uint8: the chosen source frames at the source size."""
    if video.source is None:
        raise ValueError(f"{video.name}: the labels name no source video to read frames from")
    H, W = video.height, video.width
    caps = LoadCaps(start=chosen[0], end=chosen[-1] + 1, max_side=max(W, H),
                    max_frames=chosen[-1] + 1 - chosen[0], quality=None)
    store = load_clip(video.source, caps)
    position = {f: i for i, f in enumerate(store.indices)}
    missing = [f for f in chosen if f not in position]
    if missing:
        raise ValueError(f"{video.source}: source frames {missing[:5]} could not be read; the labels cover "
                         f"{len(chosen)} frames up to {chosen[-1]}")
    out = np.empty((len(chosen), H, W, 3), np.uint8)
    for t, f in enumerate(chosen):
        frame = store[position[f]]
        if frame.shape != (H, W, 3):
            raise ValueError(f"{video.source}: frames are {frame.shape[1]}x{frame.shape[0]}, the labels "
                             f"expect the source size {W}x{H}")
        out[t] = frame
    return out


def _instance_map(amodal: np.ndarray, visible: np.ndarray, ranks: Sequence[int]) -> np.ndarray:
    """(N, H, W) bool amodal and visible -> (H, W) int32 ids (object index + 1, 0 background).

    Objects are painted back to front, so the front one keeps an overlapping pixel: lower
    rank first, then smaller amodal area, then lower index.
    """
    areas = amodal.sum(axis=(1, 2))
    front_first = sorted(range(len(amodal)), key=lambda n: (ranks[n], int(areas[n]), n))
    ids = np.zeros(amodal.shape[1:], np.int32)
    for n in reversed(front_first):
        ids[visible[n]] = n + 1
    return ids


# ---------------------------------------------------------------- reading


def labels_from_movi(root: str | Path) -> list[VideoLabels]:
    """Every video of a MOVi-layout split as VideoLabels (masks at the split's H x W).

    Amodal masks are exact; visible masks come from the instance map, so they are exact
    where no two objects' visible masks overlapped. Source frame numbers come back from
    `metadata.source_frames` when present (else the split's frames are the source's).
    Raises ValueError naming the file when the split is malformed.
    """
    root = Path(root)
    try:
        split = MoviSplit(root)
        names = split.videos
        _check_folders(split, names)
        return [_read_video(split, name) for name in names]
    except DatasetError as exc:
        raise ValueError(f"cannot read the MOVi split {root}: {exc}") from None


def _check_folders(split: MoviSplit, names: list[str]) -> None:
    """Refuse frame folders without metadata.json and instance-list entries without a video."""
    for folder in sorted(p for p in split.root.iterdir() if p.is_dir()):
        if folder.name not in names and (folder / layout.rgba_name(0)).is_file():
            raise ValueError(f"missing file: {folder / layout.METADATA} (the folder holds frames, "
                             "so it should describe them)")
    if not names:
        raise ValueError(f"{split.root}: expected video folders holding {layout.METADATA}, found none")
    for video, obj in split.tracks:
        where = f"{split.root / layout.INSTANCE_LIST}: entry '{video}-{obj}'"
        if video not in names:
            raise ValueError(f"{where} names video folder {split.video_dir(video)}, which has no "
                             f"{layout.METADATA}")
        count = len(split.metadata(video)["instances"])
        if obj >= count:
            raise ValueError(f"{where} names object {obj}, but the video has {count} instances")


def _read_video(split: MoviSplit, name: str) -> VideoLabels:
    meta = split.metadata(name)
    info = meta["metadata"]
    path = split.video_dir(name) / layout.METADATA
    T, H, W = info["num_frames"], info["height"], info["width"]
    source_frames = info.get("source_frames", list(range(T)))
    if (not isinstance(source_frames, list) or len(source_frames) != T
            or not all(isinstance(f, int) and f >= 0 for f in source_frames)
            or any(a >= b for a, b in zip(source_frames, source_frames[1:]))):
        raise ValueError(f"{path}: metadata.source_frames must list {T} increasing frame numbers >= 0")
    num_frames = info.get("source_num_frames", source_frames[-1] + 1)
    if not isinstance(num_frames, int) or num_frames <= source_frames[-1]:
        raise ValueError(f"{path}: metadata.source_num_frames must be an integer above {source_frames[-1]}")
    all_frames = source_frames == list(range(num_frames))
    folder = split.video_dir(name)
    objects = [_object_labels(inst, n) for n, inst in enumerate(meta["instances"])]
    labelled = [_label_frames(inst, n, T, path) for n, inst in enumerate(meta["instances"])]
    for t, f in enumerate(source_frames):
        ids = split.load_visible_ids(name, t)
        for n, obj in enumerate(objects):
            if t in labelled[n]:
                amodal = _read_mask(folder / layout.amodal_name(n, t), (H, W))
                obj.frames[f] = FrameLabel.from_masks(amodal, ids == n + 1, _IMPORT)
    fps = info.get("source_fps")
    original = info.get("source")
    source = folder if all_frames else (Path(original) if isinstance(original, str) and Path(original).exists()
                                        else None)
    return VideoLabels(name=_text(info.get("video_name"), name), width=W, height=H, num_frames=num_frames,
                       fps=float(fps) if isinstance(fps, (int, float)) and fps > 0 else layout.frame_rate(meta),
                       sha256=info.get("sha256") if isinstance(info.get("sha256"), str) else None,
                       objects=objects, source=source, decoded=None if all_frames else list(source_frames))


def _object_labels(inst: dict[str, Any], n: int) -> ObjectLabels:
    """Identity of instance n from its metadata (defaults for a rendered MOVi scene)."""
    obj_id = inst.get("id")
    return ObjectLabels(id=obj_id if isinstance(obj_id, int) and not isinstance(obj_id, bool) else n,
                        name=_text(inst.get("name"), f"object {n}"),
                        category=_text(inst.get("category"), "object"),
                        color=inst.get("color") if isinstance(inst.get("color"), str) else None)


def _label_frames(inst: dict[str, Any], n: int, T: int, path: Path) -> set[int]:
    """Split frames where instance n has labels: its label_frames, else every frame."""
    frames = inst.get("label_frames", list(range(T)))
    if not isinstance(frames, list) or not all(isinstance(t, int) and 0 <= t < T for t in frames):
        raise ValueError(f"{path}: instances[{n}].label_frames must list frames in [0, {T})")
    return set(frames)


def _read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the non-zero pixels of one amodal mask PNG."""
    if not path.is_file():
        raise ValueError(f"missing file: {path} (an amodal mask of {shape[1]}x{shape[0]})")
    try:
        with Image.open(path) as im:
            arr = np.array(im)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path} as an image: {exc}") from None
    if arr.shape[:2] != shape:
        raise ValueError(f"{path} is {arr.shape[1]}x{arr.shape[0]}, expected {shape[1]}x{shape[0]}")
    return (arr if arr.ndim == 2 else arr[..., 0]) != 0


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default
