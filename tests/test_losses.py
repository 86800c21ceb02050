"""Losses of the GaitGS recipe against their definitions.

The triplet loss is OpenGait's released batch-all `TripletLoss`
(opengait/modeling/losses/triplet.py + loss_aggregator.py): positives are EVERY same-label
pair, the diagonal (anchor = positive) included; per part, the sum of the terms
relu(d(a,p) - d(a,n) + margin) over the non-zero terms; then the mean over parts.
`brute_force_triplet` writes that definition as plain loops.
"""
import itertools

import pytest
import torch
import torch.nn.functional as F

from gaitgs_lib.losses import GaitGSLoss, TripletLoss, pairwise_part_distance, view_cross_entropy


def definition_distance(x, y):
    """d = sqrt(relu(|x|^2 + |y|^2 - 2 x.y)); exactly |x - y|, 0 (gradient 0) for the same vector."""
    return (x - y).norm()


def brute_force_triplet(emb, labels, margin):
    """Loop over parts and every (anchor, positive incl. anchor itself, negative) -> (loss, info)."""
    n, _, p = emb.shape
    per_part, counts, hard, dists = [], [], [], []
    for k in range(p):
        terms = []
        for a, q, m in itertools.product(range(n), repeat=3):
            if labels[q] != labels[a] or labels[m] == labels[a]:
                continue  # q == a is kept: OpenGait's positive mask includes the diagonal
            d_ap = definition_distance(emb[a, :, k], emb[q, :, k])
            d_an = definition_distance(emb[a, :, k], emb[m, :, k])
            terms.append(torch.relu(d_ap - d_an + margin))
        terms = torch.stack(terms)
        nonzero = int((terms > 0).sum())
        per_part.append(terms.sum() / nonzero if nonzero else terms.sum() * 0)
        counts.append(nonzero)
        hard.append(float(terms.detach().max()))
        dists += [float(definition_distance(emb[i, :, k], emb[j, :, k]).detach()) for i in range(n) for j in range(n)]
    info = {"nonzero_count": sum(counts) / p, "num_triplets": len(terms), "hard_loss": sum(hard) / p,
            "mean_dist": sum(dists) / len(dists)}
    return torch.stack(per_part).mean(), info


def test_triplet_hand_made_numbers_include_the_diagonal():
    # One part, 1-D embeddings: 0 and 1 are subject A, 3 is subject B.
    emb = torch.tensor([[[0.0]], [[1.0]], [[3.0]]])  # [3, 1, 1]
    labels = torch.tensor([0, 0, 1])
    # d(0,1) = 1, d(0,2) = 3, d(1,2) = 2. Terms (anchor, positive, negative):
    #   (0,0,2): 0-3+m  (0,1,2): 1-3+m  (1,0,2): 1-2+m  (1,1,2): 0-2+m  (2,2,0): 0-3+m  (2,2,1): 0-2+m
    # m = 2.5 -> 0, .5, 1.5, .5, 0, .5: sum 3 over 4 non-zero terms = 0.75 (1.0 without the diagonal).
    loss, info = TripletLoss(2.5)(emb, labels)
    assert float(loss) == pytest.approx(0.75)
    assert info["num_triplets"] == 6 and info["nonzero_count"] == 4
    assert info["nonzero_frac"] == pytest.approx(4 / 6)
    assert info["hard_loss"] == pytest.approx(1.5)
    # mean over ALL 9 pairs, the three diagonal zeros included
    assert info["mean_dist"] == pytest.approx((0 + 1 + 3 + 1 + 0 + 2 + 3 + 2 + 0) / 9)
    # m = 1.5 -> only (1,0,2) is non-zero (0.5): the mean is over non-zero terms only
    loss, info = TripletLoss(1.5)(emb, labels)
    assert float(loss) == pytest.approx(0.5) and info["nonzero_count"] == 1
    # m = 3.5 -> .5, 1.5, 2.5, 1.5, .5, 1.5: all six non-zero, mean 8/6
    loss, info = TripletLoss(3.5)(emb, labels)
    assert float(loss) == pytest.approx(8 / 6) and info["nonzero_frac"] == 1.0
    # m = 0.25: every term is 0 -> loss 0, nothing non-zero
    loss, info = TripletLoss(0.25)(emb, labels)
    assert float(loss) == 0.0 and info["nonzero_count"] == 0 and info["nonzero_frac"] == 0.0


