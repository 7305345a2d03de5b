"""Video files through PyAV: probing without decoding, and decoding frames in order.

PyAV needs no ffmpeg binary. Frames come out RGB uint8 (H, W, 3) in display orientation
(the rotation metadata of phone videos is applied). Decoding starts with a seek to the
keyframe before the selected start when the stream allows an exact one, and falls back to
decoding from the first frame when it does not.
"""
from __future__ import annotations

from itertools import chain
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from .caps import LoadCaps
from .clip_info import ClipInfo, SourceFrame
from .errors import StreamDamaged, VideoError, av_reason

VIDEO_EXTS = (".mp4", ".webm", ".mov", ".mkv", ".avi", ".gif", ".m4v")
FALLBACK_FPS = 25.0  # for streams that announce no usable rate


def probe_video(path: Path) -> ClipInfo:
    """Size, rate and frame count from the container (one frame decoded for rotation)."""
    with _open_video(path) as c:
        st = c.streams.video[0]
        fps = _stream_fps(st)
        width, height = st.codec_context.width, st.codec_context.height
        if _rotation_k(c) % 2:
            width, height = height, width
        duration = _stream_duration(c, st)
        frames = int(st.frames or 0) or (round(duration * fps) if duration else 0)
        if frames == 0:
            frames = _count_packets(c, st)
    if width <= 0 or height <= 0:
        raise VideoError(f"{path.name}: the video stream has no frame size (damaged file?)")
    return ClipInfo(path, "video", width, height, frames, fps)


def video_frames(info: ClipInfo, caps: LoadCaps) -> Iterator[SourceFrame]:
    """Decoded source frames in order from caps.start on; pixels converted lazily.

    First try: seek to the keyframe before start. When the container cannot seek, or the
    seek lands past start, the second try decodes from the first frame instead.
    """
    name = info.path.name
    for try_seek in (True, False):
        with _open_video(info.path) as c:
            st = c.streams.video[0]
            st.thread_type = "AUTO"
            t0 = _stream_start(st)
            try:
                seeked = try_seek and _seek_to_start(c, st, caps, info, t0)
            except (av.FFmpegError, OSError):
                continue
            frames = _decode(c, st, name)
            count = 0
            if seeked:
                first = next(frames, None)
                if first is None or first.time is None:
                    continue
                count = round((first.time - t0) * info.fps)
                if count > caps.start:
                    continue
                frames = chain([first], frames)
            for frame in frames:
                t = frame.time - t0 if frame.time is not None else count / info.fps
                yield SourceFrame(count, t, lambda f=frame: _frame_rgb(f, name))
                count += 1
            return


def _open_video(path: Path) -> av.container.InputContainer:
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError as e:
        raise VideoError(f"{path.name} is not a readable video ({av_reason(e)})") from e
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path.name} has no video stream")
    return container


def _stream_fps(st: av.video.stream.VideoStream) -> float:
    for rate in (st.average_rate, st.guessed_rate, st.base_rate):
        if rate and 0 < float(rate) < 1000:
            return float(rate)
    return FALLBACK_FPS


def _stream_duration(c: av.container.InputContainer, st: av.video.stream.VideoStream) -> float:
    if st.duration and st.time_base:
        return float(st.duration * st.time_base)
    if c.duration:
        return c.duration / av.time_base
    return 0.0


def _stream_start(st: av.video.stream.VideoStream) -> float:
    if st.start_time is None or not st.time_base:
        return 0.0
    return float(st.start_time * st.time_base)


def _rotation_k(c: av.container.InputContainer) -> int:
    """Quarter turns (counter-clockwise) to display the first frame; 0 if it won't decode."""
    st = c.streams.video[0]
    try:
        for frame in c.decode(st):
            return _frame_k(frame)
    except (av.FFmpegError, OSError, ValueError):
        pass
    finally:
        try:
            c.seek(0)
        except (av.FFmpegError, OSError):
            pass
    return 0


def _frame_k(frame: av.VideoFrame) -> int:
    return round((frame.rotation or 0) / 90) % 4


def _count_packets(c: av.container.InputContainer, st: av.video.stream.VideoStream) -> int:
    """Frame count by demuxing (no decoding), for containers that do not store it."""
    try:
        c.seek(0)
        return sum(1 for p in c.demux(st) if p.size)
    except (av.FFmpegError, OSError):
        return 0


def _decode(c: av.container.InputContainer, st: av.video.stream.VideoStream,
            name: str) -> Iterator[av.VideoFrame]:
    """container.decode(stream) with FFmpeg errors turned into StreamDamaged."""
    try:
        yield from c.decode(st)
    except (av.FFmpegError, OSError, ValueError, EOFError) as e:
        raise StreamDamaged(name, f"the video stream is damaged ({av_reason(e)})") from e


def _seek_to_start(c: av.container.InputContainer, st: av.video.stream.VideoStream,
                   caps: LoadCaps, info: ClipInfo, t0: float) -> bool:
    """Seek to the keyframe before start for constant-rate streams; False when not tried.

    Only constant-rate streams: after a seek the source index is derived from the frame
    time, which is exact only there. Raises FFmpegError when the container cannot seek.
    """
    if caps.start < 2 or st.codec_context.name == "gif" or not st.time_base:
        return False
    if not (st.average_rate and st.guessed_rate and st.average_rate == st.guessed_rate):
        return False
    target = t0 + (caps.start - 0.5) / info.fps
    c.seek(int(target / st.time_base), stream=st, backward=True)
    return True


def _frame_rgb(frame: av.VideoFrame, name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB in display orientation."""
    try:
        img = frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, ValueError) as e:
        raise StreamDamaged(name, f"a frame could not be converted ({av_reason(e)})") from e
    k = _frame_k(frame)
    return np.rot90(img, k) if k else img
