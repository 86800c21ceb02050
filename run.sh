#!/usr/bin/env bash
# One entry point for the course:  bash run.sh lab   |   bash run.sh test
#
#   lab   set up .venv (first time only), then open the notebook series in JupyterLab;
#         headless (CI, no terminal, or GAITGS_HEADLESS=1) it executes every notebook
#         in quick mode instead and writes the executed copies under runs/executed/.
#   test  set up .venv (first time only), then run the whole test suite: the library's
#         unit tests, every notebook under nbval, the assignments' autograders.
#
# Environment: PYTHON (interpreter for the venv, default python3), GAITGS_TORCH (the torch
# requirement to install when the venv has none; default the CPU build torch==2.13.0 — GPU
# users see the README), GAITGS_QUICK (1 = quick mode, 0 = full mode).
set -euo pipefail
cd "$(dirname "$0")"

cmd="${1:-}"
case "$cmd" in
  lab|test) shift ;;
  *) echo "usage: bash run.sh lab|test [extra pytest/jupyter args]" >&2; exit 2 ;;
esac

py="${PYTHON:-python3}"
venv=".venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "[gaitgs] creating $venv with $($py --version 2>&1)"
  "$py" -m venv "$venv"
fi
vpy="$venv/bin/python"
"$vpy" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "[gaitgs] Python >= 3.10 is needed (set PYTHON=...)" >&2; exit 1; }

# Install once; reinstall only when the declared dependencies change.
stamp="$venv/.gaitgs-installed"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  if ! "$vpy" -c 'import torch' 2>/dev/null; then
    echo "[gaitgs] installing ${GAITGS_TORCH:-torch==2.13.0}"
    "$vpy" -m pip install -q "${GAITGS_TORCH:-torch==2.13.0}"
  fi
  echo "[gaitgs] installing gaitgs and its dependencies into $venv"
  "$vpy" -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi

if [ "$cmd" = test ]; then
  export GAITGS_QUICK="${GAITGS_QUICK:-1}"
  exec "$vpy" -m pytest tests notebooks --nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg \
    -p no:cacheprovider "$@"
fi

headless=0
if [ -n "${CI:-}" ] || [ "${GAITGS_HEADLESS:-0}" = 1 ] || [ ! -t 1 ]; then headless=1; fi
if [ "$headless" = 1 ]; then
  export GAITGS_QUICK="${GAITGS_QUICK:-1}"
  mkdir -p runs/executed
  for nb in notebooks/[0-9][0-9]_*.ipynb; do
    echo "[gaitgs] executing $nb"
    "$vpy" -m jupyter nbconvert --to notebook --execute "$nb" \
      --output-dir runs/executed --ExecutePreprocessor.timeout=1800 "$@"
  done
  echo "[gaitgs] all notebooks ran; executed copies are in runs/executed/"
else
  root_flag=()
  if [ "$(id -u)" = 0 ]; then root_flag=(--allow-root); fi  # containers often run as root
  exec "$vpy" -m jupyter lab notebooks/00_welcome.ipynb "${root_flag[@]}" "$@"
fi
