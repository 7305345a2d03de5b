"""Render candidate MOVi-lite scenes and keep the few that show occlusion best, for assets/.

    python scripts/make_demo_clips.py --candidates 40 --keep 3 --out assets/demo_clips

Score: how many object-frames are partly hidden (10-90 % occluded) and how many objects
become fully hidden and reappear, favouring clips with several occluders. Each kept clip is
written in the MOVi layout (no depth, to stay small) plus an MP4 preview.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eoras_core.synth import render_clip, write_clip  # noqa: E402
from eoras_core.synth.scene import legacy_v1_config  # noqa: E402


def occlusion_score(clip) -> tuple[float, dict]:
    amodal = clip.amodal.reshape(clip.amodal.shape[0], clip.amodal.shape[1], -1).sum(-1)
    visible = np.stack([(clip.visible_ids == i + 1).reshape(clip.visible_ids.shape[0], -1).sum(-1)
                        for i in range(clip.amodal.shape[0])])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(amodal > 0, 1 - visible / np.maximum(amodal, 1), np.nan)
    partly = np.nansum((rate > 0.1) & (rate < 0.9))
    hidden_then_back = sum(
        1 for r in rate if np.any(r > 0.95) and np.any(r[np.argmax(r > 0.95):] < 0.5)
    )
    big = np.nanmean(amodal > 400)
    stats = {"partly_occluded_object_frames": int(partly), "hidden_then_reappear": int(hidden_then_back)}
    return float(partly + 15 * hidden_then_back + 20 * big), stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=40)
    ap.add_argument("--keep", type=int, default=3)
    ap.add_argument("--seed", type=int, default=90210)
    ap.add_argument("--out", default=str(ROOT / "assets" / "demo_clips"))
    args = ap.parse_args(argv)
    scored = []
    for i in range(args.candidates):
        clip = render_clip(args.seed + i, config=legacy_v1_config())  # the renderer the clips were made with
        score, stats = occlusion_score(clip)
        scored.append((score, args.seed + i, stats))
        print(f"seed {args.seed + i}: score {score:.1f} {stats}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for rank, (score, seed, stats) in enumerate(sorted(scored, reverse=True)[: args.keep]):
        clip = render_clip(seed, config=legacy_v1_config())
        name = f"movilite_{rank + 1}"
        folder = out / name
        if folder.exists():
            shutil.rmtree(folder)
        write_clip(clip, folder, extra_metadata={"demo_score": score})
        for f in folder.glob("depth_full_*.tiff"):
            f.unlink()
        try:
            from eoras_core.media import write_video

            write_video(out / f"{name}.mp4", clip.frames, fps=12.0)
        except ImportError:
            pass
        index.append({"name": name, "seed": seed, "objects": int(clip.amodal.shape[0]), **stats})
    (out / "index.json").write_text(json.dumps(index, indent=2))
    print(json.dumps(index, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
