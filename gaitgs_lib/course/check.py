"""Check a built assignment: its solutions get full marks, a partial answer gets exactly the
marks of the questions it answers, and the unfilled student version gets zero."""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from gaitgs_lib.course.grading import NotebookGrade, grade
from gaitgs_lib.course.masters import BuiltAssignment

_CHECK_CALL = re.compile(r"grader\.check\(\s*[\"']([^\"']+)[\"']\s*\)")
_ANSWER_TAGS = {"otter_answer_cell", "otter_assign_solution_cell"}


def answer_cells(notebook) -> dict[str, list[int]]:
    """Question name -> indices of its answer cells (the answer cells before its `grader.check`)."""
    pending, out = [], {}
    for i, cell in enumerate(notebook.cells):
        if set(cell.metadata.get("tags", [])) & _ANSWER_TAGS:
            pending.append(i)
        match = _CHECK_CALL.search(cell.source) if cell.cell_type == "code" else None
        if match:
            out[match.group(1)] = pending
            pending = []
    return out


def partial_submission(built: BuiltAssignment, into: str | os.PathLike, answered: int = 1) -> tuple[Path, list[str]]:
    """A student notebook with the first `answered` questions answered from the solutions.

    Returns (the notebook written under `into`, the names of the answered questions). The
    student and solution notebooks come from one master, so their cells line up one to one.
    """
    import nbformat  # the notebooks extra

    student = nbformat.read(str(built.student), as_version=4)
    solution = nbformat.read(str(built.solution), as_version=4)
    if len(student.cells) != len(solution.cells):
        raise ValueError(f"{built.name}: student and solution notebooks differ in cell count; rebuild")
    questions = list(answer_cells(student).items())[:answered]
    for _, cells in questions:
        for i in cells:
            student.cells[i].source = solution.cells[i].source
    path = Path(into) / built.student.name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, str(path))
    return path, [q for q, _ in questions]


@dataclass
class CheckResult:
    """Solutions, a partial answer and the unfilled student version, graded by the same tests."""

    assignment: BuiltAssignment
    solution: NotebookGrade
    student: NotebookGrade
    partial: NotebookGrade | None = None
    partial_answered: tuple[str, ...] = ()

    def _partial_problems(self) -> list[str]:
        name, out = self.assignment.name, []
        if self.partial is None:
            return out
        for q in self.partial.questions.values():
            expected = q.possible if q.name in self.partial_answered else 0.0
            if abs(q.score - expected) > 1e-9:
                out.append(f"{name} {q.name}: a submission answering only {list(self.partial_answered)} "
                           f"gets {q.score:g}/{q.possible:g} here (expected {expected:g})")
        if not 0 < self.partial.score < self.partial.possible:
            out.append(f"{name}: the partial submission gets {self.partial.score:g}/{self.partial.possible:g}, "
                       "not a partial grade")
        return out

    @property
    def problems(self) -> list[str]:
        name, out = self.assignment.name, []
        if not self.solution.questions:
            out.append(f"{name}: no graded questions")
        for q in self.solution.questions.values():
            if not q.full_marks:
                why = q.failures[0].splitlines()[-1] if q.failures else ""
                out.append(f"{name} {q.name}: the solution gets {q.score:g}/{q.possible:g} ({why})")
        for err in self.solution.cell_errors:
            out.append(f"{name}: the solution notebook raised in {err}")
        for q in self.student.questions.values():
            if q.score > 0:
                out.append(f"{name} {q.name}: the unfilled student version earns {q.score:g}/{q.possible:g}")
        missing = set(self.solution.questions) - set(self.student.questions)
        if missing:
            out.append(f"{name}: questions {sorted(missing)} were not graded in the student version")
        return out + self._partial_problems()

    @property
    def ok(self) -> bool:
        return not self.problems


def check_assignment(built: BuiltAssignment, engine: str = "otter", partial: bool = True) -> CheckResult:
    """Grade the solutions, a partial answer (first question only) and the unfilled student version."""
    solution = grade(built.solution, built.autograder_zip, engine)
    student = grade(built.student, built.autograder_zip, engine)
    if not partial:
        return CheckResult(built, solution, student)
    with tempfile.TemporaryDirectory(prefix=f"{built.name}-partial-") as tmp:
        notebook, answered = partial_submission(built, tmp)
        partial_grade = grade(notebook, built.autograder_zip, engine)
    return CheckResult(built, solution, student, partial_grade, tuple(answered))


def format_check_report(results: Sequence[CheckResult]) -> str:
    """One row per question: points of the solutions, a partial answer and the unfilled student version."""
    lines = [f"{'assignment':<14} {'question':<9} {'solution':>9} {'partial':>9} {'student':>9}"]

    def cell(g: NotebookGrade | None, q: str) -> str:
        r = g.questions.get(q) if g is not None else None
        return f"{r.score:g}/{r.possible:g}" if r else "-"

    for r in results:
        for q in r.solution.questions:
            lines.append(f"{r.assignment.name:<14} {q:<9} {cell(r.solution, q):>9} "
                         f"{cell(r.partial, q):>9} {cell(r.student, q):>9}")
    problems = [p for r in results for p in r.problems]
    lines.append("OK: solutions get full marks, a partial answer partial marks, unfilled questions zero"
                 if not problems else "PROBLEMS:\n  " + "\n  ".join(problems))
    return "\n".join(lines)
