"""A run's `metrics.jsonl`: one strict-JSON object per logging step, and the one reader of it.

Each record is `{"iteration", <every number the loss reports>, "lr", "seq_per_s"}`: the
trainer logs whatever numeric entries `losses.GaitGSLoss` puts in its info dict (means over
the iterations since the last record), renaming only `triplet_loss` -> `triplet` and
`ce_loss` -> `ce`, the names metrics.jsonl has always used. Values that are not finite
are written as `null`, so the file stays strict JSON.

The file is appended one record at a time (each line in a single write, flushed), so a
kill can at worst leave a half-written last line: `read_metrics` drops it with a warning,
and a resumed run rewrites the file (atomically) without it.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

from ..fileio import atomic_open

__all__ = ["read_metrics", "metrics_path", "MetricsLog", "RunningMeans", "METRIC_RENAMES"]

METRICS_FILE = "metrics.jsonl"
# Loss info key -> metrics.jsonl name (the names notebooks and viz have always read).
METRIC_RENAMES = {"triplet_loss": "triplet", "ce_loss": "ce"}


def metrics_path(path) -> Path:
    """A run folder -> its metrics.jsonl; a file path is returned as it is."""
    path = Path(path)
    return path / METRICS_FILE if path.is_dir() else path


def _parse(path: Path) -> tuple[list[dict], str | None]:
    """(records, the unterminated last line that is not JSON, or None)."""
    text = path.read_text()
    lines = text.split("\n")
    partial = None
    if lines and lines[-1].strip():  # no newline after the last line: maybe half-written
        try:
            json.loads(lines[-1])
        except json.JSONDecodeError:
            partial = lines.pop()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} line {number} is not JSON ({err.msg}); fix or delete that line") from None
    return records, partial


def read_metrics(path) -> list[dict]:
    """The records of a run's metrics (one dict per logging step), oldest first.

    `path`: a run folder (its `metrics.jsonl` is read) or a metrics file. Blank lines are
    skipped; a half-written last line (no newline, not JSON: a kill can leave one) is
    dropped with a warning; any other line that is not JSON raises ValueError naming the
    file and line. A missing file raises FileNotFoundError.
    """
    file = metrics_path(path)
    if not file.is_file():
        raise FileNotFoundError(f"metrics file {file} not found (a run folder holds metrics.jsonl "
                                f"once its first iteration is logged)")
    records, partial = _parse(file)
    if partial is not None:
        warnings.warn(f"{file}: dropped a half-written last line ({len(partial)} characters; a killed "
                      f"run can leave one)", stacklevel=2)
    return records


def _finite_or_none(value):
    return value if not isinstance(value, float) or math.isfinite(value) else None


class MetricsLog:
    """Appends records to `<run>/metrics.jsonl` (rank 0 only)."""

    def __init__(self, run_dir):
        self.path = Path(run_dir) / METRICS_FILE

    def restart_at(self, iteration: int) -> str | None:
        """Keep the records up to `iteration` (those after a resumed checkpoint are trained
        again); returns a warning when a half-written last line was dropped."""
        note = None
        records = []
        if self.path.is_file():
            records, partial = _parse(self.path)
            if partial is not None:
                note = f"{self.path}: dropped a half-written last line (left by a killed run)"
        kept = [r for r in records if r.get("iteration", 0) <= iteration]
        with atomic_open(self.path, "w") as f:
            f.write("".join(json.dumps(r, allow_nan=False) + "\n" for r in kept))
        return note

    def append(self, record: dict) -> None:
        line = json.dumps({k: _finite_or_none(v) for k, v in record.items()}, allow_nan=False) + "\n"
        # One write of one whole line, then flush: a kill leaves at most a partial last line.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


class RunningMeans:
    """Means of the logged numbers over the iterations since the last record.

    `state_dict()` travels in checkpoints so that a resumed run logs the same records.
    """

    def __init__(self):
        self.reset()

    def reset(self):
        self.n, self.seqs, self.skipped = 0, 0, 0
        self.sums: dict[str, float] = {}

    def add(self, info: dict | None, seqs: int, stepped: bool = True) -> None:
        """One iteration: the loss's info (every int/float entry is averaged; None when the
        loss was not finite), its batch size, and whether the optimiser stepped (fp16
        GradScaler skips are counted as `skipped_steps`)."""
        self.seqs += seqs
        self.skipped += not stepped
        if info is None:
            return
        self.n += 1
        for key, value in info.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                name = METRIC_RENAMES.get(key, key)
                self.sums[name] = self.sums.get(name, 0.0) + float(value)

    def record(self, iteration: int, lr: float, seconds: float) -> dict:
        rec = {"iteration": int(iteration)}
        order = sorted(self.sums, key=lambda k: k != "loss")  # the total first, then the loss's order
        rec.update({k: self.sums[k] / max(1, self.n) for k in order})
        if self.skipped:
            rec["skipped_steps"] = self.skipped
        rec["lr"] = float(lr)
        rec["seq_per_s"] = self.seqs / seconds if seconds > 0 else None
        self.reset()
        return rec

    def state_dict(self) -> dict:
        return {"n": self.n, "seqs": self.seqs, "skipped": self.skipped, "sums": dict(self.sums)}

    def load_state_dict(self, state: dict) -> None:
        self.n, self.seqs = int(state["n"]), int(state["seqs"])
        self.skipped = int(state.get("skipped", 0))
        self.sums = {str(k): float(v) for k, v in state["sums"].items()}
