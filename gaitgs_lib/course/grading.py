"""Grade one notebook with an autograder zip's tests (hidden ones included).

Engines: `otter` is exactly what an instructor runs (`otter run`, a fresh Jupyter kernel per
notebook, no container); `inprocess` executes the notebook's code cells in this Python
process and runs otter's test files on the result, which is much faster (tests, CI).
"""
from __future__ import annotations

import contextlib
import io
import os
import random
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ENGINES = ("otter", "inprocess")

# Cells otter adds to the generated notebooks: they talk to the grader, not to the task.
_OTTER_CELL = re.compile(r"^\s*(# Initialize Otter|grader\.(check|check_all|export)\()", re.MULTILINE)
# Lines otter's kernels and runner print that say nothing about the grade: Jupyter's warning
# that a local kernel talks over TCP, and otter's note that a submission came without a log.
_OTTER_NOISE = re.compile(r"Kernel is running over TCP without encryption|No log found with which to verify")


@dataclass(frozen=True)
class QuestionResult:
    """The grade of one question: points earned and possible, and why test cases failed."""

    name: str
    score: float
    possible: float
    failures: tuple[str, ...] = ()

    @property
    def full_marks(self) -> bool:
        return self.score >= self.possible - 1e-9

    @property
    def failed(self) -> bool:
        """At least one test case failed (the question did not get full marks)."""
        return not self.full_marks


@dataclass
class NotebookGrade:
    """Grades of every question of one notebook, plus cells that raised while executing."""

    notebook: Path
    questions: dict[str, QuestionResult]
    cell_errors: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions.values())

    @property
    def possible(self) -> float:
        return sum(q.possible for q in self.questions.values())


def code_cells(notebook: str | os.PathLike) -> list[str]:
    """The sources of a notebook's code cells, without the cells otter adds (init, check, export)."""
    import nbformat  # the notebooks extra

    nb = nbformat.read(str(notebook), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip()
            and not _OTTER_CELL.search(c.source)]


@contextlib.contextmanager
def _isolated(cwd: Path):
    """Run in `cwd` with stdout captured and one torch thread (the tensors are tiny; extra
    threads only add contention), restoring the random states and thread count afterwards."""
    import numpy as np  # numpy and torch: imported on use, so the command's --help starts fast
    import torch

    old_cwd, py_state, np_state = os.getcwd(), random.getstate(), np.random.get_state()
    threads = torch.get_num_threads()
    try:
        os.chdir(cwd)
        torch.set_num_threads(1)
        with torch.random.fork_rng(devices=[]), contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        torch.set_num_threads(threads)
        os.chdir(old_cwd)
        random.setstate(py_state)
        np.random.set_state(np_state)


def execute_in_process(notebook: str | os.PathLike) -> tuple[dict, list[str]]:
    """Execute a notebook's code cells in one fresh namespace, in the notebook's folder.

    Like a kernel run with errors allowed: a cell that raises is recorded and the next cell
    still runs. Returns (namespace, ["cell i: ErrorType: message", ...]).
    """
    notebook = Path(notebook).resolve()
    env: dict = {"__name__": "__main__"}
    errors = []
    with _isolated(notebook.parent):
        for i, source in enumerate(code_cells(notebook)):
            try:
                exec(compile(source, f"<{notebook.name} cell {i}>", "exec"), env)
            except Exception as e:  # the student's code may raise anything
                errors.append(f"cell {i}: {type(e).__name__}: {e}")
    return env, errors


def _test_files(autograder_zip: Path, into: Path) -> list[Path]:
    with zipfile.ZipFile(autograder_zip) as z:
        names = sorted(n for n in z.namelist() if re.fullmatch(r"tests/[^/]+\.py", n))
        if not names:
            raise ValueError(f"{autograder_zip.name}: no tests/*.py inside; is it an otter autograder zip?")
        z.extractall(into, members=names)
    return [into / n for n in names]


def grade_in_process(notebook: str | os.PathLike, autograder_zip: str | os.PathLike) -> NotebookGrade:
    """Grade `notebook` with the tests (hidden included) of `autograder_zip`, in this process."""
    from otter.test_files import ExceptionTestFile  # otter-grader: the dev extra

    env, errors = execute_in_process(notebook)
    questions = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in _test_files(Path(autograder_zip), Path(tmp)):
            if "OK_FORMAT = False" not in path.read_text():
                raise ValueError(f"{path.name}: expected otter's exception-based tests "
                                 "(set `tests: ok_format: false` in the ASSIGNMENT CONFIG)")
            test_file = ExceptionTestFile.from_file(str(path))
            with _isolated(Path(notebook).resolve().parent):
                test_file.run(env)
            failures = tuple(r.message for r in test_file.test_case_results if not r.passed)
            questions[test_file.name] = QuestionResult(
                test_file.name, float(test_file.score), float(test_file.possible), failures)
    return NotebookGrade(Path(notebook), questions, errors)


@contextlib.contextmanager
def _without_otter_noise():
    """Hold back what is written to this process's stderr, file descriptor 2 (which the kernels
    otter starts inherit), and pass on every line except `_OTTER_NOISE` when done."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines(keepends=True)
                    if not _OTTER_NOISE.search(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def grade_with_otter(notebook: str | os.PathLike, autograder_zip: str | os.PathLike) -> NotebookGrade:
    """Grade `notebook` exactly as `otter run -a AUTOGRADER_ZIP NOTEBOOK` does (a fresh kernel).

    Otter's own output is captured; of what its kernels write to stderr, only Jupyter's TCP
    warning and otter's "No log found" note are dropped (`_OTTER_NOISE`), everything else passes.
    """
    from otter.run import main as otter_run  # otter-grader: the dev extra

    with _without_otter_noise(), contextlib.redirect_stdout(io.StringIO()):
        results = otter_run(str(Path(notebook).resolve()), autograder=str(Path(autograder_zip).resolve()),
                            output_dir=None, no_logo=True)
    questions = {}
    for name, test_file in results.results.items():
        failures = tuple(r.message for r in test_file.test_case_results if not r.passed)
        questions[name] = QuestionResult(name, float(test_file.score), float(test_file.possible), failures)
    errors = [] if results.catastrophic_error is None else [repr(results.catastrophic_error)]
    return NotebookGrade(Path(notebook), questions, errors)


def grade(notebook, autograder_zip, engine: str = "otter") -> NotebookGrade:
    """Grade a notebook with one of `ENGINES`."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    return (grade_with_otter if engine == "otter" else grade_in_process)(notebook, autograder_zip)
