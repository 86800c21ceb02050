"""Smoke tests of the SynthGait benchmarks on the `test` preset (so they cannot rot): they run and print their figures."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gaitgs_lib.synthgait import GENERATOR_VERSION, generate

pytestmark = pytest.mark.slow  # smoke tests of the SynthGait studies: generation and training

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate("test", tmp_path_factory.mktemp("bench") / "synthgait-test", seed=0, progress=False, workers=1)


def _run(script: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"benchmarks.{script}", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


def test_synthgait_realism_prints_every_figure(data, tmp_path):
    out = tmp_path / "realism.json"
    res = _run("synthgait_realism", "--data", data.parent / "again", "--preset", "test", "--generate",
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
    res = _run("synthgait_difficulty", "--data", data, "--iters", 2, "--p", 2, "--out", tmp_path / "run",
               "--json", out)
    assert res.returncode in (0, 1), res.stderr[-2000:]           # 1: a target missed (2 iterations)
    report = json.loads(out.read_text())
    assert report["iterations"] == 2 and report["test_subjects"] == 2
    assert set(report["targets"]) == {"learned NM > BG > CL", "learned CL <= NM - 5", "GEI NM > BG > CL",
                                      "GEI twins within 10 of chance"}
    assert "| GEI 64x44 + NN |" in res.stdout


def test_cl_breakdown_splits_the_cl_probes_by_coat():
    from benchmarks.cl_breakdown import breakdown
    # subjects 1 (jacket, hood up in cl-02) and 2 (long coat): embeddings put subject 2's CL
    # sequences on subject 1, so every CL probe of subject 2 fails and every one of subject 1 succeeds
    coats = {"1": "jacket", "2": "long"}
    subjects = {s: {"coat": {"kind": k, "bulk": 0.03},
                    "coat_wear": {"cl-01": {"hood_up": False, "pockets": False, "open": False},
                                  "cl-02": {"hood_up": s == "1", "pockets": False, "open": True}}}
                for s, k in coats.items()}
    sids, types, views, vecs = [], [], [], []
    for s in coats:
        for t in ("nm-01", "nm-02", "nm-03", "nm-04", "cl-01", "cl-02"):
            for v in ("000", "090"):
                sids.append(s), types.append(t), views.append(v)
                vecs.append([1.0, 0.0] if s == "1" or t.startswith("cl") else [0.0, 1.0])
    emb = {"embeddings": torch.tensor(vecs).unsqueeze(-1), "sids": sids, "types": types, "views": views}
    table = breakdown(emb, subjects)
    assert table["kind"] == {"jacket": (100.0, 4), "long": (0.0, 4)}
    assert table["hood up"] == {"no": (pytest.approx(100 / 3), 6), "yes": (100.0, 2)}
    assert table["open"] == {"no": (50.0, 4), "yes": (50.0, 4)}
    assert table["all"] == {"CL": (50.0, 8)}
