"""How far a model sees beyond its renderer: in-style, style-shift and composited real footage.

    python bench/eval_generalisation.py --checkpoint CKPT [--old assets/eoras_tiny_movilite.safetensors]
        [--data DIR] [--videos 20] [--record FILE]

Renders (or reuses, under --data) three held-out splits — MOVi-lite v2 in the training style,
v2 in the held-out shift style, and realmix (real footage with cut-outs) — and prints clean
full / occluded mIoU of each model beside the amodal = visible and convex-hull baselines.
The table is appended to the record file (default bench/RESULTS.md) for the model card.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS, report  # noqa: E402
from eoras_core import load_eoras  # noqa: E402
from eoras_core.engine import EorasPredictor  # noqa: E402
from eoras_core.evaluate import evaluate_split  # noqa: E402

SPLITS = {
    "v2 in-style": ["synth", "--videos", "{n}", "--test-fraction", "1.0", "--seed", "424242"],
    "v2 style-shift": ["synth", "--videos", "{n}", "--test-fraction", "1.0", "--seed", "434343", "--style-shift"],
    "realmix (real footage)": ["realmix", "--videos", "{n}", "--seed", "7"],
}


def split_dir(root: Path, name: str, videos: int) -> Path:
    """The split's folder, rendered on first use (deterministic per seed)."""
    folder = root / name.split(" ")[0].replace("-", "_") / name.split(" ")[-1].strip("()")
    data = folder / "test" if SPLITS[name][0] == "synth" else folder
    if not (data / "instance_list.npy").exists():
        args = [a.format(n=videos) for a in SPLITS[name]]
        subprocess.run([sys.executable, "-m", "eoras_core", *args, "--out", str(folder)], cwd=ROOT, check=True)
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--old", default=None, help="a second checkpoint to compare with (e.g. the previous demo model)")
    ap.add_argument("--data", default="/tmp/eoras_generalisation")
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--record", default=str(RESULTS))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    models = {"new": args.checkpoint, **({"old": args.old} if args.old else {})}
    rows = []
    for split in SPLITS:
        data = split_dir(Path(args.data), split, args.videos)
        baselines = None
        for label, path in models.items():
            model = load_eoras(path, device="cpu")
            doc = evaluate_split(EorasPredictor(model), data, baselines=baselines is None, progress=False)
            baselines = baselines or doc.get("baselines")
            rows.append((split, f"{label}: {Path(path).name} ({model.config.name})",
                         doc["miou_full_clean"], doc["miou_occ_clean"]))
        for name, rep in (baselines or {}).items():
            rows.append((split, f"baseline: amodal = {'convex hull of visible' if name == 'convex_hull' else name}",
                         rep["miou_full_clean"], rep["miou_occ_clean"]))
    table = "| split | model | clean full mIoU | clean occluded mIoU |\n|---|---|---|---|\n" + "\n".join(
        f"| {s} | {m} | {f:.3f} | {o:.3f} |" for s, m, f, o in rows)
    table += f"\n\n({args.videos} videos per split, 24 frames at 256x256)"
    report(f"generalisation, {platform.machine()} CPU x{os.cpu_count()}", "bench/eval_generalisation.py", argv, table,
           args.record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
