"""The run folder: what may be written where, the data a run was trained on (and the check that
a resumed run gets the same), `config.json`, and staging the folder for one invocation.

    <run>/config.json         recipe, model config, data identity, and the run's history
    <run>/metrics.jsonl       one JSON record per logging step (training/metrics.py)
    <run>/checkpoints/        latest.pt + periodic iter-NNNNNNN.pt (training/checkpoints.py)

A run folder exists only once it holds a checkpoint: a new run that fails before writing
its first one leaves the folder as it found it. With `--overwrite` the previous run is moved
aside (`<run>/.replaced-<pid>/`) and put back if the new run ends in any way (Ctrl-C, an
error, a full disk) before its first *scheduled* checkpoint (every `ckpt_every` iterations,
or the run's last); it is deleted once that checkpoint is written (renamed
`.discarded-<pid>/` first, so a kill in the middle of deleting it is recognised). An aside
folder left by a killed process is put back by the next `train` into that folder.

One `train` at a time writes a run folder: it holds an OS lock on `<parent>/.<run>.lock`
(`fcntl.flock`, released by the kernel however the holder ends), as `synth` locks its output.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from ..fileio import atomic_open, exclusive_lock, unwritable
from .checkpoints import remove_partial_files
from .errors import TrainingError
from .metrics import MetricsLog

__all__ = ["check_out", "check_out_path", "data_identity", "data_changes", "check_same_data", "RunFolder",
           "open_run_folder", "read_config", "write_config", "lock_run_folder", "recover_aside", "RunBusyError"]

RUN_ENTRIES = ("config.json", "metrics.jsonl", "checkpoints")  # what `train` writes (and nothing else)
ASIDE_PREFIX = ".replaced-"
DISCARD_PREFIX = ".discarded-"


class RunBusyError(TrainingError):
    """Another `train` process is writing the run folder."""


def check_out_path(out: Path, data=None) -> None:
    """Refuse an `--out` that is (or is under) a file, or lies inside `--data`; reads only."""
    for folder in [out, *out.parents]:
        if folder.exists():
            if not folder.is_dir():
                what = f"--out {out}" if folder == out else f"{folder} (a parent of --out {out})"
                raise TrainingError(f"{what} is a file, but a run needs a folder (created when missing); "
                                    f"choose another --out")
            break
    if data is not None and Path(data).is_dir():
        root, target = Path(data).resolve(), out.resolve()
        if target == root or root in target.parents:
            raise TrainingError(f"--out {out} is inside --data {data}: a run folder there would be mixed with the "
                                f"dataset's sequence folders; choose an --out outside the dataset")
    problem = unwritable(out)
    if problem:
        raise TrainingError(f"cannot write the run folder --out {out}: {problem}; choose another --out")


def check_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse a run folder that cannot be used, before anything is written."""
    if resume and overwrite:
        raise ValueError("pass either resume or overwrite, not both")
    check_out_path(out)
    aside = sorted(out.glob(ASIDE_PREFIX + "*")) if out.is_dir() else []
    note = (f" ({aside[0]} holds a run that an interrupted --overwrite moved aside; move its contents back "
            f"into {out} to keep it, or delete it)") if aside else ""
    if resume:
        if not (out / "checkpoints" / "latest.pt").exists():
            raise FileNotFoundError(f"nothing to resume: {out / 'checkpoints' / 'latest.pt'} does not exist{note}")
        return
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"run directory {out} already exists and is not empty; pass --resume to continue it "
                              f"or --overwrite to start it afresh{note}")


def data_identity(data, dataset) -> dict:
    """What a run's training data is: root, train subjects (count and a hash of their ids),
    sequences, and for SynthGait the generator's version, preset, seed and size."""
    subjects = sorted({str(s) for s in dataset.sids})
    ident = {
        "root": str(Path(data).resolve()) if data is not None else None,
        "train_subjects": len(subjects),
        "train_subject_ids_sha1": hashlib.sha1(json.dumps(subjects).encode()).hexdigest()[:12],
        "train_sequences": len(dataset),
    }
    meta_path = Path(data) / "meta.json" if data is not None else None
    if meta_path is not None and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            meta = {}
        if meta.get("generator") == "synthgait":
            ident["synthgait"] = {k: meta.get(k) for k in ("version", "preset", "seed", "n_subjects")}
    return ident


