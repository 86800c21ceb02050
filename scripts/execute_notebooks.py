"""Execute notebooks in place as a clean restart-and-run-all, the way they are committed.

    python scripts/execute_notebooks.py notebooks/03_span_msfe.ipynb [...]

Runs each notebook top to bottom in a fresh kernel with its folder as working directory
(quick mode unless GAITGS_QUICK is set otherwise), numbers the cells 1, 2, 3, …, and drops
saved widget state so the file carries no machine-specific output. Prints the run time.
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int = 1800) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    elapsed = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    os.environ.setdefault("GAITGS_QUICK", "1")
    for name in argv:
        seconds = execute(Path(name))
        print(f"{name}: {seconds:.0f} s (GAITGS_QUICK={os.environ['GAITGS_QUICK']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
