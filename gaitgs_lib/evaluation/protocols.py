"""Evaluation of gait embeddings: part distances, the CASIA-B and OU-MVLP cross-view
protocols, retrieval metrics (CMC, mAP, mINP) and the `evaluate` command (docs/protocols.md).

Embeddings are `[N, C, P]` (OpenGait's layout). The distance between two sequences is the
mean over parts of the per-part Euclidean distance (docs/protocols.md, "Distance").
All accuracies in the result dicts are percentages (0-100), as papers print them.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .data.views import CASIA_B_VIEWS, OU_MVLP_VIEWS, view_key  # noqa: F401 (re-exported)
from .fileio import atomic_open


# CASIA-B: gallery nm-01..04; probe sets NM / BG / CL (docs/protocols.md, "CASIA-B evaluation").
CASIA_B_GALLERY = ("nm-01", "nm-02", "nm-03", "nm-04")
CASIA_B_PROBES = {
    "NM": ("nm-05", "nm-06"),
    "BG": ("bg-01", "bg-02"),
    "CL": ("cl-01", "cl-02"),
}
# OU-MVLP: probe sequence 00, gallery 01.
OU_MVLP_GALLERY = ("01",)
OU_MVLP_PROBES = {"OU-MVLP": ("00",)}

PROTOCOLS = ("casia-b", "ou-mvlp", "ou-mvlp-excl", "retrieval")
METRICS = ("euclidean", "cosine")

# Upper bound on the elements of one [P, n, m] distance block (keeps memory ~256 MB).
_BLOCK_ELEMENTS = 1 << 26


# --------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------
def _as_float_tensor(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(x)
    if t.ndim != 3:
        raise ValueError(f"{name}: expected embeddings of shape [N, C, P], got {tuple(t.shape)}")
    return t.detach().to(torch.float32)


def part_distance(a, b, metric: str = "euclidean"):
    """Sequence distance = mean over parts of the per-part distance (docs/protocols.md, "Distance").

    a: [N, C, P], b: [M, C, P] (torch or numpy) -> [N, M], same kind as `a` (float32).
    `metric="euclidean"`: per-part Euclidean distance, no normalisation.
    `metric="cosine"`: 1 - mean over parts of the cosine similarity of the part vectors.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    as_numpy = isinstance(a, np.ndarray)
    ta, tb = _as_float_tensor(a, "a"), _as_float_tensor(b, "b").to(torch.as_tensor(a).device)
    if ta.shape[1:] != tb.shape[1:]:
        raise ValueError(f"a is [N, C, P] = {tuple(ta.shape)} but b is {tuple(tb.shape)}: C and P must agree")
    n, _, p = ta.shape
    m = tb.shape[0]
    x = ta.permute(2, 0, 1)  # [P, N, C]
    y = tb.permute(2, 0, 1)  # [P, M, C]
    if metric == "cosine":
        x = torch.nn.functional.normalize(x, dim=-1)
        y = torch.nn.functional.normalize(y, dim=-1)
    out = torch.empty(n, m, dtype=torch.float32, device=ta.device)
    rows = max(1, _BLOCK_ELEMENTS // max(1, p * m))
    for start in range(0, n, rows):
        xb = x[:, start : start + rows]  # [P, n', C]
        if metric == "euclidean":
            # |x - y|^2 = |x|^2 + |y|^2 - 2 x.y, per part; clamp rounding below zero.
            sq = (xb.pow(2).sum(-1, keepdim=True) + y.pow(2).sum(-1).unsqueeze(1)
                  - 2 * xb @ y.transpose(1, 2))  # [P, n', M]
            out[start : start + rows] = sq.clamp_min(0).sqrt().mean(0)
        else:
            out[start : start + rows] = 1 - (xb @ y.transpose(1, 2)).mean(0)
    return out.cpu().numpy() if as_numpy else out


# --------------------------------------------------------------------------------------
# Cross-view protocols (CASIA-B, OU-MVLP)
# --------------------------------------------------------------------------------------
def _check_lengths(embeddings, sids, types, views):
    n = len(embeddings)
    for name, seq in (("sids", sids), ("types", types), ("views", views)):
        if len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} entries but embeddings has {n} sequences")


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
    """Rank-1 per probe view x gallery view, diagonal dropped, row means (docs/protocols.md).

    For every probe set (name -> sequence types), probe view and gallery view the gallery
    is restricted to that one view and the nearest gallery sequence decides. Probes whose
    subject has no gallery sequence at that view count as failures
    (`exclude_invalid=False`, OpenGait's convention) or are dropped (`True`).
    A cell with no probes (or no gallery at all) is NaN and skipped in the means.
    Returns a dict with `matrices` ([V, V] numpy, %), `per_view` ([V], %), `mean`, `views`.
    """
    _check_lengths(embeddings, sids, types, views)
    emb = _as_float_tensor(embeddings, "embeddings")
    sids = np.asarray([str(s) for s in sids])
    types = np.asarray([str(t) for t in types])
    views = np.asarray([str(v) for v in views])
    gmask_all = np.isin(types, list(gallery_types))
    if not gmask_all.any():
        found = sorted(set(types.tolist()))
        raise ValueError(
            f"{protocol}: no gallery sequences of types {list(gallery_types)} among the "
            f"{len(types)} sequences given (types found: {found[:20]})")
    if view_names is None:
        used = np.isin(types, list(gallery_types) + [t for ts in probe_sets.values() for t in ts])
        view_names = sorted(set(views[used].tolist()), key=view_key)
    view_names = [str(v) for v in view_names]
    nv = len(view_names)

    matrices, per_view, means, num_probes = {}, {}, {}, {}
    for cond, ptypes in probe_sets.items():
        pmask_all = np.isin(types, list(ptypes))
        if not pmask_all.any():
            raise ValueError(f"{protocol}: no probe sequences of types {list(ptypes)} for condition {cond}")
        acc = np.full((nv, nv), np.nan)
        for i, pv in enumerate(view_names):
            pidx = np.flatnonzero(pmask_all & (views == pv))
            if len(pidx) == 0:
                continue
            probe_emb = emb[torch.from_numpy(pidx)]  # [n_p, C, P]
            for j, gv in enumerate(view_names):
                gidx = np.flatnonzero(gmask_all & (views == gv))
                if len(gidx) == 0:
                    continue
                dist = part_distance(probe_emb, emb[torch.from_numpy(gidx)], metric).cpu()  # [n_p, n_g]
                gsids = sids[gidx]
                psids = sids[pidx]
                if exclude_invalid:
                    valid = np.isin(psids, gsids)
                    if not valid.any():
                        continue
                    dist, psids = dist[torch.from_numpy(np.flatnonzero(valid))], psids[valid]
                nearest = dist.argmin(dim=1).numpy()  # first minimum on ties
                acc[i, j] = 100.0 * float(np.mean(gsids[nearest] == psids))
        off = acc.copy()
        np.fill_diagonal(off, np.nan)
        with np.errstate(all="ignore"):
            rows = np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan for r in off])
        matrices[cond] = acc
        per_view[cond] = rows
        means[cond] = float(np.nanmean(rows)) if np.isfinite(rows).any() else float("nan")
        num_probes[cond] = int(pmask_all.sum())
    return {
        "protocol": protocol,
        "metric": metric,
        "exclude_invalid": bool(exclude_invalid),
        "views": view_names,
        "conditions": list(probe_sets),
        "matrices": matrices,
        "per_view": per_view,
        "mean": means,
        "num_probes": num_probes,
        "num_gallery": int(gmask_all.sum()),
        "num_subjects": int(len(set(sids.tolist()))),
    }