def test_a_subject_with_one_sequence_still_pushes_its_negatives():
    # K = 1 for subject B: without the diagonal it would be no anchor at all.
    emb = torch.tensor([[[0.0]], [[0.0]], [[0.1]]])  # A, A, B
    loss, info = TripletLoss(0.25)(emb, torch.tensor([0, 0, 1]))
    # anchors 0, 1: 2 positives x 1 negative; anchor 2: itself x 2 negatives. Every term is
    # d(a,p) - d(a,n) + .25 with d(a,p) = 0 and d(a,n) = .1: 6 terms of 0.15.
    assert info["num_triplets"] == 6 and info["nonzero_count"] == 6
    assert float(loss) == pytest.approx(0.15)


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 1, 2, 2], [0, 0, 0, 0, 1, 1, 1, 1], [3, 1, 3, 1, 2, 2, 1]])
def test_triplet_matches_brute_force(labels):
    labels = torch.tensor(labels)
    emb = torch.randn(len(labels), 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(len(labels)))
    emb[1] = emb[0]  # two identical sequences: a zero off-diagonal distance too
    for margin in (0.25, 2.0, 6.0):
        loss, info = TripletLoss(margin)(emb, labels)
        ref, ref_info = brute_force_triplet(emb, labels, margin)
        torch.testing.assert_close(loss.double(), ref, rtol=1e-6, atol=1e-6)
        assert info["triplet_loss"] == pytest.approx(float(ref), rel=1e-6, abs=1e-7)
        for key, value in ref_info.items():
            assert info[key] == pytest.approx(value, rel=1e-6, abs=1e-7), key
        assert info["nonzero_frac"] == pytest.approx(ref_info["nonzero_count"] / ref_info["num_triplets"])


def test_triplet_gradient_matches_brute_force_and_is_finite_on_the_diagonal():
    emb = torch.randn(6, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    loss, _ = TripletLoss(1.0)(emb, labels)
    (g,) = torch.autograd.grad(loss, emb)
    emb2 = emb.detach().clone().requires_grad_(True)
    (g_ref,) = torch.autograd.grad(brute_force_triplet(emb2, labels, 1.0)[0], emb2)
    assert torch.isfinite(g).all()
    torch.testing.assert_close(g, g_ref, rtol=1e-6, atol=1e-8)
    # identical embeddings: every distance is 0 (sqrt at 0), every term = margin
    same = torch.zeros(4, 3, 2, requires_grad=True)
    loss, info = TripletLoss(0.25)(same, torch.tensor([0, 0, 1, 1]))
    loss.backward()
    assert float(loss.detach()) == pytest.approx(0.25) and info["nonzero_frac"] == 1.0
    assert torch.isfinite(same.grad).all() and float(same.grad.abs().max()) == 0.0
    # float32 input (the trainer's dtype): finite gradient, float32 loss
    x = torch.randn(8, 16, 4, requires_grad=True)
    x.data[1] = x.data[0]
    loss, _ = TripletLoss(0.25)(x, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(x.grad).all()


def test_pairwise_part_distance_is_the_definition():
    emb = torch.randn(5, 8, 3)
    d = pairwise_part_distance(emb)
    assert d.shape == (3, 5, 5) and d.dtype == torch.float64
    ref = (emb.double().permute(2, 0, 1)[:, :, None] - emb.double().permute(2, 0, 1)[:, None]).norm(dim=-1)
    torch.testing.assert_close(d, ref, atol=1e-9, rtol=1e-9)
    assert float(d.diagonal(dim1=1, dim2=2).abs().max()) == 0.0


def test_view_cross_entropy_and_combined():
    logits = torch.randn(4, 11)
    views = torch.tensor([0, 3, 10, 5])
    torch.testing.assert_close(view_cross_entropy(logits, views, 0.2), 0.2 * F.cross_entropy(logits, views))
    with pytest.raises(ValueError, match="outside"):
        view_cross_entropy(logits, torch.tensor([0, 1, 2, 11]))
    emb = torch.randn(4, 6, 2)
    labels = torch.tensor([0, 0, 1, 1])
    loss, info = GaitGSLoss(0.25, view_weight=0.2)({"embeddings": emb, "view_logits": logits}, labels, views)
    trip, trip_info = TripletLoss(0.25)(emb, labels)
    torch.testing.assert_close(loss, trip + 0.2 * F.cross_entropy(logits, views))
    assert set(info) == set(trip_info) | {"loss", "ce_loss"}
    assert set(trip_info) == {"triplet_loss", "nonzero_count", "num_triplets", "nonzero_frac", "hard_loss", "mean_dist"}
    assert all(isinstance(v, (int, float)) for v in info.values())  # the trainer logs them as numbers
    assert info["loss"] == pytest.approx(float(loss)) and info["ce_loss"] == pytest.approx(float(loss - trip))


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"\[n, c, p\]"):
        TripletLoss()(torch.randn(4, 6), torch.arange(4))
    with pytest.raises(ValueError, match="labels"):
        TripletLoss()(torch.randn(4, 6, 2), torch.arange(3))
