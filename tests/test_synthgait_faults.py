"""`synth` and `contact-sheet` under bad input and faults: one-line errors, a lock per output, Ctrl-C.

The subprocess tests run `python -m gaitgs_lib` on this checkout (PYTHONPATH) from a
temporary working folder, as a user would.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from gaitgs_lib.baselines import gei
from gaitgs_lib.data.io import read_sequence
from gaitgs_lib.data.transforms import side_cut
from gaitgs_lib.synthgait import generate
from gaitgs_lib.synthgait import generator as gen_mod
from gaitgs_lib.synthgait.cli import main

REPO = Path(__file__).resolve().parents[1]


def _command(args, unprivileged=False):
    cmd = [sys.executable, "-m", "gaitgs_lib", *args]
    if unprivileged and os.geteuid() == 0:
        # root ignores file permissions; drop the capabilities that let it, as a normal user runs
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot test a read-only folder")
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *cmd]
    return cmd


def _start(args, cwd, unprivileged=False, **kw):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(_command(args, unprivileged), cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# ---------------------------------------------------------------- bad arguments (in-process)
@pytest.mark.parametrize("args, message", [
    (["--subjects", "0"], r"--subjects\) must be at least 2 .* got 0"),
    (["--subjects", "1"], r"--subjects\) must be at least 2 .* got 1"),
    (["--seed", "-1"], r"--seed\) must be an integer >= 0, got -1"),
    (["--out", "."], r"--out \. is the current folder"),
    (["--out", ".."], r"--out \.\. is the current folder"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.txt").write_text("keep")
    argv = ["--preset", "test", "--no-progress", *args]
    assert main(argv if "--out" in args else argv + ["--out", "new"]) == 1
    captured = capsys.readouterr()
    assert re.search(message, _one_line_error(captured.err)), captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]       # nothing generated
    assert (tmp_path / "mine.txt").read_text() == "keep"


def test_subjects_zero_is_not_the_preset_default(tmp_path):
    with pytest.raises(ValueError, match="at least 2"):
        generate("test", tmp_path / "sg", subjects=0, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_out_that_is_a_file_or_a_foreign_folder(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["--preset", "test", "--out", str(tmp_path / "afile"), "--no-progress"]) == 1
    assert "is a file" in _one_line_error(capsys.readouterr().err)
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    assert main(["--preset", "test", "--out", str(home), "--overwrite", "--no-progress"]) == 1
    assert "not a SynthGait dataset (e.g. thesis.tex)" in _one_line_error(capsys.readouterr().err)
    assert (home / "thesis.tex").read_text() == "years of work"


# ---------------------------------------------------------------- subprocesses
@pytest.mark.slow
def test_read_only_output_folders_for_synth_and_pretreat(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (tmp_path / "raw" / "001" / "nm-01" / "000").mkdir(parents=True)
    locked.chmod(0o555)
    try:
        runs = [_start(["synth", "--preset", "test", "--out", str(locked / "sg"), "--no-progress"],
                       tmp_path, unprivileged=True),
                _start(["pretreat", str(tmp_path / "raw"), str(locked / "pkl")], tmp_path, unprivileged=True)]
        results = [(p.wait(timeout=120), p.communicate()[1]) for p in runs]
    finally:
        locked.chmod(0o755)
    (rc_synth, err_synth), (rc_pre, err_pre) = results
    assert rc_synth == 1 and "cannot write into" in _one_line_error(err_synth) and str(locked) in err_synth
    assert rc_pre == 1 and "cannot write into" in _one_line_error(err_pre) and "Permission denied" in err_pre
    assert list(locked.iterdir()) == []


def _wait_for(pattern_dir: Path, pattern: str, proc, timeout=120.0):
    end = time.time() + timeout
    while not list(pattern_dir.glob(pattern)):
        assert proc.poll() is None, proc.communicate()
        assert time.time() < end, f"nothing matched {pattern} in {timeout} s"
        time.sleep(0.05)


@pytest.mark.slow
def test_second_run_into_the_same_out_refuses_and_a_killed_holder_leaves_no_lock(tmp_path):
    out = tmp_path / "sg"
    # 40 subjects: long enough that the first run is still writing when the second one starts
    first = _start(["synth", "--preset", "test", "--out", str(out), "--seed", "1", "--workers", "1",
                    "--subjects", "40", "--no-progress"], tmp_path)
    _wait_for(tmp_path, "sg.tmp-*/001", first)             # the first run is generating
    second = _start(["synth", "--preset", "test", "--out", str(out), "--seed", "2", "--no-progress"], tmp_path)
    _, err = second.communicate(timeout=120)
    line = _one_line_error(err)
    assert second.returncode == 1
    assert f"{out} is being written by another synth run (process {first.pid}" in line
    assert "wait for it to finish, or choose another --out" in line
    first.kill()                                           # kill -9: the OS drops its lock
    first.communicate()
    assert (tmp_path / ".sg.lock").exists()                # the file stays, but nobody holds it
    with gen_mod._exclusive(out):                          # the next run gets the lock at once
        assert (tmp_path / ".sg.lock").read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / ".sg.lock").exists() and not out.exists()


@pytest.mark.slow
def test_lock_refuses_or_waits(tmp_path, capsys):
    out = tmp_path / "synthgait-test"
    with gen_mod._exclusive(out):
        with pytest.raises(gen_mod.OutputBusyError, match=f"process {os.getpid()}"):
            generate("test", out, subjects=2, progress=False)
    assert not (tmp_path / ".synthgait-test.lock").exists()
    held = threading.Event()

    def holder():
        with gen_mod._exclusive(out):
            held.set()
            time.sleep(1.0)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    generate("test", out, subjects=2, progress=False, workers=1, wait=True)   # ensure_synthgait's way
    thread.join()
    assert "waiting for process" in capsys.readouterr().out
    assert (out / "meta.json").is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["synthgait-test"]


@pytest.mark.slow
def test_ctrl_c_stops_the_worker_pool_at_once(tmp_path):
    out = tmp_path / "sg"
    # 40 subjects (~10 s of work): the run must still be generating when Ctrl-C arrives; with the
    # preset's 4 subjects a fast machine finished first and exited 0 (seen in CI)
    # SIGINT as a terminal delivers it: a test run started in the background (`cmd &`, nohup)
    # inherits an ignored SIGINT, and Python then keeps ignoring it, so restore the default first.
    proc = _start(["synth", "--preset", "test", "--out", str(out), "--workers", "2", "--subjects", "40",
                   "--no-progress"], tmp_path, start_new_session=True,
                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_for(tmp_path, "sg.tmp-*/00[1-4]/*/*/*.pkl", proc)  # the workers are writing sequences
    t0 = time.time()
    os.killpg(proc.pid, signal.SIGINT)                     # Ctrl-C reaches the whole process group
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("synth did not stop within 30 s of Ctrl-C")
    assert time.time() - t0 < 10
    assert proc.returncode == 130
    assert "Traceback" not in err and err.strip() == f"synth: interrupted; temporary files removed, {out} left as it was"
    assert list(tmp_path.iterdir()) == []                 # no temporary folder, no lock, no dataset


# ---------------------------------------------------------------- contact sheet: what each cell is
@pytest.mark.slow
def test_contact_sheet_cells(tmp_path, monkeypatch):
    from gaitgs_lib.viz import contact_sheet as cs

    data = generate("test", tmp_path / "sg", seed=0, subjects=2, progress=False, workers=1)
    meta = json.loads((data / "meta.json").read_text())
    seen = {}

    def capture(grid, row_labels, col_labels, title, **kw):
        seen.update(grid=grid, rows=row_labels, cols=col_labels, title=title)
        return "figure"

    monkeypatch.setattr(cs, "show_contact_grid", capture)
    assert cs.contact_sheet(data, "002", mode="frame") == "figure"
    assert seen["cols"] == meta["views"] and seen["rows"] == ["002 nm-01\nframe", "002 bg-01\nframe",
                                                              "002 cl-01\nframe"]
    seq = read_sequence(data / "002" / "bg-01" / "090" / "090.pkl")
    cell = seen["grid"][1][meta["views"].index("090")]
    assert cell.shape == (64, 44)
    np.testing.assert_array_equal(cell, seq[len(seq) // 2, :, 10:54] / np.float32(255))
    cs.contact_sheet(data, "001", mode="gei")
    seq = read_sequence(data / "001" / "cl-01" / "000" / "000.pkl")
    np.testing.assert_allclose(seen["grid"][2][0], side_cut(gei(seq)) / 255, rtol=0, atol=1e-7)
    assert 0 < seen["grid"][2][0].mean() < 1