def casia_b_protocol(embeddings, sids, types, views, metric: str = "euclidean",
                     exclude_invalid: bool = False) -> dict:
    """CASIA-B rank-1: gallery nm-01..04, probes NM/BG/CL, identical views excluded (docs/protocols.md).

    Pass only the test subjects (`GaitDataset(root, split="test")`). Returns the
    `cross_view_protocol` dict with conditions NM, BG, CL (percent).
    """
    return cross_view_protocol(embeddings, sids, types, views, CASIA_B_GALLERY, CASIA_B_PROBES,
                               metric=metric, exclude_invalid=exclude_invalid, protocol="casia-b")


def ou_mvlp_protocol(embeddings, sids, types, views, metric: str = "euclidean",
                     exclude_invalid: bool = False) -> dict:
    """OU-MVLP rank-1: probe 00, gallery 01, 14 views, identical views excluded (docs/protocols.md).

    `exclude_invalid=False` is OpenGait's convention (probes with no gallery sequence of their
    subject at that view are failures); `True` drops them, as GaitGS's 97.6 does.
    """
    return cross_view_protocol(embeddings, sids, types, views, OU_MVLP_GALLERY, OU_MVLP_PROBES,
                               metric=metric, exclude_invalid=exclude_invalid,
                               protocol="ou-mvlp-excl" if exclude_invalid else "ou-mvlp")


