"""data/io.py: OpenGait .pkl sequences, round trip and the errors that name the file."""
import os
import pickle

import numpy as np
import pytest

from gaitgs_lib.data.io import read_sequence, write_sequence


def _seq(t=3, h=4, w=5):
    return (np.arange(t * h * w) % 256).astype(np.uint8).reshape(t, h, w)


def test_round_trip_creates_folders(tmp_path):
    arr = _seq()
    path = write_sequence(tmp_path / "001" / "nm-01" / "090" / "090.pkl", arr)
    back = read_sequence(path)
    assert back.dtype == np.uint8 and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, arr)
    assert sorted(os.listdir(path.parent)) == ["090.pkl"]  # no temp file left behind


def test_written_file_is_a_plain_pickle_as_opengait_writes(tmp_path):
    arr = _seq()
    path = write_sequence(tmp_path / "a.pkl", arr)
    raw = path.read_bytes()
    assert raw == pickle.dumps(arr, protocol=4)
    with open(path, "rb") as f:  # what OpenGait's loader does
        np.testing.assert_array_equal(pickle.load(f), arr)


def test_reads_a_file_written_by_plain_pickle_dump(tmp_path):
    arr = _seq(2, 64, 64)
    path = tmp_path / "x.pkl"
    with open(path, "wb") as f:
        pickle.dump(arr, f)
    np.testing.assert_array_equal(read_sequence(path), arr)


def test_write_replaces_existing_file(tmp_path):
    path = tmp_path / "s.pkl"
    write_sequence(path, _seq(2))
    write_sequence(path, _seq(5))
    assert read_sequence(path).shape[0] == 5


@pytest.mark.parametrize(
    "obj, message",
    [
        ([1, 2, 3], "found list"),
        (np.zeros((4, 64), np.uint8), r"found shape \(4, 64\)"),
        (np.zeros((2, 4, 4), np.float32), "found float32"),
        (np.zeros((2, 4, 4), bool), "found bool"),
        (np.zeros((0, 4, 4), np.uint8), "zero frames"),
    ],
)
def test_bad_content_is_named(tmp_path, obj, message):
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(obj))
    with pytest.raises(ValueError, match=message) as err:
        read_sequence(path)
    assert str(path) in str(err.value)


def test_truncated_and_garbage_files(tmp_path):
    good = pickle.dumps(_seq(4, 8, 8))
    for name, data in [("trunc.pkl", good[: len(good) // 2]), ("junk.pkl", b"not a pickle at all"),
                       ("empty.pkl", b"")]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match="not a readable pickle") as err:
            read_sequence(path)
        assert name in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        read_sequence(tmp_path / "nope.pkl")


def test_write_rejects_wrong_arrays(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_sequence(tmp_path / "f.pkl", np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="non-empty"):
        write_sequence(tmp_path / "f.pkl", np.zeros((0, 4, 4), np.uint8))
    assert not (tmp_path / "f.pkl").exists()
