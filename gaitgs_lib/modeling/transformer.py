"""The transformer of the global span (docs/architecture.md §6): pre-norm encoder layers that can return attention.

`L_Transformer.attn` (PyTorch's nn.TransformerEncoder) in the authors' code. Other names for it (versions of the paper, the authors' code): docs/architecture.md, "Reading the paper".
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer (docs/architecture.md §6) with nn.TransformerEncoderLayer's parameter names.

    `x + SA(norm1(x))`, then `x + FF(norm2(x))` with GELU and dropout; optionally returns
    the per-head attention weights `[B, heads, L, L]`.
    """

    def __init__(self, d_model: int, heads: int, ff_dim: int, dropout: float = 0.0):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, ff_dim)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ff_dim, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x, need_weights: bool = False):
        # x: [B, L, d]
        y = self.norm1(x)
        y, weights = self.self_attn(y, y, y, need_weights=need_weights, average_attn_weights=False)
        x = x + self.dropout1(y)
        y = self.linear2(self.dropout(F.gelu(self.linear1(self.norm2(x)))))
        x = x + self.dropout2(y)
        return x, weights  # weights: [B, heads, L, L] or None


class TransformerEncoder(nn.Module):
    """A stack of `depth` pre-norm EncoderLayers, no final norm (docs/architecture.md §6)."""

    def __init__(self, d_model: int, heads: int, ff_dim: int, depth: int, dropout: float = 0.0):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(d_model, heads, ff_dim, dropout) for _ in range(depth))

    def forward(self, x, need_weights: bool = False):
        # x: [B, L, d] -> [B, L, d], list of per-layer attention weights (when asked)
        weights = []
        for layer in self.layers:
            x, w = layer(x, need_weights)
            weights.append(w)
        return x, (weights if need_weights else None)
