"""Training under faults and bad input, as a user meets them: the `train` command (docs/guarantees.md).

The kill/resume and NaN cases run `python -m gaitgs_lib train` as subprocesses on SynthGait's
`test` preset; the one-line messages are checked through `main(argv)` in this process (an
exception escaping it would be a traceback). Every case first reproduces what went wrong
on the landed main (quoted in each docstring).
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitgs_lib.data.io import write_sequence
from gaitgs_lib.data.validate import validate_files, validate_split
from gaitgs_lib.training import main
from gaitgs_lib.training.metrics import read_metrics

pytestmark = pytest.mark.slow  # the `train` command under kills, signals and bad input: real runs, subprocesses

REPO = Path(__file__).resolve().parents[1]
STEPS = 12
COMMON = ["--p", "2", "--k", "2", "--frames", "8", "--log-every", "1", "--ckpt-every", "4", "--no-progress"]


def train_cmd(data, out, *extra):
    return [sys.executable, "-m", "gaitgs_lib", "train", "--data", str(data), "--out", str(out), *COMMON, *extra]


def run(cmd, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def start(cmd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_when(proc, path: Path, sig, timeout=120):
    """Send `sig` to `proc` as soon as `path` exists; returns (returncode, stderr)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended before {path.name} appeared: {proc.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout} s"
        time.sleep(0.005)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def ckpt(run_dir):
    return torch.load(Path(run_dir) / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)


