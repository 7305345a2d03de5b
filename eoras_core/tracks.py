"""Temporary alias of eoras_core.boxes for engine.py and ui/actions.py until they import eoras_core.boxes."""
from .boxes import TrackInput, as_track
from .boxes import xyxy_to_kubric as to_kubric

__all__ = ["TrackInput", "as_track", "to_kubric"]
