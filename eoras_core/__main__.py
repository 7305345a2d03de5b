"""Command line: `python -m eoras_core {eval,predict,report,synth,train,realmix,annotate,export,import} ...`."""
from __future__ import annotations

import argparse
import sys


def _eval(argv: list[str]) -> int:
    from .checkpoint import CheckpointError, load_eoras
    from .data.movi import DatasetError, MoviSplit
    from .engine import EorasPredictor
    from .evaluate import check_writable, evaluate_split, select_videos, write_json

    ap = argparse.ArgumentParser(prog="python -m eoras_core eval", description="Evaluate on a MOVi-layout split.")
    ap.add_argument("--data", required=True, help="split folder holding the video folders and instance_list.npy")
    ap.add_argument("--checkpoint", default=None, help="published .pth/.pth.gz or project .safetensors (default: bundled demo model)")
    ap.add_argument("--preset", default=None, help="architecture for files that do not carry one: movi_b, movi_d, kitti, tiny")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--json", required=True, help="where to write the results")
    ap.add_argument("--limit-videos", type=int, default=None, help="evaluate only the first N videos")
    ap.add_argument("--no-baselines", action="store_true", help="skip the amodal=visible and convex-hull baselines")
    args = ap.parse_args(argv)
    try:
        check_writable(args.json)
        select_videos(MoviSplit(args.data), args.limit_videos)      # an empty split fails before the model loads
        model = load_eoras(args.checkpoint, preset=args.preset, device=args.device)
        doc = evaluate_split(EorasPredictor(model), args.data, baselines=not args.no_baselines,
                             limit=args.limit_videos)
        write_json(doc, args.json)
    except (CheckpointError, DatasetError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or args.data}: {exc.strerror or 'cannot be read or written'}", file=sys.stderr)
        return 2
    keys = ("miou_full", "miou_occ", "miou_full_clean", "miou_occ_clean")
    print("model      " + "  ".join(f"{k}={doc[k]:.4f}" for k in keys))
    for name, rep in doc.get("baselines", {}).items():
        print(f"{name:<10} " + "  ".join(f"{k}={rep[k]:.4f}" for k in keys))
    return 0


def _synth(argv: list[str]) -> int:
    from .synth.cli import main

    return main(argv)


def _train(argv: list[str]) -> int:
    from .training.cli import main

    return main(argv)


def _predict(argv: list[str]) -> int:
    from .predictions import main

    return main(argv)


def _report(argv: list[str]) -> int:
    from .report import main

    return main(argv)


def _realmix(argv: list[str]) -> int:
    from .realmix import main

    return main(argv)


def _labels(name: str):
    def run(argv: list[str]) -> int:
        from . import labels_cli

        return getattr(labels_cli, f"{name}_main")(argv)

    return run


COMMANDS = {"eval": _eval, "predict": _predict, "report": _report, "synth": _synth, "train": _train, "realmix": _realmix, "annotate": _labels("annotate"),
            "export": _labels("export"), "import": _labels("import")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m eoras_core {{{','.join(COMMANDS)}}} [--help]", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
