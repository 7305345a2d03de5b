"""Visible-only imports (DAVIS PNGs, YouTube-VIS, SAM 2 masks, zips of them): what each reader
gives (object ids, frames, exact visible masks with amodal == visible as a placeholder), what
detect() says of each kind and of full-label files, and the refusals of bad or hostile input."""
import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from eoras_core.export import mask_to_rle
from eoras_core.formats.amodal_json import amodal_video_document
from eoras_core.formats.coco import coco_document
from eoras_core.formats.visible_only import VISIBLE_ONLY_KINDS, detect, read_visible_only
from eoras_core.labels import FrameLabel, ObjectLabels, VideoLabels

H, W = 48, 64
IMPORT = {"source": "import", "checkpoint": None, "time": None}


def box(y0, y1, x0, x1, h=H, w=W):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def save_png(path, pixels, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.ascontiguousarray(pixels, np.uint8)
    image = Image.frombytes(mode, (pixels.shape[1], pixels.shape[0]), pixels.tobytes())
    if mode == "P":
        image.putpalette([0, 0, 0, 200, 0, 0, 0, 200, 0] + [128] * (253 * 3))
    image.save(path)
    return path


def list_counts(mask):
    """Uncompressed COCO RLE counts (column-major runs, zeros first) of a bool mask."""
    flat = mask.T.ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    return [0] + runs if flat[0] else runs


def check_import(label, expected):
    """The frame's visible mask is exactly `expected`, amodal is the same mask, provenance 'import'."""
    amodal, visible = label.masks()
    assert np.array_equal(visible, expected)
    assert np.array_equal(amodal, expected)
    assert label.provenance == IMPORT
    assert label.amodal is not label.visible


# ---- DAVIS ----------------------------------------------------------------------------------

DAVIS_FRAMES = (0, 1, 2, 4)  # frame 3 has no file


def davis_masks(f):
    """Object 1 on every frame, object 2 on all but frame 2, a void (255) border."""
    one, two = box(5, 20, 5 + f, 25 + f), box(25, 40, 30, 50 - f)
    ids = np.zeros((H, W), np.uint8)
    ids[one] = 1
    if f != 2:
        ids[two] = 2
    ids[0, :] = 255
    return ids, one, (two if f != 2 else None)


def make_davis(folder, mode="P"):
    for f in DAVIS_FRAMES:
        save_png(folder / f"{f:05d}.png", davis_masks(f)[0], mode)
    return folder


def check_davis(video, name):
    assert video.name == name
    assert (video.width, video.height, video.num_frames) == (W, H, 5)
    assert [o.id for o in video.objects] == [1, 2]
    assert [o.name for o in video.objects] == ["object 1", "object 2"]
    one, two = video.objects
    assert sorted(one.frames) == [0, 1, 2, 4]
    assert sorted(two.frames) == [0, 1, 4]
    for f in DAVIS_FRAMES:
        _, m1, m2 = davis_masks(f)
        check_import(one.frames[f], m1)
        if m2 is not None:
            check_import(two.frames[f], m2)
    video.check()


def test_davis_palette_folder(tmp_path):
    folder = make_davis(tmp_path / "bear")
    assert detect(folder) == "davis"
    videos = read_visible_only(folder)
    assert len(videos) == 1
    check_davis(videos[0], "bear")


def test_davis_grayscale_and_natural_frame_numbers(tmp_path):
    folder = tmp_path / "gray"
    for f in (2, 10, 9):  # 10 after 9, by number; the prefix is not part of the number
        save_png(folder / f"frame_{f}.png", box(0, 10, 0, 10 + f).astype(np.uint8) * 3)
    video = read_visible_only(folder)[0]
    assert video.num_frames == 11
    assert [o.id for o in video.objects] == [3]
    assert sorted(video.objects[0].frames) == [2, 9, 10]
    check_import(video.objects[0].frames[10], box(0, 10, 0, 20))


def test_davis_binary_255_masks_read_as_one_object(tmp_path):
    folder = tmp_path / "davis2016"
    for f in range(3):
        save_png(folder / f"{f:05d}.png", box(10, 20, 10 + f, 30) * 255)
    video = read_visible_only(folder)[0]
    assert [o.id for o in video.objects] == [1]
    check_import(video.objects[0].frames[2], box(10, 20, 12, 30))


def test_davis_annotations_tree(tmp_path):
    root = tmp_path / "DAVIS"
    make_davis(root / "Annotations" / "480p" / "bear")
    make_davis(root / "Annotations" / "480p" / "car", mode="L")
    make_davis(root / "Annotations" / "Full-Resolution" / "ignored")  # 480p is preferred
    (root / "JPEGImages" / "480p" / "bear").mkdir(parents=True)
    assert detect(root) == "davis"
    videos = read_visible_only(root)
    assert [v.name for v in videos] == ["bear", "car"]
    check_davis(videos[0], "bear")
    check_davis(videos[1], "car")


def test_davis_annotations_without_resolution_folder(tmp_path):
    make_davis(tmp_path / "Annotations" / "walk")
    assert detect(tmp_path / "Annotations") == "davis"
    videos = read_visible_only(tmp_path)
    assert [v.name for v in videos] == ["walk"]
    check_davis(videos[0], "walk")


# ---- YouTube-VIS ----------------------------------------------------------------------------

POLYGON = [[10.0, 5.0, 40.0, 5.0, 40.0, 30.0, 10.0, 30.0]]


def polygon_mask():
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(POLYGON, H, W))).astype(bool)


