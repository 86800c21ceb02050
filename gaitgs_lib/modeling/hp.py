"""Horizontal pooling, HP (docs/architecture.md §5): mean + max over each of p horizontal strips.

A method (`GaitGS.HP`) in the authors' code. Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
from torch import nn

from . import speed


class HorizontalPooling(nn.Module):
    """HP (docs/architecture.md §5): `[n, c, s, h, w]` -> `[n, c, s, p]`, per strip mean + max over its pixels.

    The max is `torch.max` (its gradient goes to one maximal pixel), as in the authors' code.
    """

    def __init__(self, parts: int):
        super().__init__()
        self.parts = parts

    def forward(self, x):
        # x: [n, c, s, h, w]
        if x.shape[3] % self.parts:
            raise ValueError(f"HorizontalPooling: feature height {x.shape[3]} is not divisible by {self.parts} parts")
        # mean + max over each strip's r = h/p rows and w columns
        return speed.reduce(x, "n c s (p r) w -> n c s p", "mean", "max", p=self.parts)  # [n, c, s, p]

    def extra_repr(self) -> str:
        return f"parts={self.parts}"