def format_table(result: dict, decimals: int = 1) -> str:
    """A protocol result as papers print it: one row per condition, views + mean as columns."""
    views = list(result["views"])
    conds = list(result["conditions"])
    name_w = max(4, *(len(c) for c in conds))
    col_w = max(5, decimals + 4)
    head = "".ljust(name_w) + "".join(v.rjust(col_w + 1) for v in views) + "mean".rjust(col_w + 2)
    lines = [head]
    for c in conds:
        cells = "".join(_fmt(x, decimals).rjust(col_w + 1) for x in result["per_view"][c])
        lines.append(c.ljust(name_w) + cells + _fmt(result["mean"][c], decimals).rjust(col_w + 2))
    note = (f"{result.get('protocol', '')}: rank-1 (%), identical views excluded, "
            f"metric {result.get('metric', 'euclidean')}")
    if "exclude_invalid" in result and str(result.get("protocol", "")).startswith("ou-mvlp"):
        note += ", invalid probes " + ("excluded" if result["exclude_invalid"] else "counted as failures")
    return "\n".join(lines + [note])


def format_casia_b_table(result: dict, decimals: int = 1) -> str:
    """CASIA-B table: rows NM/BG/CL, columns 000..180 and mean, one decimal (as papers do)."""
    return format_table(result, decimals)


def _fmt(x, decimals):
    x = float(x)
    return "-" if math.isnan(x) else f"{x:.{decimals}f}"


