"""Committed notebooks are clean restart-and-run-all results (execution counts 1, 2, 3, ..., no
errors, warnings, absolute paths or saved widget state), each opens with a first cell that says
what you learn, what it builds on and how long it runs, and ends with a recap before its questions."""
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
    """What a first cell lacks: what you learn, what it builds on, CPU and GPU run times."""
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


def _sections(cells) -> list[tuple[int, str, str]]:
    """(cell index, '## ' heading, text under it) of every level-2 markdown section, in reading order."""
    found = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        parts = re.split(r"^(## .*)$", "".join(cell["source"]), flags=re.MULTILINE)
        found += [(i, parts[k].strip(), parts[k + 1]) for k in range(1, len(parts), 2)]
    return found


def recap_problems(cells) -> list[str]:
    """What a notebook lacks of fastbook's habit: a '## What you learned' list right before '## Questions to think about'."""
    sections = _sections(cells)
    questions = [k for k, (_, head, _) in enumerate(sections) if head.startswith("## Questions to think about")]
    if not questions:
        return ["no '## Questions to think about' section"]
    k = questions[-1]
    if k == 0 or not sections[k - 1][1].startswith("## What you learned"):
        return ["no '## What you learned' section right before the questions"]
    (recap_cell, _, recap), (questions_cell, _, _) = sections[k - 1], sections[k]
    problems = []
    if not re.search(r"^\s*[-*] \S", recap, re.MULTILINE):
        problems.append("the '## What you learned' section has no list")
    if any(c["cell_type"] == "code" for c in cells[recap_cell:questions_cell]):
        problems.append("code between '## What you learned' and the questions")
    return problems


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parent.name == "notebooks"], ids=lambda p: p.name)
def test_questions_are_preceded_by_a_summary(path):
    """Each notebook ends with 'What you learned' just before its 'Questions to think about' (fastbook's recap)."""
    problems = recap_problems(_load(path)["cells"])
    assert not problems, f"{path.name}: " + "; ".join(problems)


def test_the_recap_check_reads_headings_not_cells():
    md = lambda text: {"cell_type": "markdown", "source": text}
    code = {"cell_type": "code", "source": "x = 1"}
    recap, questions = "## What you learned\n\n- one thing\n", "## Questions to think about\n\n1. Why?"
    assert recap_problems([md(recap), md(questions)]) == []
    assert recap_problems([md("Some text.\n\n" + recap + "\n" + questions)]) == []   # one cell is fine
    assert recap_problems([md(questions)]) == ["no '## What you learned' section right before the questions"]
    assert recap_problems([md(recap), md("## Summary\n"), md(questions)]) == [
        "no '## What you learned' section right before the questions"]
    assert recap_problems([md(recap), code, md(questions)]) == ["code between '## What you learned' and the questions"]
    assert recap_problems([md("## What you learned\n\nprose only\n"), md(questions)]) == [
        "the '## What you learned' section has no list"]
    assert recap_problems([md(recap)]) == ["no '## Questions to think about' section"]


NBVAL_COMMENT = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$", re.MULTILINE)
NBVAL_TAGS = {"nbval-check-output", "nbval-ignore-output", "nbval-skip", "nbval-raises-exception"}
_TAGGED = [p for p in NOTEBOOKS if p.parent.name == "notebooks"]


@pytest.mark.parametrize("path", _TAGGED, ids=lambda p: p.name)
def test_nbval_markers_are_cell_tags_not_comments_in_students_code(path):
    nb = _load(path)
    tagged = 0
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell.get("source", []))
        assert not NBVAL_COMMENT.search(source), (
            f"{path.name} cell {i}: an nbval comment in the code; use the cell tag instead "
            f"(metadata.tags, e.g. 'nbval-check-output')")
        tags = set(cell.get("metadata", {}).get("tags", []))
        unknown = {t for t in tags if t.startswith("nbval") and t not in NBVAL_TAGS}
        assert not unknown, f"{path.name} cell {i}: unknown nbval tag(s) {sorted(unknown)}; nbval knows {sorted(NBVAL_TAGS)}"
        tagged += bool(tags & NBVAL_TAGS)
    assert tagged, f"{path.name}: no cell is tagged 'nbval-check-output', so nbval --nbval-lax compares nothing"
