"""The dependency list is declared once in pyproject.toml; environment.yml must say the same."""
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += [r for r in extra if not r.startswith("gaitgs-lib[")]
    return dict(_split(r) for r in reqs)


def _environment_requirements() -> dict[str, str]:
    reqs = {}
    text = (REPO / "environment.yml").read_text()
    for line in text.split("\ndependencies:", 1)[1].splitlines():
        m = re.match(r"^\s+- (?!pip:)([^#\s][^#]*?)\s*$", line)
        if m:
            name, spec = _split(m.group(1))
            if name not in NOT_PACKAGES:
                reqs[CONDA_TO_PIP.get(name, name)] = spec
    return reqs


def test_environment_yml_lists_the_same_packages_and_bounds_as_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_torch_and_numpy_are_never_pinned_in_the_package():
    reqs = _pyproject_requirements()
    for name in ("torch", "numpy"):
        assert "==" not in reqs[name], f"{name} must have bounds, not a pin: {reqs[name]}"
        assert "<" in reqs[name], f"{name} needs a tested upper major: {reqs[name]}"


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "bash run.sh test" in readme.split("\n## ")[0], "README must open with the test command"
    assert "bash run.sh test" in ci
