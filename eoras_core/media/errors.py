"""The one error type of clip loading and writing.

Why one type: every failure a user can cause (missing file, not a video, damaged stream,
empty zip, ...) raises ``VideoError`` with a message naming the file, so the studio can
show it as is instead of a bare PyAV/PIL traceback.
"""
from __future__ import annotations


class VideoError(ValueError):
    """A clip cannot be loaded or written; the message names the file and is user-facing."""


class StreamDamaged(VideoError):
    """Decoding failed part-way; frames kept so far may still be usable."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.reason = reason


def av_reason(e: Exception) -> str:
    """The FFmpeg message without errno noise and the repeated file name."""
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).split(":")[0].strip() or type(e).__name__
