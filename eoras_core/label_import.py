"""Labels from other tools into a studio project: read, check, complete, attach.

Full labels (the amodal video JSON, COCO, the MOVi layout) come in as they are. Visible-only
labels (DAVIS PNGs, YouTube-VIS, SAM 2 masks) are a starting point: their visible masks are
kept, their boxes become the track, and the model fills in the amodal masks. Everything is
read and checked before anything is written, so a bad import changes nothing.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .annotate import file_sha256
from .boxes import box_of_mask
from .export import write_json
from .formats.amodal_json import SCHEMA_NAME, amodal_video_document, labels_from_amodal_json
from .formats.coco import labels_from_coco
from .formats.movi_split import labels_from_movi
from .labels import FrameLabel, VideoLabels
from .media import LoadCaps, load_clip
from .project_format import PROJECT_FILE, labels_from_project, project_folder_name, read_json, read_project, write_project

try:
    import fcntl
except ImportError:  # Windows: no advisory locks
    fcntl = None  # type: ignore[assignment]

MAX_JSON_BYTES = 2 << 30
KNOWN = "an amodal video JSON, a COCO JSON, a MOVi split folder, DAVIS PNGs, a YouTube-VIS JSON or SAM 2 masks"


def read_labels(path: str | Path) -> tuple[list[VideoLabels], bool]:
    """(labels, visible_only) of a label file or folder; ValueError names the file and field."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() == ".json":
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ValueError(f"{path.name}: larger than the 2 GB a label file may be")
        doc = read_json(path, path.name)
        info = doc.get("info") if isinstance(doc, dict) else None
        if isinstance(info, dict) and str(info.get("schema_version", "")).startswith(SCHEMA_NAME + "/"):
            return labels_from_amodal_json(doc, path.name), False
        if isinstance(doc, dict) and "images" in doc:
            return labels_from_coco(doc, path.name), False
    if path.is_dir() and ((path / "instance_list.npy").exists() or any(path.glob("*/metadata.json"))):
        return labels_from_movi(path), False
    from .formats.visible_only import detect, read_visible_only

    if detect(path) is not None:
        return read_visible_only(path), True
    raise ValueError(f"{path.name}: not a label file this importer reads; expected {KNOWN}")


def _video_info(video: Path) -> tuple[int, int, int]:
    """(width, height, frames) of a video, decoded cheaply (tiny frames)."""
    store = load_clip(video, LoadCaps(max_side=64, max_frames=100_000))
    return store.info.width, store.info.height, store.info.num_frames


def attach_video(labels: VideoLabels, video: Path) -> None:
    """Tie labels to their video: the hash must be the one they were made for, the size theirs."""
    sha = file_sha256(video)
    if labels.sha256 and labels.sha256 != sha:
        raise ValueError(f"{video.name}: its sha256 is {sha[:12]}…, but the labels were made for a video with "
                         f"sha256 {labels.sha256[:12]}…; give the video they belong to")
    width, height, frames = _video_info(video)
    if (labels.width, labels.height) != (width, height):
        raise ValueError(f"{video.name}: the video is {width}x{height} but the labels are "
                         f"{labels.width}x{labels.height}; masks must be at the video's own size")
    if any(f >= frames for o in labels.objects for f in o.frames):
        raise ValueError(f"{video.name}: the labels have masks past the video's {frames} frames")
    labels.sha256, labels.source, labels.num_frames = sha, video, frames


def find_project(root: Path, sha256: str) -> Path | None:
    """A project folder (in the studio's layout) of the video with this sha256, if any."""
    for pj in list(root.glob(f"*-{sha256[:8]}/{PROJECT_FILE}")) + list(root.glob(f"browsers/*/*-{sha256[:8]}/{PROJECT_FILE}")):
        doc = read_json(pj, pj.parent.name)
        if isinstance(doc, dict) and doc.get("video", {}).get("sha256") == sha256:
            return pj.parent
    return None


