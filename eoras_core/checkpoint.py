"""Loading and saving EoRaS weights: published checkpoints, project files and state dicts.

Every failure raises `CheckpointError` naming the file and saying what was expected.
Published files are read memory-mapped with `weights_only=True`; only 'model' is kept.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, Mapping

import torch

from .build import build_eoras
from .config import PRESETS, EorasConfig
from .modeling import EoRaS

CONFIG_KEY = "eoras_config"
FORMAT_KEY = "eoras_format"
FORMAT_VERSION = "1"
ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_CHECKPOINT = ASSETS / "eoras_lite_v2.safetensors"        # the demo model (assets/MODEL_CARD.md)
PREVIOUS_CHECKPOINT = ASSETS / "eoras_tiny_movilite.safetensors"  # the first demo model, kept for comparison
_PRESET_HINTS = (("movib", "movi_b"), ("movid", "movi_d"), ("kitti", "kitti"))


class CheckpointError(RuntimeError):
    """A checkpoint could not be used; the message names the file and what was expected."""

    def __init__(self, source: Any, message: str) -> None:
        self.source = str(source)
        super().__init__(f"{self.source}: {message}")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but no CUDA GPU is available; use --device cpu or auto")
    return dev


def infer_preset(path: str | os.PathLike) -> str | None:
    """Published runs name their folder after the dataset (…_movib_…, …_movid_…, …_kitti_…)."""
    text = str(path).lower().replace("-", "").replace("_", "")
    for hint, preset in _PRESET_HINTS:
        if hint in text:
            return preset
    return None


def clean_state_dict(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Strip wrapper prefixes (`module.` from DDP, `_orig_mod.` from torch.compile)."""
    out = {}
    for key, value in state.items():
        for prefix in ("module.", "_orig_mod."):
            while key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


def _sniff(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head == b"PK\x03\x04":
        return "zip"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "legacy"          # torch.save(_use_new_zipfile_serialization=False): a plain pickle stream
    if path.suffix == ".safetensors" or len(head) == 4:
        return "safetensors" if _looks_like_safetensors(path) else "unknown"
    return "unknown"


def _looks_like_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            return False
        n = int.from_bytes(raw, "little")
        if n <= 0 or n > 100_000_000:
            return False
        return f.read(1) == b"{"


def _torch_load(path: Path, original: Path) -> Any:
    """weights_only=True: a file that needs any Python object beyond tensors is refused, by name."""
    legacy = _sniff(path) == "legacy"
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=not legacy)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(original, f"truncated or damaged torch file ({str(exc) or 'it ends early'})") from None
    except Exception as exc:  # pickle errors surface under several types
        text = str(exc)
        blocked = re.search(r"(?:[Uu]nsupported global: GLOBAL|unsupported GLOBAL) ([A-Za-z_][\w.]*)", text)
        if blocked:
            raise CheckpointError(original, f"it needs the Python object {blocked.group(1)} to load, which a safe "
                                            "(weights-only) load never runs; a checkpoint must hold only tensors "
                                            "(re-save its state dict)") from None
        first = text.splitlines()[0] if text else ""
        if any(s in first for s in ("central directory", "zip archive", "failed finding", "PytorchStreamReader")):
            raise CheckpointError(original, "truncated or damaged torch file") from None
        raise CheckpointError(original, "not a torch checkpoint that loads safely (weights only): its contents "
                                        "could not be read as tensors") from None


MAX_UNPACKED_BYTES = 4 << 30      # the largest checkpoint a .gz may unpack to
MAX_GZIP_RATIO = 20               # weights barely compress; a far higher ratio is a bomb


def _gunzip_capped(path: Path, out) -> None:
    """Stream-decompress with a cap on the bytes written (absolute and by compression ratio)."""
    limit = min(MAX_UNPACKED_BYTES, max(64 << 20, MAX_GZIP_RATIO * path.stat().st_size))
    written = 0
    with gzip.open(path, "rb") as src:
        while chunk := src.read(1 << 22):
            written += len(chunk)
            if written > limit:
                raise CheckpointError(path, f"unpacks to more than {limit / 2**20:.0f} MB (more than "
                                            f"{MAX_GZIP_RATIO}x its size), which no checkpoint does; refusing it")
            out.write(chunk)


