"""SeparateFCs (docs/architecture.md §7): one Linear (no bias) per part.

In the authors' code the four heads are `fc`, `fc_L` and `L_Transformer.separate_mlp` (twice).
Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
import torch
from torch import nn


class SeparateFCs(nn.Module):
    """SeparateFCs(p, a->b) (docs/architecture.md §7): weight `fc_bin` `[p, a, b]`, part i uses its own matrix."""

    def __init__(self, parts: int, in_channels: int, out_channels: int):
        super().__init__()
        self.fc_bin = nn.Parameter(torch.empty(parts, in_channels, out_channels))
        nn.init.xavier_uniform_(self.fc_bin)

    def forward(self, x):
        # x: [n, a, p] -> [n, b, p]
        out = torch.matmul(x.permute(2, 0, 1), self.fc_bin)  # [p, n, a] @ [p, a, b] -> [p, n, b]
        return out.permute(1, 2, 0).contiguous()

    def extra_repr(self) -> str:
        p, a, b = self.fc_bin.shape
        return f"parts={p}, in={a}, out={b}"
