"""data/io.py: OpenGait .pkl sequences, round trip and the errors that name the file."""
import io
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import malicious_pickle
from gaitgs_lib.data.io import read_array_pickle, read_sequence, write_sequence

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "numpy1"


def _seq(t=3, h=4, w=5):
    return (np.arange(t * h * w) % 256).astype(np.uint8).reshape(t, h, w)


def test_round_trip_creates_folders(tmp_path):
    arr = _seq()
    path = write_sequence(tmp_path / "001" / "nm-01" / "090" / "090.pkl", arr)
    back = read_sequence(path)
    assert back.dtype == np.uint8 and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, arr)
    assert sorted(os.listdir(path.parent)) == ["090.pkl"]  # no temp file left behind


def _globals(raw: bytes) -> set:
    """(module, name) of every class or function a pickle makes its reader import."""
    seen = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            seen.add((module, name))
            return super().find_class(module, name)

    Recorder(io.BytesIO(raw)).load()
    return seen


def test_written_file_is_a_plain_numpy_pickle(tmp_path):
    arr = np.asfortranarray(_seq(3, 7, 6))[:, ::-1, :]          # not C-contiguous on purpose
    path = write_sequence(tmp_path / "a.pkl", arr)
    raw = path.read_bytes()
    assert raw[:2] == b"\x80\x04" and raw[-1:] == b"."          # protocol 4, one complete pickle
    # only numpy is needed to read it: no class of ours is referenced
    assert {module.split(".")[0] for module, _ in _globals(raw)} == {"numpy"}
    assert ("numpy", "ndarray") in _globals(raw) and ("numpy", "dtype") in _globals(raw)
    with open(path, "rb") as f:                                  # what OpenGait's loader does
        back = pickle.load(f)
        assert f.read() == b""                                   # nothing after the array
    assert type(back) is np.ndarray and back.dtype == np.uint8 and back.shape == (3, 7, 6)
    assert back.flags.c_contiguous
    np.testing.assert_array_equal(back, arr)
    assert back[1, 0, 2] == arr[1, 0, 2] == _seq(3, 7, 6)[1, 6, 2]


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_reads_opengaits_files(tmp_path, protocol):
    # OpenGait's pretreatment stacks the kept frames with np.asarray and pickle.dump()s the array
    frames = [np.full((64, 64), 255 * (i % 2), np.uint8) for i in range(6)]
    frames[2][10:20, 5:9] = 128
    path = tmp_path / "x.pkl"
    with open(path, "wb") as f:
        pickle.dump(np.asarray(frames), f, protocol=protocol)
    back = read_sequence(path)
    assert back.shape == (6, 64, 64) and back.dtype == np.uint8
    np.testing.assert_array_equal(back, np.stack(frames))
    assert back[2, 15, 6] == 128 and back[1].min() == 255 and back[0].max() == 0


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


def test_a_pickle_from_a_newer_numpy_is_named(tmp_path, monkeypatch):
    """numpy < 1.26 cannot import numpy._core, which numpy 2's pickles refer to: say so, not "corrupt"."""
    path = write_sequence(tmp_path / "new.pkl", _seq(3, 8, 8))
    if b"numpy._core.multiarray" not in path.read_bytes():
        pytest.skip(f"numpy {np.__version__} writes numpy.core, not numpy._core")
    monkeypatch.setitem(sys.modules, "numpy._core.multiarray", None)  # as if numpy._core did not exist
    with pytest.raises(ValueError, match=r"written with numpy >= 2 .* install numpy 1.26 or newer") as err:
        read_sequence(path)
    assert str(path) in str(err.value)
    other = tmp_path / "other.pkl"
    other.write_bytes(b"cno_such_module_here\nthing\n.")  # a pickle of a global from a missing module
    with pytest.raises(ValueError, match="refused to load: the pickle names no_such_module_here.thing"):
        read_sequence(other)


