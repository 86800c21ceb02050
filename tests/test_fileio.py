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
