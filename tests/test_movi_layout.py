"""MOVi file names: scene detection in folders and zips, frame order, frame rate."""
from __future__ import annotations

from pathlib import Path

from eoras_core.data import movi_layout as layout


def test_names_follow_the_published_layout():
    assert layout.rgba_name(7) == "rgba_full_00007.png"
    assert layout.visible_ids_name(12) == "segmentation_full_00012.png"
    assert layout.amodal_name(3, 12) == "segmentation_3_00012.png"
    assert layout.depth_name(0) == "depth_full_00000.tiff"
    assert (layout.METADATA, layout.INSTANCE_LIST) == ("metadata.json", "instance_list.npy")


def test_scene_prefix_in_archive_names():
    names = ["readme.txt", "a/metadata.json", "b/metadata.json", "b/rgba_full_00000.png"]
    assert layout.scene_prefix(names) == "b/"
    assert layout.scene_prefix(["metadata.json", "rgba_full_00000.png"]) == ""
    assert layout.scene_prefix(["x/metadata.json", "rgba_full_00000.png"]) is None
    assert layout.scene_prefix(["old_metadata.json", "old_rgba_full_00000.png"]) is None


def test_rgba_names_in_frame_order_directly_under_prefix():
    names = ["s/rgba_full_00010.png", "s/rgba_full_00002.png", "s/deep/rgba_full_00001.png",
             "s/segmentation_full_00000.png", "t/rgba_full_00000.png"]
    assert layout.rgba_names(names, "s/") == ["s/rgba_full_00002.png", "s/rgba_full_00010.png"]


def test_scene_folder_needs_metadata_and_first_frame(tmp_path: Path):
    (tmp_path / "metadata.json").write_text("{}")
    assert not layout.is_scene_folder(tmp_path)
    (tmp_path / "rgba_full_00000.png").write_bytes(b"")
    assert layout.is_scene_folder(tmp_path)


def test_frame_rate_falls_back_to_the_movi_default():
    assert layout.frame_rate({"metadata": {"frame_rate": 24}}) == 24.0
    for meta in ({}, {"metadata": {}}, {"metadata": {"frame_rate": "fast"}},
                 {"metadata": {"frame_rate": -1}}, [], None):
        assert layout.frame_rate(meta) == layout.DEFAULT_FPS == 12.0
