"""Helpers the benchmark scripts share: the machine they ran on, their results files, the dataset they read.

The scripts run as modules from the repository root (`python -m benchmarks.NAME`) and import
this one as `benchmarks.common`; the library is the installed (editable) `gaitgs_lib`.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name and its number of logical cores (from /proc/cpuinfo where there is one)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        if names:
            cpu = f"{names[0]} ({len(names)} logical cores)"
    except OSError:
        pass
    return cpu


def machine(with_gpu: bool = False) -> str:
    """`cpu; [gpu;] load average` in one line: the `machine` of a results file."""
    parts = [cpu_name()]
    if with_gpu:
        import torch  # here, so that importing this module stays cheap

        parts.append(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU")
    parts.append(f"load average {os.getloadavg()[0]:.1f}")
    return "; ".join(parts)


def describe(with_gpu: bool = False) -> str:
    """`cpu; [gpu;] torch version; load average` in one line."""
    import torch

    cpu, *rest = machine(with_gpu).split("; ")
    return "; ".join([cpu, *rest[:-1], f"torch {torch.__version__}", rest[-1]])


def results_header(kind: str, module: str, argv: list[str] | None, with_gpu: bool = False) -> dict:
    """What every file under benchmarks/results/ starts with (the schema is in benchmarks/README.md):
    `kind` (which renderer of scripts/render_tables.py reads it), `command`, `date`, `torch`, `machine`."""
    import datetime
    import sys

    import torch

    args = sys.argv[1:] if argv is None else list(argv)
    return {"kind": kind, "command": " ".join(["python -m", module, *args]),
            "date": datetime.date.today().isoformat(), "torch": torch.__version__, "machine": machine(with_gpu)}


def write_results(path, record: dict) -> None:
    """Write a results file (indented JSON, one trailing newline)."""
    import json

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2) + "\n")


def dataset_root(path: Path) -> Path:
    """`--data` as given when it holds a dataset; `<dir>/synthgait-<preset>` is generated when missing."""
    # Imported here: bench_train_step's workers import this module with an older tree's
    # gaitgs_lib on PYTHONPATH, so nothing at module level may import gaitgs_lib.
    from gaitgs_lib.synthgait import SYNTHGAIT_PRESETS, ensure_synthgait

    if (path / "partition.json").exists():
        return path
    for preset in SYNTHGAIT_PRESETS:
        if path.name == f"synthgait-{preset}":
            return ensure_synthgait(preset, root=path.parent)
    raise SystemExit(f"error: --data {path} holds no dataset (no partition.json); give a dataset folder, or "
                     f"data/synthgait-mini to generate SynthGait there")
