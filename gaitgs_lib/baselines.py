"""Classic baselines without learning: the Gait Energy Image (GEI) and its nearest-neighbour embedding.

The GEI (Han & Bhanu, 2006) is the mean of a sequence's aligned silhouettes: it keeps the
shape and the *range* of the motion but throws away its order and timing. Compared by
Euclidean distance it is the reference point every learned gait model must beat
(docs/synthgait-generator.md, "Dynamics must matter": it cannot tell SynthGait's twins apart).
"""
from __future__ import annotations

import numpy as np
import torch


def gei(frames) -> np.ndarray | torch.Tensor:
    """Gait Energy Image: the frame mean of a sequence, [T, h, w] -> [h, w] (same array type, float)."""
    if frames.ndim != 3 or frames.shape[0] == 0:
        raise ValueError(f"gei: expected a non-empty sequence of frames [T, h, w], got shape {tuple(frames.shape)}")
    if isinstance(frames, torch.Tensor):
        return frames.float().mean(dim=0)
    return np.asarray(frames, dtype=np.float32).mean(axis=0)


def gei_embeddings(dataset, progress: bool = False):
    """GEIs of every sequence as embeddings for the protocols: (emb float32 [N, h*w, 1], sids, types, views).

    `dataset[i]` must give `(frames [T, h, w], info)` (e.g. `GaitDataset`). With one
    "part" the protocol's mean-over-parts Euclidean distance is the plain Euclidean
    distance between GEIs, so `casia_b_protocol(*gei_embeddings(ds))` is GEI + nearest neighbour.
    """
    from tqdm.auto import tqdm

    embs = []
    for i in tqdm(range(len(dataset)), desc="GEI", disable=not progress):
        frames, _ = dataset[i]
        g = gei(torch.as_tensor(frames) if not isinstance(frames, torch.Tensor) else frames)
        embs.append(g.reshape(-1))
    emb = torch.stack(embs)[:, :, None]                     # [N, h*w, 1]
    return emb, list(dataset.sids), list(dataset.types), list(dataset.views)
