#!/usr/bin/env bash
# One prepared GPU check (H100/H200): engine speed vs the published schedule, and bf16 vs fp32
# agreement. Tables are appended to bench/RESULTS.md (copied to $OUT when set).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 bench/bench_engine.py --preset movi_b --device cuda --tracks 1 8 32 --frames 24 --repeat 5 --amp on
python3 bench/bench_engine.py --preset movi_b --device cuda --tracks 1 32 --frames 24 --repeat 3 --amp off --skip-reference-above 0
python3 bench/precision_check.py --device cuda
[ -n "${OUT:-}" ] && cp bench/RESULTS.md "$OUT/" || true
