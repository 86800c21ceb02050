"""Execute notebooks as a clean restart-and-run-all, the way they are committed.

    python scripts/execute_notebooks.py notebooks/03_span_msfe.ipynb [...]          # in place
    python scripts/execute_notebooks.py --out runs/executed notebooks/[0-9]*.ipynb   # copies

Runs each notebook top to bottom in a fresh kernel with its folder as working directory
(quick mode unless GAITGS_QUICK is set otherwise), numbers the cells 1, 2, 3, …, and drops
saved widget state so the file carries no machine-specific output. The kernel talks to this
process over local IPC sockets in a private temporary folder, not TCP: nothing listens on a
network port, so ipykernel has no reason to warn about unencrypted TCP. A failing notebook
does not stop the others; the end prints one line per notebook (name, seconds, ok/failed)
and the exit status is 1 if any failed.

Run times: a notebook executed in place in quick mode without an error gets its entry in
`run_times.json` beside it (notebooks/run_times.json) replaced by what this run measured: wall
seconds, CPU seconds (this process and the kernel with its child processes), the machine (CPU
model, cores, load average before the run) and the date. That file is where the run times
stated in the notebooks' first cells and in docs/instructors.md come from, and
tests/test_run_times.py holds them to it. Copies written with --out record nothing.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(path: Path, out: Path | None = None, timeout: int = 1800) -> float:
    """Execute `path` and write it to `out` (default: in place); returns the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gaitgs-kernel-") as sockets:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
        client = NotebookClient(nb, km=km, timeout=timeout, store_widget_state=False,
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute()
        finally:
            if km.has_kernel:  # a kernel manager we made is ours to stop (else the kernel warns at exit)
                km.shutdown_kernel(now=True)
            nb.metadata.pop("widgets", None)
            for cell in nb.cells:
                cell.metadata.pop("execution", None)
            target = out or path
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
    return time.perf_counter() - start


TIMES_FILE = "run_times.json"
TIMES_ABOUT = ("Quick-mode (GAITGS_QUICK=1) run time of each notebook, measured by "
               "scripts/execute_notebooks.py when it last executed the notebook in place: a clean "
               "restart-and-run-all with the data sets and shipped checkpoints already present (the "
               "first run also generates synthgait-mini and, for 07 and 08, the cue sets). wall_s: "
               "seconds on the clock; cpu_s: CPU seconds of the kernel, its child processes and the "
               "executing process; load_1min: the machine's load average before the run (other jobs "
               "on the machine make wall_s longer).")


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its waited-for children (the kernels)."""
    try:
        import resource  # POSIX only
    except ImportError:  # elsewhere: this process only
        return time.process_time()
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def record_time(path: Path, wall: float, cpu: float, load: float) -> None:
    """Replace `path`'s entry in the run_times.json beside it (kept sorted, written atomically)."""
    times_path = path.parent / TIMES_FILE
    data = json.loads(times_path.read_text()) if times_path.exists() else {}
    entries = data.get("notebooks", {})
    entries[path.stem] = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "load_1min": round(load, 2),
                          "machine": _machine(), "date": datetime.date.today().isoformat()}
    data = {"about": TIMES_ABOUT, "notebooks": dict(sorted(entries.items()))}
    from gaitgs_lib.fileio import atomic_open  # here: it imports torch, which only this step needs

    with atomic_open(times_path, "w") as f:
        f.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def _why(error: Exception) -> str:
    if isinstance(error, CellExecutionError):
        return f"{error.ename}: {error.evalue}".splitlines()[0][:120]
    return f"{type(error).__name__}: {error}".splitlines()[0][:120]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="Execute notebooks top to bottom in a fresh kernel each.")
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--out", type=Path, help="write executed copies into this folder (default: in place)")
    args = p.parse_args(argv)
    os.environ.setdefault("GAITGS_QUICK", "1")
    rows = []
    for i, path in enumerate(args.notebooks, 1):
        print(f"[gaitgs] executing {path} ({i}/{len(args.notebooks)}, GAITGS_QUICK={os.environ['GAITGS_QUICK']})",
              flush=True)
        start, cpu = time.perf_counter(), _cpu_seconds()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        try:
            execute(path, args.out / path.name if args.out else None)
            wall = time.perf_counter() - start
            rows.append((path.stem, wall, "ok"))
            if args.out is None and os.environ["GAITGS_QUICK"] == "1":
                record_time(path, wall, _cpu_seconds() - cpu, load)
        except Exception as e:  # any failure of one notebook is reported, the others still run
            rows.append((path.stem, time.perf_counter() - start, f"failed ({_why(e)})"))
    width = max(len(name) for name, _, _ in rows)
    print("\n[gaitgs] summary")
    for name, seconds, status in rows:
        print(f"  {name:<{width}}  {seconds:6.0f} s  {status}")
    failed = sum(not status.startswith("ok") for _, _, status in rows)
    print(f"[gaitgs] {len(rows) - failed} ok, {failed} failed" + (f"; executed copies in {args.out}/" if args.out else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
