"""The ways a training run refuses to start or stops, each with a message a user can act on.

The `train` command prints the message as one line and exits non-zero, without a traceback.
"""
from __future__ import annotations

__all__ = ["TrainingError", "NonFiniteError", "TrainingInterrupted", "CheckpointWriteError"]


class TrainingError(RuntimeError):
    """A run cannot start or continue; the message says what is wrong, where, and what to do."""


class NonFiniteError(TrainingError):
    """The loss or a gradient became NaN or infinite: the run diverged and was stopped.

    Nothing non-finite is ever written: `checkpoints/latest.pt` stays the last finite state.
    """

    def __init__(self, message: str, iteration: int):
        super().__init__(message)
        self.iteration = iteration


class CheckpointWriteError(TrainingError):
    """A checkpoint could not be written (a full disk, a read-only or vanished folder);
    nothing half-written is left and the previous `latest.pt` is unchanged."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM under the `train` command) stopped the run; `checkpoint` holds the
    last completed iteration (None when none had completed)."""

    def __init__(self, message: str, iteration: int, checkpoint=None):
        super().__init__(message)
        self.message, self.iteration, self.checkpoint = message, iteration, checkpoint

    def __str__(self) -> str:
        return self.message
