"""Training losses of the GaitGS recipe: batch-all triplet per part + view cross-entropy
(docs/architecture.md "Training recipe"; docs/protocols.md "Training losses").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pairwise_part_distance(embeddings: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per-part Euclidean distances inside a batch: [n, c, p] -> [p, n, n] (float32).

    Computed as sqrt(|x|^2 + |y|^2 - 2 x.y) in float64 (the expansion cancels badly in
    float32 for close vectors), with the square clamped at `eps` so the gradient stays
    finite on the diagonal (identical vectors).
    """
    x = embeddings.double().permute(2, 0, 1)  # [p, n, c]
    sq = x.pow(2).sum(-1)  # [p, n]
    d2 = sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * x @ x.transpose(1, 2)  # [p, n, n]
    return d2.clamp_min(eps).sqrt().float()


class TripletLoss(nn.Module):
    """Batch-all triplet loss, per part (GaitGS recipe: margin 0.25, weight 1.0).

    Every (anchor a, positive p != a, negative n) triple of the batch contributes
    relu(d(a,p) - d(a,n) + margin) in every part. Each part averages over its non-zero
    triples (0 if none); the loss is the mean over parts.
    forward(embeddings [n, c, p], labels [n]) -> (loss, info) with info =
    {"triplet_loss", "nonzero_frac", "mean_dist"} as Python floats.
    """

    def __init__(self, margin: float = 0.25):
        super().__init__()
        self.margin = float(margin)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor):
        if embeddings.ndim != 3:
            raise ValueError(f"TripletLoss: expected embeddings [n, c, p], got {tuple(embeddings.shape)}")
        labels = torch.as_tensor(labels, device=embeddings.device)
        n = embeddings.shape[0]
        if labels.shape != (n,):
            raise ValueError(f"TripletLoss: expected labels [n={n}], got {tuple(labels.shape)}")
        dist = pairwise_part_distance(embeddings)  # [p, n, n]
        same = labels.unsqueeze(0) == labels.unsqueeze(1)  # [n, n]
        eye = torch.eye(n, dtype=torch.bool, device=embeddings.device)
        pos = same & ~eye  # (a, p) pairs
        neg = ~same  # (a, n) pairs
        valid = pos.unsqueeze(2) & neg.unsqueeze(1)  # [n(a), n(p), n(n)]
        # loss[k, a, p, n] = d_k(a, p) - d_k(a, n) + margin, for valid triples only.
        raw = dist.unsqueeze(3) - dist.unsqueeze(2) + self.margin  # [p, n, n, n]
        loss = F.relu(raw) * valid  # [p, n, n, n]
        nonzero = (loss > 0).flatten(1).sum(1)  # [p]
        per_part = loss.flatten(1).sum(1) / nonzero.clamp_min(1)  # [p]; 0 where no non-zero triple
        total = per_part.mean()
        num_triples = int(valid.sum())
        off = ~eye
        info = {
            "triplet_loss": float(total.detach()),
            "nonzero_frac": float(nonzero.float().mean() / num_triples) if num_triples else 0.0,
            "mean_dist": float(dist.detach()[:, off].mean()) if n > 1 else 0.0,
        }
        return total, info


def view_cross_entropy(logits: torch.Tensor, views: torch.Tensor, weight: float = 0.2) -> torch.Tensor:
    """PIEG view classification loss: weight x cross-entropy (no label smoothing), docs/architecture.md §4.

    logits: [n, views], views: [n] integer class indices -> scalar.
    """
    if logits.ndim != 2:
        raise ValueError(f"view_cross_entropy: expected logits [n, views], got {tuple(logits.shape)}")
    views = torch.as_tensor(views, device=logits.device).long()
    if views.shape != logits.shape[:1]:
        raise ValueError(f"view_cross_entropy: expected views [n={logits.shape[0]}], got {tuple(views.shape)}")
    if views.numel() and (views.min() < 0 or views.max() >= logits.shape[1]):
        raise ValueError(f"view_cross_entropy: view index outside [0, {logits.shape[1]}): "
                         f"{views.min().item()}..{views.max().item()}")
    return weight * F.cross_entropy(logits.float(), views)


class GaitGSLoss(nn.Module):
    """The GaitGS objective: triplet_weight x TripletLoss + view_weight x view cross-entropy.

    forward(output, labels, views) where `output` is GaitGS's dict ("embeddings"
    [n, c, p], "view_logits" [n, views]) -> (loss, info) with info = TripletLoss's info
    plus "ce_loss" (weighted) and "loss" (total), as floats.
    """

    def __init__(self, margin: float = 0.25, triplet_weight: float = 1.0, view_weight: float = 0.2):
        super().__init__()
        self.triplet = TripletLoss(margin)
        self.triplet_weight = float(triplet_weight)
        self.view_weight = float(view_weight)

    def forward(self, output: dict, labels: torch.Tensor, views: torch.Tensor):
        trip, info = self.triplet(output["embeddings"], labels)
        loss = self.triplet_weight * trip
        ce = torch.zeros((), device=loss.device)
        if self.view_weight and output.get("view_logits") is not None:
            ce = view_cross_entropy(output["view_logits"], views, self.view_weight)
            loss = loss + ce
        info["ce_loss"] = float(ce.detach())
        info["loss"] = float(loss.detach())
        return loss, info