_DATA_FIELDS = {"root": "root", "train_subject_ids_sha1": "partition (train subject ids)",
                "train_subjects": "train subjects", "train_sequences": "train sequences",
                "synthgait": "SynthGait generator (version, preset, seed, subjects)"}


def data_changes(old: dict, new: dict) -> dict:
    """{field: [old, new]} for every identity field that differs (fields absent from `old` are skipped)."""
    return {name: [old.get(key), new.get(key)] for key, name in _DATA_FIELDS.items()
            if key in old and old.get(key) != new.get(key)}


def describe_changes(changes: dict) -> str:
    """`data_changes`' result in words: "root '/a' -> '/b'; SynthGait generator seed 1 -> 2"."""
    parts = []
    for name, (old, new) in changes.items():
        if isinstance(old, dict) and isinstance(new, dict):
            parts += [f"{name.split(' (')[0]} {k} {old.get(k)!r} -> {new.get(k)!r}"
                      for k in old if old.get(k) != new.get(k)]
        else:
            parts.append(f"{name} {old!r} -> {new!r}")
    return "; ".join(parts)


def check_same_data(out: Path, ckpt: dict, identity: dict, data, allow: bool) -> dict:
    """On resume: refuse data other than the run's own (unless `allow`); returns what the run's
    "resume" event records about it ({} for the same data)."""
    old = ckpt.get("data_identity") or read_config(out).get("data_identity")
    if old is None:
        return {"data_check": "skipped: the run predates data records"}
    changes = data_changes(old, identity)
    if changes and not allow:
        raise TrainingError(f"--data {data} is not the data {out} was trained on ("
                            f"{describe_changes(changes)}); resume with the original --data, or pass "
                            f"--allow-data-change to continue on this data (the change is recorded in "
                            f"{out / 'config.json'})")
    return {"data_changes": changes} if changes else {}


