"""Smoke tests of the preprocessing benchmarks: each runs on a tiny budget and prints what its README quotes."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # smoke tests of the preprocessing benchmarks, as subprocesses

REPO = Path(__file__).resolve().parents[1]


def _run(script, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{script}", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_bench_preprocess_sequence_smoke():
    out = _run("bench_preprocess_sequence", "--frames", "6", "--seconds", "0.01")
    rates = re.findall(r"^(person window|CASIA-B field) (\d+)x(\d+), 6 frames: preprocess_sequence \(OpenCV\) +(\d+) "
                       r"frames/s, preprocess_walk \(SynthGait, numpy\) +(\d+) frames/s$", out, re.M)
    assert [r[0] for r in rates] == ["person window", "CASIA-B field"], out
    assert rates[1][1:3] == ("240", "320")
    assert all(int(r[3]) > 0 and int(r[4]) > 0 for r in rates)


def test_compare_pretreat_opencv_smoke():
    out = _run("compare_pretreat_opencv", "--walks", "2")
    assert re.search(r"^OpenCV \d+\.\d+", out, re.M), out
    m = re.search(r"^frames identical: (\d+)/(\d+) \(([\d.]+)%\), max \|diff\| (\d+) grey level", out, re.M)
    assert m, out
    same, frames, _, worst = (float(g) for g in m.groups())
    assert frames > 0 and same / frames > 0.8 and worst <= 1     # the numpy path is within one grey level
