"""The per-part distance between gait embeddings, for the loss and for evaluation alike.

Embeddings are `[N, C, P]` (OpenGait's layout: C channels for each of P parts). Both the
batch-all triplet loss and the evaluation protocols compare two sequences part by part:
per part, the Euclidean distance of the two C-vectors (docs/data-and-evaluation.md, "Distance").
This module is the one implementation of it; `losses` and `evaluation` import it.

- `per_part_distance(x, y)` -> `[P, N, M]`: differentiable, optionally in float64, with
  a square root whose gradient stays finite where two vectors coincide (the loss).
- `part_distance(a, b)` -> `[N, M]`: the mean over parts, computed block by block so
  that `[P, N, M]` never has to fit in memory at once (evaluation: ~10^4 x 10^4 pairs).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

METRICS = ("euclidean", "cosine")

# Squared distances at or below this count as 0: the pair is at distance < 1e-6.
SQUARE_EPS = 1e-12

# Upper bound on the elements of one [P, n, M] block of `part_distance` (~256 MB in float32).
BLOCK_ELEMENTS = 1 << 26


def per_part_distance(x: torch.Tensor, y: torch.Tensor | None = None, metric: str = "euclidean",
                      dtype: torch.dtype | None = None) -> torch.Tensor:
    """Per-part distances: x [N, C, P], y [M, C, P] (default: x) -> [P, N, M].

    `metric="euclidean"`: d = sqrt(relu(|x|^2 + |y|^2 - 2 x.y)) per part, the expansion
    OpenGait's `ComputeDistance` and `cuda_dist` use. `metric="cosine"`: 1 - the cosine
    similarity of the two part vectors. `dtype`: compute in this dtype (float64 for the
    loss: the expansion cancels badly in float32 for close vectors); the result is
    returned in it. Differentiable; the gradient is finite everywhere (see `_safe_sqrt`).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    y = x if y is None else y
    if x.ndim != 3 or y.ndim != 3:
        raise ValueError(f"expected embeddings [N, C, P], got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[1:] != y.shape[1:]:
        raise ValueError(f"a is [N, C, P] = {tuple(x.shape)} but b is {tuple(y.shape)}: C and P must agree")
    dtype = dtype or (x.dtype if x.is_floating_point() else torch.float32)
    xs = x.to(dtype).permute(2, 0, 1)  # [P, N, C]
    ys = y.to(dtype=dtype, device=x.device).permute(2, 0, 1)  # [P, M, C]
    if metric == "cosine":
        return 1 - F.normalize(xs, dim=-1) @ F.normalize(ys, dim=-1).transpose(1, 2)  # [P, N, M]
    square = (xs.pow(2).sum(-1).unsqueeze(2) + ys.pow(2).sum(-1).unsqueeze(1)
              - 2 * xs @ ys.transpose(1, 2))  # [P, N, M]; rounding can dip below 0
    return _safe_sqrt(square)


def _safe_sqrt(square: torch.Tensor) -> torch.Tensor:
    """sqrt(relu(square)) with a finite gradient: squares <= SQUARE_EPS give 0 and gradient 0.

    The distance |a - b| has no derivative where a = b (every diagonal pair of a batch,
    anchor = positive in the triplet loss): d sqrt(s)/ds = 1/(2 sqrt s) is infinite at
    s = 0, and autograd would turn inf x 0 into NaN. Along the diagonal the distance is
    the constant 0 whatever the embedding, so its true gradient is 0; we give exactly
    that, and the value 0, to every pair closer than sqrt(SQUARE_EPS) = 1e-6. Elsewhere
    the value is sqrt(relu(square)) unchanged, as in OpenGait.
    """
    far = square > SQUARE_EPS
    # sqrt only sees values > eps (the others are replaced by 1), so no inf enters autograd.
    return torch.where(far, torch.where(far, square, torch.ones_like(square)).sqrt(),
                       torch.zeros_like(square))


def part_distance(a, b, metric: str = "euclidean", block_elements: int = BLOCK_ELEMENTS,
                  dtype: torch.dtype = torch.float32):
    """Sequence distance = mean over parts of the per-part distance (docs/data-and-evaluation.md, "Distance").

    a: [N, C, P], b: [M, C, P] (torch or numpy) -> [N, M] in `dtype`, numpy when `a` is numpy.
    Euclidean: the mean over parts of the per-part Euclidean distance (not the distance
    of the flattened vectors; no normalisation), as OpenGait's `cuda_dist`. Cosine:
    1 - the mean over parts of the cosine similarity. `per_part_distance` in blocks of rows
    of at most `block_elements` [P, n, M] elements; no gradient. The default float32 is
    what OpenGait's evaluator uses (near-identical vectors then get distances of the order
    of 1e-3 instead of 0, from rounding); float64 gives the loss's numbers.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    as_numpy = isinstance(a, np.ndarray)
    ta = torch.as_tensor(a).detach()
    tb = torch.as_tensor(b).detach().to(ta.device)
    for name, t in (("a", ta), ("b", tb)):
        if t.ndim != 3:
            raise ValueError(f"{name}: expected embeddings of shape [N, C, P], got {tuple(t.shape)}")
    if ta.shape[1:] != tb.shape[1:]:
        raise ValueError(f"a is [N, C, P] = {tuple(ta.shape)} but b is {tuple(tb.shape)}: C and P must agree")
    n, _, p = ta.shape
    out = torch.empty(n, tb.shape[0], dtype=dtype, device=ta.device)
    rows = max(1, block_elements // max(1, p * tb.shape[0]))
    with torch.no_grad():
        for start in range(0, n, rows):
            block = per_part_distance(ta[start:start + rows], tb, metric, dtype=dtype)  # [P, n', M]
            out[start:start + rows] = block.mean(0)
    return out.cpu().numpy() if as_numpy else out