def ytvis_doc():
    car = [box(5, 20, 5, 30), box(6, 21, 8, 33), None, None]
    person = [None, box(20, 45, 30, 50), box(22, 45, 31, 50), box(24, 45, 32, 50)]
    return {
        "info": {"description": "YouTube-VIS 2021"},
        "videos": [{"id": 1, "width": W, "height": H, "length": 4,
                    "file_names": [f"0a1b2c3d/{f:05d}.jpg" for f in range(4)]},
                   {"id": 2, "name": "second", "width": 32, "height": 16, "length": 2}],
        "categories": [{"id": 3, "name": "car"}, {"id": 7, "name": "person"}],
        "annotations": [
            {"id": 5, "video_id": 1, "category_id": 3, "iscrowd": 0,
             "segmentations": [mask_to_rle(car[0]), {"size": [H, W], "counts": list_counts(car[1])}, POLYGON, None]},
            {"id": 6, "video_id": 1, "category_id": 7, "iscrowd": 0,
             "segmentations": [None] + [mask_to_rle(m) for m in person[1:]]},
            {"id": 5, "video_id": 2, "category_id": 7, "iscrowd": 0,
             "segmentations": [mask_to_rle(box(0, 8, 0, 8, 16, 32)), mask_to_rle(np.zeros((16, 32), bool))]},
        ],
    }, car, person


def test_ytvis_json(tmp_path):
    doc, car, person = ytvis_doc()
    path = tmp_path / "ytvis.json"
    path.write_text(json.dumps(doc))
    assert detect(path) == "ytvis"
    first, second = read_visible_only(path)
    assert (first.name, first.width, first.height, first.num_frames) == ("0a1b2c3d", W, H, 4)
    assert [(o.id, o.name, o.category) for o in first.objects] == [(5, "car 5", "car"), (6, "person 6", "person")]
    car_obj, person_obj = first.objects
    assert sorted(car_obj.frames) == [0, 1, 2]
    check_import(car_obj.frames[0], car[0])
    check_import(car_obj.frames[1], car[1])  # the list-count RLE
    check_import(car_obj.frames[2], polygon_mask())
    assert polygon_mask().sum() > 500
    assert sorted(person_obj.frames) == [1, 2, 3]
    for f in (1, 2, 3):
        check_import(person_obj.frames[f], person[f])
    assert (second.name, second.width, second.height, second.num_frames) == ("second", 32, 16, 2)
    assert [o.name for o in second.objects] == ["person 5"]
    assert sorted(second.objects[0].frames) == [0]  # the empty mask of frame 1 is left out
    check_import(second.objects[0].frames[0], box(0, 8, 0, 8, 16, 32))
    first.check()
    second.check()


