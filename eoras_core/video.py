"""Temporary alias of eoras_core.media for bench/bench_ui.py until it imports eoras_core.media."""
from eoras_core.media import load_clip, write_video

__all__ = ["load_clip", "write_video"]
