"""EoRaS Studio: `python app.py [--checkpoint PATH] [--preset P] [--device auto|cpu|cuda] [--port N] [--host H]
[--projects DIR] [--data SPLIT [--cache CACHE] [--compare CACHE_B]]`.

Loads the model once (resident on the GPU when there is one) and serves the studio. With no
arguments it uses the bundled demo model and opens a browser tab; on a Hugging Face Space
it serves on the Space's address. Labels are saved as they are made, one folder per clip
under --projects (default: the user's data folder).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEMO_DIR = ROOT / "assets" / "demo_clips"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from eoras_core.budget import Budget

    ap = argparse.ArgumentParser(description="EoRaS Studio — amodal video segmentation in the browser.")
    ap.add_argument("--checkpoint", default=None, help="published .pth/.pth.gz or project .safetensors (default: bundled demo model)")
    ap.add_argument("--preset", default=None, help="architecture for files that do not carry one: movi_b, movi_d, kitti, tiny")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", 7860))))
    ap.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    ap.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    ap.add_argument("--cache-mb", type=int, default=None,
                    help="memory for encoded frames shared by all sessions (default: 1/16 of the machine's memory, 256-4096 MB)")
    ap.add_argument("--max-sessions", type=int, default=16, help="sessions kept in memory; the least recently used go first")
    ap.add_argument("--projects", default=None, metavar="DIR",
                    help="folder for projects (labels, masks and a copy of each clip); default: the user data "
                         "folder of 'EoRaS Studio'")
    limits = Budget.for_machine()
    ap.add_argument("--max-source-pixels", type=int, default=limits.max_source_pixels,
                    help="most frames x width x height one upload or API request may decode (default %(default)s)")
    ap.add_argument("--max-objects", type=int, default=limits.max_objects, help="most objects per API request")
    ap.add_argument("--max-object-frames", type=int, default=limits.max_object_frames,
                    help="most objects x frames per API request (default sized to the machine: %(default)s)")
    ap.add_argument("--max-seconds", type=float, default=limits.max_seconds, help="time limit of one API request")
    ap.add_argument("--data", default=None, metavar="SPLIT",
                    help="open a MOVi-layout split for error analysis (Dataset tab); without --cache the loaded "
                         "model predicts it first (kept under the projects folder, resumed if stopped)")
    ap.add_argument("--cache", default=None, metavar="CACHE", help="the split's predictions (python -m eoras_core predict)")
    ap.add_argument("--compare", default=None, metavar="CACHE_B", help="a second cache of the same split, to compare")
    return ap.parse_args(argv)


def is_public(host: str, on_space: bool) -> bool:
    """Served beyond this machine: projects then belong to the browser that made them."""
    return on_space or host not in ("127.0.0.1", "localhost", "::1")


def open_split(args: argparse.Namespace, model, root: Path):
    """The dataset of --data / --cache / --compare (predicting the split first when no cache is given)."""
    from ui.dataset import default_cache, make_cache, open_dataset

    if args.data is None and args.cache is None:
        if args.compare:
            print("warning: --compare needs --cache (or --data); ignored", file=sys.stderr)
        return None
    cache = args.cache
    if cache is None:
        name = Path(args.checkpoint).name if args.checkpoint else "demo model"
        cache = default_cache(root, Path(args.data), f"{name} ({model.config.name})")
        print(f"EoRaS Studio: predicting {args.data} into {cache} (resumes if stopped)")
        make_cache(model, args.data, cache, f"{name} ({model.config.name})")
    ds = open_dataset(cache, args.data, args.compare)
    print(f"EoRaS Studio: split {ds.name}, {len(ds.rows)} objects (Dataset tab)")
    return ds


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from ui.zero_gpu import gpu_runner, on_zero_gpu

    zero_gpu = on_zero_gpu()
    if zero_gpu:  # before torch touches CUDA: ZeroGPU lends the GPU per call, in a forked worker
        import spaces  # type: ignore[import-not-found]  # noqa: F401
    from eoras_core import CheckpointError, load_eoras
    from eoras_core.budget import Budget
    from eoras_core.data.movi import DatasetError
    from ui.app import CSS, KEYS_JS, build_app
    from ui.projects import ProjectStore, default_root

    try:
        model = load_eoras(args.checkpoint, preset=args.preset, device="cuda" if zero_gpu else args.device)
    except (CheckpointError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    on_space = "SPACE_ID" in os.environ
    host = "0.0.0.0" if on_space else args.host
    print(f"EoRaS Studio: model {model.config.name} on {next(model.parameters()).device}")
    cache = None if args.cache_mb is None else args.cache_mb << 20
    if args.projects:
        root = Path(args.projects).expanduser()
    elif on_space and Path("/data").is_dir():  # a Space's persistent storage, when it has some
        root = Path("/data/eoras-studio/projects")
    else:
        root = default_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot use {root} for projects ({exc.strerror or exc}); pass --projects DIR", file=sys.stderr)
        return 2
    projects = ProjectStore(root, public=is_public(host, on_space))
    print(f"EoRaS Studio: projects in {root}{' (each browser sees its own)' if projects.public else ''}")
    try:
        dataset = open_split(args, model, root)
    except (DatasetError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    budget = Budget(args.max_source_pixels, args.max_objects, args.max_object_frames, args.max_seconds)
    app = build_app(model, DEMO_DIR, max_sessions=args.max_sessions, runner=gpu_runner(model), cache_bytes=cache,
                    projects=projects, dataset=dataset, datasets_local=not projects.public, budget=budget)
    app.queue(default_concurrency_limit=1, max_size=64).launch(
        server_name=host, server_port=args.port, inbrowser=not (args.no_browser or on_space), js=KEYS_JS, css=CSS,
        run_history=False, max_file_size="2gb", show_error=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
