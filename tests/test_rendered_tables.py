"""The speed and time tables of the READMEs are rendered from their results files
(benchmarks/results/*.json, the cue study's data/studies/cue-ablation.json) by
scripts/render_tables.py, never typed: a table that disagrees with its file fails here."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = sorted((REPO / "benchmarks" / "results").glob("*.json"))


def _renderer():
    spec = importlib.util.spec_from_file_location("render_tables", REPO / "scripts" / "render_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_rendered_table_equals_its_results_file():
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "render_tables.py"), "--check"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: p.name)
def test_every_results_file_says_where_its_numbers_come_from(path):
    res = json.loads(path.read_text())
    for key in ("kind", "command", "date", "torch", "machine"):
        assert res.get(key), f"{path.name} has no {key}"
    assert len(res["date"]) == 10 and res["date"][4] == res["date"][7] == "-", res["date"]
    assert res["rows"], f"{path.name} has no rows"


def test_every_results_file_is_shown_somewhere():
    rendered = {i.partition(":")[0] for doc in _renderer().documents() for i in _renderer().block_ids(doc.read_text())}
    assert {p.stem for p in RESULTS} <= rendered


def test_the_check_catches_a_changed_number(tmp_path, monkeypatch):
    rt = _renderer()
    res = json.loads((REPO / "benchmarks" / "results" / "bench-model-paper.json").read_text())
    text = f"x\n<!-- table:bench-model-paper -->\n{rt.render_block('bench-model-paper')}<!-- /table:bench-model-paper -->\n"
    assert rt.render(text) == text
    res["rows"][0]["cpu_s"] = 99.0
    (tmp_path / "bench-model-paper.json").write_text(json.dumps(res))
    monkeypatch.setattr(rt, "RESULTS", tmp_path)
    assert rt.render(text) != text and "| 99.00 |" in rt.render(text)


def test_a_fresh_bench_model_file_renders(tmp_path, monkeypatch):
    """What `python -m benchmarks.bench_model --json` writes (CUDA rows with and without AMP included)."""
    rt = _renderer()
    row = {"wall_min_s": 0.1, "seq_per_s": 40.0, "wall_s": 0.1, "cpu_s": 0.2, "peak_mb": 300.0, "flops": 1e12,
           "tflop_per_s": 10.0}
    rows = [{"device": d, "amp": a, "impl": i, "mode": m, **row} for d, a in (("cpu", False), ("cuda", False), ("cuda", True))
            for i in ("fused", "reference") for m in ("train", "infer")]
    res = {"kind": "bench_model", "command": "python -m benchmarks.bench_model", "date": "2027-01-01", "torch": "2.13.0",
           "machine": "x; NVIDIA H100; load average 0.1", "preset": "paper", "batch": 4, "frames": 30, "rows": rows,
           "ratios": []}
    (tmp_path / "fresh.json").write_text(json.dumps(res))
    monkeypatch.setattr(rt, "RESULTS", tmp_path)
    table = rt.render_block("fresh")
    assert "| device | AMP | impl | mode |" in table and "| cuda | yes | fused (ours) | train |" in table
    assert "| train, cuda, AMP | 1.00x | 1.00x | 1.00 |" in rt.render_block("fresh:ratios")
