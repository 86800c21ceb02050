"""The run times the course states agree with the ones measured (notebooks/run_times.json).

`scripts/execute_notebooks.py` records each notebook's quick-mode wall time when it re-executes
the notebook in place. The same times are typed into prose in three places: the first cell of
every notebook ("**Run time**: about 40 s in quick mode ..."), the notebook table of
docs/instructors.md, and the range over all notebooks in the README, docs/instructors.md and
notebook 00 ("from about 15 s to about 4.5 min"). A stated time is a rounded figure: it passes
when it is within TOLERANCE of the measured one (a fifth of it, or 5 s, whichever is larger),
which allows rounding to 5 s under a minute and to half a minute above, and no more.
"""
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TIMES = json.loads((REPO / "notebooks" / "run_times.json").read_text())["notebooks"]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STATED = re.compile(r"about (\d+(?:\.\d+)?) (s|min)\b")
RANGE = re.compile(r"from about (\d+(?:\.\d+)? (?:s|min)) to about (\d+(?:\.\d+)? (?:s|min))")


def seconds(value: str, unit: str) -> float:
    return float(value) * (60 if unit == "min" else 1)


def close(stated: float, measured: float) -> bool:
    """TOLERANCE: within a fifth of the measured time, or 5 s, whichever is larger."""
    return abs(stated - measured) <= max(0.2 * measured, 5.0)


def first_cell_time(path: Path) -> tuple[float, str]:
    """The time the first cell's '**Run time**: about N s|min in quick mode' states, and that text."""
    text = "".join(json.loads(path.read_text())["cells"][0]["source"])
    match = re.search(r"\*\*Run time\*\*: (about \S+ (?:s|min)) in quick mode", text)
    assert match, f"{path.name}: the first cell must start its run time with '**Run time**: about N s (or min) in quick mode'"
    return seconds(*STATED.match(match.group(1)).groups()), match.group(1)


def instructors_times() -> dict[str, str]:
    """notebook name -> the 'run time' cell of its row in docs/instructors.md's notebook table."""
    lines = (REPO / "docs" / "instructors.md").read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| notebook |") and "run time" in line)
    column = [c.strip() for c in lines[header].strip("|").split("|")].index("run time")
    rows = {}
    for line in lines[header + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[column]
    return rows


def test_every_notebook_has_a_measured_time():
    assert sorted(TIMES) == [p.stem for p in NOTEBOOKS]
    for name, entry in TIMES.items():
        assert entry["wall_s"] > 0 and entry["cpu_s"] > 0 and entry["machine"] and entry["date"], name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cell_states_the_measured_time(path):
    stated, text = first_cell_time(path)
    measured = TIMES[path.stem]["wall_s"]
    assert close(stated, measured), f"{path.name} states '{text}', notebooks/run_times.json has {measured:.0f} s"


def test_instructors_table_states_the_measured_times():
    rows = instructors_times()
    assert sorted(rows) == sorted(TIMES), "one row per notebook"
    for name, cell in rows.items():
        match = STATED.match(cell)
        assert match, f"docs/instructors.md, {name}: the run time must start with 'about N s' or 'about N min', not {cell!r}"
        measured = TIMES[name]["wall_s"]
        assert close(seconds(*match.groups()), measured), f"{name}: '{cell}', measured {measured:.0f} s"


@pytest.mark.parametrize("where", ["README.md", "docs/instructors.md", "notebooks/00_welcome.ipynb"])
def test_the_stated_range_spans_the_measured_times(where):
    path = REPO / where
    text = path.read_text()
    if path.suffix == ".ipynb":  # its markdown, not the JSON around it
        text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown")
    ranges = RANGE.findall(re.sub(r"\s+", " ", text))
    assert ranges, f"{where} states no 'from about ... to about ...' range of the notebooks' run times"
    walls = [entry["wall_s"] for entry in TIMES.values()]
    for low, high in ranges:
        assert close(seconds(*low.split()), min(walls)), f"{where}: 'from about {low}', fastest measured {min(walls):.0f} s"
        assert close(seconds(*high.split()), max(walls)), f"{where}: 'to about {high}', slowest measured {max(walls):.0f} s"


def test_a_stated_load_is_the_measured_one():
    """A first cell that says how busy the machine was quotes the load recorded with the time."""
    for path in NOTEBOOKS:
        text = "".join(json.loads(path.read_text())["cells"][0]["source"])
        for load in re.findall(r"load average about (\d+(?:\.\d+)?)", text):
            assert abs(float(load) - TIMES[path.stem]["load_1min"]) <= 0.5, path.name


def test_the_tolerance_rejects_a_stale_time():
    assert close(40, 38.9) and close(270, 283.8) and close(120, 115.8) and close(15, 16.2)
    assert not close(60, 38.9) and not close(120, 283.8) and not close(35, 15.2)
