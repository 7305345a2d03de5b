"""Dataset readers and writers (the published MOVi layout)."""
from .movi import DatasetError, MoviSplit, MoviTrack, MoviVideo, write_instance_list, write_movi_video

__all__ = ["DatasetError", "MoviSplit", "MoviTrack", "MoviVideo", "write_instance_list",
           "write_movi_video"]
