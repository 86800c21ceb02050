"""MCM, micro-motion capture module (docs/architecture.md §6, local span): MTB1 + MTB2 with per-part weights.

The authors' code calls it MCMs (`MCMs_S`, `MCMs_C`). Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


class MTB(nn.Module):
    """MTB (docs/architecture.md §6): `template(x) * sigmoid(conv_b(LeakyReLU(conv_a(x))))` over time, per part.

    Every part has its own weights; the p parts run as ONE grouped Conv1d (groups = p) on
    channels laid out part-major (`(p c)`). MTB1: `conv_b` kernel 1, pooling window 3;
    MTB2: `conv_b` kernel 3, pooling window 5.
    """

    def __init__(self, channels: int, parts: int, kernel_b: int, pool: int, squeeze: int = 4):
        super().__init__()
        self.parts, self.pool = parts, pool
        hidden = channels // squeeze
        self.conv_a = nn.Conv1d(parts * channels, parts * hidden, 3, padding=1, groups=parts, bias=False)
        self.conv_b = nn.Conv1d(parts * hidden, parts * channels, kernel_b, padding=kernel_b // 2, groups=parts, bias=False)

    def forward(self, x):
        # x: [n, (p c), s] -> feature and attention, both [n, (p c), s]
        attention = torch.sigmoid(self.conv_b(F.leaky_relu(self.conv_a(x))))
        pad = self.pool // 2
        template = F.avg_pool1d(x, self.pool, 1, pad) + F.max_pool1d(x, self.pool, 1, pad)
        return template * attention, attention


class MCM(nn.Module):
    """MCM (docs/architecture.md §6): `E = MTB1(x) + MTB2(x)` on part features `[n, c, s, p]`."""

    def __init__(self, channels: int, parts: int):
        super().__init__()
        self.parts = parts
        self.mtb1 = MTB(channels, parts, kernel_b=1, pool=3)
        self.mtb2 = MTB(channels, parts, kernel_b=3, pool=5)

    def forward(self, x, intermediates: dict | None = None, prefix: str = ""):
        # x: [n, c, s, p]
        flat = rearrange(x, "n c s p -> n (p c) s")  # [n, p*c, s]
        f1, a1 = self.mtb1(flat)
        f2, a2 = self.mtb2(flat)
        e = rearrange(f1 + f2, "n (p c) s -> n c s p", p=self.parts)  # [n, c, s, p]
        if intermediates is not None:
            intermediates[f"{prefix}mtb1_attention"] = rearrange(a1, "n (p c) s -> n c s p", p=self.parts)
            intermediates[f"{prefix}mtb2_attention"] = rearrange(a2, "n (p c) s -> n c s p", p=self.parts)
        return e
