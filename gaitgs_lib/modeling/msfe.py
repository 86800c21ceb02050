"""MSFE, Multi-Span Feature Extractor (docs/architecture.md §6): local span (MCM) + global span (GCM) of one branch.

v1 of the paper calls it MSFL; the authors' code has no class for it (GaitGS.forward sums the spans).
Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
from __future__ import annotations

from torch import nn

from .gcm import GCM
from .mcm import MCM
from .separate_fcs import SeparateFCs


class MSFE(nn.Module):
    """MSFE (docs/architecture.md §6): branch embedding = GCM(E) + SeparateFCs(max_t E), with E = MCM(HP features).

    `use_mcm=False`: E is the HP features and there is no local vector;
    `use_global_span=False`: no GCM vector.
    """

    def __init__(self, channels: int, parts: int, embed_dim: int, depth: int, heads: int, ff_dim: int,
                 dropout: float, cape_kernel: int, use_mcm: bool = True, use_global_span: bool = True):
        super().__init__()
        self.mcm = MCM(channels, parts) if use_mcm else None
        self.fc_local = SeparateFCs(parts, channels, embed_dim) if use_mcm else None
        self.gcm = (GCM(channels, parts, embed_dim, depth, heads, ff_dim, dropout, cape_kernel)
                    if use_global_span else None)

    def forward(self, x, prior=None, intermediates: dict | None = None, prefix: str = ""):
        # x: HP features [n, c, s, p]; prior [n, c] or None -> [n, embed, p]
        out = None
        e = x
        if self.mcm is not None:
            e = self.mcm(x, intermediates, prefix)  # [n, c, s, p]
            out = self.fc_local(e.max(2).values)  # local span: temporal max [n, c, p] -> [n, embed, p]
        if self.gcm is not None:
            g = self.gcm(e, prior, intermediates, prefix)  # [n, embed, p]
            out = g if out is None else g + out
        return out
