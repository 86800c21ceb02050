"""The two ways to run the tests: the inner loop `pytest -m "not slow"` and everything (CI).

pyproject.toml declares every marker and refuses others (`--strict-markers`), the default
run filters nothing, and a test that needs one of the slow fixtures (a generated SynthGait
dataset, a browser) cannot join the inner loop by being left unmarked.
"""
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SLOW_FIXTURES = {"synthgait_test_root", "browser"}  # seconds of set-up each (tests/conftest.py)


def test_pyproject_declares_the_markers_and_refuses_others():
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    addopts = options["addopts"].split()
    assert "--strict-markers" in addopts
    assert "-m" not in addopts, "the default run (and CI) must run every test"
    declared = {m.split(":")[0].strip() for m in options["markers"]}
    assert {"slow", "browser", "cuda"} <= declared, declared


def test_ci_and_run_sh_filter_no_marker():
    for path in (REPO / "run.sh", REPO / ".ci" / "run"):
        assert not re.search(r"\s-m\s+[\"']?not\b", path.read_text()), f"{path.name} filters tests by marker"


def test_the_two_commands_are_documented():
    for path in (REPO / "README.md", REPO / "docs" / "design.md"):
        text = path.read_text()
        assert 'pytest -m "not slow"' in text, f"{path.relative_to(REPO)} must give the inner loop"


def test_tests_with_a_slow_fixture_are_marked_slow(request):
    """Among the collected tests (all of them, or the inner loop's), none uses a slow fixture unmarked."""
    unmarked = [item.nodeid for item in request.session.items
                if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("slow")]
    assert not unmarked, "mark these @pytest.mark.slow: " + ", ".join(unmarked)
