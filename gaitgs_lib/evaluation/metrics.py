"""Retrieval metrics on a probe x gallery distance matrix: rank-k (CMC), mAP, mINP (docs/data-and-evaluation.md).

A metric takes distances `[Np, Ng]` (smaller = closer) and the identities of probes and
gallery, and knows nothing about datasets, views or files: the protocols in
`protocols.py` decide who is probe and who is gallery.

Probes whose identity is absent from the gallery ("invalid" probes) are handled by one of
two conventions, chosen with `exclude_invalid` and named in every result:

- `exclude_invalid=False` (default, OpenGait's published numbers): rank-k is over ALL
  probes and an invalid probe is a failure at every rank (`evaluate_real_scene` for GREW
  and similar divides by all probes; so does `compute_ACC_mAP`'s accuracy);
- `exclude_invalid=True`: invalid probes are left out of rank-k (OpenGait's Gait3D path,
  `evaluate_rank`, and what GaitGS's "excluding invalid probe sequences" means on OU-MVLP).

mAP and mINP are defined only for probes with at least one match, so both conventions
average them over the valid probes, as OpenGait's `compute_ACC_mAP` and `evaluate_rank` do
(https://github.com/ShiqiYu/OpenGait, `opengait/evaluation/metric.py` and `evaluator.py`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

CONVENTIONS = {
    False: "invalid probes counted as failures (OpenGait's convention; invalid: no gallery sequence of the subject)",
    True: "invalid probes excluded (invalid: no gallery sequence of the subject)",
}


def convention(exclude_invalid: bool) -> str:
    """The sentence every result carries to say how invalid probes were treated."""
    return CONVENTIONS[bool(exclude_invalid)]


def _ids(x) -> np.ndarray:
    return np.asarray([str(v) for v in x])


def sorted_matches(dist, probe_ids, gallery_ids, mask=None) -> np.ndarray:
    """[Np, Ng] bool: row i, column r is True when probe i's r-th nearest gallery entry is a match.

    Ties are broken by gallery order (stable sort). `mask` [Np, Ng] (bool, optional) marks
    the gallery entries each probe may be compared with; the others never match and sort last.
    """
    d = np.array(torch.as_tensor(dist).detach().cpu().double().numpy(), dtype=np.float64, copy=True)
    probe_ids, gallery_ids = _ids(probe_ids), _ids(gallery_ids)
    if d.shape != (len(probe_ids), len(gallery_ids)):
        raise ValueError(f"dist is {d.shape} but there are {len(probe_ids)} probes and "
                         f"{len(gallery_ids)} gallery ids; expected [probes, gallery]")
    valid = np.ones_like(d, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    d[~valid] = np.inf
    order = np.argsort(d, axis=1, kind="stable")  # [Np, Ng]
    return (gallery_ids[order] == probe_ids[:, None]) & np.take_along_axis(valid, order, 1)


def rank1_accuracy(dist, probe_ids, gallery_ids, exclude_invalid: bool = False) -> float:
    """Percent of probes whose nearest gallery entry has their identity (first minimum on ties).

    NaN when there is no probe (or, with `exclude_invalid`, no valid probe).
    """
    probe_ids, gallery_ids = _ids(probe_ids), _ids(gallery_ids)
    dist = torch.as_tensor(dist)
    if exclude_invalid:
        valid = np.isin(probe_ids, gallery_ids)
        dist, probe_ids = dist[torch.from_numpy(np.flatnonzero(valid))], probe_ids[valid]
    if len(probe_ids) == 0 or len(gallery_ids) == 0:
        return float("nan")
    nearest = dist.argmin(dim=1).cpu().numpy()  # [Np]
    return 100.0 * float(np.mean(gallery_ids[nearest] == probe_ids))


def _first_match_ranks(matches: np.ndarray, exclude_invalid: bool) -> np.ndarray:
    """0-based rank of each counted probe's first match; invalid probes get a rank past the end."""
    has = matches.any(1)
    if not has.any():
        raise ValueError("no probe identity appears in the gallery; retrieval metrics are undefined")
    first = np.where(has, matches.argmax(1), matches.shape[1])  # [Np]
    return first[has] if exclude_invalid else first


def cmc_curve(dist, probe_ids, gallery_ids, max_rank: int = 20, mask=None,
              exclude_invalid: bool = False) -> np.ndarray:
    """Cumulative match characteristic: [max_rank] percent of probes matched within rank r.

    Invalid probes count as failures (`exclude_invalid=False`, OpenGait) or are left out.
    `mask` [Np, Ng] (bool, optional) marks the gallery entries each probe may be compared with.
    """
    first = _first_match_ranks(sorted_matches(dist, probe_ids, gallery_ids, mask), exclude_invalid)
    return 100.0 * (first[:, None] < np.arange(1, max_rank + 1)[None]).mean(0)


def retrieval_metrics(dist, probe_ids, gallery_ids, ranks: Sequence[int] = (1, 5, 10, 20),
                      mask=None, exclude_invalid: bool = False) -> dict:
    """Rank-k (CMC), mAP and mINP in percent, no view exclusion (docs/data-and-evaluation.md, wild datasets).

    dist: [Np, Ng] (smaller = closer); ties are broken by gallery order. AP averages the
    precision at each correct match; INP = (#correct) / (rank of the last correct match).
    Rank-k follows the invalid-probe convention (module docstring); mAP and mINP average
    over the valid probes. The result names the convention (`exclude_invalid`,
    `convention`) and counts `num_probes` and `num_valid_probes`.
    """
    matches = sorted_matches(dist, probe_ids, gallery_ids, mask)
    first = _first_match_ranks(matches, exclude_invalid)
    out = {f"rank-{r}": 100.0 * float(np.mean(first < r)) for r in ranks}
    has = matches.any(1)
    m = matches[has].astype(np.float64)  # [Nv, Ng]
    cum = np.cumsum(m, 1)
    pos = np.arange(1, m.shape[1] + 1)
    ap = (cum / pos * m).sum(1) / m.sum(1)
    last = m.shape[1] - np.argmax(m[:, ::-1], 1)  # 1-based rank of the last match
    inp = m.sum(1) / last
    out["mAP"] = 100.0 * float(ap.mean())
    out["mINP"] = 100.0 * float(inp.mean())
    out["num_valid_probes"] = int(has.sum())
    out["num_probes"] = int(len(has))
    out["exclude_invalid"] = bool(exclude_invalid)
    out["convention"] = convention(exclude_invalid)
    return out
