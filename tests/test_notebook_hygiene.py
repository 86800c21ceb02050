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


LEARN = re.compile(r"\*\*(what )?you will learn\*\*", re.IGNORECASE)
BUILDS_ON = re.compile(r"\*\*builds on\*\*", re.IGNORECASE)
RUN_TIME = re.compile(r"\*\*run time\*\*", re.IGNORECASE)
DURATION = re.compile(r"\d+(\.\d+)?\s*(s|min|minutes?|seconds?|hours?)\b")
TIME_WORD = re.compile(r"\b(seconds?|minutes?|hours?)\b|\d+\s*s\b")


def first_cell_problems(text: str) -> list[str]:
    """What a first cell lacks of STYLE habit 1: what you learn, what it builds on, CPU and GPU run times."""
    missing = []
    learn = LEARN.search(text)
    if not learn or not re.search(r"^\s*[-*] \S", text[learn.end():], re.MULTILINE):
        missing.append("a '**You will learn**' list")
    if not BUILDS_ON.search(text):
        missing.append("a '**Builds on**' line")
    run = RUN_TIME.search(text)
    if not run:
        return missing + ["a '**Run time**' paragraph"]
    paragraph = re.split(r"\n\s*\n", text[run.start():], maxsplit=1)[0]
    cpu_part, gpu, gpu_part = paragraph.partition("GPU")
    if "quick mode" not in paragraph.lower() or "CPU" not in cpu_part or not DURATION.search(cpu_part):
        missing.append("a measured run time in quick mode on a CPU (a number with a unit)")
    if not gpu or not TIME_WORD.search(gpu_part):
        missing.append("a run time (or an estimate) on a GPU")
    return missing


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parent.name == "notebooks"], ids=lambda p: p.name)
def test_first_cell_says_what_where_and_how_long(path):
    first = _load(path)["cells"][0]
    assert first["cell_type"] == "markdown", f"{path.name}: the first cell must be markdown"
    missing = first_cell_problems("".join(first["source"]))
    assert not missing, f"{path.name}: the first cell lacks " + "; ".join(missing)


def test_the_first_cell_check_is_not_fooled_by_the_words_alone():
    assert first_cell_problems("Runs on a CPU or a GPU.") == [
        "a '**You will learn**' list", "a '**Builds on**' line", "a '**Run time**' paragraph"]
    good = ("**You will learn**\n- one thing\n\n**Builds on** 00.\n\n"
            "**Run time**: quick mode on a 2-core CPU about 30 s. Full mode on a GPU: a few seconds.")
    assert first_cell_problems(good) == []
    assert first_cell_problems(good.replace("about 30 s", "quickly")) == [
        "a measured run time in quick mode on a CPU (a number with a unit)"]
    assert first_cell_problems(good.replace(" Full mode on a GPU: a few seconds.", "")) == [
        "a run time (or an estimate) on a GPU"]


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parent.name == "notebooks"], ids=lambda p: p.name)
def test_questions_are_preceded_by_a_summary(path):
    """Each notebook ends with 'What you learned' just before its 'Questions to think about' (fastbook's recap)."""
    cells = _load(path)["cells"]
    heads = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
             and "".join(c["source"]).lstrip().startswith("## Questions to think about")]
    if not heads or path.name[:2] not in {"00", "01", "02", "03", "04"}:
        pytest.skip("the recap is required of notebooks 00-04 (issue 12); 05-08 follow")
    before = "".join(cells[heads[-1] - 1]["source"])
    assert before.lstrip().startswith("## What you learned"), f"{path.name}: no '## What you learned' before the questions"
