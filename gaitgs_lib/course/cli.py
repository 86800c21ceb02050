"""`python -m gaitgs_lib assignments build|check`: the course's assignments from the command line.

    python -m gaitgs_lib assignments build [--root assignments] [--out ROOT/dist] [--only 01_uta ...]
                                           [--package auto|WHEEL|REQUIREMENT] [--torch-index URL|none]
    python -m gaitgs_lib assignments check [same options] [--engine otter|inprocess] [--no-build]

`build` writes, per assignment, `<out>/<name>/student/<name>.ipynb` (what students get),
`<out>/<name>/autograder/<name>.ipynb` (the solutions) and
`<out>/<name>/autograder/<name>-autograder_<time>.zip` (what `otter run`, `otter grade` and
Gradescope grade with; it installs what `gaitgs_lib.course.autograder` describes).
`check` grades the solutions (full marks), a submission answering only the first question
(exactly that question's marks) and the unfilled student version (zero).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from gaitgs_lib.course.autograder import PYTORCH_CPU_INDEX, AutograderEnvironment, build_wheel, source_tree
from gaitgs_lib.course.check import check_assignment, format_check_report
from gaitgs_lib.course.grading import ENGINES
from gaitgs_lib.course.masters import DEFAULT_ROOT, BuiltAssignment, build_assignment, find_masters
from gaitgs_lib.fileio import unwritable


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gaitgs_lib assignments",
                                description="Build and check the otter-grader assignments.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in (("build", "run otter assign on every master and package the autograders"),
                        ("check", "build, then grade solutions, a partial answer and the student versions")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--root", "--masters", dest="root", default=str(DEFAULT_ROOT),
                       help="folder holding the NN_topic/ masters (default: ./assignments)")
        s.add_argument("--out", help="output folder (default: ROOT/dist)")
        s.add_argument("--only", nargs="+", metavar="NAME", help="only these assignments, e.g. 01_uta")
        s.add_argument("--package", default="auto",
                       help="how the autograder installs gaitgs-lib: 'auto' builds a wheel of the source "
                            "checkout you run from; a .whl file; or a pip requirement such as "
                            "'gaitgs-lib @ git+https://HOST/you/gaitgs@TAG'")
        s.add_argument("--torch-index", default=PYTORCH_CPU_INDEX,
                       help=f"extra index for torch (default: PyTorch's CPU builds, {PYTORCH_CPU_INDEX}); "
                            "'none' for PyPI only")
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


def _environment(args, wheel_dir: Path) -> AutograderEnvironment:
    """The autograder environment from --package/--torch-index (builds our wheel for 'auto')."""
    package = args.package
    if package == "auto":
        source = source_tree()
        if source is None:
            raise FileNotFoundError("gaitgs_lib is installed, not a source checkout, so there is no wheel to "
                                    "build: pass --package with a gaitgs_lib wheel or a pip requirement")
        package = str(build_wheel(source, wheel_dir))
    elif package.endswith(".whl") and not Path(package).is_file():
        raise FileNotFoundError(f"--package {package}: no such wheel")
    index = None if args.torch_index in ("", "none") else args.torch_index
    return AutograderEnvironment(package=package, torch_index=index)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        masters = find_masters(args.root, args.only)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.root) / "dist"
    building = args.command == "build" or not args.no_build
    problem = None if not building else (f"--out {out} is a file, not a folder" if out.exists() and not out.is_dir()
                                         else unwritable(out))
    if problem:
        print(f"error: {problem}; choose another --out", file=sys.stderr)
        return 2
    if building:
        with tempfile.TemporaryDirectory(prefix="gaitgs-wheel-") as wheel_dir:
            try:
                env = _environment(args, Path(wheel_dir))
            except (FileNotFoundError, RuntimeError) as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            built = []
            for master in masters:
                b = build_assignment(master, out, env, run_tests=getattr(args, "run_tests", False))
                print(f"built {b.name}: student {_rel(b.student)}, autograder {_rel(b.autograder_zip)}")
                built.append(b)
    else:
        if not out.is_dir():
            what = "is a file, not a folder" if out.exists() else "does not exist"
            print(f"error: --out {out} {what}: --no-build checks the assignments already built there "
                  f"(run `python -m gaitgs_lib assignments build --out {out}` first, or drop --no-build)",
                  file=sys.stderr)
            return 2
        try:
            built = [BuiltAssignment.from_folder(m, out / m.parent.name) for m in masters]
        except FileNotFoundError as e:
            print(f"error: {e} (--no-build checks what is already in --out {out})", file=sys.stderr)
            return 2
    if args.command == "build":
        return 0
    results = [check_assignment(b, args.engine) for b in built]
    print(format_check_report(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
