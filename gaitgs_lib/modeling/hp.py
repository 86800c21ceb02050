"""Horizontal pooling, HP (docs/architecture.md §5): mean + max over each of p horizontal strips."""
from einops import rearrange
from torch import nn


class HorizontalPooling(nn.Module):
    """HP (docs/architecture.md §5): `[n, c, s, h, w]` -> `[n, c, s, p]`, per strip mean + max over its pixels."""

    def __init__(self, parts: int):
        super().__init__()
        self.parts = parts

    def forward(self, x):
        # x: [n, c, s, h, w]
        if x.shape[3] % self.parts:
            raise ValueError(f"HorizontalPooling: feature height {x.shape[3]} is not divisible by {self.parts} parts")
        z = rearrange(x, "n c s (p r) w -> n c s p (r w)", p=self.parts)  # [n, c, s, p, h/p * w]
        return z.mean(-1) + z.amax(-1)  # [n, c, s, p]

    def extra_repr(self) -> str:
        return f"parts={self.parts}"
