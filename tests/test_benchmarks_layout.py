"""benchmarks/ and scripts/ import the library as installed and each other as a package: no edits
of the import path. The benchmarks run as `python -m benchmarks.NAME` from the repository root
(benchmarks/README.md); the library never imports them (tests/test_imports.py)."""
import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p.stem for p in (REPO / "benchmarks").glob("*.py") if p.stem != "__init__")
SOURCES = sorted([*(REPO / "benchmarks").glob("*.py"), *(REPO / "benchmarks").glob("*.sh"),
                  *(REPO / "scripts").glob("*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_script_edits_the_import_path(path):
    assert "sys.path" not in path.read_text(), f"{path.relative_to(REPO)}: import as a package instead"


def test_benchmarks_is_a_package():
    assert (REPO / "benchmarks" / "__init__.py").is_file()


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmarks_import_their_siblings_through_the_package(name):
    """`from common import ...` worked only with benchmarks/ itself on the path; write `benchmarks.common`."""
    tree = ast.parse((REPO / "benchmarks" / f"{name}.py").read_text())
    bare = [node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0)
            for alias in (node.names if isinstance(node, ast.Import) else [None])]
    assert not set(bare) & set(BENCHMARKS), f"benchmarks/{name}.py imports a sibling without `benchmarks.`"


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_imports_as_a_module(name):
    importlib.import_module(f"benchmarks.{name}")


def test_a_benchmark_runs_as_a_module_from_the_root():
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_model", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--json" in done.stdout, done.stderr[-2000:]
