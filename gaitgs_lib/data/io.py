"""Read and write one silhouette sequence in OpenGait's `.pkl` format (docs/data-and-evaluation.md).

OpenGait stores a pre-processed sequence as a plain pickle of a numpy array,
`uint8 [T, H, W]` (T frames of H x W silhouettes, 0 background, 255 person), written
with `pickle.dump(array, f)`, i.e. the default pickle protocol, which is 4 on
Python 3.8-3.13. We pin protocol 4 so that our files are the same on every Python and
readable by OpenGait's loader.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from ..fileio import atomic_open

PICKLE_PROTOCOL = 4


def read_sequence(path: str | os.PathLike) -> np.ndarray:
    """Load an OpenGait sequence file and return it as `uint8 [T, H, W]` (docs/data-and-evaluation.md).

    Raises `FileNotFoundError` when the file is missing and `ValueError` naming the file
    when it is not a readable pickle (or one written by a numpy this one cannot read), does
    not hold a numpy array, or the array is not a non-empty `uint8 [T, H, W]` stack of frames.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sequence file {path} does not exist")
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f)
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