def assert_identical_runs(a, b):
    """Bit for bit: weights, optimiser moments, sampler, schedule, RNG, and every logged number."""
    ca, cb = ckpt(a), ckpt(b)
    assert ca["iteration"] == cb["iteration"] == STEPS
    for key in ca["model"]:
        assert torch.equal(ca["model"][key], cb["model"][key]), key
    for sa, sb in zip(ca["optimizer"]["state"].values(), cb["optimizer"]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert ca["sampler"] == cb["sampler"] and ca["scheduler"] == cb["scheduler"]
    assert torch.equal(ca["rng"]["torch"], cb["rng"]["torch"])
    strip = [{k: v for k, v in r.items() if k != "seq_per_s"} for r in read_metrics(a)]
    assert strip == [{k: v for k, v in r.items() if k != "seq_per_s"} for r in read_metrics(b)]
    assert len(strip) == STEPS


@pytest.fixture(scope="module")
def straight(synthgait_test_root, tmp_path_factory):
    """The uninterrupted run (in this process: the comparison is also across processes)."""
    out = tmp_path_factory.mktemp("straight") / "run"
    assert main(["--data", str(synthgait_test_root), "--out", str(out), *COMMON, "--steps", str(STEPS)]) == 0
    return out


def test_sigkill_then_resume_is_bit_for_bit(synthgait_test_root, straight, tmp_path):
    """`kill -9` mid-run, then `--resume`: the same weights as a run never interrupted."""
    out = tmp_path / "run"
    code, _ = stop_when(start(train_cmd(synthgait_test_root, out, "--steps", str(STEPS))),
                        out / "checkpoints" / "iter-0000004.pt", signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert 4 <= ckpt(out)["iteration"] < STEPS  # killed mid-run, after a periodic checkpoint
    proc = run(train_cmd(synthgait_test_root, out, "--steps", str(STEPS), "--resume"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_identical_runs(straight, out)


def test_sigterm_saves_the_last_iteration_and_resumes_bit_for_bit(synthgait_test_root, straight, tmp_path, capsys):
    """SIGTERM (like Ctrl-C) saves the last completed iteration, says so in one line, exits 130.
    (In this process: a watcher thread sends the signal once the first periodic checkpoint exists.)"""
    out = tmp_path / "run"
    argv = ["--data", str(synthgait_test_root), "--out", str(out), *COMMON, "--steps", str(STEPS)]

    done = threading.Event()

    def watch():
        while not (out / "checkpoints" / "iter-0000004.pt").exists():
            if done.wait(0.002):
                return
        os.kill(os.getpid(), signal.SIGTERM)

    # a signal that came late (after main() put this handler back) must not end pytest itself
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    capsys.readouterr()
    try:
        assert main(argv) == 130
    finally:
        done.set()
        watcher.join(timeout=5)
        signal.signal(signal.SIGTERM, previous)
    saved = ckpt(out)["iteration"]
    assert 4 <= saved < STEPS
    assert capsys.readouterr().err.strip() == (f"interrupted after iteration {saved}: checkpoint of iteration {saved} "
                                               f"saved in {out / 'checkpoints' / 'latest.pt'}; --resume continues "
                                               f"from it")
    assert main(argv + ["--resume"]) == 0
    assert_identical_runs(straight, out)


def test_nan_stops_with_one_line_and_a_finite_checkpoint(synthgait_test_root, tmp_path):
    """Landed main: `train --lr 1e6` wrote NaN into metrics.jsonl and every checkpoint, exit 0."""
    out = tmp_path / "run"
    proc = run(train_cmd(synthgait_test_root, out, "--steps", "8", "--lr", "1e6", "--ckpt-every", "1"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: training diverged: the loss is nan at iteration 2 (lr 1e+06); nothing non-finite was saved: "
        f"{out / 'checkpoints' / 'latest.pt'} (iteration 1) is the last finite checkpoint and the one --resume uses. "
        f"Lower --lr (or check the data) and start again"]
    state = ckpt(out)
    assert state["iteration"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert [p.name for p in sorted((out / "checkpoints").iterdir())] == ["iter-0000001.pt", "latest.pt"]

    def strict(token):
        raise AssertionError(f"non-strict JSON token {token} in metrics.jsonl")

    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line, parse_constant=strict)["iteration"] for line in lines] == [1]


# ------------------------------------------------------------------------------- bad data
def corrupt_copy(make_fake_dataset, root: Path) -> list[str]:
    """A fake dataset with five bad train files; returns their paths."""
    make_fake_dataset(root)
    bad = [root / "001/nm-01/000/000.pkl", root / "002/bg-01/090/090.pkl", root / "003/cl-02/180/180.pkl",
           root / "004/nm-06/000/000.pkl", root / "004/nm-02/090/090.pkl"]
    bad[0].write_bytes(bad[0].read_bytes()[:100])  # truncated
    bad[1].write_bytes(b"")  # empty
    write_sequence(bad[2], np.zeros((9, 100, 37), np.uint8))  # not an OpenGait frame size
    bad[3].write_bytes(__import__("pickle").dumps(np.zeros((9, 64, 64), np.float32)))  # float frames
    write_sequence(bad[4], np.zeros((9, 128, 128), np.uint8))  # loads, but the split is 64x64
    return sorted(str(p) for p in bad)


def test_validate_split_lists_every_bad_file_at_once(make_fake_dataset, tmp_path):
    bad = corrupt_copy(make_fake_dataset, tmp_path / "data")
    report = validate_split(tmp_path / "data", "train", progress=False)
    assert report.checked == 120 and [p for p, _ in report.problems] == bad
    what = dict(report.problems)
    assert "not a readable pickle" in what[bad[0]] and "float32" in what[bad[4]]
    assert what[bad[2]].startswith("frames are 100x37; expected OpenGait's square frames")
    assert what[bad[3]] == "frames of 128x128, but 115 of the 116 readable sequences have 64x64"
    assert validate_split(tmp_path / "data", "test", progress=False).ok  # the test split is intact
    # with a model input size: what GaitDataset(size=...) would refuse when it loads the file
    ok = make_fake_dataset(tmp_path / "ok")
    report = validate_files([ok / "001/nm-01/000/000.pkl"], size=(32, 20), progress=False)
    assert "not an exact k x k downscale of the model input 32x20" in report.problems[0][1]
    assert validate_files([ok / "001/nm-01/000/000.pkl"], size=(32, 22), progress=False).ok


def test_bad_data_is_refused_before_iteration_1_and_overwrite_keeps_the_old_run(
        make_fake_dataset, tmp_path, capsys):
    """Landed main: a corrupt .pkl crashed training mid-run with no checkpoint, and
    `--overwrite` had already deleted the previous run: neither was left."""
    good = make_fake_dataset(tmp_path / "good")
    bad = corrupt_copy(make_fake_dataset, tmp_path / "bad")
    out = tmp_path / "run"
    assert main(["--data", str(good), "--out", str(out), *COMMON, "--steps", "2"]) == 0
    before = ckpt(out)
    capsys.readouterr()
    assert main(["--data", str(tmp_path / "bad"), "--out", str(out), *COMMON, "--steps", "2", "--overwrite"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: 5 of 120 sequence files of the train split of {tmp_path / 'bad'} are unusable")
    assert [line.split(": ")[0].strip() for line in err[1:]] == bad
    after = ckpt(out)
    assert all(torch.equal(before["model"][k], after["model"][k]) for k in before["model"])
    assert [r["iteration"] for r in read_metrics(out)] == [1, 2]
    assert not (tmp_path / "fresh").exists()
    assert main(["--data", str(tmp_path / "bad"), "--out", str(tmp_path / "fresh"), *COMMON]) == 2
    assert not (tmp_path / "fresh").exists()  # nothing was created


# ------------------------------------------------------------------------------- one-line messages
@pytest.fixture
def finished_run(make_fake_dataset, tmp_path_factory):
    root = tmp_path_factory.getbasetemp() / "faults-data"
    if not root.exists():
        make_fake_dataset(root)
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(["--data", str(root), "--out", str(out), *COMMON, "--steps", "4"]) == 0
    return root, out


def one_line_error(capsys, argv, code=2) -> str:
    capsys.readouterr()
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_resume_from_a_truncated_latest_pt_names_it_and_the_periodic_files(finished_run, capsys):
    root, out = finished_run
    latest = out / "checkpoints" / "latest.pt"
    latest.write_bytes(latest.read_bytes()[:1000])  # what a full disk or a copy cut short leaves
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(out), *COMMON, "--steps", "6", "--resume"])
    assert msg == (f"error: cannot resume: {latest} (1,000 bytes) is not a readable checkpoint (truncated or corrupt); "
                   f"the periodic checkpoints are {out / 'checkpoints'}/iter-*.pt (newest: iter-0000004.pt); "
                   f"copy one over latest.pt to resume from it")
    assert "weights_only" not in msg


def test_resume_from_an_opengait_file_says_what_it_is(finished_run, capsys):
    from gaitgs_lib.config import get_config
    from gaitgs_lib.modeling.checkpoint import save_opengait
    from gaitgs_lib.modeling.gaitgs import GaitGS

    root, out = finished_run
    save_opengait(GaitGS(get_config("tiny")), out / "checkpoints" / "latest.pt")
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(out), *COMMON, "--steps", "6", "--resume"])
    assert "is an OpenGait checkpoint" in msg and "--resume continues only runs written by `train`" in msg


def test_resume_drops_a_half_written_metrics_line_with_a_warning(finished_run, capsys):
    root, out = finished_run
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"iteration": 5, "loss": 0.6')  # a kill in the middle of a write
    capsys.readouterr()
    assert main(["--data", str(root), "--out", str(out), *COMMON, "--steps", "6", "--resume"]) == 0
    assert capsys.readouterr().err.strip() == (f"warning: {out / 'metrics.jsonl'}: dropped a half-written last line "
                                               f"(left by a killed run)")
    assert [r["iteration"] for r in read_metrics(out)] == [1, 2, 3, 4, 5, 6]


def test_a_corrupt_metrics_line_in_the_middle_names_file_and_line(finished_run, capsys):
    root, out = finished_run
    lines = (out / "metrics.jsonl").read_text().splitlines()
    lines[1] = lines[1][:20]
    (out / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(out), *COMMON, "--steps", "6", "--resume"])
    assert msg.startswith(f"error: {out / 'metrics.jsonl'} line 2 is not JSON")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_cuda(finished_run, tmp_path, capsys):
    root, _ = finished_run
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(tmp_path / "r"), *COMMON, "--device", "cuda"])
    assert msg.startswith("error: --device cuda: CUDA is not available here")
    assert not (tmp_path / "r").exists()


