"""Atomic file writes: a reader (or a crash) never sees half a checkpoint, result or sequence."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


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