def test_numpy_1_pickles_load():
    """Files written by numpy 1.26.4 (`numpy.core.*` names; tests/fixtures/README.md) with
    pickle protocols 2-5, as OpenGait's pretreatment under numpy 1.x writes them."""
    expected = ((np.arange(2 * 6 * 5) * 37) % 256).astype(np.uint8).reshape(2, 6, 5)
    for protocol in (2, 3, 4, 5):
        path = FIXTURES / f"numpy1-uint8-p{protocol}.pkl"
        assert (b"numpy.core." in path.read_bytes()) and b"numpy._core" not in path.read_bytes()
        back = read_sequence(path)
        assert back.dtype == np.uint8 and back.flags.writeable
        np.testing.assert_array_equal(back, expected)
    floats = read_array_pickle(FIXTURES / "numpy1-float32-p4.pkl")
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats, expected.astype(np.float32) / 255)
    frames = read_array_pickle(FIXTURES / "numpy1-list-p4.pkl")  # a list of frames, as OpenGait also stores
    assert isinstance(frames, list) and len(frames) == 2
    np.testing.assert_array_equal(np.stack(frames), expected)
    empty = read_array_pickle(FIXTURES / "numpy1-empty-p2.pkl")  # protocol 2 names __builtin__.bytes here
    assert empty.shape == (0, 6, 5)
    with pytest.raises(ValueError, match="zero frames"):
        read_sequence(FIXTURES / "numpy1-empty-p2.pkl")


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64, bool, np.int64])
@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_every_numpy_pickle_of_this_numpy_loads(tmp_path, dtype, protocol):
    arr = (np.arange(60) % 7).astype(dtype).reshape(3, 4, 5)
    path = tmp_path / "a.pkl"
    path.write_bytes(pickle.dumps([arr, arr[:0], np.float32(2.5), {"t": (1, "x")}], protocol=protocol))
    back = read_array_pickle(path)
    np.testing.assert_array_equal(back[0], arr)
    assert back[0].dtype == arr.dtype and back[1].shape == (0, 4, 5) and back[2] == np.float32(2.5)
    assert back[3] == {"t": (1, "x")}


@pytest.mark.parametrize("payload, refused", [
    ("eval", "builtins.eval"),                        # runs, then returns a valid uint8 [9, 64, 64]
    ("system", "posix.system"),                       # os.system under its real module name
    ("inst", "os.system"),                            # protocol 0's INST opcode
    ("numpy", "numpy.load"),                          # numpy, but not what an array needs
    ("codec", None),                                  # the latin-1 helper with another codec
])
def test_a_pickle_that_would_run_code_is_refused(tmp_path, payload, refused):
    """Landed main: `pickle.load` ran the payload (the marker file appeared) and, for "eval",
    returned a valid sequence: no sign at all."""
    marker = tmp_path / "marker"
    path = tmp_path / "001" / "nm-01" / "090" / "090.pkl"
    path.parent.mkdir(parents=True)
    if payload in ("eval", "system"):
        raw = malicious_pickle(marker, how=payload)
        if payload == "system":
            refused = f"{os.system.__module__}.system"
    elif payload == "inst":
        raw = b"(S'touch " + str(marker).encode() + b"'\nios\nsystem\n."
    elif payload == "numpy":
        raw = b"cnumpy\nload\n(S'" + str(marker).encode() + b"'\ntR."
    else:
        raw = b"c_codecs\nencode\n(S'x'\nS'rot13'\ntR."
    path.write_bytes(raw)
    with pytest.raises(ValueError) as err:
        read_sequence(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    if refused:
        assert message == (f"{path}: refused to load: the pickle names {refused}, which is not part of a numpy "
                           f"array; sequence files are read as data and never run code (docs/guarantees.md)")
    else:
        assert "only allowed with latin1" in message
    assert not marker.exists()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        read_sequence(tmp_path / "nope.pkl")


def test_write_rejects_wrong_arrays(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_sequence(tmp_path / "f.pkl", np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="non-empty"):
        write_sequence(tmp_path / "f.pkl", np.zeros((0, 4, 4), np.uint8))
    assert not (tmp_path / "f.pkl").exists()