def test_out_that_is_a_file(finished_run, tmp_path, capsys):
    root, _ = finished_run
    (tmp_path / "notes.txt").write_text("mine")
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(tmp_path / "notes.txt"), *COMMON])
    assert msg == (f"error: --out {tmp_path / 'notes.txt'} is a file, but a run needs a folder (created when "
                   f"missing); choose another --out")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_resume_with_other_data_is_refused(finished_run, make_fake_dataset, tmp_path, capsys):
    root, out = finished_run
    other = make_fake_dataset(tmp_path / "other", subjects=6, train=3)
    msg = one_line_error(capsys, ["--data", str(other), "--out", str(out), *COMMON, "--steps", "6", "--resume"])
    assert "is not the data" in msg and "train subjects 4 -> 3" in msg and "--allow-data-change" in msg


# ------------------------------------------------------------------------------- no run is lost
def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_overwrite_then_ctrl_c_or_an_error_before_the_first_scheduled_checkpoint_puts_the_old_run_back(
        finished_run, tmp_path):
    """Landed main: the interrupt's own checkpoint counted as the new run's first, so Ctrl-C
    after one iteration of `--overwrite` deleted the previous run."""
    from gaitgs_lib.training import TrainingInterrupted, train

    root, out = finished_run
    before, files = ckpt(out), listing(out)
    opts = dict(p=2, k=2, frames=8, log_every=1, ckpt_every=4, progress=False)

    def stop_at(iteration, exc):
        def callback(record):
            if record["iteration"] == iteration:
                raise exc
        return callback

    with pytest.raises(TrainingInterrupted, match=r"interrupted after iteration 2: the new run had not reached its "
                                                  r"first scheduled checkpoint \(iteration 4\), so the previous run "
                                                  r"was put back in .* and the new run's files were removed"):
        train("tiny", root, out, steps=6, overwrite=True, seed=5, callback=stop_at(2, KeyboardInterrupt()), **opts)
    assert listing(out) == files and all(torch.equal(ckpt(out)["model"][k], v) for k, v in before["model"].items())
    assert [r["iteration"] for r in read_metrics(out)] == [1, 2, 3, 4]
    with pytest.raises(RuntimeError, match="boom") as err:
        train("tiny", root, out, steps=6, overwrite=True, seed=5, callback=stop_at(2, RuntimeError("boom")), **opts)
    assert "the previous run was put back" in "".join(err.value.__notes__)
    assert listing(out) == files and ckpt(out)["iteration"] == 4
    # after the new run's first scheduled checkpoint (iteration 4), Ctrl-C keeps the new run
    with pytest.raises(TrainingInterrupted, match="interrupted after iteration 5: checkpoint of iteration 5 saved"):
        train("tiny", root, out, steps=6, overwrite=True, seed=5, callback=stop_at(5, KeyboardInterrupt()), **opts)
    assert ckpt(out)["iteration"] == 5 and not list(out.glob(".*"))


