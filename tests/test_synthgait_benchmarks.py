"""Smoke tests of the SynthGait benchmarks on the `test` preset (so they cannot rot): they run and print their figures."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gaitgs_lib.synthgait import GENERATOR_VERSION, generate

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate("test", tmp_path_factory.mktemp("bench") / "synthgait-test", seed=0, progress=False, workers=1)


def _run(script: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


def test_synthgait_realism_prints_every_figure(data, tmp_path):
    out = tmp_path / "realism.json"
    res = _run("synthgait_realism.py", "--data", data.parent / "again", "--preset", "test", "--generate",
               "--workers", "1", "--noise-free", "--json", out)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["version"] == GENERATOR_VERSION and report["sequences"] == 440
    assert report["generation"]["cpu_s"] > 0 and report["disk_gb"] > 0
    assert report["per_sequence_cpu"]["render_ms"] > 0 and report["per_sequence_cpu"]["preprocess_ms"] > 0
    for key in ("gei_rank1", "gei_rank1_noise_free", "gei_twins_rank1"):
        assert set(report[key]) >= {"NM", "BG", "CL"}
    assert set(report["gei_by_view_separation"]["NM"]) == {"same", "18", "36", ">=54"}
    assert len(report["gei_per_view"]["CL"]) == 11 and "NM" in res.stdout


def test_synthgait_difficulty_trains_and_checks_the_targets(data, tmp_path):
    out = tmp_path / "difficulty.json"
    res = _run("synthgait_difficulty.py", "--data", data, "--iters", 2, "--p", 2, "--out", tmp_path / "run",
               "--json", out)
    assert res.returncode in (0, 1), res.stderr[-2000:]           # 1: a target missed (2 iterations)
    report = json.loads(out.read_text())
    assert report["iterations"] == 2 and report["test_subjects"] == 2
    assert set(report["targets"]) == {"learned NM > BG > CL", "learned CL <= NM - 5", "GEI NM > BG > CL",
                                      "GEI twins within 10 of chance"}
    assert "| GEI 64x44 + NN |" in res.stdout
