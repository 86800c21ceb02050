"""The optimiser step, guarded so that no NaN or infinity ever reaches the weights.

Full precision: a non-finite loss or gradient stops the run at once (`NonFiniteError`),
before the optimiser moves. Mixed precision (CUDA autocast fp16 + GradScaler): the
scaler's skipped steps are part of the method (an fp16 gradient overflowed, the scaler
halves its scale and skips the update) and are only counted; a non-finite loss is treated
the same way (no update, the scale halves). Only `MAX_SKIPPED_IN_A_ROW` skipped steps in a
row, which no overflow explains any more, stop the run.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .errors import NonFiniteError

__all__ = ["GuardedStep", "MAX_SKIPPED_IN_A_ROW", "nonfinite_gradients"]

# From the initial scale 2**16, 25 halvings reach 2**-9: no fp16 overflow survives that.
MAX_SKIPPED_IN_A_ROW = 25


def nonfinite_gradients(model: torch.nn.Module) -> list[str]:
    """Names of the parameters whose gradient holds a NaN or an infinity (one sync when none)."""
    named = [(name, p.grad) for name, p in model.named_parameters() if p.grad is not None]
    if not named or bool(torch.stack([torch.isfinite(g).all() for _, g in named]).all()):
        return []
    return [name for name, g in named if not bool(torch.isfinite(g).all())]


class GuardedStep:
    """`step(iteration, loss) -> True` when the weights were updated, False when the fp16
    GradScaler skipped the update; raises NonFiniteError when the run diverged.

    `agree(ok) -> bool` makes every DDP rank take the same decision (all ranks must see a
    finite loss); the identity on one process.
    """

    def __init__(self, model, optimizer, scaler, amp: bool, agree: Callable[[bool], bool] = bool,
                 max_skipped: int = MAX_SKIPPED_IN_A_ROW):
        self.model, self.optimizer, self.scaler, self.amp = model, optimizer, scaler, amp
        self.agree, self.max_skipped = agree, max_skipped
        self.skipped_in_a_row = 0
        self.skipped_total = 0
        self.last_loss = math.nan  # the loss of the last call, as a float

    def __call__(self, iteration: int, loss: torch.Tensor) -> bool:
        value = self.last_loss = float(loss.detach())
        self.optimizer.zero_grad(set_to_none=True)
        if not self.agree(math.isfinite(value)):
            if not self.amp:
                raise NonFiniteError(f"the loss is {value} at iteration {iteration}", iteration)
            self.scaler.scale(loss)  # (starts the scaler's state on a first iteration; no backward)
            self.scaler.update(self.scaler.get_scale() * self.scaler.get_backoff_factor())
            return self._skipped(iteration, f"loss {value}")
        self.scaler.scale(loss).backward()
        if self.amp:
            before = self.scaler.get_scale()
            self.scaler.step(self.optimizer)  # skips the update when a gradient overflowed
            self.scaler.update()
            if self.scaler.get_scale() < before:
                return self._skipped(iteration, "non-finite fp16 gradients")
            self.skipped_in_a_row = 0
            return True
        bad = nonfinite_gradients(self.model)
        if bad:
            raise NonFiniteError(f"the gradient of {len(bad)} parameter tensor(s) (e.g. {bad[0]}) is not finite "
                                 f"at iteration {iteration} (loss {value:.4g})", iteration)
        self.optimizer.step()
        self.skipped_in_a_row = 0
        return True

    def _skipped(self, iteration: int, why: str) -> bool:
        self.skipped_in_a_row += 1
        self.skipped_total += 1
        if self.skipped_in_a_row >= self.max_skipped:
            raise NonFiniteError(
                f"the fp16 GradScaler skipped {self.skipped_in_a_row} steps in a row up to iteration {iteration} "
                f"({why}, scale now {self.scaler.get_scale():g})", iteration)
        return False