# --------------------------------------------------------------------------------------
# Retrieval metrics (GREW, Gait3D style)
# --------------------------------------------------------------------------------------
def _sorted_matches(dist, probe_ids, gallery_ids, mask=None):
    d = np.array(torch.as_tensor(dist).detach().cpu().float().numpy(), dtype=np.float64, copy=True)
    probe_ids = np.asarray([str(x) for x in probe_ids])
    gallery_ids = np.asarray([str(x) for x in gallery_ids])
    if d.shape != (len(probe_ids), len(gallery_ids)):
        raise ValueError(f"dist is {d.shape} but there are {len(probe_ids)} probes and "
                         f"{len(gallery_ids)} gallery ids; expected [probes, gallery]")
    valid = np.ones_like(d, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    d[~valid] = np.inf
    order = np.argsort(d, axis=1, kind="stable")  # [Np, Ng]
    matches = (gallery_ids[order] == probe_ids[:, None]) & np.take_along_axis(valid, order, 1)
    return matches


def cmc_curve(dist, probe_ids, gallery_ids, max_rank: int = 20, mask=None) -> np.ndarray:
    """Cumulative match characteristic: [max_rank] percent of probes matched within rank r.

    Probes whose identity is absent from the gallery are left out. `mask` [Np, Ng] (bool,
    optional) marks the gallery entries each probe may be compared with.
    """
    matches = _sorted_matches(dist, probe_ids, gallery_ids, mask)
    has = matches.any(1)
    if not has.any():
        raise ValueError("no probe identity appears in the gallery; CMC is undefined")
    first = matches[has].argmax(1)  # rank index of the first correct match
    ranks = np.arange(max_rank)
    return 100.0 * (first[:, None] <= ranks[None]).mean(0)


def retrieval_metrics(dist, probe_ids, gallery_ids, ranks: Sequence[int] = (1, 5, 10, 20),
                      mask=None) -> dict:
    """Rank-k (CMC), mAP and mINP in percent, no view exclusion (docs/protocols.md, wild datasets).

    dist: [Np, Ng] (smaller = closer); ties are broken by gallery order. AP averages the
    precision at each correct match; INP = (#correct) / (rank of the last correct match).
    Probes whose identity is absent from the gallery are left out (`num_valid_probes`).
    """
    matches = _sorted_matches(dist, probe_ids, gallery_ids, mask)
    has = matches.any(1)
    if not has.any():
        raise ValueError("no probe identity appears in the gallery; retrieval metrics are undefined")
    m = matches[has].astype(np.float64)  # [Nv, Ng]
    first = m.argmax(1)
    out = {f"rank-{r}": 100.0 * float(np.mean(first < r)) for r in ranks}
    cum = np.cumsum(m, 1)
    pos = np.arange(1, m.shape[1] + 1)
    ap = (cum / pos * m).sum(1) / m.sum(1)
    last = m.shape[1] - np.argmax(m[:, ::-1], 1)  # 1-based rank of the last match
    inp = m.sum(1) / last
    out["mAP"] = 100.0 * float(ap.mean())
    out["mINP"] = 100.0 * float(inp.mean())
    out["num_valid_probes"] = int(has.sum())
    out["num_probes"] = int(len(has))
    return out


def retrieval_protocol(embeddings, sids, metric: str = "euclidean",
                       ranks: Sequence[int] = (1, 5, 10, 20)) -> dict:
    """Every test sequence in turn is the probe; the gallery is the rest of the test set."""
    emb = _as_float_tensor(embeddings, "embeddings")
    if len(sids) != len(emb):
        raise ValueError(f"sids has {len(sids)} entries but embeddings has {len(emb)} sequences")
    dist = part_distance(emb, emb, metric)
    mask = ~np.eye(len(emb), dtype=bool)
    res = retrieval_metrics(dist, sids, sids, ranks=ranks, mask=mask)
    res.update(protocol="retrieval", metric=metric)
    return res


# --------------------------------------------------------------------------------------
# Results on disk
# --------------------------------------------------------------------------------------
def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.ndarray, torch.Tensor)):
        return _jsonable(np.asarray(x).tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return None if math.isnan(x) else x
    if isinstance(x, np.integer):
        return int(x)
    return x


def save_result_json(result: dict, path) -> Path:
    """Write a protocol result as JSON (numpy -> lists, NaN -> null), atomically."""
    path = Path(path)
    with atomic_open(path, "w") as f:
        json.dump(_jsonable(result), f, indent=2)
    return path


# --------------------------------------------------------------------------------------
# Embeddings of a dataset
# --------------------------------------------------------------------------------------
@torch.no_grad()
def extract_embeddings(model, dataset, device=None, batch_size: int = 1, progress: bool = True) -> dict:
    """Embeddings of every sequence of `dataset` (docs/protocols.md: every frame, one sequence at a time).

    `model` is put in eval mode; `dataset[i] -> (frames float [T, h, w], info)` with
    `info.sid/.type/.view`. With `batch_size > 1` the sequences are visited shortest first
    and sequences of identical length are batched (no padding, so the result is that of
    one-at-a-time up to float rounding); the output is always in dataset order.
    Returns {"embeddings": [N, C, P] float32 on the CPU, "sids", "types", "views"}.
    """
    if device is None:
        try:
            device = next(model.parameters()).device
        except StopIteration:
            device = torch.device("cpu")
    device = torch.device(device)
    n = len(dataset)
    if n == 0:
        raise ValueError("extract_embeddings: the dataset is empty")
    order = list(range(n))
    if batch_size > 1:  # equal lengths become neighbours, so they can share a batch
        order.sort(key=lambda i: len(dataset[i][0]))
    was_training = model.training
    model.eval()
    out = [None] * n  # [C, P] per sequence, in dataset order
    sids, types, views = [None] * n, [None] * n, [None] * n
    pending, pending_idx = [], []

    def flush():
        if not pending:
            return
        sils = torch.stack(pending).to(device)  # [b, T, h, w]
        emb = model(sils)["embeddings"].float().cpu()  # [b, C, P]
        for j, e in zip(pending_idx, emb):
            out[j] = e
        pending.clear()
        pending_idx.clear()

    iterator = order
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="embeddings", unit="seq")
    try:
        for i in iterator:
            frames, info = dataset[i]
            frames = torch.as_tensor(frames, dtype=torch.float32)
            if frames.ndim != 3:
                raise ValueError(f"dataset[{i}] ({getattr(info, 'path', '?')}): expected frames [T, h, w], "
                                 f"got {tuple(frames.shape)}")
            if pending and (len(pending) >= batch_size or frames.shape != pending[0].shape):
                flush()
            pending.append(frames)
            pending_idx.append(i)
            sids[i], types[i], views[i] = str(info.sid), str(info.type), str(info.view)
        flush()
    finally:
        model.train(was_training)
    return {"embeddings": torch.stack(out), "sids": sids, "types": types, "views": views}


