"""A dataset file is data, never code: every command that reads sequences refuses a `.pkl`
that names anything but what a numpy array needs, and the code it names never runs.

Each case plants one `.pkl` whose `__reduce__` creates a marker file and then returns a
valid uint8 `[T, 64, 64]` sequence (`conftest.malicious_pickle`). Landed main read sequence
files with `pickle.load`: the marker appeared and `train`, `evaluate` and `contact-sheet`
exited 0 with no sign of it.
"""
import shutil

import pytest
import torch

from conftest import malicious_pickle, write_fake_dataset

REFUSED = "refused to load: the pickle names builtins.eval, which is not part of a numpy array"


@pytest.fixture(scope="module")
def clean_data(tmp_path_factory):
    return write_fake_dataset(tmp_path_factory.mktemp("clean") / "data")


def planted(clean, tmp_path, sequence: str):
    """A copy of the fake dataset with `sequence` (sid/type/view) replaced by the payload."""
    root = tmp_path / "data"
    shutil.copytree(clean, root)
    view = sequence.split("/")[-1]
    bad = root / sequence / f"{view}.pkl"
    bad.write_bytes(malicious_pickle(tmp_path / "marker"))
    return root, bad


def test_the_dataset_reader_refuses_it(clean_data, tmp_path):
    from gaitgs_lib.data.dataset import GaitDataset

    root, bad = planted(clean_data, tmp_path, "002/bg-01/090")
    ds = GaitDataset(root, split="train", cache=False)
    index = next(i for i, info in enumerate(ds.infos) if str(info.path) == str(bad))
    with pytest.raises(ValueError, match=REFUSED) as err:
        ds[index]
    assert str(bad) in str(err.value)
    assert not (tmp_path / "marker").exists()


def test_train_refuses_it_before_iteration_1(clean_data, tmp_path, capsys):
    from gaitgs_lib.training import main

    root, bad = planted(clean_data, tmp_path, "003/nm-02/000")
    out = tmp_path / "run"
    assert main(["--data", str(root), "--out", str(out), "--p", "2", "--k", "2", "--frames", "8", "--steps", "1",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: 1 of 120 sequence files of the train split of {root} are unusable")
    assert err[1].strip().startswith(f"{bad}: ") and REFUSED in err[1]
    assert not (tmp_path / "marker").exists() and not out.exists()


def test_evaluate_refuses_it(clean_data, tmp_path, capsys):
    from gaitgs_lib.config import get_config
    from gaitgs_lib.evaluation import main
    from gaitgs_lib.modeling.gaitgs import GaitGS

    root, bad = planted(clean_data, tmp_path, "005/cl-01/180")  # a test subject
    cfg = get_config("tiny")
    checkpoint = tmp_path / "tiny.pt"
    torch.save({"model": GaitGS(cfg).state_dict(), "config": cfg.to_dict(), "preset": "tiny", "iteration": 0},
               checkpoint)
    for workers in ("0", "1"):
        status = main(["--checkpoint", str(checkpoint), "--data", str(root), "--protocol", "casia-b",
                       "--no-progress", "--workers", workers, "--out", str(tmp_path / "r.json")])
        printed, err = capsys.readouterr()
        assert status == 2 and printed == "" and err.count("\n") == 1, (workers, err)
        assert str(bad) in err and REFUSED in err
        assert not (tmp_path / "marker").exists() and not (tmp_path / "r.json").exists()


@pytest.mark.slow  # generates a small SynthGait dataset
def test_contact_sheet_refuses_it(tmp_path, capsys):
    from gaitgs_lib.synthgait import generate
    from gaitgs_lib.viz.contact_sheet import main

    data = generate("test", tmp_path / "sg", seed=0, subjects=2, progress=False, workers=1)
    bad = data / "001" / "bg-01" / "090" / "090.pkl"
    bad.write_bytes(malicious_pickle(tmp_path / "marker"))
    png = tmp_path / "sheet.png"
    assert main(["--data", str(data), "--subject", "001", "--out", str(png)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {bad}: {REFUSED}")
    assert not (tmp_path / "marker").exists() and not png.exists()
