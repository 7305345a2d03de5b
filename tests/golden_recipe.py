"""Test helper: the golden weight recipe (a rule stated in the golden README), re-implemented."""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import torch

GOLDEN_DIR = Path(__file__).parent / "fixtures" / "golden"
_KEPT = {"feature_extractor.mean", "feature_extractor.std", "slot_pos", "fea_pos", "bev_pos"}


def manifest() -> dict:
    return json.loads((GOLDEN_DIR / "manifest.json").read_text())["keys"]


def recipe_tensor(key: str, shape: list[int]) -> np.ndarray:
    rng = np.random.RandomState(zlib.crc32(key.encode()))
    shape = tuple(shape)
    last = key.rsplit(".", 1)[-1]
    if last == "running_var":
        a = 0.5 + rng.uniform(0.0, 1.0, size=shape)
    elif last == "running_mean":
        a = 0.1 * rng.standard_normal(shape)
    elif key == "slot.weight":
        a = rng.standard_normal(shape)
    elif last == "bias" or last.endswith("_bias"):
        a = 0.05 * rng.standard_normal(shape)
    elif len(shape) == 1:
        a = 1.0 + 0.1 * rng.standard_normal(shape)
    else:
        a = rng.standard_normal(shape) / np.sqrt(int(np.prod(shape[1:])))
    return a.astype(np.float32)


def recipe_state_dict(model_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every manifest key: recipe values, or the model's own for the kept keys."""
    out = {}
    for key, spec in manifest().items():
        if key in _KEPT or key.endswith("num_batches_tracked"):
            out[key] = model_state[key].clone()
        else:
            out[key] = torch.from_numpy(recipe_tensor(key, spec["shape"]))
    return out


def golden(preset: str) -> dict[str, np.ndarray]:
    return dict(np.load(GOLDEN_DIR / f"golden_{preset}.npz"))
