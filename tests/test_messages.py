"""One clear line for what a user gets wrong, across commands: a file where a folder is
expected, a dataset that is not there, a read-only filesystem, an output inside its input,
`assignments check --no-build` without a build, Ctrl-C while a command starts.

Each case quotes in its docstring what landed main said instead.
"""
import subprocess

import pytest
import torch

from conftest import write_fake_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_fake_dataset(tmp_path_factory.mktemp("msg") / "data")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from gaitgs_lib.config import get_config
    from gaitgs_lib.modeling.gaitgs import GaitGS

    cfg = get_config("tiny")
    path = tmp_path_factory.mktemp("msg-ckpt") / "tiny.pt"
    torch.save({"model": GaitGS(cfg).state_dict(), "config": cfg.to_dict(), "preset": "tiny", "iteration": 0}, path)
    return path


def one_line(capsys, main, argv, code) -> str:
    capsys.readouterr()
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_a_file_given_as_the_dataset_folder(data, checkpoint, tmp_path, capsys):
    """Landed main: "dataset root ... does not exist" (train, evaluate) and "[Errno 20] Not a
    directory: '.../meta.json'" (contact-sheet) for a file that exists."""
    from gaitgs_lib.evaluation import main as evaluate
    from gaitgs_lib.training import main as train
    from gaitgs_lib.viz.contact_sheet import main as contact_sheet

    archive = tmp_path / "data.zip"
    archive.write_bytes(b"PK")
    msg = one_line(capsys, train, ["--data", str(archive), "--out", str(tmp_path / "run"), "--no-progress"], 2)
    assert msg.startswith(f"error: dataset root {archive} is a file, not a folder")
    msg = one_line(capsys, evaluate, ["--checkpoint", str(checkpoint), "--data", str(archive), "--protocol",
                                      "casia-b", "--no-progress"], 2)
    assert msg.startswith(f"error: dataset root {archive} is a file, not a folder")
    msg = one_line(capsys, contact_sheet, ["--data", str(archive), "--out", str(tmp_path / "s.png")], 1)
    assert msg.startswith(f"error: dataset folder {archive} is a file, not a folder")
    assert not (tmp_path / "run").exists() and not (tmp_path / "s.png").exists()


def test_contact_sheet_of_a_missing_dataset(tmp_path, capsys):
    """Landed main: "<data>/meta.json: not a SynthGait dataset (no meta.json)" for a folder that does not exist."""
    from gaitgs_lib.viz.contact_sheet import main as contact_sheet

    msg = one_line(capsys, contact_sheet, ["--data", str(tmp_path / "synthgait-nope"), "--out",
                                           str(tmp_path / "s.png")], 1)
    assert msg == (f"error: dataset folder {tmp_path / 'synthgait-nope'} does not exist; --data takes a SynthGait "
                   f"dataset folder (python -m gaitgs_lib synth)")


@pytest.mark.parametrize("inside", [".", "runs/first"])
def test_train_out_inside_the_dataset_is_refused(data, capsys, inside):
    """Landed main: `train --out DATASET` wrote config.json, metrics.jsonl and checkpoints/ into the dataset."""
    from gaitgs_lib.training import main as train

    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    out = data / inside
    msg = one_line(capsys, train, ["--data", str(data), "--out", str(out), "--no-progress", "--overwrite"], 2)
    assert msg == (f"error: --out {out} is inside --data {data}: a run folder there would be mixed with the dataset's "
                   f"sequence folders; choose an --out outside the dataset")
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before


@pytest.fixture
def read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr.strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], capture_output=True)


def test_a_read_only_filesystem_is_named(data, checkpoint, tmp_path, read_only_folder, capsys, monkeypatch):
    """Landed main: `evaluate --out` said "permission denied" on a read-only filesystem (root
    included), `train` only after loading the data, naming whichever file it tried first."""
    from gaitgs_lib.data.pretreat import main as pretreat
    from gaitgs_lib.evaluation import cli as evaluate_cli
    from gaitgs_lib.training import main as train
    from gaitgs_lib.viz.contact_sheet import main as contact_sheet

    ro = read_only_folder
    monkeypatch.setattr(evaluate_cli, "extract_embeddings", lambda *a, **k: pytest.fail("evaluated before checking"))
    msg = one_line(capsys, evaluate_cli.main, ["--checkpoint", str(checkpoint), "--data", str(data), "--protocol",
                                               "casia-b", "--out", str(ro / "r.json")], 2)
    assert msg == f"error: --out {ro / 'r.json'}: {ro} is on a read-only filesystem; choose another place"
    msg = one_line(capsys, train, ["--data", str(data), "--out", str(ro / "runs" / "a"), "--no-progress"], 2)
    assert msg == (f"error: cannot write the run folder --out {ro / 'runs' / 'a'}: {ro} is on a read-only "
                   f"filesystem; choose another --out")
    msg = one_line(capsys, contact_sheet, ["--data", str(data), "--out", str(ro / "s.png")], 1)
    assert msg == f"error: cannot write --out {ro / 's.png'}: {ro} is on a read-only filesystem"
    raw = tmp_path / "raw" / "001" / "nm-01" / "000"
    raw.mkdir(parents=True)
    capsys.readouterr()
    assert pretreat([str(tmp_path / "raw"), str(ro / "out")]) == 1
    assert capsys.readouterr().err == (f"error: cannot write into the output folder {ro / 'out'} ({ro} is on a "
                                       f"read-only filesystem); choose a folder you can write to\n")


