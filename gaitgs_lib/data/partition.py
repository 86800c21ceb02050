"""Partition files: which subjects train and which test (docs/data-and-evaluation.md, "Partition files").

On disk `<root>/partition.json` is OpenGait's `{"TRAIN_SET": [...], "TEST_SET": [...]}`.
`load_partition` reads one and refuses a subject listed in both sets (test subjects in
training would inflate every result). `standard_partition` gives the published splits,
exactly as OpenGait's `datasets/CASIA-B/CASIA-B.json` and `datasets/OUMVLP/OUMVLP.json`
(https://github.com/ShiqiYu/OpenGait); `write_partition` puts one beside a dataset
(CLI: `python -m gaitgs_lib pretreat --partition casia-b OUT`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..fileio import atomic_open

STANDARD_PARTITIONS = {
    "casia-b": "CASIA-B: train 001-074 without 005 (73 subjects), test 075-124 (50), as OpenGait's CASIA-B.json",
    "ou-mvlp": "OU-MVLP: train the odd ids 00001-10305 (5,153), test the even ids 00002-10306 and 10307 (5,154)",
}


def standard_partition(name: str) -> dict:
    """A published split in the JSON's form `{"TRAIN_SET": [...], "TEST_SET": [...]}` (see STANDARD_PARTITIONS)."""
    if name == "casia-b":
        return {"TRAIN_SET": [f"{i:03d}" for i in range(1, 75) if i != 5],
                "TEST_SET": [f"{i:03d}" for i in range(75, 125)]}
    if name == "ou-mvlp":
        return {"TRAIN_SET": [f"{i:05d}" for i in range(1, 10306, 2)],
                "TEST_SET": [f"{i:05d}" for i in range(2, 10307, 2)] + ["10307"]}
    raise ValueError(f"unknown partition {name!r}; choose one of {sorted(STANDARD_PARTITIONS)}")


def missing_partition_hint(root) -> str:
    """What to do when `<root>/partition.json` is missing (one line, for error messages)."""
    return (f"write CASIA-B's with `python -m gaitgs_lib pretreat --partition casia-b {root}` "
            f"(or ou-mvlp), or write your own {{\"TRAIN_SET\": [...], \"TEST_SET\": [...]}} there")


def load_partition(path: str | os.PathLike) -> dict:
    """Read a partition JSON -> `{"train": [sid, ...], "test": [sid, ...]}` (ids as strings).

    Raises FileNotFoundError (saying how to make one) when it is missing and ValueError
    naming the file when it is not valid or lists a subject in both sets.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"partition file {path} does not exist: {missing_partition_hint(path.parent)}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    return partition_from_mapping(data, str(path))


def partition_from_mapping(data, where: str = "partition") -> dict:
    """The JSON's form or ours (`{"train", "test"}`) -> ours, checked; `where` names the source in errors."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object {{\"TRAIN_SET\": [...], \"TEST_SET\": [...]}}, "
                         f"found {type(data).__name__}")
    keys = {"train": "TRAIN_SET", "test": "TEST_SET"}
    if all(k in data for k in keys):  # already in our form
        keys = {"train": "train", "test": "test"}
    missing = [v for v in keys.values() if v not in data]
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing}; expected TRAIN_SET and TEST_SET "
                         f"(found {sorted(data)})")
    out = {}
    for split, key in keys.items():
        ids = data[key]
        if not isinstance(ids, list):
            raise ValueError(f"{where}: {key} must be a list of subject ids, found {type(ids).__name__}")
        out[split] = [str(i) for i in ids]
    both = sorted(set(out["train"]) & set(out["test"]))
    if both:
        shown = ", ".join(both[:10]) + (f", ... ({len(both)} in all)" if len(both) > 10 else "")
        raise ValueError(f"{where}: subject(s) {shown} are in both {keys['train']} and {keys['test']}; "
                         f"test subjects must never be trained on (leakage): list each subject in one set only")
    return out


def write_partition(root, name: str, overwrite: bool = False) -> Path:
    """Write `standard_partition(name)` to `<root>/partition.json` (atomically); returns its path.

    Refuses (ValueError) when none of the subject folders under `root` belongs to the
    split (wrong dataset?), and (FileExistsError) to replace a different existing file
    unless `overwrite`.
    """
    root = Path(root)
    if not root.is_dir():
        if root.exists():
            raise ValueError(f"dataset folder {root} is a file, not a folder")
        raise FileNotFoundError(f"dataset folder {root} does not exist")
    part = standard_partition(name)
    listed = set(part["TRAIN_SET"]) | set(part["TEST_SET"])
    on_disk = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not listed & set(on_disk):
        raise ValueError(f"{root}: none of its subject folders ({', '.join(on_disk[:5]) or 'none'}"
                         f"{', ...' if len(on_disk) > 5 else ''}) is a subject of the {name} partition "
                         f"({STANDARD_PARTITIONS[name]})")
    path = root / "partition.json"
    text = json.dumps(part, indent=4) + "\n"
    if path.exists() and not overwrite and path.read_text() != text:
        raise FileExistsError(f"{path} already exists and differs from the {name} partition; "
                              f"pass --overwrite to replace it")
    with atomic_open(path, "w") as f:
        f.write(text)
    return path
