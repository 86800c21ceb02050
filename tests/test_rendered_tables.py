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


# What the scripts' --json writes, built by their own record functions, through the renderer: a key
# renamed on either side fails here, without running a benchmark.
HEADER = {"command": "python -m benchmarks.x --json out.json", "date": "2027-01-01", "torch": "2.13.0",
          "machine": "x (2 logical cores); load average 0.1"}


def _render_record(tmp_path, monkeypatch, record: dict, view: str = "") -> str:
    rt = _renderer()
    (tmp_path / "fresh.json").write_text(json.dumps(record))
    monkeypatch.setattr(rt, "RESULTS", tmp_path)
    return rt.render_block("fresh" + (f":{view}" if view else ""))


@pytest.mark.parametrize("compare", [True, False], ids=["compare-to", "this-tree"])
def test_a_fresh_profile_file_renders(tmp_path, monkeypatch, compare):
    """`python -m benchmarks.bench_train_step --profile --json`."""
    from benchmarks import bench_train_step as bts

    grouped = [b for _, blocks in bts.PROFILE_ROWS for b in blocks]
    assert sorted(grouped) == sorted([*bts.BLOCKS, bts.REST])  # every block in exactly one row
    prof = {"forward_ms": {b: 1.0 for b in grouped}, "backward_ms": {b: 2.0 for b in grouped},
            "step_cpu_s": 0.5, "conv_share_pct": 40.0}
    trees = {"old": "HEAD~1 (abc1234)", "new": "this tree"} if compare else {"new": "this tree"}
    profiles = {(tree, preset): prof for tree in trees for preset in ("tiny", "small")}
    header = dict(HEADER, kind="bench_train_step_profile")
    table = _render_record(tmp_path, monkeypatch, bts.profile_record(header, trees, profiles))
    head = "| block | `tiny` before | `tiny` after | `small` before | `small` after |" if compare else \
        "| block | `tiny` this tree | `small` this tree |"
    assert head in table
    assert "| uta0, uta1, uta2 | 3 / 6 |" in table and "| loss and the rest | 1 / 2 |" in table
    assert "| convolutions, share of the step | 40 % |" in table
    assert ("before = HEAD~1 (abc1234)" in table) == compare


def test_a_fresh_conv_formulations_file_renders(tmp_path, monkeypatch):
    """`python -m benchmarks.bench_conv_formulations --json`."""
    import argparse

    from benchmarks import bench_conv_formulations as bcf

    row = {"layer": "stem_f0", "a": 4, "b": 8, "map": "32x22", "cl": [20.0, 30.0, 10.0], "ncdhw": [40.0, 80.0, 80.0],
           "frames": [60.0, 50.0, 10.0], "one_2b": 110.0, "two_ours": 120.0, "bf16": [10.0, 30.0, 10.0],
           "gflop_per_s": 53.2}
    args = argparse.Namespace(preset="tiny", batch=32, frames=30, repeats=3, threads=1)
    record = bcf.conv_record(dict(HEADER, kind="bench_conv_formulations"), args, [row])
    table = _render_record(tmp_path, monkeypatch, record)
    assert "| stem_f0 | 4 -> 8 | 32x22 | 20 / 30 / 10 | 40 / 80 / 80 | 60 / 50 / 10 | 110 vs 120 | 10 / 30 / 10 | 53 |" in table
    assert "channels-last 60 ms, NCDHW 200 ms (3.3x), frames in channels 120 ms (2.0x)" in table


def test_a_fresh_preprocess_file_renders(tmp_path, monkeypatch):
    """`python -m benchmarks.bench_preprocess_sequence --json`."""
    import os

    had_omp = "OMP_NUM_THREADS" in os.environ
    from benchmarks import bench_preprocess_sequence as bps

    if not had_omp:  # the script sets it for itself; the test run's subprocesses keep their default
        os.environ.pop("OMP_NUM_THREADS", None)
    rates = [("person window", (87, 80), 8715.2, 5777.0), ("CASIA-B field", (240, 320), 5152.0, 1256.4)]
    record = bps.preprocess_record(dict(HEADER, kind="bench_preprocess_sequence"), 100, rates)
    table = _render_record(tmp_path, monkeypatch, record)
    assert "| input (one SynthGait walk, 100 frames) |" in table
    assert "| person window, 87x80 (what the generator sees) | 8,715 frames/s | 5,777 frames/s |" in table
    assert "| CASIA-B field, 240x320 (what `pretreat` sees) | 5,152 frames/s | 1,256 frames/s |" in table
    assert "one CPU thread; OpenCV " in table


def test_a_fresh_generation_file_renders(tmp_path, monkeypatch):
    """`python -m benchmarks.synthgait_realism --generate --results PATH`, run once per preset."""
    from benchmarks import synthgait_realism as sr

    def run(preset, n, previous):
        meta = {"preset": preset, "n_subjects": n, "n_sequences": 110 * n, "frames_kept_total": 4000 * n,
                "version": "1.3"}
        header = dict(HEADER, kind="synthgait_generation", command=f"python -m benchmarks.synthgait_realism --preset {preset}")
        return sr.generation_record(header, meta, {"wall_s": 146.2, "cpu_s": 48.0}, 0.55, 2, previous)

    transcribed = json.loads((REPO / "benchmarks" / "results" / "synthgait-generation.json").read_text())
    mini = run("mini", 30, transcribed)
    assert [r["preset"] for r in mini["rows"]] == ["mini"]  # a transcribed file is replaced, not merged into
    both = run("b", 124, run("mini", 30, mini))
    assert [r["preset"] for r in both["rows"]] == ["mini", "b"] and len(both["command"]) == 2
    table = _render_record(tmp_path, monkeypatch, both)
    assert "| `mini` | 30 | 3,300 | 120,000 | 146 s | 48 s | 0.55 GB |" in table
    assert "| `b` | 124 | 13,640 | 496,000 | 146 s | 48 s | 0.55 GB |" in table
    assert "2 worker processes" in table