def test_a_second_train_into_the_same_out_is_refused(finished_run, capsys):
    """Landed main: two `train` runs into one --out both ran, overwriting each other's checkpoints."""
    from gaitgs_lib.training.run_dir import lock_run_folder

    root, out = finished_run
    before = listing(out)
    with lock_run_folder(out):  # what a running `train` holds
        for extra in (["--resume"], ["--overwrite"]):
            msg = one_line_error(capsys, ["--data", str(root), "--out", str(out), *COMMON, "--steps", "6", *extra])
            assert msg == (f"error: {out} is being written by another `train` (process {os.getpid()}, lock "
                           f"{out.parent / ('.' + out.name + '.lock')}); wait for it to finish, or choose another "
                           f"--out")
    assert listing(out) == before
    assert main(["--data", str(root), "--out", str(out), *COMMON, "--steps", "5", "--resume"]) == 0
    assert not (out.parent / f".{out.name}.lock").exists()  # released and removed


def test_two_train_processes_into_one_out(make_fake_dataset, tmp_path):
    """The lock between processes: the second `train` exits 2 with one line while the first runs."""
    root = make_fake_dataset(tmp_path / "data")
    out = tmp_path / "run"
    first = start(train_cmd(root, out, "--steps", "200"))
    try:
        deadline = time.monotonic() + 120
        while not (out / "metrics.jsonl").exists():
            assert first.poll() is None, first.stderr.read()[-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = run(train_cmd(root, out, "--steps", "3", "--overwrite"))
        assert second.returncode == 2
        assert second.stderr.strip() == (f"error: {out} is being written by another `train` (process {first.pid}, "
                                         f"lock {tmp_path / '.run.lock'}); wait for it to finish, or choose "
                                         f"another --out")
    finally:
        first.kill()
        first.communicate()


@pytest.mark.parametrize("steps, message", [
    ("0", "--steps must be at least 1 (the iteration to stop after), got 0"),
    ("-3", "--steps must be at least 1 (the iteration to stop after), got -3"),
    ("301", r"--steps 301 is past the end of the schedule (300 iterations, --total-iters); pass --total-iters 301"),
])
def test_steps_outside_the_schedule_are_refused_before_anything_is_touched(finished_run, tmp_path, capsys, steps,
                                                                          message):
    """Landed main: `--steps 0` exited 0 leaving a folder without a checkpoint (with --overwrite:
    the old run hidden in .replaced-PID/); `--steps 301` trained past the tiny schedule's end."""
    root, out = finished_run
    before = listing(out)
    for target, extra in ((out, ["--overwrite"]), (tmp_path / "new" / "run", [])):
        msg = one_line_error(capsys, ["--data", str(root), "--out", str(target), *COMMON, "--steps", steps, *extra])
        assert msg == f"error: {message}" or message in msg
    assert listing(out) == before and not (tmp_path / "new").exists()


def _kill_an_overwrite_before_its_first_checkpoint(root, out):
    proc = start(train_cmd(root, out, "--steps", "20", "--overwrite", "--ckpt-every", "10", "--seed", "9"))
    deadline = time.monotonic() + 120
    aside = out / f".replaced-{proc.pid}"
    while not (aside.is_dir() and (out / "metrics.jsonl").exists()
               and (out / "metrics.jsonl").read_text().count("\n") >= 1):  # the new run logged iteration 1
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.kill()
    proc.communicate()
    return proc.pid


def test_an_overwrite_killed_before_its_first_checkpoint_is_undone_by_the_next_train(finished_run, capsys):
    """Landed main: the old run stayed in a hidden .replaced-PID/ folder, never restored or mentioned."""
    root, out = finished_run
    before, files = ckpt(out), listing(out)
    pid = _kill_an_overwrite_before_its_first_checkpoint(root, out)
    assert (out / f".replaced-{pid}").is_dir()  # what kill -9 leaves
    capsys.readouterr()
    assert main(["--data", str(root), "--out", str(out), *COMMON, "--steps", "5", "--resume"]) == 0
    err = capsys.readouterr().err.strip()
    assert err == (f"warning: put back the run in {out} that an interrupted --overwrite (process {pid}) had moved "
                   f"aside to .replaced-{pid}/; the unfinished run that was to replace it had no scheduled "
                   f"checkpoint and was removed")
    after = ckpt(out)
    assert after["iteration"] == 5 and not list(out.glob(".replaced-*"))
    assert [r["iteration"] for r in read_metrics(out)] == [1, 2, 3, 4, 5]
    assert json.loads((out / "config.json").read_text())["train_config"]["seed"] == before["train_config"]["seed"]
    assert listing(out) == files  # the same files, one more iteration in them


@pytest.fixture
def small_disk(tmp_path):
    """`small_disk(size)` -> a folder on a tmpfs of that size (skips where mounting is not allowed)."""
    mounted = []

    def mount(size: str) -> Path:
        folder = tmp_path / f"disk-{size}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); "
                        f"test_a_checkpoint_write_error_without_a_small_disk covers the logic")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], capture_output=True)


