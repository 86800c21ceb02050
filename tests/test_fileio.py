import os
import stat

import pytest

from gaitgs_lib.fileio import atomic_open


def test_atomic_open_replaces_the_file_only_on_success(tmp_path):
    path = tmp_path / "sub" / "result.json"
    with atomic_open(path, "w") as f:
        f.write("first")
    assert path.read_text() == "first"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    with pytest.raises(RuntimeError):
        with atomic_open(path, "w") as f:
            f.write("half a fi")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "first", "a failed write must leave the old file untouched"
    assert sorted(p.name for p in path.parent.iterdir()) == ["result.json"], "no temporary left behind"


def test_atomic_open_refuses_append_and_read_modes(tmp_path):
    with pytest.raises(ValueError, match="mode must be"):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_read_torch_file_names_what_and_where(tmp_path):
    from gaitgs_lib.fileio import read_torch_file

    with pytest.raises(FileNotFoundError, match="OpenGait checkpoint not found: .*missing.pt"):
        read_torch_file(tmp_path / "missing.pt", "OpenGait checkpoint")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot read checkpoint .*bad.pt"):
        read_torch_file(bad)


def _message(path, what="checkpoint"):
    from gaitgs_lib.fileio import read_torch_file

    with pytest.raises(ValueError) as info:
        read_torch_file(path, what)
    message = str(info.value)
    assert "\n" not in message and "weights_only" not in message, message  # one line, no torch advice
    return message


class _Payload:
    """Pickled, it makes the reader run `touch MARKER` (os.system)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_checkpoint_that_would_run_code_names_the_refused_global(tmp_path):
    """Landed main: refused (never run), but named "not ... loaded safely (UnpicklingError)" by
    read_torch_file and "truncated or corrupt" by --resume and export_checkpoint's traceback."""
    import torch

    from gaitgs_lib.training import export_checkpoint
    from gaitgs_lib.training.checkpoints import read_training_checkpoint
    from gaitgs_lib.training.errors import TrainingError

    marker = tmp_path / "marker"
    evil = tmp_path / "checkpoints" / "latest.pt"
    evil.parent.mkdir()
    torch.save({"model": {"w": torch.ones(2)}, "extra": _Payload(marker)}, evil)
    refused = f"{os.system.__module__}.system"
    assert _message(evil) == (f"cannot read checkpoint {evil}: it holds Python objects other than tensors (it names "
                              f"{refused}), which are refused, never run: save only tensors, numbers and plain "
                              f"containers (e.g. a state_dict)")
    with pytest.raises(TrainingError, match=f"cannot resume: {evil}: it holds Python objects other than tensors "
                                            f"\\(it names {refused}\\)") as err:
        read_training_checkpoint(evil)
    assert "truncated" not in str(err.value)
    with pytest.raises(ValueError, match=f"it names {refused}"):
        export_checkpoint(evil, tmp_path / "small.pt")
    assert not marker.exists() and not (tmp_path / "small.pt").exists()


def test_read_torch_file_explains_bad_checkpoints_in_one_line(tmp_path):
    """Each of these made torch print a traceback suggesting weights_only=False."""
    import collections

    import numpy as np
    import torch

    from gaitgs_lib.fileio import read_torch_file

    text = tmp_path / "notes.pt"
    text.write_text("weights are on the other disk\n")
    assert "notes.pt: it is a text file, not a PyTorch checkpoint (it starts with 'weights are on" in _message(text)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    assert "empty.pt: the file is empty (0 bytes)" in _message(empty)
    good = tmp_path / "good.pt"
    torch.save({"model": collections.OrderedDict(w=torch.ones(2)), "iteration": 3}, good)
    assert read_torch_file(good)["iteration"] == 3
    half = tmp_path / "half.pt"
    half.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert "half.pt: the file is truncated or corrupt" in _message(half, "latest checkpoint")
    objects = tmp_path / "objects.pt"
    torch.save({"step": np.float64(1.0)}, objects)
    assert "holds Python objects other than tensors (it names numpy" in _message(objects)
    assert "it is a folder" in _message(tmp_path)
    binary = tmp_path / "image.pt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert "not a PyTorch checkpoint (unknown format" in _message(binary)


def test_our_checkpoint_format_is_defined_once_for_the_writer_and_the_reader(tmp_path):
    import torch

    from gaitgs_lib import fileio
    from gaitgs_lib.training import checkpoints

    assert checkpoints.CHECKPOINT_FORMAT == fileio.CHECKPOINT_FORMAT  # the trainer re-exports fileio's
    ours = {"format": fileio.CHECKPOINT_FORMAT, "model": {"w": torch.ones(2, dtype=torch.float16),
                                                           "n": torch.tensor(3)},
            "config": {"name": "tiny"}, "preset": "tiny", "iteration": 7, "optimizer": {"state": {}},
            "scheduler": {}, "sampler": {}, "rng": {}, "train_config": {}}
    assert fileio.is_gaitgs_checkpoint(ours) and fileio.missing_resume_state(ours) == []
    assert not fileio.is_gaitgs_checkpoint({"model": {}, "iteration": 0})  # the authors' OpenGait layout
    assert not fileio.is_gaitgs_checkpoint([1, 2])
    shipped = fileio.shipped_checkpoint(ours)
    assert set(shipped) == {"format", "model", "config", "preset", "iteration", "train_config"}
    assert shipped["model"]["w"].dtype == torch.float32 and shipped["model"]["n"].dtype == torch.int64
    assert fileio.missing_resume_state(shipped) == ["optimizer", "scheduler", "sampler", "rng"]
    path = fileio.write_checkpoint(shipped, tmp_path / "sub" / "ship.pt")
    assert fileio.read_checkpoint(path)["iteration"] == 7
    fileio.write_checkpoint([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match=r"list.pt holds a list, not a checkpoint"):
        fileio.read_checkpoint(tmp_path / "list.pt")
