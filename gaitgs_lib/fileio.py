"""The files gaitgs writes and reads back: atomic writes (a reader, or a crash, never sees half a
checkpoint, result or sequence), one-line errors for a file `torch.load` cannot read, and our
checkpoint format, defined once here for both the trainer that writes it (`training.checkpoints`)
and the loader that reads it (`modeling.checkpoint`).

Our checkpoint (docs/design.md, "Contracts") is a dict of tensors, numbers and plain
containers saved with `torch.save` and read with `weights_only=True`:

- what every one holds: `model` (GaitGS's state dict) and `config` (`GaitGSConfig.to_dict()`),
  the two keys that tell ours from the authors' OpenGait files (which have no config); the
  trainer adds `format` (`CHECKPOINT_FORMAT`), `preset`, `iteration`, `train_config`, `view_names`;
- what a training checkpoint adds so that `--resume` continues bit for bit (`RESUME_KEYS`
  and more: `scaler`, `world_size`, `data_identity`, `metrics_window`);
- a shipped checkpoint (`shipped_checkpoint`) keeps `model` as fp32 and `SHIPPED_KEYS`, nothing else.
"""
import os
import pickle
import re
import shutil
import tempfile
import warnings
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


CHECKPOINT_FORMAT = "gaitgs-train-v1"
SHIPPED_KEYS = ("format", "config", "preset", "iteration", "train_config", "view_names")  # + "model"
RESUME_KEYS = ("optimizer", "scheduler", "sampler", "rng", "train_config")  # what --resume cannot do without


def is_gaitgs_checkpoint(ckpt) -> bool:
    """True for our checkpoints: a dict with the weights (`model`) and the config they fit (`config`)."""
    return isinstance(ckpt, dict) and "config" in ckpt and "model" in ckpt


def missing_resume_state(ckpt: dict) -> list[str]:
    """The `RESUME_KEYS` a checkpoint lacks (all but `train_config` for a shipped one)."""
    return [k for k in RESUME_KEYS if k not in ckpt]


def write_checkpoint(ckpt: dict, path, *copies) -> Path:
    """`torch.save(ckpt)` to `path` (and the same bytes to each of `copies`) atomically; returns `path`.

    Every file is written in full as a temporary beside it before any is renamed into place,
    in the order given, so a failure at any point (a full disk) leaves all of them as they
    were and no temporary behind. A failed write raises its OSError (ENOSPC, EIO, ...), not
    the RuntimeError torch turns it into. The folders above `path` are created.
    """
    final = [Path(path), *(Path(c) for c in copies)]
    temps: list[str] = []
    try:
        for target in final:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                if len(temps) == 1:
                    out = _RecordingWriter(f)
                    try:
                        torch.save(ckpt, out)
                    except RuntimeError:
                        if out.error is not None:  # torch reports a failed write as "unexpected pos ..."
                            raise out.error from None
                        raise
                else:
                    with open(temps[0], "rb") as src:
                        shutil.copyfileobj(src, f)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; checkpoints are meant to be shared
        for tmp, target in zip(temps, final):
            os.replace(tmp, target)
    finally:
        for tmp in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return final[0]


class _RecordingWriter:
    """A file for torch.save that keeps the OSError of a failed write (ENOSPC, EIO, ...)."""

    def __init__(self, f):
        self.f, self.error = f, None

    def write(self, data):
        try:
            return self.f.write(data)
        except OSError as err:
            self.error = err
            raise

    def flush(self):
        return self.f.flush()


def shipped_checkpoint(ckpt: dict) -> dict:
    """A training checkpoint -> what ships: the weights as fp32 and `SHIPPED_KEYS`; no optimiser,
    scheduler, sampler or RNG state."""
    keep = {k: ckpt[k] for k in SHIPPED_KEYS if k in ckpt}
    keep["model"] = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    return keep


def read_checkpoint(path, what: str = "checkpoint") -> dict:
    """`read_torch_file`, and the file must hold a dict (ours or OpenGait's); one-line ValueError otherwise."""
    ckpt = read_torch_file(path, what)
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path} holds a {type(ckpt).__name__}, not a checkpoint (a dict with the weights)")
    return ckpt


