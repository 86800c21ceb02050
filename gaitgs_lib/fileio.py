"""Atomic file writes: a reader (or a crash) never sees half a checkpoint, result or sequence."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch


@contextmanager
def atomic_open(path, mode: str = "wb"):
    """Open a temporary file beside `path`; on success it replaces `path`, on error it vanishes.

    The folders above `path` are created. The file ends up readable by everyone (0644), like
    a plain `open`, since checkpoints, results and datasets are meant to be shared.
    """
    if mode not in {"w", "wb"}:
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.chmod(tmp, 0o644)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_torch_file(path, what: str = "checkpoint"):
    """`torch.load` a file onto the CPU (tensors only), with errors that name `what` and the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"cannot read {what} {path}: {err}") from err
