"""Evaluation protocols: who is probe, who is gallery, and how the metric is averaged (docs/data-and-evaluation.md).

- `casia_b_protocol`: CASIA-B's cross-view rank-1 (docs/data-and-evaluation.md, "CASIA-B evaluation");
- `ou_mvlp_protocol`: OU-MVLP, with both invalid-probe conventions ("OU-MVLP");
- `retrieval_protocol`: rank-k / mAP / mINP, every test sequence against the rest ("wild datasets");
- `twins_protocol`: CASIA-B restricted to each pair of look-alike subjects (SynthGait's twins).

Embeddings are `[N, C, P]` (OpenGait's layout); distances come from `gaitgs_lib.distance`
and metrics from `metrics.py`. All accuracies are percentages (0-100), as papers print them.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..data.views import view_key
from ..distance import part_distance
from .metrics import convention, rank1_accuracy, retrieval_metrics

# CASIA-B: gallery nm-01..04; probe sets NM / BG / CL (docs/data-and-evaluation.md, "CASIA-B evaluation").
CASIA_B_GALLERY = ("nm-01", "nm-02", "nm-03", "nm-04")
CASIA_B_PROBES = {
    "NM": ("nm-05", "nm-06"),
    "BG": ("bg-01", "bg-02"),
    "CL": ("cl-01", "cl-02"),
}
# OU-MVLP: probe sequence 00, gallery 01.
OU_MVLP_GALLERY = ("01",)
OU_MVLP_PROBES = {"OU-MVLP": ("00",)}

# A gallery of fewer subjects cannot rank: the nearest entry is the right subject by construction.
MIN_GALLERY_SUBJECTS = 2

# Names the `evaluate` command takes; "-excl" = invalid probes excluded (see metrics.py).
PROTOCOLS = ("casia-b", "ou-mvlp", "ou-mvlp-excl", "retrieval", "retrieval-excl")

__all__ = ["CASIA_B_GALLERY", "CASIA_B_PROBES", "OU_MVLP_GALLERY", "OU_MVLP_PROBES", "PROTOCOLS",
           "NonFiniteEmbeddingsError", "check_embeddings", "cross_view_protocol", "casia_b_protocol",
           "ou_mvlp_protocol", "retrieval_protocol", "twins_protocol", "run_protocol"]


class NonFiniteEmbeddingsError(ValueError):
    """Some embeddings hold NaN or inf: every distance to them is meaningless."""


def check_embeddings(embeddings, name: str = "embeddings") -> torch.Tensor:
    """`embeddings` as a float32 tensor [N, C, P]; an error when the shape is wrong or values are not finite.

    A model with NaN weights gives NaN embeddings, and NaN distances make argmin pick the
    first gallery entry: a normal-looking table of chance numbers. This refuses them and
    says how many sequences are affected.
    """
    t = torch.as_tensor(embeddings).detach()
    if t.ndim != 3:
        raise ValueError(f"{name}: expected embeddings of shape [N, C, P], got {tuple(t.shape)}")
    t = t.to(torch.float32)
    bad = ~torch.isfinite(t).flatten(1).all(1)  # [N]
    if bad.any():
        raise NonFiniteEmbeddingsError(
            f"{name}: {int(bad.sum())} of {len(t)} sequences have non-finite embeddings (NaN or inf), "
            f"e.g. sequence #{int(bad.nonzero()[0, 0])}; the model's weights are probably non-finite "
            f"(a diverged training run?)")
    return t


def _check_lengths(embeddings, sids, types, views):
    n = len(embeddings)
    for name, seq in (("sids", sids), ("types", types), ("views", views)):
        if len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} entries but embeddings has {n} sequences")


def _probe_view_row(emb, sids, pidx, gallery_mask, views, view_names, metric, exclude_invalid):
    """Rank-1 of the probes `pidx` against the gallery of each view in turn -> [V] (NaN: no
    gallery, or one not rankable: fewer than two subjects, where rank-1 is 100 % by construction)."""
    row = np.full(len(view_names), np.nan)
    probe_emb = emb[torch.from_numpy(pidx)]  # [n_p, C, P]
    for j, gv in enumerate(view_names):
        gidx = np.flatnonzero(gallery_mask & (views == gv))
        if len(set(sids[gidx].tolist())) < MIN_GALLERY_SUBJECTS:
            continue
        dist = part_distance(probe_emb, emb[torch.from_numpy(gidx)], metric)  # [n_p, n_g]
        row[j] = rank1_accuracy(dist, sids[pidx], sids[gidx], exclude_invalid)
    return row


def _not_rankable_views(sids, views, gallery_mask, view_names, gallery_types, protocol: str) -> list:
    """Gallery views holding one subject (their cells are left out); a ValueError when no view has two."""
    gallery_subjects = {v: set(sids[gallery_mask & (views == v)].tolist()) for v in view_names}
    if all(len(gallery_subjects[v]) < MIN_GALLERY_SUBJECTS for v in view_names):
        every = sorted(set(sids[gallery_mask].tolist()))
        raise ValueError(
            f"{protocol}: not rankable: the gallery (types {list(gallery_types)}) holds fewer than "
            f"{MIN_GALLERY_SUBJECTS} subjects at every view ({len(every)} subject(s) in all: {every[:5]}), so the "
            f"nearest gallery sequence is the right subject by construction; evaluate on a test split of at least "
            f"{MIN_GALLERY_SUBJECTS} subjects")
    return [v for v in view_names if 0 < len(gallery_subjects[v]) < MIN_GALLERY_SUBJECTS]


def cross_view_protocol(
    embeddings,
    sids: Sequence[str],
    types: Sequence[str],
    views: Sequence[str],
    gallery_types: Sequence[str],
    probe_sets: dict,
    *,
    metric: str = "euclidean",
    exclude_invalid: bool = False,
    view_names: Sequence[str] | None = None,
    protocol: str = "cross-view",
) -> dict:
    """Rank-1 per probe view x gallery view, diagonal dropped, row means (docs/data-and-evaluation.md).

    For every probe set (name -> sequence types), probe view and gallery view the gallery
    is restricted to that one view and the nearest gallery sequence decides. Probes whose
    subject has no gallery sequence at that view count as failures
    (`exclude_invalid=False`, OpenGait's convention) or are dropped (`True`).
    A cell with no probes (or no gallery at all) is NaN and skipped in the means. A
    gallery view with fewer than two subjects is *not rankable* (its nearest entry is the
    right subject by construction): its cells are NaN too, listed in `not_rankable_views`,
    and when no gallery view can rank, a ValueError says so (never a table of 100 %).
    Returns a dict with `matrices` ([V, V] numpy, %), `per_view` ([V], %), `mean`, `views`,
    `not_rankable_views`, and the convention used (`exclude_invalid`, `convention`).
    """
    _check_lengths(embeddings, sids, types, views)
    emb = check_embeddings(embeddings)
    sids, types, views = (np.asarray([str(x) for x in seq]) for seq in (sids, types, views))
    gallery_mask = np.isin(types, list(gallery_types))
    if not gallery_mask.any():
        found = sorted(set(types.tolist()))
        raise ValueError(
            f"{protocol}: no gallery sequences of types {list(gallery_types)} among the "
            f"{len(types)} sequences given (types found: {found[:20]})")
    if view_names is None:
        used = np.isin(types, list(gallery_types) + [t for ts in probe_sets.values() for t in ts])
        view_names = sorted(set(views[used].tolist()), key=view_key)
    view_names = [str(v) for v in view_names]
    not_rankable = _not_rankable_views(sids, views, gallery_mask, view_names, gallery_types, protocol)

    matrices, per_view, means, num_probes = {}, {}, {}, {}
    for cond, ptypes in probe_sets.items():
        probe_mask = np.isin(types, list(ptypes))
        if not probe_mask.any():
            raise ValueError(f"{protocol}: no probe sequences of types {list(ptypes)} for condition {cond}")
        acc = np.full((len(view_names), len(view_names)), np.nan)
        for i, pv in enumerate(view_names):
            pidx = np.flatnonzero(probe_mask & (views == pv))
            if len(pidx):
                acc[i] = _probe_view_row(emb, sids, pidx, gallery_mask, views, view_names, metric, exclude_invalid)
        off = acc.copy()
        np.fill_diagonal(off, np.nan)  # identical views excluded
        with np.errstate(all="ignore"):
            rows = np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan for r in off])
        matrices[cond] = acc
        per_view[cond] = rows
        means[cond] = float(np.nanmean(rows)) if np.isfinite(rows).any() else float("nan")
        num_probes[cond] = int(probe_mask.sum())
    return {
        "protocol": protocol,
        "metric": metric,
        "exclude_invalid": bool(exclude_invalid),
        "convention": convention(exclude_invalid),
        "views": view_names,
        "conditions": list(probe_sets),
        "matrices": matrices,
        "per_view": per_view,
        "mean": means,
        "num_probes": num_probes,
        "num_gallery": int(gallery_mask.sum()),
        "num_subjects": int(len(set(sids.tolist()))),
        "not_rankable_views": not_rankable,
    }


def casia_b_protocol(embeddings, sids, types, views, metric: str = "euclidean",
                     exclude_invalid: bool = False) -> dict:
    """CASIA-B rank-1: gallery nm-01..04, probes NM/BG/CL, identical views excluded (docs/data-and-evaluation.md).

    Pass only the test subjects (`GaitDataset(root, split="test")`). Returns the
    `cross_view_protocol` dict with conditions NM, BG, CL (percent).
    """
    return cross_view_protocol(embeddings, sids, types, views, CASIA_B_GALLERY, CASIA_B_PROBES,
                               metric=metric, exclude_invalid=exclude_invalid, protocol="casia-b")


def ou_mvlp_protocol(embeddings, sids, types, views, metric: str = "euclidean",
                     exclude_invalid: bool = False) -> dict:
    """OU-MVLP rank-1: probe 00, gallery 01, 14 views, identical views excluded (docs/data-and-evaluation.md).

    `exclude_invalid=False` is OpenGait's convention (probes with no gallery sequence of their
    subject at that view are failures); `True` drops them, as GaitGS's 97.6 does.
    """
    return cross_view_protocol(embeddings, sids, types, views, OU_MVLP_GALLERY, OU_MVLP_PROBES,
                               metric=metric, exclude_invalid=exclude_invalid,
                               protocol="ou-mvlp-excl" if exclude_invalid else "ou-mvlp")


def retrieval_protocol(embeddings, sids, metric: str = "euclidean", ranks: Sequence[int] = (1, 5, 10, 20),
                       exclude_invalid: bool = False) -> dict:
    """Every test sequence in turn is the probe; the gallery is the rest of the test set.

    A probe whose subject has no other sequence is invalid: a failure by default (OpenGait's
    real-scene convention), left out with `exclude_invalid=True` (docs/data-and-evaluation.md, wild datasets).
    """
    emb = check_embeddings(embeddings)
    if len(sids) != len(emb):
        raise ValueError(f"sids has {len(sids)} entries but embeddings has {len(emb)} sequences")
    subjects = sorted({str(s) for s in sids})
    if len(subjects) < MIN_GALLERY_SUBJECTS:
        raise ValueError(f"retrieval: not rankable: the {len(emb)} sequences belong to {len(subjects)} subject(s) "
                         f"{subjects[:5]}, so every gallery holds fewer than {MIN_GALLERY_SUBJECTS} subjects and "
                         f"rank-1 is 100 % by construction; evaluate on at least {MIN_GALLERY_SUBJECTS} subjects")
    dist = part_distance(emb, emb, metric)
    mask = ~np.eye(len(emb), dtype=bool)
    res = retrieval_metrics(dist, sids, sids, ranks=ranks, mask=mask, exclude_invalid=exclude_invalid)
    res.update(protocol="retrieval-excl" if exclude_invalid else "retrieval", metric=metric)
    return res


def twins_protocol(embeddings, sids, types, views, twins, metric: str = "euclidean") -> dict:
    """CASIA-B rank-1 restricted to each twin pair (docs/synthgait-generator.md, "Dynamics must matter").

    For every pair `(a, b)` of `twins` present in the data, the CASIA-B protocol runs on
    the sequences of `a` and `b` alone (gallery = the pair's nm-01..04, so every probe
    chooses between its own subject and the twin): chance is 50 %. Pairs absent from the
    data are skipped. Returns `mean` (per condition, the mean over pairs), `pairs`
    ("a-b" -> that pair's per-condition mean), `num_pairs` and `chance`.
    """
    _check_lengths(embeddings, sids, types, views)
    emb = check_embeddings(embeddings)
    sids = np.asarray([str(s) for s in sids])
    types, views = np.asarray(types), np.asarray(views)
    present = [(str(a), str(b)) for a, b in twins if (sids == str(a)).any() and (sids == str(b)).any()]
    if not present:
        raise ValueError(f"none of the twin pairs {list(twins)[:6]} has both subjects among the "
                         f"{len(set(sids.tolist()))} subjects given")
    per_pair = {}
    for a, b in present:
        idx = np.flatnonzero((sids == a) | (sids == b))
        res = casia_b_protocol(emb[torch.from_numpy(idx)], sids[idx], types[idx], views[idx], metric=metric)
        per_pair[f"{a}-{b}"] = res["mean"]
    mean = {c: float(np.mean([r[c] for r in per_pair.values()])) for c in CASIA_B_PROBES}
    return {"protocol": "casia-b-twins", "metric": metric, "mean": mean, "pairs": per_pair,
            "num_pairs": len(per_pair), "chance": 50.0,
            "exclude_invalid": False, "convention": convention(False)}


def run_protocol(protocol: str, emb: dict, metric: str = "euclidean") -> dict:
    """Dispatch a protocol name (`PROTOCOLS`) on extracted embeddings (`extract_embeddings`' dict)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid protocols: {', '.join(PROTOCOLS)}")
    args = (emb["embeddings"], emb["sids"], emb["types"], emb["views"])
    if protocol == "casia-b":
        return casia_b_protocol(*args, metric=metric)
    if protocol in ("ou-mvlp", "ou-mvlp-excl"):
        return ou_mvlp_protocol(*args, metric=metric, exclude_invalid=protocol.endswith("-excl"))
    return retrieval_protocol(emb["embeddings"], emb["sids"], metric=metric,
                              exclude_invalid=protocol.endswith("-excl"))
