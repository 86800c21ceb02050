"""Course assignments (STYLE habit 9): build student notebooks and autograders from the
otter-grader masters in `assignments/NN_topic/NN_topic.ipynb`, and check them.

    python -m gaitgs_lib.assignments build [--out assignments/dist] [--only 01_uta ...]
    python -m gaitgs_lib.assignments check [--out assignments/dist] [--engine otter|inprocess]

`build` runs `otter assign` on every master and writes, per assignment,
`<out>/<name>/student/<name>.ipynb` (what students get), `<out>/<name>/autograder/<name>.ipynb`
(the solutions) and `<out>/<name>/autograder/<name>-autograder_<time>.zip` (what graders use).
`check` grades the solutions and the unfilled student notebooks against the generated tests
(hidden ones included): every question must get full marks from the solutions and fail in
the student version. Generated files are never edited by hand.

Grading engines: `otter` is exactly what an instructor runs (`otter run`, a fresh Jupyter
kernel per notebook, no container); `inprocess` executes the notebook's code cells in this
Python process and runs otter's test files on the result, which is much faster (tests, CI).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

REPO = Path(__file__).resolve().parents[1]
MASTERS_ROOT = REPO / "assignments"
DEFAULT_OUT = MASTERS_ROOT / "dist"
ENGINES = ("otter", "inprocess")

_MASTER_DIR = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
# Cells otter adds to the generated notebooks: they talk to the grader, not to the task.
_OTTER_CELL = re.compile(r"^\s*(# Initialize Otter|grader\.(check|check_all|export)\()", re.MULTILINE)


# --------------------------------------------------------------------------------------
# Finding and building masters
# --------------------------------------------------------------------------------------
def find_masters(root: str | os.PathLike | None = None, only: Iterable[str] | None = None) -> list[Path]:
    """The master notebooks under `root` (default `assignments/`): one `NN_topic/*.ipynb` each.

    `only` restricts to the named assignments (folder names such as `01_uta`). A folder with
    no notebook or with several is an error that names the folder.
    """
    root = Path(root) if root is not None else MASTERS_ROOT
    if not root.is_dir():
        raise FileNotFoundError(f"no assignments folder at {root} (expected NN_topic/NN_topic.ipynb masters)")
    masters = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _MASTER_DIR.match(p.name)):
        notebooks = sorted(folder.glob("*.ipynb"))
        if len(notebooks) != 1:
            raise ValueError(f"{folder}: expected exactly one master notebook, found "
                             f"{[n.name for n in notebooks] or 'none'}")
        masters.append(notebooks[0])
    if only:
        wanted = list(only)
        names = {m.parent.name: m for m in masters}
        missing = [w for w in wanted if w not in names]
        if missing:
            raise ValueError(f"unknown assignment(s) {missing}; available: {sorted(names)}")
        masters = [names[w] for w in wanted]
    if not masters:
        raise FileNotFoundError(f"no masters found under {root} (expected NN_topic/NN_topic.ipynb)")
    return masters


@dataclass(frozen=True)
class BuiltAssignment:
    """Where `otter assign` put one assignment's generated files."""

    name: str
    master: Path
    student: Path  # the notebook students receive (solutions removed, public tests only)
    solution: Path  # the autograder notebook: solutions in place
    autograder_zip: Path  # tests (hidden included) + otter_config.json, for `otter run` / Gradescope

    @classmethod
    def from_folder(cls, master: Path, folder: Path) -> "BuiltAssignment":
        """Locate the generated files of `master` in `folder` (an `otter assign` result)."""
        zips = sorted((folder / "autograder").glob(f"{master.stem}-autograder_*.zip"))
        student = folder / "student" / master.name
        solution = folder / "autograder" / master.name
        for path in (student, solution):
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: build {master.parent.name} first")
        if not zips:
            raise FileNotFoundError(f"no autograder zip in {folder / 'autograder'}: build {master.parent.name} first")
        return cls(master.parent.name, master, student, solution, zips[-1])


def build_assignment(master: str | os.PathLike, out: str | os.PathLike = DEFAULT_OUT,
                     run_tests: bool = False) -> BuiltAssignment:
    """Run `otter assign` on one master; the result replaces `<out>/<name>/` atomically.

    `run_tests=True` also lets otter execute the solutions against the tests in a kernel
    (slow; `check` does the same job and more).
    """
    from otter.assign import main as otter_assign

    master = Path(master).resolve()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    name = master.parent.name
    final = out / name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.building-", dir=out))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            otter_assign(str(master), str(tmp), no_pdfs=True, no_run_tests=not run_tests, debug=run_tests)
        BuiltAssignment.from_folder(master, tmp)  # fails loudly if otter produced nothing
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=out))
            os.replace(final, old / name)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return BuiltAssignment.from_folder(master, final)