def test_ytvis_refusals(tmp_path):
    path = tmp_path / "bad.json"
    doc, _, _ = ytvis_doc()
    del doc["categories"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"^bad\.json: categories: missing$"):
        read_visible_only(path)

    doc, _, _ = ytvis_doc()
    doc["annotations"][0]["segmentations"][2] = [[1.0, 2.0, 3.0, float("nan"), 5.0, 6.0]]
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"^bad\.json: annotations\[0\]\.segmentations\[2\]\[0\]: .*finite"):
        read_visible_only(path)

    doc, _, _ = ytvis_doc()
    doc["annotations"][0]["segmentations"][2] = [[1.0, 2.0, 3.0, 4.0, 5.0]]
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"^bad\.json: annotations\[0\]\.segmentations\[2\]\[0\]: expected a polygon"):
        read_visible_only(path)

    doc, _, _ = ytvis_doc()
    doc["annotations"][1]["segmentations"][1] = mask_to_rle(np.ones((H, W + 1), bool))
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"^bad\.json: annotations\[1\]\.segmentations\[1\]: the mask is 65x48, "
                                         r"but videos\[0\] is 64x48"):
        read_visible_only(path)

    doc, _, _ = ytvis_doc()
    doc["annotations"][1]["segmentations"].pop()
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"^bad\.json: annotations\[1\]\.segmentations: 3 entries for the video's 4"):
        read_visible_only(path)


# ---- SAM 2 ----------------------------------------------------------------------------------

def sam2_masks(f):
    """Two overlapping objects; object 2 is empty on frame 3."""
    one = box(5, 30, 5 + 2 * f, 35 + 2 * f)
    two = box(15, 40, 25, 55) if f != 3 else np.zeros((H, W), bool)
    assert (one & two).any() or f == 3
    return {1: one, 2: two}


def make_sam2_png(folder, names=("1", "2")):
    for oid, sub in zip((1, 2), names):
        for f in range(4):
            save_png(folder / sub / f"{f:05d}.png", sam2_masks(f)[oid] * 255)
    (folder / "frames").mkdir()  # a folder that holds no masks is no object
    (folder / "frames" / "00000.jpg").write_bytes(b"not read")
    return folder


def check_sam2(video, name):
    assert video.name == name
    assert (video.width, video.height, video.num_frames) == (W, H, 4)
    assert [(o.id, o.name) for o in video.objects] == [(1, "object 1"), (2, "object 2")]
    one, two = video.objects
    assert sorted(one.frames) == [0, 1, 2, 3]
    assert sorted(two.frames) == [0, 1, 2]
    for f in range(4):
        check_import(one.frames[f], sam2_masks(f)[1])
    for f in range(3):
        check_import(two.frames[f], sam2_masks(f)[2])
    video.check()


def test_sam2_png_folders(tmp_path):
    folder = make_sam2_png(tmp_path / "sam2 out")
    assert detect(folder) == "sam2-png"
    videos = read_visible_only(folder)
    assert len(videos) == 1
    check_sam2(videos[0], "sam2 out")


def test_sam2_png_obj_folders(tmp_path):
    folder = make_sam2_png(tmp_path / "clip", names=("obj_1", "obj_2"))
    assert detect(folder) == "sam2-png"
    check_sam2(read_visible_only(folder)[0], "clip")


def sam2_json_masks():
    return {str(f): {str(oid): mask_to_rle(m) for oid, m in sam2_masks(f).items()} for f in range(4)}


def test_sam2_json(tmp_path):
    path = tmp_path / "sam2_masks.json"
    path.write_text(json.dumps(sam2_json_masks()))
    assert detect(path) == "sam2-json"
    videos = read_visible_only(path)
    assert len(videos) == 1
    check_sam2(videos[0], "sam2_masks")


def test_sam2_json_wrapped(tmp_path):
    path = tmp_path / "wrapped.json"
    masks = sam2_json_masks()
    masks["1"]["1"] = {"size": [H, W], "counts": list_counts(sam2_masks(1)[1])}
    masks["5"] = {"2": None}  # a frame with nothing: counts for the length
    path.write_text(json.dumps({"video": {"width": W, "height": H, "name": "street.mp4"}, "masks": masks}))
    assert detect(path) == "sam2-json"
    video = read_visible_only(path)[0]
    assert (video.name, video.num_frames) == ("street.mp4", 6)
    assert [o.id for o in video.objects] == [1, 2]
    check_import(video.objects[0].frames[1], sam2_masks(1)[1])
    assert sorted(video.objects[1].frames) == [0, 1, 2]