def run_protocol(protocol: str, emb: dict, metric: str = "euclidean") -> dict:
    """Dispatch a protocol name (casia-b, ou-mvlp, ou-mvlp-excl, retrieval) on extracted embeddings."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid protocols: {', '.join(PROTOCOLS)}")
    args = (emb["embeddings"], emb["sids"], emb["types"], emb["views"])
    if protocol == "casia-b":
        return casia_b_protocol(*args, metric=metric)
    if protocol == "ou-mvlp":
        return ou_mvlp_protocol(*args, metric=metric, exclude_invalid=False)
    if protocol == "ou-mvlp-excl":
        return ou_mvlp_protocol(*args, metric=metric, exclude_invalid=True)
    return retrieval_protocol(emb["embeddings"], emb["sids"], metric=metric)


def format_retrieval(result: dict) -> str:
    """One line per metric, as the wild-dataset papers report them (percent)."""
    keys = [k for k in result if k.startswith("rank-")] + ["mAP", "mINP"]
    lines = [f"{k:>8}: {result[k]:.2f}" for k in keys]
    lines.append(f"{result['num_valid_probes']} probes (every test sequence vs the rest), metric {result['metric']}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m gaitgs_lib evaluate",
                                 description="Evaluate a checkpoint on the test split of a dataset.")
    ap.add_argument("--checkpoint", required=True, help="a gaitgs training checkpoint, or the authors' (--format opengait)")
    ap.add_argument("--data", required=True, help="dataset root (OpenGait layout + partition.json)")
    ap.add_argument("--protocol", required=True, help=f"one of: {', '.join(PROTOCOLS)}")
    ap.add_argument("--preset", help="model preset (needed for --format opengait; checked against ours)")
    ap.add_argument("--format", default="auto", choices=("auto", "gaitgs", "opengait"), help="checkpoint format")
    ap.add_argument("--metric", default="euclidean", choices=METRICS)
    ap.add_argument("--out", help="write the result as JSON here")
    ap.add_argument("--device", help="cpu, cuda, ... (default: CUDA when present)")
    ap.add_argument("--batch-size", type=int, default=1, help="batch sequences of identical length")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def evaluate_checkpoint(checkpoint, data, protocol: str, preset=None, fmt: str = "auto", metric: str = "euclidean",
                        device=None, batch_size: int = 1, progress: bool = True) -> dict:
    """Load a checkpoint, embed the test split of `data`, run `protocol` -> result dict."""
    from .data.dataset import GaitDataset
    from .runtime import default_device
    from .modeling.checkpoint import load_trained_model

    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid protocols: {', '.join(PROTOCOLS)}")
    device = torch.device(device) if device is not None else default_device()
    model, _ = load_trained_model(checkpoint, device=device, preset=preset, fmt=fmt)
    ds = GaitDataset(data, split="test", cache=False, size=tuple(model.cfg.input_hw))
    if len(ds) == 0:
        raise ValueError(f"{data}: the test split has no sequences (check partition.json's TEST_SET)")
    emb = extract_embeddings(model, ds, device=device, batch_size=batch_size, progress=progress)
    if device.type != "cpu":  # distances on the accelerator (OU-MVLP has ~10^5 sequences)
        emb = {**emb, "embeddings": emb["embeddings"].to(device)}
    try:
        result = run_protocol(protocol, emb, metric)
    except ValueError as err:
        raise ValueError(f"{data} (test split: {len(ds)} sequences of {len(ds.subjects)} subjects) "
                         f"cannot be evaluated with {protocol}: {err}") from err
    result["checkpoint"] = str(checkpoint)
    result["data"] = str(data)
    result["preset"] = model.cfg.name
    return result


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.protocol not in PROTOCOLS:
        print(f"error: unknown protocol {args.protocol!r}; valid protocols: {', '.join(PROTOCOLS)}", file=sys.stderr)
        return 2
    try:
        result = evaluate_checkpoint(args.checkpoint, args.data, args.protocol, preset=args.preset, fmt=args.format,
                                     metric=args.metric, device=args.device, batch_size=args.batch_size,
                                     progress=not args.no_progress)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_retrieval(result) if args.protocol == "retrieval" else format_table(result))
    if args.out:
        print(f"result written to {save_result_json(result, args.out)}")
    return 0


def twins_protocol(embeddings, sids, types, views, twins, metric: str = "euclidean") -> dict:
    """CASIA-B rank-1 restricted to each twin pair (docs/synthgait.md, "Dynamics must matter").

    For every pair `(a, b)` of `twins` present in the data, the CASIA-B protocol runs on
    the sequences of `a` and `b` alone (gallery = the pair): chance is 50 %. Returns the
    per-condition mean over pairs (`mean`) and each pair's result (`pairs`).
    """
    _check_lengths(embeddings, sids, types, views)
    emb = _as_float_tensor(embeddings, "embeddings")
    sids = np.asarray([str(s) for s in sids])
    present = [(str(a), str(b)) for a, b in twins if (sids == str(a)).any() and (sids == str(b)).any()]
    if not present:
        raise ValueError(f"none of the twin pairs {list(twins)[:6]} has both subjects among the "
                         f"{len(set(sids.tolist()))} subjects given")
    per_pair = {}
    for a, b in present:
        idx = np.flatnonzero((sids == a) | (sids == b))
        res = casia_b_protocol(emb[torch.from_numpy(idx)], sids[idx], np.asarray(types)[idx],
                               np.asarray(views)[idx], metric=metric)
        per_pair[f"{a}-{b}"] = res["mean"]
    conds = list(CASIA_B_PROBES)
    mean = {c: float(np.mean([r[c] for r in per_pair.values()])) for c in conds}
    return {"protocol": "casia-b-twins", "metric": metric, "mean": mean, "pairs": per_pair, "chance": 50.0}
