"""Losses of the GaitGS recipe: batch-all triplet per part vs a brute-force loop, view CE."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from gaitgs_lib.losses import GaitGSLoss, TripletLoss, pairwise_part_distance, view_cross_entropy


def brute_force_triplet(emb, labels, margin):
    """Loop over parts and every (a, p != a, n) triple; mean over non-zero triples, then parts."""
    n, _, p = emb.shape
    per_part = []
    for k in range(p):
        losses = []
        for a, q, m in itertools.product(range(n), repeat=3):
            if q == a or labels[q] != labels[a] or labels[m] == labels[a]:
                continue
            d_ap = (emb[a, :, k] - emb[q, :, k]).norm()
            d_an = (emb[a, :, k] - emb[m, :, k]).norm()
            losses.append(torch.relu(d_ap - d_an + margin))
        losses = torch.stack(losses)
        nz = losses[losses > 0]
        per_part.append(nz.mean() if len(nz) else torch.zeros(()))
    return torch.stack(per_part).mean()


def test_triplet_matches_brute_force():
    emb = torch.randn(7, 5, 3, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    for margin in (0.25, 2.0):
        loss, info = TripletLoss(margin)(emb, labels)
        ref = brute_force_triplet(emb.float(), labels, margin)
        torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-5)
        assert info["triplet_loss"] == pytest.approx(float(ref), rel=1e-5)
        assert 0 < info["nonzero_frac"] <= 1


def test_triplet_gradient_matches_brute_force_and_is_finite():
    emb = torch.randn(6, 4, 2, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    loss, _ = TripletLoss(1.0)(emb, labels)
    (g,) = torch.autograd.grad(loss, emb)
    emb2 = emb.detach().clone().requires_grad_(True)
    (g_ref,) = torch.autograd.grad(brute_force_triplet(emb2, labels, 1.0), emb2)
    torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-5)
    # identical embeddings (zero distances everywhere) must not produce NaN gradients
    same = torch.zeros(4, 3, 2, requires_grad=True)
    loss, info = TripletLoss(0.25)(same, torch.tensor([0, 0, 1, 1]))
    loss.backward()
    assert torch.isfinite(same.grad).all()
    assert info["nonzero_frac"] == 1.0


def test_triplet_hand_made_numbers():
    # One part, 1-D embeddings: a=0, p=1 (same id), n=3 (other id).
    emb = torch.tensor([[[0.0]], [[1.0]], [[3.0]]])  # [3, 1, 1]
    labels = torch.tensor([0, 0, 1])
    # triples: (0,1,2): relu(1-3+m); (1,0,2): relu(1-2+m).
    # m=2.5 -> 0.5 and 1.5 -> mean 1.0, both non-zero
    loss, info = TripletLoss(2.5)(emb, labels)
    assert float(loss) == pytest.approx(1.0)
    assert info["nonzero_frac"] == pytest.approx(1.0)
    # m=1.5 -> 0 and 0.5: the mean is over the non-zero triple only -> 0.5
    loss, info = TripletLoss(1.5)(emb, labels)
    assert float(loss) == pytest.approx(0.5)
    assert info["nonzero_frac"] == pytest.approx(0.5)
    assert info["mean_dist"] == pytest.approx((1 + 3 + 2) * 2 / 6)
    # m=0.25: both triples are satisfied -> loss 0, nothing non-zero
    loss, info = TripletLoss(0.25)(emb, labels)
    assert float(loss) == 0.0 and info["nonzero_frac"] == 0.0


def test_pairwise_part_distance():
    emb = torch.randn(5, 8, 3)
    d = pairwise_part_distance(emb)
    assert d.shape == (3, 5, 5)
    ref = (emb.permute(2, 0, 1)[:, :, None] - emb.permute(2, 0, 1)[:, None]).norm(dim=-1)
    torch.testing.assert_close(d, ref, atol=1e-5, rtol=1e-5)


def test_view_cross_entropy_and_combined():
    logits = torch.randn(4, 11)
    views = torch.tensor([0, 3, 10, 5])
    torch.testing.assert_close(view_cross_entropy(logits, views, 0.2), 0.2 * F.cross_entropy(logits, views))
    with pytest.raises(ValueError, match="outside"):
        view_cross_entropy(logits, torch.tensor([0, 1, 2, 11]))
    emb = torch.randn(4, 6, 2)
    labels = torch.tensor([0, 0, 1, 1])
    loss, info = GaitGSLoss(0.25, view_weight=0.2)({"embeddings": emb, "view_logits": logits}, labels, views)
    trip, _ = TripletLoss(0.25)(emb, labels)
    torch.testing.assert_close(loss, trip + 0.2 * F.cross_entropy(logits, views))
    assert set(info) >= {"loss", "triplet_loss", "ce_loss", "nonzero_frac", "mean_dist"}


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"\[n, c, p\]"):
        TripletLoss()(torch.randn(4, 6), torch.arange(4))
    with pytest.raises(ValueError, match="labels"):
        TripletLoss()(torch.randn(4, 6, 2), torch.arange(3))