def complete_amodal(engine, labels: VideoLabels, progress: Callable[[float, str], None] | None = None) -> None:
    """Visible-only labels: run the model with each object's visible-mask boxes as its track and
    take its amodal masks (∪ the visible ones); the imported visible masks are kept."""
    from .shared_predictor import VideoRef

    store = load_clip(labels.source, LoadCaps(max_side=max(labels.width, labels.height), max_frames=labels.num_frames))
    where = {f: i for i, f in enumerate(store.indices)}
    H, W = store.size
    tracks = {}
    for obj in labels.objects:
        track = np.full((len(store), 4), np.nan)
        for f, label in obj.frames.items():
            box = box_of_mask(label.masks()[1])
            if f in where and box is not None:
                track[where[f]] = box
        tracks[obj.id] = track
    video = VideoRef(("import", labels.sha256), store)
    try:
        results = engine.predict(video, tracks, intermediates=False, progress=progress)
    finally:
        engine.forget(video.key)
    made = {"source": "model", "checkpoint": engine.config.name, "time": time.time()}
    for obj in labels.objects:
        res = results[obj.id]
        for f, label in list(obj.frames.items()):
            i = where.get(f)
            if i is None or res.index(i) is None:
                continue
            visible = label.masks()[1]
            amodal = res.amodal_mask(i) | visible
            done = FrameLabel.from_masks(amodal, visible, made)
            obj.frames[f] = FrameLabel(done.amodal, label.visible, made, dict(label.provenance))


def import_labels(source: str | Path, out: str | Path, video: str | Path | None = None,
                  projects: str | Path | None = None, engine_factory: Callable | None = None) -> list[str]:
    """Read `source`, tie it to a video (--video, or an existing project found by its hash),
    complete visible-only labels with the model, then write DIR/annotations.json and the
    project folder. Returns lines saying what was written."""
    videos, visible_only = read_labels(source)
    if not videos:
        raise ValueError(f"{Path(source).name}: holds no labelled video")
    out = Path(out)
    target: Path | None = None
    if video is not None:
        if len(videos) != 1:
            raise ValueError(f"--video names one video, but {Path(source).name} holds {len(videos)}")
        attach_video(videos[0], Path(video))
    elif projects is not None and len(videos) == 1 and videos[0].sha256:
        target = find_project(Path(projects), videos[0].sha256)
        if target is not None:
            saved = labels_from_project(target)
            attach_video(videos[0], saved.source)
    for labels in videos:
        labels.check()
    report = []
    if visible_only:
        if videos[0].source is None:
            report.append("note: visible-only labels; amodal masks need the video (--video): they equal the visible "
                          "masks in annotations.json")
        else:
            if engine_factory is None:
                raise ValueError("visible-only labels need the model to complete their amodal masks")
            complete_amodal(engine_factory(), videos[0])
            report.append(f"completed the amodal masks of {len(videos[0].objects)} object(s) with the model")
    out.mkdir(parents=True, exist_ok=True)
    report.append(f"annotations: {write_json(amodal_video_document(videos), out / 'annotations.json')}")
    labels = videos[0]
    if target is not None:
        report.append(f"project: {_merge_into(target, labels)} (objects added)")
    elif labels.source is not None and len(videos) == 1:
        folder = out / project_folder_name(labels.source.name, labels.sha256)
        if (folder / PROJECT_FILE).exists():
            report.append(f"project: {_merge_into(folder, labels)} (objects added)")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            copy = folder / "source" / labels.source.name
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(labels.source, copy)
            report.append(f"project: {write_project(labels, folder, f'source/{labels.source.name}')}")
    else:
        report.append("no project: give --video (or --projects with the project of the labels' video) to make one")
    return report


def _merge_into(folder: Path, labels: VideoLabels) -> Path:
    """Add the labels' objects to an existing project, unless a studio has it open."""
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(f"{folder.name} is open in EoRaS Studio; close it there, then import again") from None
        saved = read_project(folder, labels.sha256)  # checked: a damaged project is refused, untouched
        return write_project(labels, folder, saved.source_file, saved.doc)
    finally:
        os.close(fd)
