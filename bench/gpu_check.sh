#!/usr/bin/env bash
# One prepared GPU check (H100/H200): engine speed vs the published schedule, predict() end to
# end as the studio calls it (720p, crops included, first call apart, peak memory after
# warm-up), a true fp32 baseline (TF32 off), and bf16 vs fp32 agreement with intermediates on.
# Tables are appended to bench/RESULTS.md (copied to $OUT when set).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
python3 bench/bench_engine.py --preset movi_b --device cuda --tracks 1 8 32 --frames 24 --repeat 5 --amp on
python3 bench/bench_engine.py --preset movi_b --device cuda --tracks 1 32 --frames 24 --repeat 3 --amp off --skip-reference-above 0
python3 bench/bench_predict.py --preset movi_b --device cuda --objects 1 8 32 --frames 24 --repeat 5 --amp on
python3 bench/bench_predict.py --device cuda --objects 1 8 32 --frames 24 --repeat 5 --amp on
python3 bench/bench_predict.py --preset movi_b --device cuda --objects 1 32 --frames 24 --repeat 3 --amp off
python3 bench/precision_check.py --device cuda
[ -n "${OUT:-}" ] && cp bench/RESULTS.md "$OUT/" || true
