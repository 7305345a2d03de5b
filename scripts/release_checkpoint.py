"""Turn a training run's checkpoint into a shippable demo model: half-precision weights
(half the bytes; the loader widens them back to float32) and metadata without machine paths.

    python scripts/release_checkpoint.py RUN/last.safetensors assets/eoras_lite_v2.safetensors \
        [--note "MOVi-lite v2 + realmix-train, 2500 steps"]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eoras_core import load_eoras  # noqa: E402
from eoras_core.checkpoint import save_eoras  # noqa: E402

PATH_KEYS = ("data", "eval_data", "out", "init")


def read_extra(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return json.loads((f.metadata() or {}).get("extra", "{}"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("dest")
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)
    source = Path(args.source)
    model = load_eoras(source, device="cpu").half()
    extra = read_extra(source)
    train = dict(extra.get("train", {}))
    for key in PATH_KEYS:      # keep only the folder's own name: no machine's layout ships
        if train.get(key):
            train[key] = Path(train[key]).name
    out = {"step": extra.get("step"), "train": train, "storage": "float16", **({"note": args.note} if args.note else {})}
    dest = save_eoras(model, args.dest, extra=out)
    print(f"wrote {dest} ({dest.stat().st_size / 2**20:.1f} MiB, step {out['step']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
