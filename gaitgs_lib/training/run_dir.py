"""The run folder: what may be written where, the data a run was trained on, and `config.json`.

    <run>/config.json         recipe, model config, data identity, and the run's history
    <run>/metrics.jsonl       one JSON record per logging step (training/metrics.py)
    <run>/checkpoints/        latest.pt + periodic iter-NNNNNNN.pt (training/checkpoints.py)

A run folder exists only once it holds a checkpoint: a new run that fails before writing
its first one leaves the folder as it found it. With `--overwrite` the previous run is moved
aside (`<run>/.replaced-<pid>/`) and put back if the new run fails before its first
checkpoint; it is deleted once that checkpoint is written.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from ..fileio import atomic_open
from .errors import TrainingError

__all__ = ["check_out", "data_identity", "data_changes", "RunFolder", "read_config", "write_config"]

RUN_ENTRIES = ("config.json", "metrics.jsonl", "checkpoints")  # what `train` writes (and nothing else)
ASIDE_PREFIX = ".replaced-"


def check_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse a run folder that cannot be used, before anything is read or written."""
    if resume and overwrite:
        raise ValueError("pass either resume or overwrite, not both")
    for folder in [out, *out.parents]:
        if folder.exists():
            if not folder.is_dir():
                what = f"--out {out}" if folder == out else f"{folder} (a parent of --out {out})"
                raise TrainingError(f"{what} is a file, but a run needs a folder (created when missing); "
                                    f"choose another --out")
            break
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
        """The new run has its first checkpoint: the previous run (if any) goes."""
        if not self.committed and self.aside is not None:
            shutil.rmtree(self.aside, ignore_errors=True)
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
