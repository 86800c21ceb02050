"""The autograder zips grade where courses grade: a zip made by
`python -m gaitgs_lib assignments build` carries everything its tests import.

One real run, as Gradescope or `otter grade` would do it but without a container: build the
zip with the command instructors use, make a fresh virtual environment, install into it
exactly the pip requirements of the zip's `environment.yml` (what otter's `setup.sh`
installs), run the check that `setup.sh` ends with, and grade a correct, a partial and an
empty submission with that environment's `otter run`. Torch comes from the local CPU wheel
where one is configured (pip's find-links), our package from the wheel inside the zip; the
rest from the package index (pip's cache after the first run). About 2-3 minutes, most of
it installing torch and otter-grader's dependencies into the fresh environment.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from gaitgs_lib.course import BuiltAssignment, partial_submission
from gaitgs_lib.course.autograder import SETUP_CHECK_MARK, WHEEL_DIR

pytestmark = pytest.mark.slow  # builds an autograder zip and installs it into a fresh virtual environment

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_uta"  # the shortest to grade; every assignment's zip is packaged the same way


def _clean_env(tmp: Path) -> dict:
    """The environment of a grading machine: nothing from this checkout or this user on the path."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH"}}
    env.update(PYTHONNOUSERSITE="1", JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
               JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"), MPLBACKEND="Agg")
    return env


def _run(cmd, cwd, env, what, timeout=900):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _otter_run(venv: Path, autograder_zip: Path, notebook: Path, out: Path, env) -> dict[str, tuple[float, float]]:
    """Grade `notebook` with the venv's `otter run`; question -> (score, possible) from results.json."""
    out.mkdir(parents=True)
    _run([venv / "bin" / "otter", "run", "-a", autograder_zip, "-o", out, "--no-logo", notebook],
         cwd=notebook.parent, env=env, what=f"otter run on {notebook.name}")
    results = json.loads((out / "results.json").read_text())
    # Gradescope's format: one entry per question, plus a "Public Tests" summary without a score
    return {t["name"]: (float(t["score"]), float(t["max_score"])) for t in results["tests"] if "score" in t}


def test_autograder_zip_grades_in_a_fresh_environment(tmp_path):
    try:
        _build_install_and_grade(tmp_path)
    finally:
        shutil.rmtree(tmp_path / "venv", ignore_errors=True)  # 1.7 GB: not kept with pytest's last runs


def _build_install_and_grade(tmp_path):
    env = _clean_env(tmp_path)
    # 1. the instructor's command, from the course folder (torch's CPU index as shipped)
    out = tmp_path / "dist"
    build_env = dict(os.environ, PYTHONPATH=str(REPO))
    _run([sys.executable, "-m", "gaitgs_lib", "assignments", "build", "--only", ASSIGNMENT, "--out", out],
         cwd=REPO, env=build_env, what="assignments build")
    master = REPO / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    built = BuiltAssignment.from_folder(master, out / ASSIGNMENT)
    source = tmp_path / "autograder-source"  # what Gradescope unpacks into /autograder/source
    with zipfile.ZipFile(built.autograder_zip) as z:
        z.extractall(source)
        names = set(z.namelist())
    assert {"setup.sh", "environment.yml", "requirements.txt", "run_autograder", "otter_config.json"} <= names
    assert [n for n in names if n.startswith(f"{WHEEL_DIR}/gaitgs_lib-") and n.endswith(".whl")]
    pip_section = [d for d in yaml.safe_load((source / "environment.yml").read_text())["dependencies"]
                   if isinstance(d, dict)][0]["pip"]
    assert any(re.fullmatch(r"otter-grader\[grading,plugins\]==[\d.]+", r) for r in pip_section)
    assert "torch==" + __import__("torch").__version__.split("+")[0] in pip_section

    # 2. a fresh environment with exactly the zip's pip requirements (as conda's pip step
    #    does: a requirements file beside environment.yml); --retries 0: this machine
    #    reaches no torch index but its own wheel
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env, what="python -m venv")
    requirements = source / "condaenv.requirements.txt"
    requirements.write_text("\n".join(pip_section) + "\n")
    _run([venv / "bin" / "python", "-m", "pip", "install", "--no-compile", "--retries", "0", "--progress-bar", "off",
          "-r", requirements], cwd=source, env=env, what="pip install of the zip's requirements")

    # 3. the check setup.sh ends with, in that environment: our package comes from the wheel
    setup = (source / "setup.sh").read_text().splitlines()
    (mark,) = [i for i, line in enumerate(setup) if line.startswith(SETUP_CHECK_MARK)]
    check_line = setup[mark + 1]
    assert check_line.startswith("mamba run -n otter-env python -c")
    code = check_line.split('python -c "', 1)[1].rstrip('"')
    code += "; import sys; print(gaitgs_lib.__file__)"
    printed = _run([venv / "bin" / "python", "-c", code], cwd=tmp_path, env=env, what="setup.sh's check")
    assert printed.startswith("grading with torch") and str(venv) in printed.splitlines()[-1]

    # 4. three submissions graded by the environment's otter run (a fresh kernel each)
    partial, answered = partial_submission(built, tmp_path / "partial")
    scores = {label: _otter_run(venv, built.autograder_zip, nb, tmp_path / f"results-{label}", env)
              for label, nb in (("correct", built.solution), ("partial", partial), ("empty", built.student))}
    total = {label: (sum(s for s, _ in q.values()), sum(p for _, p in q.values())) for label, q in scores.items()}
    assert total["correct"][0] == total["correct"][1] == 10, scores["correct"]
    assert total["empty"] == (0, 10), scores["empty"]
    assert answered == ["q1"] and scores["partial"]["q1"][0] == scores["partial"]["q1"][1] > 0
    assert total["partial"] == (scores["partial"]["q1"][1], 10), scores["partial"]