def test_a_full_disk_is_one_line_and_leaves_no_half_made_run(make_fake_dataset, tmp_path, small_disk, capsys):
    """Landed main: torch's RuntimeError on ENOSPC escaped as a traceback, left a run folder
    without a checkpoint, and during --overwrite kept the old run hidden in .replaced-PID/.
    A checkpoint of the tiny preset is 2 MB; a periodic one needs two (latest.pt and iter-*.pt)."""
    root = make_fake_dataset(tmp_path / "data")
    # 1. a new run on a disk too small for one checkpoint: nothing is left
    disk = small_disk("1m")
    out = disk / "run"
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(out), *COMMON, "--steps", "2"])
    assert msg.startswith(f"error: cannot write the checkpoint of iteration 2 into {out / 'checkpoints'}: the disk "
                          f"holding {out / 'checkpoints'} is full (")
    assert msg.endswith("the run had no checkpoint, so its files were removed")
    assert listing(disk) == []
    # 2. --overwrite whose first scheduled checkpoint does not fit: the old run is put back
    disk = small_disk("3m")
    out = disk / "run"
    assert main(["--data", str(root), "--out", str(out), *COMMON, "--steps", "1"]) == 0  # 2 MB: fits
    before, files = ckpt(out), listing(out)
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(out), *COMMON, "--steps", "4", "--overwrite"])
    assert msg.startswith(f"error: cannot write the checkpoint of iteration 4 into {out / 'checkpoints'}: the disk ")
    assert msg.endswith(f"so the previous run was put back in {out} and the new run's files were removed")
    assert listing(disk) == ["run", *[f"run/{f}" for f in files]] and ckpt(out)["iteration"] == before["iteration"]
    # 3. a run that has checkpoints keeps its last one
    disk = small_disk("5m")
    out = disk / "run"
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(out), *COMMON, "--steps", "3",
                                  "--ckpt-every", "1"])
    assert msg.startswith(f"error: cannot write the checkpoint of iteration 2 into {out / 'checkpoints'}: the disk ")
    assert msg.endswith(f"{out / 'checkpoints' / 'latest.pt'} (iteration 1) is unchanged")
    assert listing(out) == ["checkpoints", "checkpoints/iter-0000001.pt", "checkpoints/latest.pt", "config.json",
                            "metrics.jsonl"] and ckpt(out)["iteration"] == 1
    assert main(["--data", str(root), "--out", str(out), *COMMON, "--steps", "2", "--resume"]) == 2  # still full


