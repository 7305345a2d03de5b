"""Temporary alias of eoras_core.media for modules not yet moved to it."""
from eoras_core.media import LoadCaps, VideoError, load_clip, write_video
__all__ = ["LoadCaps", "VideoError", "load_clip", "write_video"]
