"""benchmarks/device_check.sh must not rot: its CPU form (--smoke) runs every stage end to end."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs every stage of the device check end to end

REPO = Path(__file__).resolve().parents[1]


def test_device_check_smoke_runs_every_stage_on_a_cpu(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OUT", "DEVICE_CHECK_DATA")}
    env["PYTHON"] = sys.executable
    proc = subprocess.run(["bash", "benchmarks/device_check.sh", "--smoke", "--out", str(tmp_path)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "device_check.json").read_text())
    stages = report["stages"]
    assert list(stages) == ["environment", "cuda_tests", "benchmark", "dataset", "training", "evaluation"]
    assert all(s["status"] == "ok" for s in stages.values()) and report["ok"]
    assert stages["cuda_tests"]["failures"] == 0 and stages["cuda_tests"]["tests"] >= 5
    fused = stages["benchmark"]["rows"][0]
    assert fused["impl"] == "fused" and fused["seq_per_s"] > 0 and fused["flops"] > 1e9
    assert [i for i, _ in stages["training"]["loss_curve"]] == [1, 2]
    assert Path(stages["training"]["checkpoint"]).exists()
    assert set(stages["evaluation"]["result"]["conditions"]) == {"NM", "BG", "CL"}
    table = (tmp_path / "device_check.md").read_text()
    assert "| training | ok |" in table and "NM " in table
    assert proc.stdout.rstrip().endswith("all stages passed")  # the table is printed last
