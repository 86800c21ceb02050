"""Training losses of the GaitGS recipe: batch-all triplet per part + view cross-entropy
(docs/architecture.md "Training recipe"; docs/data-and-evaluation.md "Training losses").

The triplet loss is OpenGait's released `TripletLoss`, which the authors' configuration
(https://github.com/Haijun-Xiong/GaitGS, `configs/gaitgs/gaitgs.yaml`: margin 0.25,
weight 1.0) uses: https://github.com/ShiqiYu/OpenGait,
`opengait/modeling/losses/triplet.py` (`forward`, `ComputeDistance`, `Convert2Triplets`,
`AvgNonZeroReducer`), with the mean over parts taken by `opengait/modeling/loss_aggregator.py`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .distance import per_part_distance


def pairwise_part_distance(embeddings: torch.Tensor) -> torch.Tensor:
    """Per-part Euclidean distances inside a batch: [n, c, p] -> [p, n, n] (float64).

    `distance.per_part_distance` in float64 (the expansion |x|^2 + |y|^2 - 2 x.y cancels
    badly in float32 for close vectors); the diagonal is exactly 0 with gradient 0.
    """
    return per_part_distance(embeddings, dtype=torch.float64)


class TripletLoss(nn.Module):
    """Batch-all triplet loss per part, as OpenGait's released `TripletLoss` (margin 0.25 in GaitGS).

    Per part k, with d_k(x, y) = sqrt(relu(|x_k|^2 + |y_k|^2 - 2 x_k.y_k)):

    - positive pairs (a, p): EVERY pair with the same label, the diagonal a = p included;
    - for each anchor a, each of its positives p and each of its negatives n (other label)
      gives the term relu(d_k(a, p) - d_k(a, n) + margin);
    - the part's loss is the sum of its terms / the number of non-zero terms (0 when none).

    The loss is the mean over parts. Source: OpenGait, `opengait/modeling/losses/triplet.py`
    (`Convert2Triplets` takes `labels == labels` as positives, so the diagonal is in;
    `AvgNonZeroReducer` divides by the count of non-zero terms) and
    `opengait/modeling/loss_aggregator.py` (`loss.mean()` over parts); docs/data-and-evaluation.md,
    "Training losses". OpenGait needs every label to have the same count in the batch
    (P x K); this version takes any labels and gives the same numbers on P x K batches.
    Distances are computed in float64; pairs closer than 1e-6 (the diagonal) count as
    distance 0 with gradient 0 (see `distance._safe_sqrt`), where OpenGait's float32
    gives a rounding-noise value with an unbounded gradient.

    forward(embeddings [n, c, p], labels [n]) -> (loss float32 scalar, info), info holding
    Python numbers (what OpenGait logs, averaged over parts as its logger does):

    - "triplet_loss": the loss;
    - "nonzero_count": non-zero terms per part, mean over parts (OpenGait's `loss_num`);
    - "num_triplets": the number of (a, p, n) terms per part (a = p included);
    - "nonzero_frac": nonzero_count / num_triplets (0 when there is no triplet);
    - "hard_loss": the largest term per part, mean over parts (OpenGait's `hard_loss`);
    - "mean_dist": mean distance over ALL n x n pairs, diagonal zeros included, and over
      parts (OpenGait's `mean_dist`).
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
        dist = pairwise_part_distance(embeddings)  # [p, n, n] float64
        same = labels.unsqueeze(0) == labels.unsqueeze(1)  # [n, n], diagonal True
        anchor, positive = same.nonzero(as_tuple=True)  # every (a, p) pair, a = p included: [m]
        negative = ~same[anchor]  # [m, n]: the negatives of each pair's anchor
        d_ap = dist[:, anchor, positive]  # [p, m]
        d_an = dist[:, anchor, :]  # [p, m, n]
        terms = F.relu(d_ap.unsqueeze(2) - d_an + self.margin) * negative  # [p, m, n]; 0 off the negatives
        nonzero = (terms > 0).flatten(1).sum(1)  # [p]
        per_part = terms.flatten(1).sum(1) / nonzero.clamp_min(1)  # [p]; 0 where no term is non-zero
        total = per_part.mean().float()
        num_triplets = int(negative.sum())
        nonzero_count = float(nonzero.double().mean())
        info = {
            "triplet_loss": float(total.detach()),
            "nonzero_count": nonzero_count,
            "num_triplets": num_triplets,
            "nonzero_frac": nonzero_count / num_triplets if num_triplets else 0.0,
            "hard_loss": float(terms.detach().flatten(1).amax(1).mean()) if terms.numel() else 0.0,
            "mean_dist": float(dist.detach().mean()),
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
    (see there for the keys) plus "ce_loss" (weighted) and "loss" (total), as Python numbers.
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
