"""Frames held compressed: memory per clip, decoding error, the decoded-frame cache, threads."""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from eoras_core.media import LoadCaps, load_clip
from eoras_core.media.encoded_frames import EncodedFrames

H, W, T = 720, 1280, 30


def _textured(t: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth moving patterns plus fine blurred noise: compresses like real footage."""
    y, x = np.mgrid[:H, :W].astype(np.float32)
    base = np.stack([128 + 60 * np.sin(x / 23 + t * 0.3) * np.cos(y / 31),
                     128 + 60 * np.sin((x + y) / 47 + t * 0.2),
                     100 + 80 * np.cos(y / 19 - t * 0.1)], axis=-1)
    noise = cv2.GaussianBlur(rng.normal(0, 25, (H, W, 3)).astype(np.float32), (0, 0), 1.5)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("frames720")
    frames = [_textured(t, rng) for t in range(T)]
    for t, f in enumerate(frames):
        cv2.imwrite(str(root / f"f{t:03d}.png"), f[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return root, frames


def test_720p_store_holds_a_quarter_of_raw_and_decodes_closely(folder):
    root, frames = folder
    store = load_clip(root, LoadCaps(max_side=1280))
    raw = T * H * W * 3
    assert len(store) == T and store.size == (H, W)
    for t in range(T):
        got = store[t]
        assert got.shape == (H, W, 3) and got.dtype == np.uint8 and not got.flags.writeable
        assert np.abs(got.astype(np.int16) - frames[t]).mean() < 3
    assert store.nbytes < raw / 4  # measured with the decoded-frame cache full
    assert 8 * store.nbytes < 2 * raw  # eight sessions' clips under twice one raw clip


def test_raw_store_is_exact(folder):
    root, frames = folder
    store = load_clip(root, LoadCaps(max_side=1280, max_frames=3, quality=None))
    assert store.nbytes == 3 * H * W * 3
    for t in range(3):
        np.testing.assert_array_equal(store[t], frames[t])


def test_channels_stay_in_rgb_order():
    frames = EncodedFrames(quality=95)
    for colour in ((250, 10, 10), (10, 250, 10), (10, 10, 250)):
        frames.append(np.full((16, 24, 3), colour, np.uint8))
    got = np.array([frames[i][8, 12] for i in range(3)], dtype=int)
    np.testing.assert_allclose(got, [(250, 10, 10), (10, 250, 10), (10, 10, 250)], atol=2)


def test_cache_keeps_the_last_decoded_frames():
    frames = EncodedFrames(quality=90, cache_frames=2)
    for v in range(5):
        frames.append(np.full((8, 8, 3), 40 * v, np.uint8))
    stored = frames.nbytes
    first = frames[0]
    assert frames[0] is first  # a hit returns the cached array
    frames[1], frames[2]  # noqa: B018  (evicts frame 0)
    assert frames[0] is not first
    np.testing.assert_array_equal(frames[0], first)
    assert frames.nbytes == stored + 2 * 8 * 8 * 3


def test_append_refuses_other_shapes_and_dtypes():
    frames = EncodedFrames()
    frames.append(np.zeros((4, 6, 3), np.uint8))
    with pytest.raises(ValueError, match="first frame"):
        frames.append(np.zeros((4, 7, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        frames.append(np.zeros((4, 6, 3), np.float32))
    with pytest.raises(ValueError, match="quality"):
        EncodedFrames(quality=0)


def test_threads_read_the_right_frames():
    frames = EncodedFrames(quality=95, cache_frames=2)
    for v in range(12):
        frames.append(np.full((32, 32, 3), 20 * v, np.uint8))
    seen: list[tuple[int, int]] = []

    def read(offset: int) -> None:
        for k in range(200):
            i = (k * 7 + offset) % 12
            seen.append((i, int(frames[i][16, 16, 0])))

    threads = [threading.Thread(target=read, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(seen) == 800
    assert [value for _, value in seen] == [20 * i for i, _ in seen]
