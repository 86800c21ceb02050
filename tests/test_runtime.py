"""GAITGS_QUICK and GAITGS_DATA: one switch each for the whole series."""
import json

import pytest

from gaitgs_lib.notebook import setup_notebook
from gaitgs_lib.runtime import data_choice, quick_mode


def test_quick_mode_follows_the_variable(monkeypatch):
    monkeypatch.setenv("GAITGS_QUICK", "0")
    assert quick_mode() is False
    monkeypatch.setenv("GAITGS_QUICK", "1")
    assert quick_mode() is True


def test_data_defaults_to_synthgait_by_mode(monkeypatch):
    monkeypatch.delenv("GAITGS_DATA", raising=False)
    assert data_choice(quick=True).name == "synthgait-mini"
    assert data_choice(quick=False).synthgait_preset == "b"


def test_data_names_a_synthgait_preset(monkeypatch):
    monkeypatch.setenv("GAITGS_DATA", "synthgait-b")
    choice = data_choice(quick=True)
    assert choice.is_synthgait and choice.synthgait_preset == "b"


def test_data_folder_must_exist_and_hold_a_partition(monkeypatch, tmp_path):
    monkeypatch.setenv("GAITGS_DATA", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="no such folder"):
        data_choice()
    monkeypatch.setenv("GAITGS_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="partition.json is missing"):
        data_choice()
    (tmp_path / "partition.json").write_text(json.dumps({"TRAIN_SET": ["001"], "TEST_SET": ["002"]}))
    choice = data_choice()
    assert not choice.is_synthgait and choice.folder == tmp_path


def test_setup_notebook_reports_the_data_and_returns_a_relative_folder(monkeypatch, tmp_path, capsys):
    (tmp_path / "partition.json").write_text(json.dumps({"TRAIN_SET": ["001"], "TEST_SET": ["002"]}))
    monkeypatch.setenv("GAITGS_DATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    setup = setup_notebook()
    assert "set GAITGS_DATA to change" in capsys.readouterr().out
    assert not setup.is_synthgait
    assert setup.data().resolve() == tmp_path.resolve() and not setup.data().is_absolute()


def test_checkpoint_is_tiny_in_quick_mode_and_the_synthgait_b_model_in_full_mode(monkeypatch, tmp_path):
    for name in ("notebooks", "gaitgs_lib", "data/checkpoints"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "data/checkpoints/tiny-synthgait-mini.pt").write_bytes(b"x")
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.delenv("GAITGS_DATA", raising=False)
    monkeypatch.setenv("GAITGS_QUICK", "1")
    assert setup_notebook(verbose=False).checkpoint().name == "tiny-synthgait-mini.pt"
    monkeypatch.setenv("GAITGS_QUICK", "0")
    assert setup_notebook(verbose=False).checkpoint().name == "tiny-synthgait-mini.pt"  # none trained on b yet
    (tmp_path / "data/checkpoints/paper-synthgait-b.pt").write_bytes(b"x" * 100)  # larger, but not the named one
    assert setup_notebook(verbose=False).checkpoint().name == "tiny-synthgait-mini.pt"
    (tmp_path / "data/checkpoints/small-32-synthgait-b.pt").write_bytes(b"x")
    chosen = setup_notebook(verbose=False).checkpoint()
    assert chosen.name == "small-32-synthgait-b.pt" and not chosen.is_absolute()


def test_the_checkpoints_the_notebooks_name_ship_with_the_repository():
    from pathlib import Path

    from gaitgs_lib.notebook import FULL_CHECKPOINT, QUICK_CHECKPOINT

    folder = Path(__file__).resolve().parents[1] / "data" / "checkpoints"
    for name in (QUICK_CHECKPOINT, FULL_CHECKPOINT):
        assert (folder / name).is_file(), f"setup.checkpoint() names {name}, which is not in data/checkpoints/"
