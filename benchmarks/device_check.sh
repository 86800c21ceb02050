#!/usr/bin/env bash
# The GPU path in one command (at most 8 minutes on a CUDA machine): the CUDA-marked tests,
# the fused-vs-reference benchmark of the `paper` preset with and without AMP, a timed
# training run of `paper` on SynthGait-b (generated first if absent) and its evaluation.
# Writes device_check.json and device_check.md (plus one log per stage) into --out
# (default runs/device-check-<time>) and prints the table last; see benchmarks/device_check.py
# (run as the module benchmarks.device_check from the repository root).
#
#   bash benchmarks/device_check.sh                 # on a machine with a CUDA GPU
#   bash benchmarks/device_check.sh --smoke         # any CPU, tiny budget (CI runs this)
#   PYTHON=.venv/bin/python bash benchmarks/device_check.sh --smoke --out /tmp/dc
#
# Budgets: DEVICE_CHECK_DEADLINE (s, default 480), DEVICE_CHECK_TRAIN_SECONDS (default 150),
# DEVICE_CHECK_DATA (default data/synthgait-b), DEVICE_CHECK_WORKERS (default 8).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" -m benchmarks.device_check "$@"
