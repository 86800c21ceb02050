"""Read and write one silhouette sequence in OpenGait's `.pkl` format (docs/data-and-evaluation.md).

OpenGait stores a pre-processed sequence as a plain pickle of a numpy array,
`uint8 [T, H, W]` (T frames of H x W silhouettes, 0 background, 255 person), written
with `pickle.dump(array, f)`, i.e. the default pickle protocol, which is 4 on
Python 3.8-3.13. We pin protocol 4 so that our files are the same on every Python and
readable by OpenGait's loader.

Reading never runs code from the file. A pickle is a small program: besides data it can
name any importable function and have the reader call it (`os.system`, ...). Sequence
files are read by `read_array_pickle`, an unpickler that resolves only the globals a
pickled numpy array needs (under numpy 1.x and 2.x module names) and refuses any other
with one line naming the file and the global (docs/guarantees.md, "What is executed").
"""
from __future__ import annotations

import _compat_pickle
import codecs
import importlib
import os
import pickle
import warnings
from pathlib import Path

import numpy as np

from ..fileio import atomic_open

PICKLE_PROTOCOL = 4

# Every global a pickled numpy array (or numpy scalar, or a list of them) names, as numpy
# 1.x and 2.x write it (numpy 2 renamed `numpy.core` to `numpy._core`), protocols 0-5:
#   _reconstruct + ndarray + dtype   the array itself (protocols 0-4)
#   _frombuffer + dtype              protocol 5
#   scalar + dtype                   a numpy scalar
#   _codecs.encode                   how protocols 0-2 store the raw bytes (a latin-1 str)
#   builtins.bytes / bytearray       an empty array's bytes (protocols 0-2), protocol-5 buffers
# (found with pickletools.dis on uint8/float32/bool/int64 arrays under numpy 1.26 and 2.x).
_NUMPY_GLOBALS = frozenset(
    [(f"numpy.{core}.multiarray", name) for core in ("core", "_core") for name in ("_reconstruct", "scalar")]
    + [(f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")]
    + [("numpy", "ndarray"), ("numpy", "dtype"), ("builtins", "bytes"), ("builtins", "bytearray")]
)


def _latin1_encode(text, encoding="latin1", *args):
    """`_codecs.encode` as numpy's protocol 0-2 pickles use it (str -> bytes, latin-1 only)."""
    if not isinstance(text, str) or codecs.lookup(encoding).name != "iso8859-1" or args:
        raise pickle.UnpicklingError(f"_codecs.encode is only allowed with latin1, got {encoding!r}")
    return codecs.encode(text, "latin1")


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allow-list; `.name` is "module.name"."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays (and lists, tuples, dicts, numbers, strings of
    them) and nothing else: `find_class` resolves only `_NUMPY_GLOBALS` and raises
    `RefusedGlobal` for any other name, before it is imported. Every way a pickle reaches a
    callable goes through `find_class` (GLOBAL, STACK_GLOBAL, INST, the extension
    registry); persistent ids are refused by `pickle.Unpickler` itself."""

    def find_class(self, module: str, name: str):
        # Python 2 names (`__builtin__.bytes` in protocols 0-2), mapped as pickle.Unpickler maps them
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if (module, name) not in _NUMPY_GLOBALS:
            raise RefusedGlobal(f"{module}.{name}")
        with warnings.catch_warnings():  # numpy 2 warns that numpy.core (numpy 1's name) is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                return getattr(importlib.import_module(module), name)
            except ModuleNotFoundError:
                if not (module.startswith("numpy._core.") and np.lib.NumpyVersion(np.__version__) < "2.0.0"):
                    raise
                # numpy 1.26 has numpy._core.multiarray but not numpy._core.numeric (a protocol-5 pickle)
                # and older numpy 1.x neither: the same function lives under numpy 1's name
                try:
                    return getattr(importlib.import_module("numpy.core." + module[len("numpy._core."):]), name)
                except ImportError:
                    pass
                raise


def read_array_pickle(path: str | os.PathLike):
    """What a numpy-array pickle holds, without running any code it names (`ArrayUnpickler`).

    Raises `ValueError` naming the file: for a refused global ("refused to load ... it names
    os.system ..."), a file written by a numpy this one cannot read, and a truncated or
    corrupt pickle; `OSError` when the file cannot be opened.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return ArrayUnpickler(f).load()
    except RefusedGlobal as exc:
        raise ValueError(
            f"{path}: refused to load: the pickle names {exc.name}, which is not part of a numpy array; "
            f"sequence files are read as data and never run code (docs/guarantees.md)"
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, MemoryError, UnicodeDecodeError) as exc:
        missing = getattr(exc, "name", None) or ""
        if isinstance(exc, ModuleNotFoundError) and missing.startswith("numpy._core"):
            # numpy 2 renamed numpy.core to numpy._core; numpy 1.25 and older have no such module
            raise ValueError(
                f"{path}: written with numpy >= 2 (the pickle refers to {missing}), which numpy "
                f"{np.__version__} cannot read; install numpy 1.26 or newer (pip install 'numpy>=1.26,<3')"
            ) from exc
        raise ValueError(
            f"{path}: not a readable pickle (truncated or corrupt?): {type(exc).__name__}: {exc}"
        ) from exc


def read_sequence(path: str | os.PathLike) -> np.ndarray:
    """Load an OpenGait sequence file and return it as `uint8 [T, H, W]` (docs/data-and-evaluation.md).

    Raises `FileNotFoundError` when the file is missing and `ValueError` naming the file
    when it is not a readable pickle (or one written by a numpy this one cannot read), names
    anything but what a numpy array needs (it is refused before that is imported or run:
    `ArrayUnpickler`), does not hold a numpy array, or the array is not a non-empty
    `uint8 [T, H, W]` stack of frames.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"sequence file {path} does not exist")
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file (a device, a pipe or a socket?)"
        raise ValueError(f"{path}: expected a sequence file (.pkl), found {what}")
    obj = read_array_pickle(path)
    if not isinstance(obj, np.ndarray):
        raise ValueError(
            f"{path}: expected a pickled numpy array uint8 [T, H, W], found {type(obj).__name__}"
        )
    if obj.ndim != 3:
        raise ValueError(
            f"{path}: expected a uint8 array [T, H, W] (3 dimensions), found shape {tuple(obj.shape)}"
        )
    if obj.dtype != np.uint8:
        raise ValueError(f"{path}: expected dtype uint8 (0/255 silhouettes), found {obj.dtype}")
    if obj.shape[0] == 0:
        raise ValueError(f"{path}: the sequence has zero frames (shape {tuple(obj.shape)})")
    if obj.shape[1] == 0 or obj.shape[2] == 0:
        raise ValueError(f"{path}: frames have an empty side (shape {tuple(obj.shape)})")
    return obj


def write_sequence(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write `uint8 [T, H, W]` as OpenGait does (a plain pickle), atomically; returns the path.

    Parent folders are created. The array is written to a temporary file in the same
    folder and moved into place with `os.replace`, so a reader never sees half a file.
    """
    path = Path(path)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"write_sequence({path}): expected a numpy array, got {type(array).__name__}")
    if array.ndim != 3 or array.dtype != np.uint8 or array.shape[0] == 0:
        raise ValueError(
            f"write_sequence({path}): expected a non-empty uint8 array [T, H, W], "
            f"got dtype {array.dtype} shape {tuple(array.shape)}"
        )
    array = np.ascontiguousarray(array)
    with atomic_open(path, "wb") as f:
        pickle.dump(array, f, protocol=PICKLE_PROTOCOL)
    return path
