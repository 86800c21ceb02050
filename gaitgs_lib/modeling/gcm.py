"""GCM, the global span of MSFE (docs/architecture.md §6): CAPE + class token + prior + transformer.

The authors' code calls it CATM (`catm_f`, `catm_c`); v2 of the paper reportedly GaitTransformer.
Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from .cape import CAPE
from .separate_fcs import SeparateFCs
from .transformer import TransformerEncoder


class GCM(nn.Module):
    """GCM / global span (docs/architecture.md §6): every (sample, part) is a sequence of s+1 tokens.

    `E + CAPE(E)`, a class token prepended at time 0, the PIEG prior added to every token,
    a pre-norm transformer, and the class token's output mapped by SeparateFCs(p, c -> embed).
    """

    def __init__(self, channels: int, parts: int, embed_dim: int, depth: int, heads: int,
                 ff_dim: int, dropout: float, cape_kernel: int):
        super().__init__()
        self.parts = parts
        self.cape = CAPE(channels, cape_kernel)
        self.cls_token = nn.Parameter(torch.randn(1, channels, 1, parts))  # [1, c, 1, p]
        self.transformer = TransformerEncoder(channels, heads, ff_dim, depth, dropout)
        self.fc = SeparateFCs(parts, channels, embed_dim)

    def forward(self, e, prior=None, intermediates: dict | None = None, prefix: str = ""):
        # e: [n, c, s, p]; prior: [n, c] or None
        n = e.shape[0]
        e = e + self.cape(e)  # [n, c, s, p]
        tokens = torch.cat([self.cls_token.expand(n, -1, -1, -1).to(e.dtype), e], dim=2)  # [n, c, s+1, p]
        if prior is not None:
            tokens = tokens + prior[:, :, None, None].to(tokens.dtype)
        seq = rearrange(tokens, "n c t p -> (n p) t c")  # [n*p, s+1, c]
        out, weights = self.transformer(seq, need_weights=intermediates is not None)
        cls = rearrange(out[:, 0], "(n p) c -> n c p", n=n)  # [n, c, p]
        if intermediates is not None:
            for i, w in enumerate(weights):  # [n*p, heads, s+1, s+1] -> [n, p, heads, s+1, s+1]
                intermediates[f"{prefix}attention_{i}"] = rearrange(w, "(n p) h a b -> n p h a b", n=n)
        return self.fc(cls)  # [n, embed, p]
