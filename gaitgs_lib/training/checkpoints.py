"""Training checkpoints: saving them (never a non-finite one), reading one back to resume, exporting.

The format itself (its keys, `CHECKPOINT_FORMAT`, the atomic write, what ships) is defined once
in `gaitgs_lib.fileio`, which the model loader (`modeling.checkpoint`) reads it with too.

`<run>/checkpoints/latest.pt` is rewritten atomically at every checkpoint (temporary file +
`os.replace`), and every `ckpt_every` iterations it is also copied to `iter-NNNNNNN.pt`:
both are written in full before either is renamed into place, so a full disk leaves the
previous `latest.pt` and no half-written file (CheckpointWriteError names the folder and
the disk). A checkpoint holds everything a
resumed run needs to continue bit for bit on the same machine: model, optimiser,
scheduler, GradScaler, the P x K sampler's position, every RNG state, and the running
means of the metrics. A checkpoint with a NaN or infinite tensor is never written.
"""
from __future__ import annotations

import errno
import os
import random
from pathlib import Path

import numpy as np
import torch

from ..fileio import (CHECKPOINT_FORMAT, is_gaitgs_checkpoint, missing_resume_state,
                      read_torch_file, refused_torch_global, refused_torch_message, shipped_checkpoint,
                      write_checkpoint)
from .errors import CheckpointWriteError, NonFiniteError, TrainingError

__all__ = ["CHECKPOINT_FORMAT", "rng_state", "set_rng_state", "nonfinite_tensors", "save_checkpoint",
           "read_training_checkpoint", "export_checkpoint", "periodic_checkpoints", "remove_partial_files"]

LATEST = "latest.pt"


