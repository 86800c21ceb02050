"""Course tooling (docs/instructors.md): build student notebooks and autograders from the
otter-grader masters of an assignments folder, package the autograders so that they grade
under `otter grade` (Docker) and on Gradescope unchanged, and check every assignment.

Every function takes the assignments folder (`root`, holding `NN_topic/NN_topic.ipynb`
masters) as an argument; the command line defaults to `./assignments` in the current folder:

    python -m gaitgs_lib assignments build [--root assignments] [--out assignments/dist] [--only 01_uta ...]
    python -m gaitgs_lib assignments check [--root ...] [--engine otter|inprocess]

Modules: `masters` (find and build), `autograder` (what the zip installs: pinned CPU torch,
our package as a wheel, a setup check), `grading` (grade one notebook with `otter run` or
in this process), `check` (solutions full marks, a partial answer partial marks, the
unfilled student version zero), `cli` (the command).
"""
from gaitgs_lib.course.autograder import AutograderEnvironment, build_wheel, package_autograder
from gaitgs_lib.course.check import CheckResult, check_assignment, format_check_report, partial_submission
from gaitgs_lib.course.grading import ENGINES, NotebookGrade, QuestionResult, grade
from gaitgs_lib.course.masters import BuiltAssignment, build, build_assignment, find_masters

__all__ = [
    "AutograderEnvironment", "BuiltAssignment", "CheckResult", "ENGINES", "NotebookGrade", "QuestionResult",
    "build", "build_assignment", "build_wheel", "check_assignment", "find_masters", "format_check_report",
    "grade", "package_autograder", "partial_submission",
]