def test_a_checkpoint_write_error_without_a_small_disk(make_fake_dataset, tmp_path, monkeypatch, capsys):
    """The same as a full disk, where no tmpfs can be mounted: torch.save's writes fail with ENOSPC."""
    import errno

    from gaitgs_lib import fileio

    root = make_fake_dataset(tmp_path / "data")
    out = tmp_path / "run"
    assert main(["--data", str(root), "--out", str(out), *COMMON, "--steps", "1"]) == 0
    files = listing(out)

    def full(self, data):
        self.error = OSError(errno.ENOSPC, "No space left on device")
        raise self.error

    monkeypatch.setattr(fileio._RecordingWriter, "write", full)
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(out), *COMMON, "--steps", "4", "--overwrite"])
    assert msg.startswith(f"error: cannot write the checkpoint of iteration 4 into {out / 'checkpoints'}: the disk "
                          f"holding {out / 'checkpoints'} is full (")
    assert "previous run was put back" in msg and listing(out) == files


# ------------------------------------------------------------------------------- resume says what happens
def test_resume_refuses_or_says_what_it_would_silently_ignore(finished_run, tmp_path, capsys):
    """Landed main: `--resume --preset small` continued with the saved preset; `--resume` of a
    finished run or with a --steps already reached exited 0 silently and recorded a "resume"."""
    root, out = finished_run  # tiny, iteration 4 of 300
    history = json.loads((out / "config.json").read_text())["history"]
    latest = out / "checkpoints" / "latest.pt"
    stamp = latest.stat().st_mtime_ns
    base = ["--data", str(root), "--out", str(out), *COMMON, "--resume"]
    assert one_line_error(capsys, base + ["--preset", "small"]) == (
        f"error: cannot resume {out} with --preset small: the run was started with --preset tiny; leave --preset "
        f"out (or start afresh with --overwrite)")
    assert "past the end of the schedule" in one_line_error(capsys, base + ["--steps", "301"])
    for steps in ("3", "4"):  # nothing left to train: said in one line, exit 0, nothing changed
        capsys.readouterr()
        assert main(base + ["--steps", steps]) == 0
        out_text, err = capsys.readouterr()
        assert out_text == "" and err == (
            f"nothing to train: {out} is already at iteration 4, at or past --steps {steps}; its checkpoint is "
            f"unchanged and no resume was recorded (pass a --steps above 4, at most 300, to train on)\n")
    done = tmp_path / "done"
    assert main(["--data", str(root), "--out", str(done), *COMMON, "--total-iters", "3"]) == 0
    done_history = json.loads((done / "config.json").read_text())["history"]
    capsys.readouterr()
    assert main(["--data", str(root), "--out", str(done), *COMMON, "--resume"]) == 0
    assert capsys.readouterr().err == (
        f"nothing to train: {done} is finished (iteration 3 of 3); its checkpoint is unchanged and no resume was "
        f"recorded (--total-iters cannot change on resume: start a longer run with --overwrite)\n")
    assert json.loads((out / "config.json").read_text())["history"] == history  # no "resume" recorded
    assert json.loads((done / "config.json").read_text())["history"] == done_history
    assert latest.stat().st_mtime_ns == stamp
    assert main(base + ["--preset", "tiny", "--steps", "5"]) == 0  # the run's own preset is fine
    assert [e["event"] for e in json.loads((out / "config.json").read_text())["history"]] == ["start", "resume"]