# ---- zips -----------------------------------------------------------------------------------

def zip_folder(folder, path, prefix=""):
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, prefix + file.relative_to(folder).as_posix())
        zf.writestr("__MACOSX/._00000.png", b"resource fork, not an image")
    return path


def test_zip_of_davis_folder(tmp_path):
    folder = make_davis(tmp_path / "bear")
    path = zip_folder(folder, tmp_path / "bear_masks.zip", prefix="bear/")
    assert detect(path) == "davis"
    videos = read_visible_only(path)
    assert len(videos) == 1
    check_davis(videos[0], "bear")


def test_zip_of_sam2_folders_and_json(tmp_path):
    folder = make_sam2_png(tmp_path / "out")
    path = zip_folder(folder, tmp_path / "sam2.zip")
    assert detect(path) == "sam2-png"
    check_sam2(read_visible_only(path)[0], "sam2")

    json_zip = tmp_path / "masks_json.zip"
    with zipfile.ZipFile(json_zip, "w") as zf:
        zf.writestr("clip.json", json.dumps(sam2_json_masks()))
    assert detect(json_zip) == "sam2-json"
    check_sam2(read_visible_only(json_zip)[0], "clip")


def test_zip_refusals(tmp_path):
    escaping = tmp_path / "escape.zip"
    with zipfile.ZipFile(escaping, "w") as zf:
        zf.writestr("masks/00000.png", b"x")
        zf.writestr("masks/../../evil.png", b"x")
    with pytest.raises(ValueError, match=r"^escape\.zip: entry 'masks/\.\./\.\./evil\.png' has a path that leads "
                                         r"outside"):
        read_visible_only(escaping)
    with pytest.raises(ValueError, match=r"^escape\.zip: entry 'masks/\.\./\.\./evil\.png'"):
        detect(escaping)
    assert not (tmp_path.parent / "evil.png").exists()

    absolute = tmp_path / "absolute.zip"
    with zipfile.ZipFile(absolute, "w") as zf:
        zf.writestr(zipfile.ZipInfo("/etc/00000.png"), b"x")
    with pytest.raises(ValueError, match=r"^absolute\.zip: entry '/etc/00000\.png' has a path that leads outside"):
        read_visible_only(absolute)

    linked = tmp_path / "linked.zip"
    with zipfile.ZipFile(linked, "w") as zf:
        link = zipfile.ZipInfo("masks/00000.png")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(ValueError, match=r"^linked\.zip: entry 'masks/00000\.png' is a symbolic link"):
        read_visible_only(linked)

    not_zip = tmp_path / "broken.zip"
    not_zip.write_bytes(b"just text")
    with pytest.raises(ValueError, match=r"^broken\.zip: expected a zip archive"):
        read_visible_only(not_zip)


# ---- detection of other formats -------------------------------------------------------------

def full_labels():
    obj = ObjectLabels(id=1, name="car")
    obj.frames[0] = FrameLabel.from_masks(box(5, 30, 5, 40), box(5, 30, 5, 20))
    return VideoLabels(name="clip.mp4", width=W, height=H, num_frames=2, objects=[obj])


def test_detect_leaves_full_labels_to_their_readers(tmp_path):
    amodal = tmp_path / "annotations.json"
    amodal.write_text(json.dumps(amodal_video_document([full_labels()])))
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps(coco_document([full_labels()])))
    movi = tmp_path / "movi"
    (movi / "video_0000").mkdir(parents=True)
    (movi / "video_0000" / "metadata.json").write_text("{}")
    save_png(movi / "video_0000" / "segmentations_00000.png", np.zeros((H, W)))
    movi_list = tmp_path / "movi_list"
    movi_list.mkdir()
    np.save(movi_list / "instance_list.npy", np.zeros((0, 2)))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": [1, 2]}))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert detect(amodal) is None
    assert detect(coco) is None
    assert detect(movi) is None
    assert detect(movi_list) is None
    assert detect(other) is None
    assert detect(broken) is None
    assert detect(tmp_path / "missing") is None
    with pytest.raises(ValueError, match=r"^annotations\.json: expected a YouTube-VIS JSON"):
        read_visible_only(amodal)
    with pytest.raises(ValueError, match=r"^movi: not visible-only labels"):
        read_visible_only(movi)
    assert VISIBLE_ONLY_KINDS == ("davis", "ytvis", "sam2-png", "sam2-json")


