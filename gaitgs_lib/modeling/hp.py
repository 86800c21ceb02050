"""Horizontal pooling, HP (docs/architecture.md §5): mean + max over each of p horizontal strips.

A method (`GaitGS.HP`) in the authors' code. Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
from einops import rearrange
from torch import nn

from .memory_format import is_channels_last, ndhwc


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
        if is_channels_last(x):
            # Speed (same values): reduce the channels-last map where it lies, as [n, s, h, w, c],
            # instead of copying it to [n, c, s, p, (r w)] first (modeling/memory_format.py).
            z = ndhwc(x).unflatten(2, (self.parts, -1)).flatten(3, 4)  # [n, s, p, h/p * w, c]
            return (z.mean(3) + z.max(3).values).permute(0, 3, 1, 2)  # [n, s, p, c] -> [n, c, s, p]
        z = rearrange(x, "n c s (p r) w -> n c s p (r w)", p=self.parts)  # [n, c, s, p, h/p * w]
        return z.mean(-1) + z.max(-1).values  # [n, c, s, p]

    def extra_repr(self) -> str:
        return f"parts={self.parts}"