def test_resume_from_non_finite_weights_is_refused(finished_run, capsys):
    """Landed main: the run diverged at once and called the NaN file "the last finite checkpoint"."""
    root, out = finished_run
    latest = out / "checkpoints" / "latest.pt"
    state = ckpt(out)
    name = next(k for k, v in state["model"].items() if v.is_floating_point())
    state["model"][name] = torch.full_like(state["model"][name], float("nan"))
    torch.save(state, latest)
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(out), *COMMON, "--steps", "6", "--resume"])
    assert msg.startswith(f"error: cannot resume: {latest} holds 1 non-finite tensor(s) (NaN or inf, e.g. "
                          f"model.{name}), which `train` never saves; the periodic checkpoints are ")
    assert "last finite" not in msg


@pytest.mark.parametrize("option, value", [("--margin", "-0.1"), ("--margin", "nan"), ("--lr", "0"),
                                           ("--weight-decay", "-1")])
def test_a_meaningless_recipe_is_refused(finished_run, tmp_path, capsys, option, value):
    """Landed main: a negative --margin silently turned the triplet loss off."""
    root, _ = finished_run
    msg = one_line_error(capsys, ["--data", str(root), "--out", str(tmp_path / "r"), *COMMON, option, value])
    field = option[2:].replace("-", "_")
    assert msg.startswith(f"error: TrainConfig.{field} must be ") and not (tmp_path / "r").exists()
