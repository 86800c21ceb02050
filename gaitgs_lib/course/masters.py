"""Find the assignment masters in an assignments folder and build them with `otter assign`."""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from gaitgs_lib.course.autograder import AutograderEnvironment, package_autograder

DEFAULT_ROOT = Path("assignments")  # relative to the current folder, like the command line

_MASTER_DIR = re.compile(r"^\d\d_[A-Za-z0-9_]+$")


def find_masters(root: str | os.PathLike = DEFAULT_ROOT, only: Iterable[str] | None = None) -> list[Path]:
    """The master notebooks under `root`: one `NN_topic/NN_topic.ipynb` per assignment folder.

    `only` restricts to the named assignments (folder names such as `01_uta`). A folder with
    no notebook or with several is an error that names the folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no assignments folder at {root} (expected NN_topic/NN_topic.ipynb masters; "
                                "run from the course's folder or pass --root)")
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
    autograder_zip: Path  # tests (hidden included), otter_config.json, environment, our wheel

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


def build_assignment(master: str | os.PathLike, out: str | os.PathLike,
                     environment: AutograderEnvironment | None = None,
                     run_tests: bool = False) -> BuiltAssignment:
    """Run `otter assign` on one master; the result replaces `<out>/<name>/` atomically.

    `environment` says what the autograder zip installs on the grading machine (see
    `gaitgs_lib.course.autograder`); without one the zip keeps otter's bare environment,
    which grades only where `gaitgs_lib` is already installed (`otter run` in the course
    environment). `run_tests=True` also lets otter execute the solutions against the tests
    in a kernel (slow; `check` does the same job and more).
    """
    from otter.assign import main as otter_assign  # optional dependency (the dev extra)

    master = Path(master).resolve()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    name = master.parent.name
    final = out / name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.building-", dir=out))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            otter_assign(str(master), str(tmp), no_pdfs=True, no_run_tests=not run_tests, debug=run_tests)
        built = BuiltAssignment.from_folder(master, tmp)  # fails loudly if otter produced nothing
        if environment is not None:
            package_autograder(built.autograder_zip, environment)
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


def build(masters: Sequence[Path], out: str | os.PathLike,
          environment: AutograderEnvironment | None = None, run_tests: bool = False) -> list[BuiltAssignment]:
    """Build every master in `masters` (see `find_masters`) into `out`."""
    return [build_assignment(m, out, environment, run_tests) for m in masters]