def test_assignments_check_no_build_without_a_build(tmp_path, capsys):
    """Landed main: a FileNotFoundError traceback for a missing --out, and for a file as --out."""
    from gaitgs_lib.course.cli import main as assignments

    (tmp_path / "notes.txt").write_text("x")
    for out, what in ((tmp_path / "dist", "does not exist"), (tmp_path / "notes.txt", "is a file, not a folder")):
        msg = one_line(capsys, assignments, ["check", "--no-build", "--out", str(out)], 2)
        assert msg.startswith(f"error: --out {out} {what}: --no-build checks the assignments already built there")
    (tmp_path / "empty").mkdir()
    msg = one_line(capsys, assignments, ["check", "--no-build", "--out", str(tmp_path / "empty"),
                                         "--only", "01_uta"], 2)
    assert "01_uta.ipynb is missing: build 01_uta first" in msg


def test_ctrl_c_while_a_command_starts(monkeypatch, capsys):
    """Landed main: Ctrl-C during the imports of a command printed a KeyboardInterrupt traceback."""
    import gaitgs_lib.__main__ as cli

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "import_module", interrupted)
    assert cli.main(["train", "--help"]) == 130
    assert capsys.readouterr().err == "interrupted: train stopped\n"


def test_train_without_a_place_for_its_lock(data, tmp_path, capsys, monkeypatch):
    """The run folder is writable but the folder above it is not: one line naming the lock file."""
    import os

    from gaitgs_lib.training import main as train
    from gaitgs_lib.training import run_dir

    real_open = os.open

    def no_lock(path, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(run_dir.os, "open", no_lock)
    out = tmp_path / "runs" / "a"
    msg = one_line(capsys, train, ["--data", str(data), "--out", str(out), "--no-progress"], 2)
    assert msg == (f"error: cannot create the lock file {tmp_path / 'runs' / '.a.lock'} beside the run folder "
                   f"(Permission denied); `train` needs to write there too: choose another --out")
    assert not out.exists()


def test_evaluate_out_that_is_an_input_is_refused(data, checkpoint, tmp_path, capsys, monkeypatch):
    """Landed main: `evaluate --out CHECKPOINT` replaced the model with the result JSON, and
    `--out DATA/r.json` wrote into the dataset."""
    from gaitgs_lib.evaluation import cli as evaluate_cli

    monkeypatch.setattr(evaluate_cli, "extract_embeddings", lambda *a, **k: pytest.fail("evaluated before checking"))
    before = checkpoint.read_bytes()
    base = ["--checkpoint", str(checkpoint), "--data", str(data), "--protocol", "casia-b", "--no-progress"]
    msg = one_line(capsys, evaluate_cli.main, base + ["--out", str(checkpoint)], 2)
    assert msg == (f"error: --out {checkpoint} is the --checkpoint: the result would replace the model; "
                   f"choose another file")
    msg = one_line(capsys, evaluate_cli.main, base + ["--out", str(data / "r.json")], 2)
    assert msg.startswith(f"error: --out {data / 'r.json'} is inside --data {data}")
    assert checkpoint.read_bytes() == before and not (data / "r.json").exists()


def test_a_sequence_path_that_is_not_a_file(tmp_path):
    """Landed main: "sequence file ... does not exist" for a FIFO or a folder that does exist."""
    import os

    from gaitgs_lib.data.io import read_sequence

    fifo = tmp_path / "090.pkl"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="expected a sequence file \\(.pkl\\), found not a regular file"):
        read_sequence(fifo)
    with pytest.raises(ValueError, match="found a folder"):
        read_sequence(tmp_path)


def test_assignments_build_into_a_file(tmp_path, capsys):
    """Landed main: a FileExistsError traceback from `out.mkdir` for `assignments build --out FILE`."""
    from gaitgs_lib.course.cli import main as assignments

    (tmp_path / "notes.txt").write_text("x")
    for command in ("build", "check"):
        msg = one_line(capsys, assignments, [command, "--out", str(tmp_path / "notes.txt"), "--only", "01_uta",
                                             "--package", "none"], 2)
        assert msg == f"error: --out {tmp_path / 'notes.txt'} is a file, not a folder; choose another --out"
    assert (tmp_path / "notes.txt").read_text() == "x"
