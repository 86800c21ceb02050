"""CAPE, conditional positional encoding (docs/architecture.md §6): depthwise Conv1d over time."""
from einops import rearrange
from torch import nn


class CAPE(nn.Module):
    """CAPE (docs/architecture.md §6): depthwise Conv1d over time (groups = c, no bias), shared by all parts.

    Returns the encoding; the caller adds it: `E <- E + CAPE(E)`.
    """

    def __init__(self, channels: int, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, bias=False)

    def forward(self, x):
        # x: [n, c, s, p] -> [n, c, s, p]
        p = x.shape[-1]
        z = rearrange(x, "n c s p -> (n p) c s")
        return rearrange(self.conv(z), "(n p) c s -> n c s p", p=p)
