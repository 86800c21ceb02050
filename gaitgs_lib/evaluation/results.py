"""Protocol results for people and for files: printed tables and JSON (docs/data-and-evaluation.md).

Every printed result ends with a note that names the protocol, the metric and the
convention for invalid probes, so a table copied out of a terminal still says how it
was computed.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from ..fileio import atomic_open
from .metrics import convention


def _fmt(x, decimals: int) -> str:
    x = float(x)
    return "-" if math.isnan(x) else f"{x:.{decimals}f}"


def _note(result: dict, what: str) -> str:
    conv = result.get("convention") or convention(result.get("exclude_invalid", False))
    return f"{result.get('protocol', '')}: {what}, metric {result.get('metric', 'euclidean')}, {conv}"


def format_table(result: dict, decimals: int = 1) -> str:
    """A cross-view result as papers print it: one row per condition, views + mean as columns."""
    views = list(result["views"])
    conds = list(result["conditions"])
    name_w = max(4, *(len(c) for c in conds))
    col_w = max(5, decimals + 4)
    head = "".ljust(name_w) + "".join(v.rjust(col_w + 1) for v in views) + "mean".rjust(col_w + 2)
    lines = [head]
    for c in conds:
        cells = "".join(_fmt(x, decimals).rjust(col_w + 1) for x in result["per_view"][c])
        lines.append(c.ljust(name_w) + cells + _fmt(result["mean"][c], decimals).rjust(col_w + 2))
    skipped = result.get("not_rankable_views") or []
    if skipped:  # a gallery view of one subject: its cells are left out, not counted as 100 %
        lines.append(f"not rankable, left out of the means: gallery view(s) {', '.join(skipped)} "
                     f"(fewer than 2 gallery subjects)")
    return "\n".join(lines + [_note(result, "rank-1 (%), identical views excluded")])


def format_casia_b_table(result: dict, decimals: int = 1) -> str:
    """CASIA-B table: rows NM/BG/CL, columns 000..180 and mean, one decimal (as papers do)."""
    return format_table(result, decimals)


def format_retrieval(result: dict) -> str:
    """One line per metric, as the wild-dataset papers report them (percent), then the note."""
    keys = [k for k in result if k.startswith("rank-")] + ["mAP", "mINP"]
    lines = [f"{k:>8}: {result[k]:.2f}" for k in keys]
    lines.append(f"{result['num_probes']} probes ({result['num_valid_probes']} with a match), "
                 f"every test sequence vs the rest")
    return "\n".join(lines + [_note(result, "rank-k (%), mAP and mINP over probes with a match")])


def format_result(result: dict) -> str:
    """`format_retrieval` or `format_table`, whichever fits the result."""
    return format_retrieval(result) if "mAP" in result else format_table(result)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, torch.Tensor):
        return _jsonable(x.detach().cpu().numpy().tolist())
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return None if math.isnan(x) else x
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def save_result_json(result: dict, path) -> Path:
    """Write a protocol result as JSON (numpy -> lists, NaN -> null), atomically."""
    path = Path(path)
    with atomic_open(path, "w") as f:
        json.dump(_jsonable(result), f, indent=2)
    return path


def summarise_cells(records, baseline: str = "full", min_drop: float = 5.0) -> dict:
    """Mean and spread over seeds of each (cue, variant) of a study, and its difference from `baseline`.

    records: dicts with `cue`, `variant`, `seed`, `rank1` (%) and optionally `chance` (%).
    Returns {(cue, variant): {"n", "mean", "sd", "se", "seeds", "delta", "delta_se", "verdict"}}:
    `delta` = mean - the baseline's mean on that cue, `delta_se` its standard error
    (sqrt(sd_v^2 / n_v + sd_b^2 / n_b)); `verdict` is "drop" / "gain" when |delta| >= `min_drop`
    points and >= 2 `delta_se`, else "same" ("-" for the baseline itself or a single seed);
    `above_chance` says whether mean - 2 se lies more than `min_drop` points above chance
    (docs/cue-study.md, "What counts as a difference").
    """
    cells: dict = {}
    for r in records:
        cells.setdefault((r["cue"], r["variant"]), []).append(r)
    out = {}
    for key, rs in cells.items():
        x = np.array([float(r["rank1"]) for r in rs])
        sd = float(x.std(ddof=1)) if len(x) > 1 else float("nan")
        chance = float(rs[0].get("chance", 0.0))
        se = sd / math.sqrt(len(x)) if len(x) > 1 else float("nan")
        out[key] = {"n": len(x), "mean": float(x.mean()), "sd": sd, "se": se,
                    "seeds": sorted(int(r["seed"]) for r in rs), "chance": chance,
                    "above_chance": bool(len(x) > 1 and x.mean() - 2 * se > chance + min_drop)}
    for (cue, variant), s in out.items():
        base = out.get((cue, baseline))
        s["delta"], s["delta_se"], s["verdict"] = float("nan"), float("nan"), "-"
        if base is None or variant == baseline:
            continue
        s["delta"] = s["mean"] - base["mean"]
        if s["n"] > 1 and base["n"] > 1:
            s["delta_se"] = math.sqrt(s["sd"] ** 2 / s["n"] + base["sd"] ** 2 / base["n"])
            big = abs(s["delta"]) >= min_drop and abs(s["delta"]) >= 2 * s["delta_se"]
            s["verdict"] = ("drop" if s["delta"] < 0 else "gain") if big else "same"
    return out
