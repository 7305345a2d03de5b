"""What a clip is, without decoding it: dispatch on the kind of input."""
from __future__ import annotations

from pathlib import Path

from .av_decode import VIDEO_EXTS, probe_video
from .clip_info import ClipInfo
from .errors import VideoError
from .frame_files import probe_frame_files


def probe(path: str | Path) -> ClipInfo:
    """Source properties of a video file, a .zip or a folder of frames (no full decode)."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path.name}: file not found ({path})")
    if path.is_dir() or path.suffix.lower() == ".zip":
        return probe_frame_files(path)
    if path.suffix.lower() not in VIDEO_EXTS:
        raise VideoError(
            f"{path.name}: unsupported file type '{path.suffix or '(none)'}'; expected a video "
            f"({' '.join(VIDEO_EXTS)}), a .zip of frames or a folder of frames")
    return probe_video(path)
