"""A training run's learning curve and compute, from its log.jsonl, for the model card.

    python bench/learning_curve.py runs/lite_v2/log.jsonl [--batch 4 --seq-len 12]

Prints one row per periodic evaluation (held-out in-style test videos, clean full / occluded
mIoU) with the object-frames seen and the wall-clock training minutes so far. A run that was
stopped and resumed logs each leg's minutes from zero; legs are summed, and steps a resumed
leg repeats (after a stop between saves) are counted once per time they ran.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def read_log(path: Path) -> tuple[list[dict], float]:
    """(eval rows with cumulative minutes, total minutes) from a trainer log."""
    rows, done, leg_max, last_minutes = [], 0.0, 0.0, -1.0
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if "minutes" in entry:
            if entry["minutes"] < last_minutes:        # a new leg started from zero
                done += leg_max
                leg_max = 0.0
            last_minutes = leg_max = entry["minutes"]
        if "eval" in entry:
            rows.append({"step": entry["step"], "minutes": done + leg_max, **entry["eval"]})
    return rows, done + leg_max


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=12)
    args = ap.parse_args(argv)
    rows, total = read_log(Path(args.log))
    latest: dict[int, dict] = {}
    for r in rows:                                      # a repeated step keeps its latest evaluation
        latest[r["step"]] = r
    print("| step | object-frames | training minutes | clean full mIoU | clean occluded mIoU |")
    print("|---|---|---|---|---|")
    for step in sorted(latest):
        r = latest[step]
        print(f"| {step} | {step * args.batch * args.seq_len:,} | {r['minutes']:.0f} | "
              f"{r['miou_full_clean']:.3f} | {r['miou_occ_clean']:.3f} |")
    print(f"\n{total:.0f} training minutes ({total / 60:.2f} h) in all, evaluations included.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
