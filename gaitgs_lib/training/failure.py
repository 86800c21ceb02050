"""What a training run keeps when it stops early, and the message that says so.

`Run.fail` (training/run.py) acts; this module decides and words it. The rule:

- a diverged run (NonFiniteError) and a checkpoint that could not be written
  (CheckpointWriteError: a full disk) save nothing;
- `--overwrite` before the new run's first scheduled checkpoint saves nothing either: the
  previous run is put back and the new run's files are removed, whatever stopped it;
- any other stop after at least one completed iteration saves a checkpoint of that iteration
  first (Ctrl-C, a crash in a loader worker, an error in a callback);
- a run that has no checkpoint at all is rolled back: a new run's folder is removed, an
  overwritten one is put back.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import CheckpointWriteError, NonFiniteError, TrainingInterrupted

__all__ = ["Stopped", "saves_on_stop", "stop_error"]


def saves_on_stop(exc: BaseException, done: int, start: int, replacing: bool) -> bool:
    """Whether a run stopped by `exc` saves a checkpoint of iteration `done` on its way out."""
    return not isinstance(exc, (NonFiniteError, CheckpointWriteError)) and done > start and not replacing


@dataclass(frozen=True)
class Stopped:
    """A stopped run, once `Run.fail` has saved what it saves and rolled back the rest."""

    out: Path
    mode: str  # "new", "overwrite" or "resume"
    start: int  # the iteration the run began from
    done: int  # the last completed iteration
    first_scheduled: int  # the iteration of the run's first scheduled checkpoint
    saved_iteration: int | None  # of the newest checkpoint in the folder
    saved: Path | None  # the checkpoint written on the way out
    save_error: CheckpointWriteError | None  # why that checkpoint could not be written
    restored: bool  # an --overwrite's previous run was put back
    lr: float

    @property
    def latest(self) -> Path:
        return self.out / "checkpoints" / "latest.pt"


def stop_error(exc: BaseException, s: Stopped) -> BaseException | None:
    """The exception to raise instead of `exc` (None: re-raise `exc`, with a note on what was kept)."""
    if isinstance(exc, NonFiniteError):
        return NonFiniteError(diverged_message(exc, s), exc.iteration)
    kept = kept_message(exc, s)
    if isinstance(exc, CheckpointWriteError):
        return CheckpointWriteError(f"{exc}; {kept}")
    if isinstance(exc, KeyboardInterrupt):
        return TrainingInterrupted(f"interrupted after iteration {s.done}: {kept}", s.done, s.saved)
    exc.add_note(f"training stopped by this error after iteration {s.done}: {kept}")
    return None


def kept_message(exc: BaseException, s: Stopped) -> str:
    """What the run folder holds now, in words."""
    if s.saved:
        kept = f"checkpoint of iteration {s.done} saved in {s.saved}; --resume continues from it"
    elif s.restored:
        kept = (f"the new run had not reached its first scheduled checkpoint (iteration "
                f"{s.first_scheduled}), so the previous run was put back in {s.out} and the "
                f"new run's files were removed")
    elif s.saved_iteration is not None:
        kept = f"{s.latest} (iteration {s.saved_iteration}) is unchanged"
    elif s.done > s.start or isinstance(exc, CheckpointWriteError):
        kept = ("the run had no checkpoint, so its files were removed" if s.mode != "resume"
                else "nothing was saved")
    else:
        kept = "no iteration had completed, nothing was saved"
    if s.save_error is not None:
        kept = f"{s.save_error}; {kept}"
    return kept


def diverged_message(exc: NonFiniteError, s: Stopped) -> str:
    if s.saved_iteration is not None:
        kept = (f"{s.latest} (iteration {s.saved_iteration}) is the last finite checkpoint "
                f"and the one --resume uses")
    elif s.mode == "overwrite":
        kept = "the new run had no checkpoint yet, so the previous run was put back"
    else:
        kept = f"the run had no checkpoint yet, so {s.out} was left as it was"
    return (f"training diverged: {exc} (lr {s.lr:g}); nothing non-finite was saved: {kept}. Lower --lr (or "
            f"check the data) and start again")
