#!/usr/bin/env bash
# One entry point for the course:  bash run.sh lab   |   bash run.sh test   |   bash run.sh site
#
#   lab   set up .venv (first time only), then open the notebook series in JupyterLab;
#         headless (CI, no terminal, or GAITGS_HEADLESS=1) it executes every notebook
#         in quick mode instead, writes the executed copies under runs/executed/ and ends
#         with one line per notebook (name, seconds, ok/failed).
#   test  set up .venv (first time only), make the dataset the notebooks read (visibly, once),
#         then run the whole test suite: the library's unit tests, every notebook under
#         nbval, the assignments' autograders, the course site in a browser.
#   site  set up .venv (first time only), then build the course site into build/site/
#         (the notebooks as committed, the guides, an API reference; nothing is executed).
#         That is the students' edition, without the answer pages; `bash run.sh site --instructor`
#         builds the instructors' edition with them into build/site-instructor/.
#
# What the first run costs: .venv holds about 1.9 GB (torch alone is most of it) and takes a
# few minutes to install; data/synthgait-mini takes about 0.55 GB and 1-2 minutes to make on
# 2 CPU cores. Later runs start at once. Numbers measured: README, "What set-up costs".
#
# Environment: PYTHON (interpreter for the venv, default python3), GAITGS_TORCH (the torch
# requirement to install when the venv has none; default the CPU build torch==2.13.0 — GPU
# users see the README), GAITGS_QUICK (1 = quick mode, 0 = full mode).
set -euo pipefail
cd "$(dirname "$0")"

cmd="${1:-}"
case "$cmd" in
  lab|test|site) shift ;;
  *) echo "usage: bash run.sh lab|test|site [extra pytest/jupyter args]" >&2; exit 2 ;;
esac

py="${PYTHON:-python3}"
venv=".venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "[gaitgs] creating $venv with $($py --version 2>&1) (first run: about 1.9 GB and a few minutes in all)"
  "$py" -m venv "$venv"
fi
vpy="$venv/bin/python"
"$vpy" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "[gaitgs] Python >= 3.10 is needed (set PYTHON=...)" >&2; exit 1; }

# Install once; reinstall only when the declared dependencies change. pip prints what it
# collects and downloads as it goes (no -q): the first install takes minutes.
stamp="$venv/.gaitgs-installed"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  start=$SECONDS
  if ! "$vpy" -c 'import torch' 2>/dev/null; then
    echo "[gaitgs] step 1/2: installing ${GAITGS_TORCH:-torch==2.13.0} (the largest download, ~1 GB installed)"
    "$vpy" -m pip install --progress-bar on "${GAITGS_TORCH:-torch==2.13.0}"
  fi
  echo "[gaitgs] step 2/2: installing gaitgs-lib and its dependencies (JupyterLab, pytest, otter-grader, MkDocs) into $venv"
  "$vpy" -m pip install --progress-bar on -e ".[dev]"
  echo "$want" > "$stamp"
  echo "[gaitgs] $venv is ready ($((SECONDS - start)) s, $(du -sh "$venv" | cut -f1))"
fi

# The dataset the notebooks read (GAITGS_DATA; SynthGait is made on first use): made here,
# with a progress bar, rather than silently inside the first notebook or test that needs it.
ensure_data() {
  "$vpy" - <<'PY'
import time
from pathlib import Path

from gaitgs_lib.runtime import data_choice, quick_mode
from gaitgs_lib.synthgait import ensure_synthgait

choice = data_choice(quick_mode())
if choice.is_synthgait:
    folder = Path("data") / f"synthgait-{choice.synthgait_preset}"
    if not (folder / "meta.json").is_file():
        print(f"[gaitgs] generating {folder} once (synthgait-mini: ~0.55 GB, 1-2 minutes on 2 cores)", flush=True)
    start = time.perf_counter()
    ensure_synthgait(choice.synthgait_preset, root="data")
    if time.perf_counter() - start > 1:
        print(f"[gaitgs] {folder} ready ({time.perf_counter() - start:.0f} s)")
PY
}

if [ "$cmd" = site ]; then
  exec "$vpy" scripts/build_site.py "$@"
fi

if [ "$cmd" = test ]; then
  export GAITGS_QUICK="${GAITGS_QUICK:-1}"
  ensure_data
  exec "$vpy" -m pytest tests notebooks --nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg \
    -p no:cacheprovider "$@"
fi

headless=0
if [ -n "${CI:-}" ] || [ "${GAITGS_HEADLESS:-0}" = 1 ] || [ ! -t 1 ]; then headless=1; fi
if [ "$headless" = 1 ]; then
  export GAITGS_QUICK="${GAITGS_QUICK:-1}"
  ensure_data
  # a fresh kernel per notebook over local IPC sockets; a summary line per notebook at the end
  exec "$vpy" scripts/execute_notebooks.py --out runs/executed notebooks/[0-9][0-9]_*.ipynb
else
  root_flag=()
  if [ "$(id -u)" = 0 ]; then root_flag=(--allow-root); fi  # containers often run as root
  exec "$vpy" -m jupyter lab notebooks/00_welcome.ipynb "${root_flag[@]}" "$@"
fi