def read_config(out: Path) -> dict:
    """`<run>/config.json`, or {} when it is missing or unreadable."""
    try:
        return json.loads((out / "config.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}


def write_config(out: Path, info: dict) -> None:
    with atomic_open(out / "config.json", "w") as f:
        f.write(json.dumps(info, indent=2, default=str) + "\n")


def history_event(event: str, iteration: int, **details) -> dict:
    return {"event": event, "iteration": int(iteration), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **details}


class RunFolder:
    """The run folder of one invocation: created or cleared on `open`, `commit`ted by the
    first checkpoint, put back as it was by `rollback` when the run fails before that."""

    def __init__(self, out: Path, mode: str):
        if mode not in {"new", "overwrite", "resume"}:
            raise ValueError(f"RunFolder mode must be new, overwrite or resume, got {mode!r}")
        self.out, self.mode = out, mode
        self.aside: Path | None = None
        self.created = False
        self.committed = mode == "resume"

    def open(self) -> None:
        if not self.out.exists():
            self.out.mkdir(parents=True)
            self.created = True
        if self.mode == "overwrite":
            present = [name for name in RUN_ENTRIES if (self.out / name).exists()]
            if present:
                self.aside = self.out / f"{ASIDE_PREFIX}{os.getpid()}"
                self.aside.mkdir()
                for name in present:
                    os.replace(self.out / name, self.aside / name)

    def commit(self) -> None:
        """The new run has its first scheduled checkpoint: the previous run (if any) goes."""
        if not self.committed and self.aside is not None:
            discarded = self.aside.with_name(f"{DISCARD_PREFIX}{os.getpid()}")
            os.replace(self.aside, discarded)  # from here on a kill cannot make it look restorable
            shutil.rmtree(discarded, ignore_errors=True)
        self.committed = True

    def rollback(self) -> None:
        """The run failed before its first checkpoint: remove what it wrote, restore what was there."""
        if self.committed:
            return
        for name in RUN_ENTRIES:
            path = self.out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        if self.aside is not None:
            for entry in self.aside.iterdir():
                os.replace(entry, self.out / entry.name)
            self.aside.rmdir()
        if self.created and self.out.is_dir() and not any(self.out.iterdir()):
            self.out.rmdir()
        self.committed = True  # nothing more to undo


def open_run_folder(out: Path, mode: str, start: int, resume_changes: dict, info: dict,
                    metrics: MetricsLog) -> tuple[RunFolder, str | None]:
    """Stage the run folder for this invocation (rank 0): open it (an `--overwrite` moves the
    previous run aside), remove a killed writer's temporary files, write config.json (`info`
    and the run's history with this start or resume) and cut metrics.jsonl back to `start`.
    Anything failing here rolls the folder back. Returns the folder and a warning (or None)."""
    history = read_config(out).get("history", []) if mode == "resume" else []
    folder = RunFolder(out, mode)
    try:
        folder.open()
        remove_partial_files(out / "checkpoints")  # temporary files of a writer that was killed
        if mode == "resume":
            history.append(history_event("resume", start, **resume_changes))
        else:
            history.append(history_event("start", 0, replaced_previous_run=folder.aside is not None))
        write_config(out, {**info, "history": history})
        note = metrics.restart_at(start)
    except BaseException:
        folder.rollback()
        raise
    return folder, note


def recover_aside(out: Path) -> list[str]:
    """Put back a run that a killed `train --overwrite` moved aside; returns one warning per fix.

    Called with the run folder's lock held, so no live `train` owns an aside folder. A
    `.replaced-PID/` means that process died before its first scheduled checkpoint: its
    files are removed and the previous run is moved back. A `.discarded-PID/` is a replaced
    run whose deletion was interrupted: it is deleted. Several `.replaced-*` folders (left
    by versions without this recovery) are only reported.
    """
    if not out.is_dir():
        return []
    notes = []
    for gone in sorted(out.glob(DISCARD_PREFIX + "*")):
        shutil.rmtree(gone, ignore_errors=True)
        notes.append(f"removed {gone}: a replaced run whose deletion was interrupted")
    asides = sorted(p for p in out.glob(ASIDE_PREFIX + "*") if p.is_dir())
    if len(asides) > 1:
        notes.append(f"{out} holds {len(asides)} runs moved aside by interrupted --overwrite runs "
                     f"({', '.join(p.name for p in asides)}); move the one to keep back into {out} and delete "
                     f"the others")
        return notes
    for aside in asides:
        pid = aside.name[len(ASIDE_PREFIX):]
        if pid == str(os.getpid()):
            continue  # ours (cannot happen before this process opens the folder)
        for name in RUN_ENTRIES:
            kept = aside / name
            if not kept.exists():
                continue  # not moved aside yet when the process died: still in place
            current = out / name
            if current.is_dir():
                shutil.rmtree(current)
            elif current.exists():
                current.unlink()
            os.replace(kept, current)
        shutil.rmtree(aside, ignore_errors=True)
        notes.append(f"put back the run in {out} that an interrupted --overwrite (process {pid}) had moved aside "
                     f"to {aside.name}/; the unfinished run that was to replace it had no scheduled checkpoint "
                     f"and was removed")
    return notes


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


@contextmanager
def lock_run_folder(out: Path, active: bool = True):
    """Hold an exclusive OS lock on `<parent>/.<run>.lock` while training into `out`.

    `fileio.exclusive_lock`, as `synth` locks its output: released by the kernel however the
    holder ends (kill -9 included), so a stale lock file never blocks anyone. A held lock
    raises RunBusyError at once. `active=False` (ranks other than 0 under torchrun) takes
    no lock. POSIX only: elsewhere no lock.
    """
    if not active:
        yield
        return
    lock = _lock_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise TrainingError(f"cannot create the lock file {lock} beside the run folder ({err.strerror}); `train` "
                            f"needs to write there too: choose another --out") from None
    os.close(fd)

    def busy(holder: str) -> None:
        raise RunBusyError(f"{out} is being written by another `train` (process {holder}, lock {lock}); "
                           f"wait for it to finish, or choose another --out")

    with exclusive_lock(lock, busy):
        yield