# ---- refusals -------------------------------------------------------------------------------

def test_mixed_mask_sizes(tmp_path):
    folder = make_davis(tmp_path / "mixed")
    save_png(folder / "00005.png", np.ones((32, 32)))
    with pytest.raises(ValueError, match=r"^mixed/00005\.png: the mask is 32x32, but mixed/00000\.png is 64x48; "
                                         r"every mask of a video must have the same size"):
        read_visible_only(folder)


def test_mixed_sizes_across_sam2_objects(tmp_path):
    folder = make_sam2_png(tmp_path / "objs")
    save_png(folder / "2" / "00004.png", np.ones((H + 1, W)))
    with pytest.raises(ValueError, match=r"^objs/2/00004\.png: the mask is 64x49, but objs/1/00000\.png is 64x48"):
        read_visible_only(folder)


def test_bad_rle_counts(tmp_path):
    path = tmp_path / "hostile.json"
    masks = sam2_json_masks()
    masks["2"]["1"] = {"size": [H, W], "counts": "zzzz"}
    path.write_text(json.dumps(masks))
    with pytest.raises(ValueError, match=r"^hostile\.json: \['2'\]\['1'\]: RLE counts string is damaged"):
        read_visible_only(path)
    masks["2"]["1"] = {"size": [H, W], "counts": [H * W, 5]}
    path.write_text(json.dumps(masks))
    with pytest.raises(ValueError, match=r"^hostile\.json: \['2'\]\['1'\]: RLE counts do not cover"):
        read_visible_only(path)
    masks["2"]["1"] = mask_to_rle(np.zeros((H, W - 1), bool))
    path.write_text(json.dumps({"video": {"width": W, "height": H}, "masks": masks}))
    with pytest.raises(ValueError, match=r"^hostile\.json: masks\['2'\]\['1'\]: the mask is 63x48, but video is 64x48"):
        read_visible_only(path)


def test_png_that_is_not_an_image(tmp_path):
    folder = make_davis(tmp_path / "clip")
    (folder / "00002.png").write_text("this is not a PNG")
    with pytest.raises(ValueError, match=r"^clip/00002\.png: expected a PNG image, but the file is not one$"):
        read_visible_only(folder)


def test_rgb_png_and_huge_png_refused(tmp_path):
    folder = make_davis(tmp_path / "rgb")
    Image.new("RGB", (W, H)).save(folder / "00001.png")
    with pytest.raises(ValueError, match=r"^rgb/00001\.png: expected a palette or grayscale .* PNG, got an image "
                                         r"in mode RGB"):
        read_visible_only(folder)
    huge = tmp_path / "huge"
    save_png(huge / "00000.png", np.zeros((1, 16385)))
    with pytest.raises(ValueError, match=r"^huge/00000\.png: the image is 16385x1; a mask may be at most 16384"):
        read_visible_only(huge)


def test_frame_file_without_number(tmp_path):
    folder = make_davis(tmp_path / "named")
    save_png(folder / "mask.png", davis_masks(0)[0])
    with pytest.raises(ValueError, match=r"^named/mask\.png: expected a frame number in the file name"):
        read_visible_only(folder)


def test_empty_folder(tmp_path):
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / ".DS_Store").write_bytes(b"")
    assert detect(tmp_path / "nothing") is None
    with pytest.raises(ValueError, match=r"^nothing: the folder is empty; expected DAVIS"):
        read_visible_only(tmp_path / "nothing")
    (tmp_path / "Annotations" / "480p").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"^Annotations/480p: expected one folder of PNG masks per video"):
        read_visible_only(tmp_path / "Annotations")