def rng_state() -> dict:
    """torch / CUDA / numpy / python RNG states as tensors and plain types (weights_only-safe)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss_next": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def nonfinite_tensors(obj, prefix: str = "") -> list[str]:
    """Names of the floating-point tensors holding a NaN or an infinity, anywhere in `obj`."""
    if isinstance(obj, torch.Tensor):
        return [prefix or "tensor"] if obj.is_floating_point() and not bool(torch.isfinite(obj).all()) else []
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        return []
    bad = []
    for key, value in items:
        bad += nonfinite_tensors(value, f"{prefix}.{key}" if prefix else str(key))
    return bad


def save_checkpoint(state: dict, ckpt_dir, periodic: bool) -> Path:
    """Write `state` to `ckpt_dir/latest.pt` (+ `iter-NNNNNNN.pt` when `periodic`), atomically.

    Refuses (NonFiniteError) when the model or optimiser state holds a NaN or infinity:
    the previous latest.pt then stays the one `--resume` uses.
    """
    bad = nonfinite_tensors({"model": state["model"], "optimizer": state["optimizer"]})
    if bad:
        raise NonFiniteError(
            f"refusing to write a checkpoint of iteration {state['iteration']} with {len(bad)} non-finite "
            f"tensor(s) (e.g. {bad[0]}); {Path(ckpt_dir) / LATEST} keeps the last finite state",
            int(state["iteration"]))
    ckpt_dir = Path(ckpt_dir)
    latest = ckpt_dir / LATEST
    final = [latest] + ([ckpt_dir / f"iter-{int(state['iteration']):07d}.pt"] if periodic else [])
    try:
        write_checkpoint(state, *final)  # both in full, then renamed: a full disk leaves latest.pt as it was
    except OSError as err:
        raise CheckpointWriteError(_write_failure(ckpt_dir, int(state["iteration"]), err)) from None
    return latest


def _write_failure(ckpt_dir: Path, iteration: int, err: OSError) -> str:
    """One line: what stopped the checkpoint of `iteration` from being written into `ckpt_dir`."""
    why = err.strerror or str(err)
    if err.errno == errno.ENOSPC:
        where = next((p for p in (ckpt_dir, *ckpt_dir.parents) if p.exists()), ckpt_dir)
        try:
            st = os.statvfs(where)
            free = f" ({st.f_bavail * st.f_frsize / 2**20:.1f} MiB free)"
        except OSError:
            free = ""
        why = f"the disk holding {where} is full{free}"
    elif err.errno == errno.EROFS:
        why = f"{err.filename or ckpt_dir} is on a read-only filesystem"
    elif err.errno in (errno.EACCES, errno.EPERM):
        why = f"permission denied writing {err.filename or ckpt_dir}"
    return f"cannot write the checkpoint of iteration {iteration} into {ckpt_dir}: {why}"


def periodic_checkpoints(ckpt_dir) -> list[Path]:
    """The `iter-NNNNNNN.pt` files of a run, oldest first."""
    ckpt_dir = Path(ckpt_dir)
    return sorted(ckpt_dir.glob("iter-*.pt")) if ckpt_dir.is_dir() else []


def _other_checkpoints_hint(ckpt_dir: Path) -> str:
    periodic = periodic_checkpoints(ckpt_dir)
    if not periodic:
        return "no periodic iter-*.pt checkpoint exists beside it; start the run again with --overwrite"
    return (f"the periodic checkpoints are {ckpt_dir}/iter-*.pt (newest: {periodic[-1].name}); copy one over "
            f"{LATEST} to resume from it")


def read_training_checkpoint(path) -> dict:
    """A `train` checkpoint for resuming, or a TrainingError saying what the file is instead.

    Refused with a one-line message: a missing file, an unreadable one (truncated or
    corrupt: the message points at the periodic `iter-*.pt` files), an authors' OpenGait
    checkpoint, an exported (weights-only) checkpoint, or another format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"nothing to resume: {path} does not exist (the run stopped before its first "
                                f"checkpoint); start it again with --overwrite")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch's message (and its weights_only advice) must not reach the user
        refused = refused_torch_global(err)
        if refused:
            raise TrainingError(f"cannot resume: {path}: {refused_torch_message(refused)}; "
                                f"{_other_checkpoints_hint(path.parent)}") from None
        size = path.stat().st_size
        raise TrainingError(f"cannot resume: {path} ({size:,} bytes) is not a readable checkpoint (truncated "
                            f"or corrupt); {_other_checkpoints_hint(path.parent)}") from None
    if not isinstance(ckpt, dict):
        raise TrainingError(f"cannot resume: {path} holds a {type(ckpt).__name__}, not a gaitgs training checkpoint; "
                            f"{_other_checkpoints_hint(path.parent)}")
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        if "model" in ckpt and not is_gaitgs_checkpoint(ckpt):
            what = "an OpenGait checkpoint (the authors' layout: no gaitgs config, format or sampler state)"
        else:
            what = f"a file of format {ckpt.get('format')!r}, not {CHECKPOINT_FORMAT!r}"
        raise TrainingError(f"cannot resume: {path} is {what}; --resume continues only runs written by "
                            f"`train`; {_other_checkpoints_hint(path.parent)}")
    missing = missing_resume_state(ckpt)
    if missing:
        raise TrainingError(f"cannot resume: {path} is an exported checkpoint (weights only, no {', '.join(missing)}); "
                            f"resume from the run's own checkpoints/latest.pt")
    bad = nonfinite_tensors({"model": ckpt["model"], "optimizer": ckpt["optimizer"]})
    if bad:  # `train` never writes one: the file was changed or written by something else
        raise TrainingError(f"cannot resume: {path} holds {len(bad)} non-finite tensor(s) (NaN or inf, e.g. {bad[0]}), "
                            f"which `train` never saves; {_other_checkpoints_hint(path.parent)}")
    return ckpt


def export_checkpoint(src, dst) -> Path:
    """A training checkpoint -> a small one for shipping: weights (fp32), config, preset,
    iteration, view names; no optimizer, scheduler, sampler or RNG state. Atomic."""
    ckpt = read_torch_file(src, "training checkpoint")
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        raise ValueError(f"cannot export {src}: it holds no 'model' state dict (not a `train` checkpoint)")
    return write_checkpoint(shipped_checkpoint(ckpt), dst)


def remove_partial_files(ckpt_dir) -> None:
    """Temporary files a killed writer left in `ckpt_dir` (atomic_open's `.NAME.*.tmp`)."""
    ckpt_dir = Path(ckpt_dir)
    if ckpt_dir.is_dir():
        for tmp in ckpt_dir.glob(".*.tmp"):
            os.unlink(tmp)
