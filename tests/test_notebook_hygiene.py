"""Committed notebooks are clean restart-and-run-all results: STYLE.md habits 1, 6 and 8."""
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(
    (REPO / "assignments").glob("*/*.ipynb")
)
ABSOLUTE_PATH = re.compile(r"(/work/|/root/|/home/|/tmp/|/Users/|[A-Z]:\\\\)")
WARNING = re.compile(r"(Warning:|Traceback \(most recent call last\))")


def _load(path):
    return json.loads(path.read_text())


def _texts(cell):
    """Source and every textual output of a cell."""
    yield "".join(cell.get("source", []))
    for out in cell.get("outputs", []):
        if "text" in out:
            yield "".join(out["text"])
        for mime, value in out.get("data", {}).items():
            if mime.startswith("text/"):
                yield "".join(value) if isinstance(value, list) else value


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_a_clean_restart_and_run_all(path):
    nb = _load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c["execution_count"] for c in code if c.get("source")]
    where = path.relative_to(REPO)
    if path.parent.name == "notebooks":
        assert counts == list(range(1, len(counts) + 1)), f"{where}: execution counts {counts}"
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{where} cell {i} has an error output"
            if out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                assert not WARNING.search(text), f"{where} cell {i} prints a warning: {text[:200]}"
        for text in _texts(cell):
            assert not ABSOLUTE_PATH.search(text), f"{where} cell {i} shows an absolute path"
    assert "widgets" not in nb.get("metadata", {}), f"{where} carries saved widget state"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parent.name == "notebooks"], ids=lambda p: p.name)
def test_first_cell_says_what_where_and_how_long(path):
    first = _load(path)["cells"][0]
    text = "".join(first["source"]).lower()
    assert first["cell_type"] == "markdown"
    assert "cpu" in text and "gpu" in text, f"{path.name}: first cell must give CPU and GPU run times"
