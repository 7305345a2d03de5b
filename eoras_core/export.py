"""COCO RLE for every mask the project writes or reads, and atomic JSON writing.

Masks are encoded by pycocotools (column-major, compressed counts as UTF-8 strings) so
any COCO tool decodes them. Reading is done here, not by pycocotools: its decoder writes
past its buffer when counts add up to more than the mask, and label files come from users.
The label formats themselves are in eoras_core/formats/.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

__all__ = ["mask_to_rle", "rle_to_mask", "rle_counts", "write_json"]


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO compressed RLE of an (H, W) boolean mask: {"size": [h, w], "counts": str}."""
    mask = _as_bool_mask(mask, "mask")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    """(H, W) bool mask from a COCO RLE dict (counts as str, bytes or an uncompressed list).

    The counts are checked first (rle_counts): pycocotools writes past its buffer when they
    add up to more than H*W, so an RLE from a file is never decoded unchecked.
    """
    h, w = _rle_size(rle)
    counts = rle_counts(rle)
    return np.repeat(np.arange(len(counts)) % 2 == 1, counts).reshape(w, h).T.copy() if h * w else np.zeros((h, w), bool)


def _rle_size(rle: Any) -> tuple[int, int]:
    size = rle.get("size") if isinstance(rle, dict) else None
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 1 << 16 for v in size)):
        raise ValueError("an RLE needs \"size\": [height, width] (whole numbers up to 65536)")
    return int(size[0]), int(size[1])


def rle_counts(rle: dict[str, Any]) -> np.ndarray:
    """(m,) int64 run lengths of a COCO RLE (compressed string or list), checked: none negative,
    and they cover exactly height*width pixels. Raises ValueError otherwise."""
    h, w = _rle_size(rle)
    counts = rle.get("counts")
    if isinstance(counts, list):
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= h * w for v in counts):
            raise ValueError(f"RLE counts must be whole numbers from 0 to {h * w}")
        runs = np.asarray(counts, np.int64)
    elif isinstance(counts, (str, bytes)):
        runs = _decode_counts(counts.encode("ascii", "replace") if isinstance(counts, str) else counts)
    else:
        raise ValueError("RLE counts must be a string or a list of whole numbers")
    if (runs < 0).any() or (runs > h * w).any() or int(runs.sum()) != h * w:
        raise ValueError(f"RLE counts do not cover the {w}x{h} mask exactly")
    return runs


def _decode_counts(text: bytes) -> np.ndarray:
    """COCO's compressed counts: 5-bit groups (+48), 0x20 = more follow, sign in the last group's
    0x10; counts after the second are stored as differences to the one two places back."""
    v = np.frombuffer(text, np.uint8).astype(np.int64) - 48
    if len(v) == 0:
        return np.zeros(0, np.int64)
    if (v < 0).any() or (v > 63).any() or v[-1] & 0x20:
        raise ValueError("RLE counts string is damaged")
    last = (v & 0x20) == 0
    group = np.concatenate([[0], np.cumsum(last)[:-1]])
    start = np.flatnonzero(np.concatenate([[True], last[:-1]]))
    pos = np.arange(len(v)) - start[group]
    if pos.max() > 6:
        raise ValueError("RLE counts string is damaged (a count is too long)")
    x = np.zeros(int(last.sum()), np.int64)
    np.add.at(x, group, (v & 0x1F) << (5 * pos))
    ends = np.flatnonzero(last)
    negative = (v[ends] & 0x10) != 0
    x[negative] -= np.left_shift(1, 5 * (pos[ends][negative] + 1))
    for parity in (0, 1):  # counts[j] += counts[j-2] for j > 2
        first = 2 if parity == 0 else 1
        x[first::2] = np.cumsum(x[first::2])
    return x


def _as_bool_mask(mask: np.ndarray, what: str) -> np.ndarray:
    """2-D bool view of a bool/integer mask; floats are refused (threshold them first)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{what} must be 2-D (H, W), got shape {mask.shape}")
    if mask.dtype != bool and not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"{what} must be bool or integer, got {mask.dtype}; threshold it first")
    return mask.astype(bool, copy=False)


def write_json(doc: dict[str, Any], path: str | Path) -> Path:
    """Write doc as compact UTF-8 JSON, atomically (no half-written file on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # as an ordinary file, not mkstemp's owner-only mode
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, separators=(",", ":"), allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