def not_a_folder(path, what: str) -> str | None:
    """Why `path` cannot be used as the folder `what` ("X does not exist" / "X is a file, not a folder"), or None."""
    path = Path(path)
    if path.is_dir():
        return None
    if path.exists():
        return f"{what} {path} is a file, not a folder"
    return f"{what} {path} does not exist"


def unwritable(path) -> str | None:
    """Why nothing can be created in the folder `path` (created when missing), or None.

    Looks at the nearest folder that exists: "on a read-only filesystem" (which root meets
    too) is told apart from "permission denied", and a file in the way is named.
    """
    folder = Path(path)
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        read_only = False
    return f"{folder} is on a read-only filesystem" if read_only else f"cannot write into {folder} (permission denied)"


def read_torch_file(path, what: str = "checkpoint"):
    """`torch.load` a file onto the CPU (tensors and plain containers only), with one-line errors.

    Every failure names `what` and the file and says what is wrong with it: missing
    (FileNotFoundError), a folder, empty, a text file, a truncated archive, or a pickle that
    holds other Python objects (ValueError). Loading stays `weights_only`: a checkpoint never
    runs code, and the message never suggests turning that off.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    if path.is_dir():
        raise ValueError(f"cannot read {what} {path}: it is a folder, not a file")
    problem = _not_a_torch_file(path)
    if problem:
        raise ValueError(f"cannot read {what} {path}: {problem}")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before failing; the error says it all
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types; each becomes one line naming the file
        raise ValueError(f"cannot read {what} {path}: {_explain_load_error(err)}") from None


def _not_a_torch_file(path: Path) -> str | None:
    """Why `path` cannot be a torch.save file (from its first bytes), or None."""
    with open(path, "rb") as f:
        head = f.read(256)
    if not head:
        return "the file is empty (0 bytes): an interrupted copy or download? Use a complete copy"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):  # torch's zip format / legacy pickle
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"not a PyTorch checkpoint (unknown format, first bytes {head[:8]!r})"
    first = text.strip().splitlines()[0][:60] if text.strip() else ""
    return f"it is a text file, not a PyTorch checkpoint (it starts with {first!r})"


def refused_torch_global(err: BaseException) -> str | None:
    """The global ("module.name") that `torch.load(..., weights_only=True)` refused, or None.

    torch names it as "Unsupported global: GLOBAL m.n" (a class it does not know) or
    "unsupported GLOBAL m.n whose module m is blocked" (os, subprocess, ...).
    """
    found = re.search(r"[Uu]nsupported (?:global: )?GLOBAL ([\w.]+)", " ".join(str(err).split()))
    return found.group(1) if found else None


def refused_torch_message(name: str) -> str:
    return (f"it holds Python objects other than tensors (it names {name}), which are refused, never run: "
            f"save only tensors, numbers and plain containers (e.g. a state_dict)")


def _explain_load_error(err: Exception) -> str:
    message = " ".join(str(err).split())
    if isinstance(err, RuntimeError) and ("zip archive" in message or "central directory" in message):
        return "the file is truncated or corrupt (an incomplete PyTorch archive): use a complete copy"
    refused = refused_torch_global(err)
    if refused:
        return refused_torch_message(refused)
    if isinstance(err, (EOFError, pickle.UnpicklingError)) and "Weights only load failed" not in message:
        return "the file is truncated or corrupt (the pickle ends early or is damaged): use a complete copy"
    return f"not a PyTorch checkpoint that can be loaded safely ({type(err).__name__})"


@contextmanager
def exclusive_lock(lock: Path, on_busy):
    """Hold an exclusive OS lock on the file `lock` (created when missing) for the `with` block.

    `fcntl.flock` locks belong to the open file: the kernel releases them when the holder
    exits, however it ends (kill -9 included), so a stale lock file never blocks anyone. The
    file holds the holder's pid and is removed on release; a waiter that locked a file removed
    meanwhile retries on the new one. When another process holds it, `on_busy(holder_pid)` is
    called: it raises to refuse, or returns to wait for the holder. `synth` (its output folder)
    and `train` (its run folder) lock this way. POSIX only (Linux, macOS): elsewhere no lock.
    """
    try:
        import fcntl  # POSIX only
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            try:
                on_busy(holder)
            except BaseException:
                os.close(fd)
                raise
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)  # the previous holder removed it meanwhile: lock the new one
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    try:
        yield
    finally:
        try:
            os.unlink(lock)
        except FileNotFoundError:
            pass
        os.close(fd)