def _read_published(path: Path) -> dict[str, torch.Tensor]:
    """torch zip file (optionally gzip-compressed) -> model state dict (prefixes kept)."""
    kind = _sniff(path)
    if kind == "gzip":
        tmp = tempfile.NamedTemporaryFile(prefix="eoras_ckpt_", suffix=".pth", delete=False)
        try:
            with tmp:
                _gunzip_capped(path, tmp)
        except (OSError, EOFError, zlib.error):
            os.unlink(tmp.name)
            raise CheckpointError(path, "truncated or damaged gzip file") from None
        except CheckpointError:
            os.unlink(tmp.name)
            raise
        try:
            if _sniff(Path(tmp.name)) not in ("zip", "legacy"):
                raise CheckpointError(path, "the gzip file does not hold a torch checkpoint (.pth)")
            obj = _torch_load(Path(tmp.name), path)
        finally:
            os.unlink(tmp.name)  # mapped pages stay valid on POSIX after unlink
    else:
        obj = _torch_load(path, path)
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]
    elif isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(path, "expected a dict with a 'model' state dict of tensors (published EoRaS format)")
    return dict(obj)


def _read_project(path: Path) -> tuple[dict[str, torch.Tensor], EorasConfig | None]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(path, f"damaged safetensors file ({exc})") from None
    config = None
    if CONFIG_KEY in meta:
        try:
            config = EorasConfig.from_json(meta[CONFIG_KEY])
        except (ValueError, TypeError) as exc:
            raise CheckpointError(path, f"unreadable model config in metadata ({exc})") from None
    return state, config


def _describe_mismatch(model: EoRaS, state: Mapping[str, torch.Tensor]) -> str | None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshaped = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items() if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if not (missing or unexpected or misshaped):
        return None
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped)):
        if items:
            parts.append(f"{len(items)} {label} key(s), e.g. {', '.join(items[:3])}")
    return f"does not match the {model.config.name!r} architecture: " + "; ".join(parts)


def load_eoras(
    source: str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
    preset: str | None = None,
    device: str | torch.device = "auto",
) -> EoRaS:
    """Build an EoRaS in eval mode and load weights from `source`.

    source: a published checkpoint (`.pth` / `.pth.gz`, torch zip format, maybe gzipped),
    a project `.safetensors` file (config inside), a state dict, or None for the bundled
    demo model. The preset comes from the project file, else `preset`, else the published
    file's path (`movib`, `movid`, `kitti`).
    """
    if source is None:
        source = DEFAULT_CHECKPOINT
        if not Path(source).exists():
            raise CheckpointError(source, "the bundled demo checkpoint is missing; reinstall the project or pass a checkpoint")
    config: EorasConfig | None = None
    label: Any = "<state dict>"
    if isinstance(source, Mapping):
        state = dict(source)
    else:
        path = Path(source)
        label = path
        if not path.exists():
            raise CheckpointError(path, "file not found")
        if path.is_dir():
            raise CheckpointError(path, "is a folder; expected a .pth/.pth.gz or .safetensors checkpoint file")
        if path.stat().st_size == 0:
            raise CheckpointError(path, "empty file; expected a checkpoint")
        kind = _sniff(path)
        if kind in ("gzip", "zip", "legacy"):
            state = _read_published(path)
        elif kind == "safetensors":
            state, config = _read_project(path)
        else:
            raise CheckpointError(path, "not a checkpoint: expected a torch zip file (.pth), its gzip copy (.pth.gz) or a .safetensors file")
        if config is None and preset is None:
            preset = infer_preset(path)
    state = clean_state_dict(state)
    if config is None:
        if preset is None:
            raise CheckpointError(label, f"cannot tell the architecture; pass preset= one of {sorted(PRESETS)}")
        if preset not in PRESETS:
            raise CheckpointError(label, f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        config = PRESETS[preset]
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        more = f" and {len(bad) - 1} other tensor(s)" if len(bad) > 1 else ""
        raise CheckpointError(label, f"weights are not finite (NaN or infinity) in {bad[0]}{more}; the file is "
                                     "damaged or its training diverged")
    model = build_eoras(config)
    problem = _describe_mismatch(model, state)
    if problem:
        raise CheckpointError(label, problem)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(resolve_device(device)).eval()


def save_eoras(model: EoRaS, path: str | os.PathLike, extra: Mapping[str, Any] | None = None) -> Path:
    """Write weights + config as one safetensors file (config JSON in its metadata)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {CONFIG_KEY: model.config.to_json(), FORMAT_KEY: FORMAT_VERSION}
    if extra:
        meta["extra"] = json.dumps(dict(extra), sort_keys=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(state, str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path
