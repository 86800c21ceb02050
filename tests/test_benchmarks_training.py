"""Smoke tests of the training benchmarks on a tiny budget, so that neither can rot: each runs
on a clean clone (`python -m benchmarks.train_tiny_cpu` once did not)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # smoke tests of the training benchmarks: real training runs

REPO = Path(__file__).resolve().parents[1]


def run_script(*args, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_train_tiny_cpu_runs_end_to_end(synthgait_test_root, tmp_path):
    out = tmp_path / "run"
    proc = run_script("-m", "benchmarks.train_tiny_cpu", "--data", str(synthgait_test_root), "--out", str(out),
                      "--iters", "3", "--p", "2", "--k", "4", "--frames", "8", "--no-ship")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: the 3-iteration model did not beat GEI
    assert "trained 3 iterations" in proc.stdout and "| GEI 64x44 + NN |" in proc.stdout
    result = json.loads((out / "result.json").read_text())
    assert result["iterations"] == 3 and set(result["gaitgs_tiny"]["casia_b"]["mean"]) >= {"NM", "BG", "CL"}
    assert not (REPO / "data" / "checkpoints" / "tiny-synthgait-mini.pt").is_symlink()  # --no-ship wrote nothing


def test_ablations_tiny_generates_missing_synthgait_and_collects(tmp_path):
    data = tmp_path / "synthgait-test"  # missing: the script generates SynthGait's `test` preset there
    proc = run_script("-m", "benchmarks.ablations_tiny", "--data", str(data), "--workdir", str(tmp_path),
                      "--variants", "full", "no-mcm", "--steps", "2", "--p", "2", "--k", "2", "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (data / "meta.json").exists()
    # a study on any folder but synthgait-mini keeps its own names (quick mode's files stay untouched)
    checkpoints = tmp_path / "data" / "checkpoints"
    collected = json.loads((checkpoints / "ablations-tiny-synthgait-test.json").read_text())
    assert sorted(collected["variants"]) == ["full", "no-mcm"]
    assert all(v["steps"] == 2 and [r["iteration"] for r in v["metrics"]] == [2] for v in collected["variants"].values())
    assert collected["command"].startswith("python -m benchmarks.ablations_tiny --data data/synthgait-test --steps 2")
    assert collected["description"].startswith("GaitGS tiny on synthgait-test")
    assert (checkpoints / "ablations-tiny-synthgait-test" / "tiny-no-mcm.pt").exists()
    assert collected["variants"]["no-mcm"]["checkpoint"] == "data/checkpoints/ablations-tiny-synthgait-test/tiny-no-mcm.pt"
    assert not (checkpoints / "ablations-tiny.json").exists() and not (checkpoints / "tiny-no-mcm.pt").exists()
    assert (tmp_path / "runs" / "ablations-tiny-synthgait-test" / "full" / "result.json").exists()


def test_ship_model_exports_and_writes_every_protocol(synthgait_test_root, tmp_path):
    run = tmp_path / "run"
    proc = run_script("-m", "gaitgs_lib", "train", "--preset", "tiny", "--data", str(synthgait_test_root),
                      "--out", str(run), "--total-iters", "2", "--p", "2", "--k", "2", "--frames", "8", "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_script("-m", "benchmarks.ship_model", "--run", str(run), "--data", str(synthgait_test_root),
                      "--name", "tiny-test", "--command", "python -m gaitgs_lib train ...",
                      "--train-wall-seconds", "12", "--out-dir", str(tmp_path / "ship"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "ship" / "tiny-test.json").read_text())
    assert result["iterations"] == 2 and result["train_wall_minutes"] == 0.2
    assert result["data"]["name"] == synthgait_test_root.name and result["data"]["version"]
    assert set(result["learned"]) == {"casia_b", "retrieval", "twins"} and "mAP" in result["learned"]["retrieval"]
    assert set(result["learned"]["casia_b"]["mean"]) == {"NM", "BG", "CL"}
    ckpt = torch.load(tmp_path / "ship" / "tiny-test.pt", weights_only=True)
    assert "optimizer" not in ckpt and ckpt["iteration"] == 2
