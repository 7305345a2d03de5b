"""Media I/O for the studio: bounded clip loading (videos, zips or folders of frames, MOVi
scenes), the in-memory ``FrameStore``, and video writing. Frames are RGB uint8 (H, W, 3)."""
from .caps import LoadCaps
from .clip_info import ClipInfo
from .encode import available_encoders, write_video
from .errors import VideoError
from .frame_files import is_movi_scene
from .frame_store import FrameStore
from .load import load_clip
from .probe import probe

__all__ = ["VideoError", "LoadCaps", "ClipInfo", "FrameStore", "probe", "load_clip",
           "is_movi_scene", "write_video", "available_encoders"]
