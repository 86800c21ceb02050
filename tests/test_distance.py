"""The one per-part distance (gaitgs_lib.distance) that the loss and evaluation share."""
import numpy as np
import pytest
import torch

from gaitgs_lib.distance import SQUARE_EPS, part_distance, per_part_distance
from gaitgs_lib.losses import pairwise_part_distance


def loop_distance(a, b):
    """[N, C, P], [M, C, P] -> [P, N, M] by the definition, one pair and one part at a time."""
    return torch.stack([torch.stack([torch.stack([(a[i, :, k] - b[j, :, k]).norm() for j in range(len(b))])
                                     for i in range(len(a))]) for k in range(a.shape[2])])


def test_per_part_distance_is_the_definition():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 6, 3, generator=g, dtype=torch.float64), torch.randn(5, 6, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(per_part_distance(a, b), loop_distance(a, b), rtol=1e-12, atol=1e-12)
    cos = torch.nn.functional.cosine_similarity(a.permute(2, 0, 1)[:, :, None], b.permute(2, 0, 1)[:, None], dim=-1)
    torch.testing.assert_close(per_part_distance(a, b, "cosine"), 1 - cos)
    assert per_part_distance(a.float(), b.float(), dtype=torch.float64).dtype == torch.float64
    with pytest.raises(ValueError, match="unknown metric"):
        per_part_distance(a, b, "manhattan")


def test_loss_and_evaluation_compute_the_same_distance():
    emb = torch.randn(9, 16, 4, generator=torch.Generator().manual_seed(1))
    loss_view = pairwise_part_distance(emb)  # [P, N, N] float64, the loss's path
    eval_view = part_distance(emb, emb, dtype=torch.float64)  # [N, N] mean over parts, evaluation's path
    torch.testing.assert_close(loss_view, per_part_distance(emb, dtype=torch.float64))
    torch.testing.assert_close(eval_view, loss_view.mean(0), rtol=1e-12, atol=1e-12)
    # evaluation's default float32 (OpenGait's evaluator): the expansion's rounding leaves up to
    # ~sqrt(1e-7 |x|^2) on identical vectors, and a relative 1e-5 elsewhere
    in_float32 = part_distance(emb, emb)
    assert in_float32.dtype == torch.float32
    off = ~torch.eye(9, dtype=torch.bool)
    torch.testing.assert_close(in_float32[off], loss_view.mean(0)[off].float(), rtol=1e-4, atol=1e-4)
    assert float(in_float32.diagonal().max()) < 5e-3
    # blocked (a few rows at a time) = all at once
    blocked = part_distance(emb, emb[:7], block_elements=4 * 7 * 2, dtype=torch.float64)  # 2 rows per block
    torch.testing.assert_close(blocked, loss_view[:, :, :7].mean(0), rtol=1e-12, atol=1e-12)
    # numpy in -> numpy out
    out = part_distance(emb.numpy(), emb[:3].numpy())
    assert isinstance(out, np.ndarray) and out.shape == (9, 3)


def test_gradient_is_finite_where_vectors_coincide():
    x = torch.randn(5, 3, 2, dtype=torch.float64, requires_grad=True)
    d = per_part_distance(x)  # diagonal: the same vector twice
    assert float(d.detach().diagonal(dim1=1, dim2=2).abs().max()) == 0.0
    (g,) = torch.autograd.grad(d.sum(), x)
    assert torch.isfinite(g).all()
    # off the diagonal the gradient is the definition's: d|a-b|/da = (a-b)/|a-b|
    x2 = x.detach().clone().requires_grad_(True)
    (g_ref,) = torch.autograd.grad(loop_distance(x2, x2).sum(), x2)
    torch.testing.assert_close(g, g_ref)
    # squares at or below SQUARE_EPS count as 0 (distance < 1e-6), with gradient 0
    a = torch.zeros(1, 1, 1, dtype=torch.float64)
    b = torch.full((1, 1, 1), SQUARE_EPS ** 0.5 / 2, dtype=torch.float64, requires_grad=True)
    close = per_part_distance(a, b)
    close.sum().backward()
    assert float(close.detach()) == 0.0 and float(b.grad) == 0.0
