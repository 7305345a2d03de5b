"""Reader and writer of the published MOVi layout (one folder per video).

Why our own reader: the official loader mixes reading with cropping and training-time
sampling; here reading is separate so evaluation, training and the UI share one source of
truth, and a malformed folder fails with a ``DatasetError`` naming the file instead of a
KeyError deep inside a DataLoader worker. The writer produces the same layout so tests and
synthetic data exercise the real reading path.

The file names are in movi_layout.py. The split's instance_list.npy holds "video-obj"
strings. Boxes are Kubric (ymin, xmin, ymax, xmax) in [0, 1].
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from ..boxes import kubric_boxes_of_ids
from ..intrinsics import MOVI_FOCAL_MM, MOVI_SENSOR_MM, horizontal_fov
from . import movi_layout as layout

__all__ = [
    "DatasetError",
    "MoviVideo",
    "MoviTrack",
    "MoviSplit",
    "write_movi_video",
    "write_instance_list",
]


class DatasetError(ValueError):
    """A dataset file is missing or malformed; the message names the path."""


@dataclass
class MoviVideo:
    """One video: frames (T, H, W, 3) uint8, K (T, 3, 3) float32 Kubric-normalised."""

    name: str
    frames: np.ndarray
    K: np.ndarray
    metadata: dict[str, Any]


@dataclass
class MoviTrack:
    """One object over the n frames where it is visible (its bbox_frames).

    frames (n,) int64 frame indices; boxes_kubric (n, 4) float32; amodal, visible (n, H, W) bool.
    """

    video: str
    obj: int
    frames: np.ndarray
    boxes_kubric: np.ndarray
    amodal: np.ndarray
    visible: np.ndarray


def _read_image(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"missing file: {path}")
    try:
        with Image.open(path) as im:
            return np.array(im)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read image {path}: {exc}") from exc


def _read_ids(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """Segmentation PNG (L / I;16 / I / P) -> (H, W) int64 instance ids."""
    arr = _read_image(path)
    if arr.ndim == 3:  # an RGB(A) copy of a grey map: accept only if the channels agree
        if not np.all(arr[..., :3] == arr[..., :1]):
            raise DatasetError(f"segmentation {path} is colour, expected one channel of ids")
        arr = arr[..., 0]
    if arr.shape != shape:
        raise DatasetError(f"{path} has shape {arr.shape}, metadata says {shape}")
    return arr.astype(np.int64)


def _get(meta: dict[str, Any], path: Path, *keys: str) -> Any:
    cur: Any = meta
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            raise DatasetError(f"{path}: missing field {'.'.join(keys)}")
        cur = cur[k]
    return cur


def _read_metadata(path: Path) -> dict[str, Any]:
    """Load and validate metadata.json (the fields the reader needs)."""
    if not path.is_file():
        raise DatasetError(f"missing file: {path}")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(meta, dict):
        raise DatasetError(f"{path}: top level is not an object")
    for key in ("num_frames", "height", "width"):
        val = _get(meta, path, "metadata", key)
        if not isinstance(val, int) or isinstance(val, bool) or val <= 0:
            raise DatasetError(f"{path}: metadata.{key} must be a positive integer, got {val!r}")
    _get(meta, path, "camera", "K")
    instances = _get(meta, path, "instances")
    if not isinstance(instances, list):
        raise DatasetError(f"{path}: instances must be a list")
    T = meta["metadata"]["num_frames"]
    for i, inst in enumerate(instances):
        frames = _get(inst, path, "bbox_frames") if isinstance(inst, dict) else None
        boxes = _get(inst, path, "bboxes") if isinstance(inst, dict) else None
        if not isinstance(frames, list) or not isinstance(boxes, list) or len(frames) != len(boxes):
            raise DatasetError(f"{path}: instances[{i}] needs lists bboxes and bbox_frames of equal length")
        if any(not isinstance(f, int) or not 0 <= f < T for f in frames):
            raise DatasetError(f"{path}: instances[{i}].bbox_frames has a frame outside [0, {T})")
        if boxes and np.asarray(boxes, dtype=np.float64).shape != (len(boxes), 4):
            raise DatasetError(f"{path}: instances[{i}].bboxes must be a list of 4-vectors")
    return meta


def _intrinsics(meta: dict[str, Any], path: Path) -> np.ndarray:
    """camera.K as one 3x3 or a per-frame list -> (T, 3, 3) float32."""
    T = meta["metadata"]["num_frames"]
    try:
        K = np.asarray(meta["camera"]["K"], dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: camera.K is not numeric: {exc}") from exc
    if not np.isfinite(K).all():
        raise DatasetError(f"{path}: camera.K holds NaN or infinite values; expected finite numbers")
    if K.shape == (3, 3):
        return np.repeat(K[None], T, axis=0)
    if K.shape == (T, 3, 3):
        return K
    raise DatasetError(f"{path}: camera.K has shape {K.shape}, expected (3, 3) or ({T}, 3, 3)")


class MoviSplit:
    """A split folder: video folders plus instance_list.npy ("video-obj" strings)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"not a directory: {self.root}")
        self._meta: dict[str, dict[str, Any]] = {}
        self.tracks: list[tuple[str, int]] = self._load_tracks()

    @property
    def videos(self) -> list[str]:
        """Video folder names (those holding a metadata.json), sorted."""
        return sorted(p.name for p in self.root.iterdir() if (p / layout.METADATA).is_file())

    def _load_tracks(self) -> list[tuple[str, int]]:
        path = self.root / layout.INSTANCE_LIST
        if not path.is_file():  # fall back: every instance that is visible somewhere
            return [(v, i) for v in self.videos
                    for i, inst in enumerate(self.metadata(v)["instances"]) if inst["bbox_frames"]]
        try:
            # Never unpickle: an object array is refused rather than executed.
            entries = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise DatasetError(f"{path}: not a plain string array ({exc}); re-save it with "
                               "np.save(path, np.array(list_of_strings)) or delete it to scan metadata") from exc
        except OSError as exc:
            raise DatasetError(f"cannot read {path}: {exc}") from exc
        tracks = []
        for e in np.asarray(entries).reshape(-1):
            text = e.decode() if isinstance(e, bytes) else str(e)
            video, sep, obj = text.rpartition("-")
            if not sep or not obj.isdigit():
                raise DatasetError(f"{path}: entry {text!r} is not 'video-obj'")
            tracks.append((video, int(obj)))
        return tracks

    def video_dir(self, video: str) -> Path:
        return self.root / str(video)

    def metadata(self, video: str) -> dict[str, Any]:
        """Validated metadata.json of a video (cached)."""
        video = str(video)
        if video not in self._meta:
            self._meta[video] = _read_metadata(self.video_dir(video) / layout.METADATA)
        return self._meta[video]

    def _shape(self, video: str) -> tuple[int, int, int]:
        m = self.metadata(video)["metadata"]
        return m["num_frames"], m["height"], m["width"]

    def load_frame(self, video: str, f: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB of frame f (alpha dropped)."""
        _, H, W = self._shape(video)
        path = self.video_dir(video) / layout.rgba_name(f)
        if not path.is_file():
            raise DatasetError(f"missing file: {path}")
        try:
            with Image.open(path) as im:
                rgb = np.array(im.convert("RGB"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"cannot read image {path}: {exc}") from exc
        if rgb.shape[:2] != (H, W):
            raise DatasetError(f"{path} has size {rgb.shape[:2]}, metadata says {(H, W)}")
        return rgb

    def load_video(self, video: str) -> MoviVideo:
        """All frames (T, H, W, 3) uint8 and intrinsics (T, 3, 3) of a video."""
        meta = self.metadata(video)
        T, _, _ = self._shape(video)
        frames = np.stack([self.load_frame(video, f) for f in range(T)])
        K = _intrinsics(meta, self.video_dir(video) / layout.METADATA)
        return MoviVideo(name=str(video), frames=frames, K=K, metadata=meta)

    def load_visible_ids(self, video: str, f: int) -> np.ndarray:
        """(H, W) int64 visible instance map of frame f (0 background, obj+1 object)."""
        _, H, W = self._shape(video)
        return _read_ids(self.video_dir(video) / layout.visible_ids_name(f), (H, W))

    def track(self, video: str, obj: int) -> MoviTrack:
        """Masks and boxes of object ``obj`` over its bbox_frames."""
        meta = self.metadata(video)
        path = self.video_dir(video) / layout.METADATA
        instances = meta["instances"]
        if not 0 <= obj < len(instances):
            raise DatasetError(f"{path}: object {obj} not in instances (0..{len(instances) - 1})")
        inst = instances[obj]
        frames = np.asarray(inst["bbox_frames"], dtype=np.int64)
        boxes = np.asarray(inst["bboxes"], dtype=np.float32).reshape(-1, 4)
        _, H, W = self._shape(video)
        amodal = np.zeros((len(frames), H, W), dtype=bool)
        visible = np.zeros((len(frames), H, W), dtype=bool)
        folder = self.video_dir(video)
        for i, f in enumerate(frames):
            amodal[i] = _read_ids(folder / layout.amodal_name(obj, int(f)), (H, W)) == obj + 1
            visible[i] = self.load_visible_ids(video, int(f)) == obj + 1
        return MoviTrack(video=str(video), obj=int(obj), frames=frames, boxes_kubric=boxes,
                         amodal=amodal, visible=visible)


# ---------------------------------------------------------------- writer


def _save_ids(arr: np.ndarray, path: Path) -> None:
    """Instance-id PNG: 8-bit 'L' when every id < 256, else 16-bit."""
    arr = np.asarray(arr)
    if arr.min(initial=0) < 0 or arr.max(initial=0) > 65535:
        raise ValueError(f"ids out of range for {path}")
    dtype = np.uint8 if arr.max(initial=0) < 256 else np.uint16
    Image.fromarray(np.ascontiguousarray(arr.astype(dtype))).save(path, compress_level=1)


def write_movi_video(folder: str | Path, frames: np.ndarray, visible_ids: np.ndarray,
                     amodal_masks: np.ndarray | Sequence[np.ndarray], K: np.ndarray,
                     instances_meta: Sequence[dict[str, Any]] | None = None,
                     depth: np.ndarray | None = None,
                     camera: dict[str, Any] | None = None,
                     metadata_extra: dict[str, Any] | None = None,
                     extra_sections: dict[str, Any] | None = None) -> Path:
    """Write one video in the published layout.

    frames (T, H, W, 3) uint8; visible_ids (T, H, W) int (0 background, obj+1); amodal_masks
    (N, T, H, W) bool, one per object; K (3, 3) or (T, 3, 3) Kubric-normalised; instances_meta
    one dict per object (bboxes/bbox_frames computed from visible_ids when absent; other
    keys copied); depth (T, H, W) float32 or None; camera: extra camera fields to record;
    metadata_extra: extra fields of the "metadata" section (the shape fields always win);
    extra_sections: extra top-level sections such as Kubric's "flags" (JSON-ready values).
    Returns the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(frames)
    visible_ids = np.asarray(visible_ids)
    if frames.ndim != 4 or frames.shape[-1] not in (3, 4) or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    T, H, W = frames.shape[:3]
    if visible_ids.shape != (T, H, W):
        raise ValueError(f"visible_ids must be {(T, H, W)}, got {visible_ids.shape}")
    amodal = [np.asarray(m) for m in amodal_masks]
    n_obj = len(amodal)
    if any(m.shape != (T, H, W) for m in amodal):
        raise ValueError(f"every amodal mask must be {(T, H, W)}")
    metas = list(instances_meta) if instances_meta is not None else [{} for _ in range(n_obj)]
    if len(metas) != n_obj:
        raise ValueError(f"{n_obj} amodal masks but {len(metas)} instance entries")

    for f in range(T):
        rgba = frames[f] if frames.shape[-1] == 4 else np.concatenate(
            [frames[f], np.full((H, W, 1), 255, np.uint8)], axis=-1)
        # Fast zlib: frames are most of a split's bytes, and level 1 writes them about twice as fast.
        Image.fromarray(np.ascontiguousarray(rgba)).save(folder / layout.rgba_name(f), compress_level=1)
        _save_ids(visible_ids[f], folder / layout.visible_ids_name(f))
        for obj in range(n_obj):
            _save_ids(np.where(amodal[obj][f] != 0, obj + 1, 0), folder / layout.amodal_name(obj, f))
        if depth is not None:
            Image.fromarray(np.asarray(depth[f], dtype=np.float32)).save(folder / layout.depth_name(f))

    instances = []
    for obj, extra in enumerate(metas):
        inst = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in extra.items()}
        if "bboxes" not in inst or "bbox_frames" not in inst:
            inst["bboxes"], inst["bbox_frames"] = kubric_boxes_of_ids(visible_ids, obj)
        inst["bbox_frames"] = [int(f) for f in inst["bbox_frames"]]
        inst["bboxes"] = [[float(v) for v in b] for b in inst["bboxes"]]
        instances.append(inst)

    K = np.asarray(K, dtype=np.float64)
    if K.shape == (T, 3, 3) and np.allclose(K, K[:1]):
        K = K[0]
    if K.shape not in ((3, 3), (T, 3, 3)):
        raise ValueError(f"K must be (3, 3) or ({T}, 3, 3), got {K.shape}")
    cam: dict[str, Any] = {
        "K": K.tolist(),
        "R": np.repeat(np.eye(3)[None], T, axis=0).tolist(),
        "focal_length": MOVI_FOCAL_MM,
        "sensor_width": MOVI_SENSOR_MM,
        "field_of_view": horizontal_fov(),
        "positions": np.zeros((T, 3)).tolist(),
        "quaternions": np.tile([1.0, 0.0, 0.0, 0.0], (T, 1)).tolist(),
    }
    cam.update(camera or {})
    clash = {"metadata", "camera", "instances"} & set(extra_sections or {})
    if clash:
        raise ValueError(f"extra_sections may not replace {sorted(clash)}")
    meta = {
        "metadata": {**(metadata_extra or {}),
                     "num_frames": T, "height": H, "width": W, "num_instances": n_obj},
        "camera": cam,
        "instances": instances,
        **(extra_sections or {}),
    }
    (folder / layout.METADATA).write_text(json.dumps(meta, indent=1))
    return folder


def write_instance_list(split_root: str | Path, entries: Sequence[tuple[str, int] | str]) -> Path:
    """Write instance_list.npy of "video-obj" strings; entries are (video, obj) or strings."""
    root = Path(split_root)
    root.mkdir(parents=True, exist_ok=True)
    names = [e if isinstance(e, str) else f"{e[0]}-{int(e[1])}" for e in entries]
    path = root / layout.INSTANCE_LIST
    np.save(path, np.array(names, dtype=str))
    return path