def build(out: str | os.PathLike = DEFAULT_OUT, masters: Sequence[Path] | None = None,
          run_tests: bool = False) -> list[BuiltAssignment]:
    """Build every master (default: all under `assignments/`) into `out`."""
    return [build_assignment(m, out, run_tests) for m in (masters or find_masters())]


# --------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------
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
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip()
            and not _OTTER_CELL.search(c.source)]


@contextlib.contextmanager
def _isolated(cwd: Path):
    """Run in `cwd` with stdout captured and one torch thread (the tensors are tiny; extra
    threads only add contention), restoring the random states and thread count afterwards."""
    import numpy as np
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
    from otter.test_files import ExceptionTestFile

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


def grade_with_otter(notebook: str | os.PathLike, autograder_zip: str | os.PathLike) -> NotebookGrade:
    """Grade `notebook` exactly as `otter run -a AUTOGRADER_ZIP NOTEBOOK` does (a fresh kernel)."""
    from otter.run import main as otter_run

    with contextlib.redirect_stdout(io.StringIO()):
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


# --------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------
@dataclass
class CheckResult:
    """Solutions vs generated tests, and the unfilled student version vs the same tests."""

    assignment: BuiltAssignment
    solution: NotebookGrade
    student: NotebookGrade

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
            if q.full_marks:
                out.append(f"{name} {q.name}: the unfilled student version passes every test")
        missing = set(self.solution.questions) - set(self.student.questions)
        if missing:
            out.append(f"{name}: questions {sorted(missing)} were not graded in the student version")
        return out

    @property
    def ok(self) -> bool:
        return not self.problems


def check_assignment(built: BuiltAssignment, engine: str = "otter") -> CheckResult:
    """Grade the solutions and the student version of one built assignment."""
    return CheckResult(built, grade(built.solution, built.autograder_zip, engine),
                       grade(built.student, built.autograder_zip, engine))


def format_check_report(results: Sequence[CheckResult]) -> str:
    """One row per question: points of the solutions and of the unfilled student version."""
    lines = [f"{'assignment':<12} {'question':<9} {'solution':>9} {'student':>9}"]
    for r in results:
        for q in r.solution.questions.values():
            s = r.student.questions.get(q.name)
            student = f"{s.score:g}/{s.possible:g}" if s else "-"
            lines.append(f"{r.assignment.name:<12} {q.name:<9} {f'{q.score:g}/{q.possible:g}':>9} {student:>9}")
    problems = [p for r in results for p in r.problems]
    lines.append("OK: every solution passes and every unfilled question fails" if not problems
                 else "PROBLEMS:\n  " + "\n  ".join(problems))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gaitgs_lib.assignments",
                                description="Build and check the otter-grader assignments.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in (("build", "run otter assign on every master"),
                        ("check", "build, then grade solutions (must pass) and student versions (must fail)")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: assignments/dist)")
        s.add_argument("--masters", default=str(MASTERS_ROOT), help="folder holding NN_topic/ masters")
        s.add_argument("--only", nargs="+", metavar="NAME", help="only these assignments, e.g. 01_uta")
        if name == "build":
            s.add_argument("--run-tests", action="store_true",
                           help="let otter run the solutions against the tests too (slow)")
        else:
            s.add_argument("--engine", choices=ENGINES, default="otter",
                           help="otter: a fresh kernel per notebook, as `otter run` (default); "
                                "inprocess: fast, in this process")
            s.add_argument("--no-build", action="store_true", help="check what is already in --out")
    return p


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        masters = find_masters(args.masters, args.only)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if args.command == "build" or not args.no_build:
        built = []
        for master in masters:
            b = build_assignment(master, out, run_tests=getattr(args, "run_tests", False))
            print(f"built {b.name}: student {_rel(b.student)}, autograder {_rel(b.autograder_zip)}")
            built.append(b)
    else:
        built = [BuiltAssignment.from_folder(m, out / m.parent.name) for m in masters]
    if args.command == "build":
        return 0
    results = [check_assignment(b, args.engine) for b in built]
    print(format_check_report(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
