"""Figures of training and results: loss curves, triplet geometry, pair distances, retrieval
examples, rank-1 heatmaps, CMC curves, embedding projections and ablation bars (notebooks 00,
05, 06 and 08).

One helper per figure kind (as d2l does). Every helper returns the Figure;
single-panel helpers draw into an `ax` when given one, multi-panel helpers into `axes`
(see `gaitgs_lib.viz` for the conventions). The small pure functions beside them
(`read_metrics`, `smooth_curve`, `triplet_zones`, `pca_2d`, `ablation_deltas`, ...) carry the
numbers and are covered by `tests/test_viz_results.py`.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.figure import Figure

from ..evaluation import part_distance
from .data import _blank, to_image

from ..training.metrics import read_metrics  # the one reader of metrics.jsonl (a run folder or the file)

__all__ = [
    "plot_cue_matrix", "read_metrics", "smooth_curve", "plot_training_curves", "LiveCurves",
    "toy_embedding_2d", "triplet_zones", "plot_triplet_geometry", "pair_distances", "plot_pair_distances",
    "plot_rank1_heatmaps", "plot_per_view_rank1", "plot_cmc",
    "pca_2d", "plot_embedding_projection",
    "plot_condition_bars", "ablation_deltas", "plot_ablation_bars", "plot_metric_comparison", "show_retrieval",
    "PAPER_CASIA_B_64", "PAPER_ABLATION_DIRECTION",
]

CONDITIONS = ("NM", "BG", "CL")

# Published CASIA-B rank-1 (%) at 64x44, identical views excluded, as the GaitGS paper reports them.
# These are real CASIA-B numbers; the series measures its own models on SynthGait.
PAPER_CASIA_B_64 = {
    "GaitSet": {"NM": 95.8, "BG": 90.0, "CL": 75.4},
    "GaitPart": {"NM": 96.1, "BG": 90.7, "CL": 78.7},
    "GaitGL": {"NM": 97.4, "BG": 94.5, "CL": 83.8},
    "GaitGS (paper)": {"NM": 97.9, "BG": 94.6, "CL": 86.9},
}

# What the paper's ablation study reports, in words (direction only): on CASIA-B the full
# model is best, and taking any one of these components out lowers rank-1.
PAPER_ABLATION_DIRECTION = {
    "no-coarse": "MGFE's coarse (unit-level) branch adds macro-motion to the frame-level branch: without it rank-1 drops",
    "no-mcm": "the local span (MCM, micro-motion over 3- and 5-frame windows) helps: without it rank-1 drops",
    "no-global-span": "the global span (CAPE + class token + transformer over the sequence) helps: without it rank-1 drops",
    "no-pieg": "PIEG's view prior added to the transformer tokens helps cross-view matching: without it rank-1 drops",
}


def _new_ax(ax, figsize=(6, 4)):
    """`ax` itself, or the one Axes of a new figure of `figsize` (single-panel helpers)."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


# --------------------------------------------------------------------------------------
# Training curves
# --------------------------------------------------------------------------------------
def smooth_curve(values: Sequence[float], weight: float = 0.0) -> np.ndarray:
    """Exponential moving average with bias correction (TensorBoard's smoothing).

    `weight=0` returns the values unchanged; `weight` must be in [0, 1). The first output
    equals the first input, and a constant series stays constant.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smooth_curve: weight must be in [0, 1), got {weight}")
    v = np.asarray(values, dtype=np.float64)
    out = np.empty_like(v)
    acc, norm = 0.0, 0.0
    for i, x in enumerate(v):
        acc = weight * acc + (1 - weight) * x
        norm = weight * norm + (1 - weight)
        out[i] = acc / norm
    return out


# Readable names of the trainer's metrics (training.py writes these keys to metrics.jsonl).
_METRIC_LABELS = {"loss": "total loss", "triplet_loss": "triplet loss", "triplet": "triplet loss",
                  "ce_loss": "view CE (weighted)", "ce": "view CE (weighted)", "seq_per_s": "sequences / s",
                  "nonzero_frac": "share of active triplets", "mean_dist": "mean distance", "lr": "learning rate"}


def _series(records: Iterable[Mapping], key: str, x_key: str = "iteration"):
    xs, ys = [], []
    for i, r in enumerate(records):
        if key in r and r[key] is not None:
            xs.append(r.get(x_key, i))
            ys.append(float(r[key]))
    return np.asarray(xs), np.asarray(ys)


def plot_training_curves(records, keys=("loss", "triplet", "nonzero_frac"), smooth: float = 0.6,
                         axes=None, title: str | None = None, x_key: str = "iteration",
                         resumed_at: int | None = None):
    """One panel per metric of a training run over iterations (raw faint, smoothed bold).

    records: a list of dicts or a path to `metrics.jsonl` (the trainer logs "loss",
    "triplet", "ce", "nonzero_frac", "mean_dist", "lr", "seq_per_s"); keys missing from
    every record are skipped. `resumed_at` draws a dashed
    line at the iteration where a run was resumed. Returns the Figure.
    """
    if isinstance(records, (str, Path)):
        records = read_metrics(records)
    keys = [k for k in keys if any(k in r for r in records)] or list(keys)[:1]
    if axes is None:
        _, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
        axes = axes[0]
    labels = _METRIC_LABELS
    for ax, key in zip(axes, keys):
        x, y = _series(records, key, x_key)
        if len(y) and smooth > 0:
            ax.plot(x, y, color="C0", alpha=0.3, lw=1, label="raw")
            ax.plot(x, smooth_curve(y, smooth), color="C0", lw=2, label=f"smoothed (EMA {smooth})")
        elif len(y):
            ax.plot(x, y, color="C0", lw=2, label="raw")
        if resumed_at is not None:
            ax.axvline(resumed_at, color="C3", ls="--", lw=1, label=f"resumed at {resumed_at}")
        ax.set_xlabel(x_key)
        ax.set_ylabel(labels.get(key, key))
        ax.set_title(labels.get(key, key))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if title:
        axes[0].figure.suptitle(title)
    if axes[0].figure.get_layout_engine() is None:
        axes[0].figure.tight_layout()
    return axes[0].figure


def plot_metric_comparison(runs: Mapping[str, Sequence[Mapping]], key: str = "loss", smooth: float = 0.6, ax=None,
                           x_key: str = "iteration", title: str | None = None):
    """One metric of several training runs on one axis (name -> metrics records), smoothed."""
    ax = _new_ax(ax, (6, 3.5))
    for k, (name, records) in enumerate(runs.items()):
        x, y = _series(records, key, x_key)
        if len(y):
            ax.plot(x, smooth_curve(y, smooth) if smooth > 0 else y, color=f"C{k % 10}", lw=1.8, label=name)
    ax.set_xlabel(x_key)
    ax.set_ylabel(_METRIC_LABELS.get(key, key))
    ax.set_title(title or f"{_METRIC_LABELS.get(key, key)} per run" + (f" (EMA {smooth})" if smooth > 0 else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return ax.figure


class LiveCurves:
    """A training callback that redraws `plot_training_curves` in place every `every` records.

    Call it with one metrics record (a dict with "iteration", "loss", ...) per logged step;
    `close()` draws the final state. In a notebook the figure updates in one output cell
    (IPython display handles); elsewhere it only collects the records.
    """

    def __init__(self, keys=("loss", "triplet", "nonzero_frac"), every: int = 5, smooth: float = 0.6,
                 title: str | None = None):
        self.keys, self.every, self.smooth, self.title = tuple(keys), max(1, int(every)), smooth, title
        self.records: list[dict] = []
        self._handle = None
        self._fig = None

    def __call__(self, record: Mapping) -> None:
        self.records.append(dict(record))
        if len(self.records) % self.every == 0:
            self._draw()

    def _draw(self):
        if self._fig is None:
            self._fig, axes = plt.subplots(1, len(self.keys), figsize=(4.2 * len(self.keys), 3.2), squeeze=False)
            self._axes = axes[0]
        for ax in self._axes:
            ax.clear()
        plot_training_curves(self.records, self.keys, self.smooth, axes=self._axes, title=self.title)
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython ships with the notebook extra
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            self._handle = display(self._fig, display_id=True)
        else:
            self._handle.update(self._fig)

    def close(self):
        """Draw the last state and release the figure (so it is not shown twice)."""
        if self.records:
            self._draw()
        if self._fig is not None:
            plt.close(self._fig)


# --------------------------------------------------------------------------------------
# Triplet geometry
# --------------------------------------------------------------------------------------
def toy_embedding_2d(num_classes: int = 3, per_class: int = 4, spread: float = 0.35, seed: int = 0):
    """A 2-D toy embedding: `num_classes` clusters on a unit circle, Gaussian spread.

    Returns (points float32 [n, 2], labels int64 [n]), deterministic for a seed.
    """
    g = torch.Generator().manual_seed(seed)
    angles = torch.arange(num_classes, dtype=torch.float32) * (2 * math.pi / num_classes)
    centres = torch.stack([angles.cos(), angles.sin()], 1)  # [classes, 2]
    labels = torch.arange(num_classes).repeat_interleave(per_class)  # [n]
    points = centres[labels] + spread * torch.randn(len(labels), 2, generator=g)  # [n, 2]
    return points, labels


def triplet_zones(points, labels, anchor: int, positive: int, margin: float) -> np.ndarray:
    """Where each point lies for the pair (anchor, positive), as strings [n].

    "anchor" / "positive" for the pair; "same" for other points of the anchor's class;
    for negatives with d = d(a, n) and dp = d(a, p): "hard" if d < dp, "semi-hard" if
    dp <= d < dp + margin (both give a non-zero batch-all loss), "easy" otherwise.
    """
    x = torch.as_tensor(points, dtype=torch.float64)
    y = torch.as_tensor(labels)
    if x.ndim != 2 or len(y) != len(x):
        raise ValueError(f"triplet_zones: expected points [n, d] and labels [n], got {tuple(x.shape)} and {tuple(y.shape)}")
    if y[anchor] != y[positive] or anchor == positive:
        raise ValueError("triplet_zones: positive must be another point of the anchor's class")
    d = (x - x[anchor]).norm(dim=1)  # [n]
    dp = float(d[positive])
    zones = np.empty(len(x), dtype=object)
    for i in range(len(x)):
        if i == anchor:
            zones[i] = "anchor"
        elif i == positive:
            zones[i] = "positive"
        elif y[i] == y[anchor]:
            zones[i] = "same"
        elif d[i] < dp:
            zones[i] = "hard"
        elif d[i] < dp + margin:
            zones[i] = "semi-hard"
        else:
            zones[i] = "easy"
    return zones


def plot_triplet_geometry(points, labels, anchor: int, positive: int, margin: float, ax=None,
                          title: str | None = None):
    """The triplet margin around one (anchor, positive) pair in a 2-D embedding.

    Circles of radius d(a, p) and d(a, p) + margin around the anchor; negatives inside the
    outer circle are active (hard: inside the inner circle, semi-hard: in the ring), those
    outside contribute nothing. Colours = classes, marker edge = zone.
    """
    ax = _new_ax(ax, (5, 5))
    x = np.asarray(torch.as_tensor(points, dtype=torch.float32))
    y = np.asarray(torch.as_tensor(labels))
    zones = triplet_zones(x, y, anchor, positive, margin)
    a = x[anchor]
    dp = float(np.linalg.norm(x[positive] - a))
    ax.add_patch(plt.Circle(a, dp + margin, color="C3", alpha=0.08, lw=0))
    ax.add_patch(plt.Circle(a, dp + margin, fill=False, color="C3", ls="--", lw=1.2))
    ax.add_patch(plt.Circle(a, dp, fill=False, color="k", lw=1.2))
    cmap = plt.get_cmap("tab10")
    edge = {"hard": "red", "semi-hard": "orange", "easy": "none", "same": "none", "anchor": "k", "positive": "k"}
    for cls in np.unique(y):
        m = y == cls
        ax.scatter(x[m, 0], x[m, 1], s=70, color=cmap(int(cls) % 10),
                   edgecolors=[edge[z] for z in zones[m]], linewidths=2.2, zorder=3)
        ax.scatter([], [], s=70, color=cmap(int(cls) % 10), label=f"subject {int(cls)}")
    ax.scatter(*a, marker="*", s=320, color=cmap(int(y[anchor]) % 10), edgecolors="k", zorder=4)
    ax.annotate("anchor", a, xytext=(6, 6), textcoords="offset points")
    ax.annotate("positive", x[positive], xytext=(6, -12), textcoords="offset points")
    ax.plot(*np.stack([a, x[positive]]).T, color="k", lw=1)
    n_act = int(np.isin(zones, ["hard", "semi-hard"]).sum())
    n_neg = int(np.isin(zones, ["hard", "semi-hard", "easy"]).sum())
    for zone, colour in (("hard", "red"), ("semi-hard", "orange")):
        ax.scatter([], [], s=70, facecolors="none", edgecolors=colour, linewidths=2.2, label=f"{zone} negative")
    ax.plot([], [], color="k", lw=1.2, label="radius d(a, p)")
    ax.plot([], [], color="C3", ls="--", lw=1.2, label=f"d(a, p) + margin {margin}")
    ax.set_title(title or f"active negatives for this pair: {n_act} of {n_neg} (red/orange ring)")
    ax.set_xlabel("embedding dim 1")
    ax.set_ylabel("embedding dim 2")
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax.figure


def pair_distances(embeddings, labels):
    """Mean-over-parts distances of all positive pairs and all negative pairs of a batch.

    embeddings [n, c, p], labels [n] -> (positive distances [n_pos], negative distances
    [n_neg]) as numpy, each unordered pair once (i < j).
    """
    emb = torch.as_tensor(embeddings).detach().float()
    y = torch.as_tensor(labels)
    if emb.ndim != 3 or len(y) != len(emb):
        raise ValueError(f"pair_distances: expected embeddings [n, c, p] and labels [n], got {tuple(emb.shape)} "
                         f"and {tuple(y.shape)}")
    d = part_distance(emb, emb)  # [n, n]
    iu = torch.triu_indices(len(y), len(y), offset=1)
    same = (y[iu[0]] == y[iu[1]])
    dist = d[iu[0], iu[1]]
    return dist[same].numpy(), dist[~same].numpy()


def plot_pair_distances(pos, neg, margin: float | None = None, ax=None, title: str = "pair distances in a batch"):
    """Histograms of positive-pair and negative-pair distances (density), and the triplet margin.

    Training should pull the blue (same subject) mass left of the orange (different subjects)
    mass; the gap between them is what the triplet margin asks for. Drawn with seaborn's
    `histplot`: shared bins, outlined bars so that the overlap stays readable, and a kernel
    density curve over each group with at least three distinct values. With `margin`, a grey
    band of that width starts at the median positive distance; when the band is wider than
    the whole plot (an untrained network maps everything close together), the legend says so.
    """
    ax = _new_ax(ax, (5.5, 3.5))
    pos, neg = np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    right = max(pos.max(initial=0), neg.max(initial=0)) * 1.02 + 1e-9
    bins = np.linspace(0, right, 40)
    for values, colour, name in ((pos, "C0", "same subject"), (neg, "C1", "different subjects")):
        if len(values):
            sns.histplot(values, bins=bins, stat="density", element="step", alpha=0.35, color=colour, ax=ax,
                         kde=len(np.unique(values)) >= 3, line_kws={"lw": 1.8},
                         label=f"{name} ({len(values)} pairs)")
    ax.set_xlim(0, right)
    note = None
    if margin is not None and len(pos):
        m = float(np.median(pos))
        if m + margin <= right:
            ax.axvspan(m, m + margin, color="0.5", alpha=0.25, lw=0,
                       label=f"margin {margin} beyond the median\nsame-subject distance")
        else:
            note = f"the margin {margin} is wider than the\nwhole range shown: every triple is active"
    ax.set_ylim(0, ax.get_ylim()[1] * 1.35)  # headroom for the legend
    ax.set_xlabel("distance (mean over parts)")
    ax.set_ylabel("density")
    ax.set_title(title)
    legend = ax.legend(fontsize=8, loc="upper right", title=note, title_fontsize=8)
    if note:
        legend.get_title().set_ha("left")
    return ax.figure


# --------------------------------------------------------------------------------------
# Protocol results
# --------------------------------------------------------------------------------------
def plot_rank1_heatmaps(result: Mapping, conditions: Sequence[str] | None = None, axes=None,
                        annot: bool = True, title: str | None = None, cmap: str = "viridis"):
    """The probe-view x gallery-view rank-1 matrices, one heatmap per condition, one colour scale.

    `result` is a `casia_b_protocol` / `cross_view_protocol` dict (matrices in %). Every cell
    carries its value (up to 14 views); the diagonal (identical views, excluded from the
    mean) keeps its value, in italics inside a white frame (drawn with seaborn's `heatmap`, which
    picks each value's text colour against its cell). Sequential colour map from 0 to
    100 %, one labelled colour bar for all panels; every panel names all its views the same way.
    """
    conditions = list(conditions or result["conditions"])
    views = list(result["views"])
    k = len(views)
    if axes is None:
        side = max(4.2, 0.42 * k + 1.0)
        _, axes = plt.subplots(1, len(conditions), figsize=(side * len(conditions) + 1.2, side + 0.6),
                               squeeze=False, layout="constrained")
        axes = axes[0]
    for ax, cond in zip(axes, conditions):
        mat = np.asarray(result["matrices"][cond], dtype=float)       # [probe views, gallery views]
        show_values = annot and k <= 14
        sns.heatmap(mat, vmin=0, vmax=100, cmap=cmap, ax=ax, cbar=False, square=True, linewidths=0,
                    annot=show_values, fmt=".0f", annot_kws={"fontsize": 8 if k <= 11 else 6.5},
                    xticklabels=views, yticklabels=views)
        if show_values:  # seaborn picks each value's colour against its cell; the diagonal in italics
            for text in ax.texts:
                x, y = text.get_position()
                if int(x) == int(y):
                    text.set_style("italic")
        for i in range(min(mat.shape)):
            ax.add_patch(plt.Rectangle((i, i), 1, 1, fill=False, edgecolor="white", lw=1.6))
        ax.tick_params(axis="x", labelsize=8, labelrotation=90)
        ax.tick_params(axis="y", labelsize=8, labelrotation=0)
        ax.set_xlabel("gallery view (degrees)")
        ax.set_ylabel("probe view (degrees)")
        ax.set_title(f"{cond}: mean {result['mean'][cond]:.1f} %\n(framed diagonal: same view, excluded)",
                     fontsize=10)
    fig = axes[0].figure
    fig.colorbar(plt.cm.ScalarMappable(norm=plt.Normalize(0, 100), cmap=cmap), ax=list(axes), shrink=0.85,
                 label="rank-1 (%)")
    if title:
        fig.suptitle(title)
    return fig


def plot_per_view_rank1(results: Mapping[str, Mapping], condition: str = "NM", ax=None):
    """Per-probe-view rank-1 (row means without the diagonal) of several models, one line each.

    results: name -> protocol result dict.
    """
    ax = _new_ax(ax, (6, 3.5))
    for name, res in results.items():
        ax.plot(res["views"], res["per_view"][condition], marker="o", label=f"{name} ({res['mean'][condition]:.1f})")
    ax.set_xlabel("probe view (degrees)")
    ax.set_ylabel("rank-1 (%), mean over other gallery views")
    ax.set_ylim(0, 100)
    ax.set_title(f"{condition}: rank-1 per probe view")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax.figure


def plot_cmc(curves: Mapping[str, Sequence[float]], ax=None, title: str = "CMC curve"):
    """Cumulative match characteristic curves (percent matched within rank r), one per name.

    The legend gives each curve's value at r = 1. It equals a rank-1 table only when both use
    the same gallery: a CMC against a gallery of many views at once is higher than the mean
    over single-view galleries that the CASIA-B table reports.
    """
    ax = _new_ax(ax, (5, 3.5))
    for name, curve in curves.items():
        c = np.asarray(curve, dtype=float)
        ax.plot(np.arange(1, len(c) + 1), c, marker="o", ms=3, label=f"{name} (r = 1: {c[0]:.1f} %)")
    ax.set_xlabel("rank r")
    ax.set_ylabel("probes matched within rank r (%)")
    ax.set_ylim(0, 101)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return ax.figure


# --------------------------------------------------------------------------------------
# Embedding projection
# --------------------------------------------------------------------------------------
def pca_2d(x, dims: int = 2):
    """Principal-component projection with torch only: [N, D] (or [N, C, P]) -> ([N, dims], explained).

    Centres the data, takes the top right-singular vectors, fixes each component's sign so
    that its largest-magnitude loading is positive (deterministic output), and returns the
    projection (float32 numpy) and the share of variance each component explains.
    """
    t = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x).detach().double()
    if t.ndim == 3:
        t = t.flatten(1)  # [N, C*P]
    if t.ndim != 2 or t.shape[0] < 2:
        raise ValueError(f"pca_2d: expected [N, D] (or [N, C, P]) with N >= 2, got {tuple(t.shape)}")
    t = t - t.mean(0, keepdim=True)
    _, s, vh = torch.linalg.svd(t, full_matrices=False)  # vh: [k, D]
    comps = vh[:dims]  # [dims, D]
    sign = torch.sign(comps.gather(1, comps.abs().argmax(1, keepdim=True)))  # [dims, 1]
    comps = comps * sign
    var = s.pow(2)
    explained = (var[:dims] / var.sum().clamp_min(1e-30)).numpy()
    return (t @ comps.T).float().numpy(), explained


def plot_embedding_projection(xy, labels, ax=None, title: str = "embedding projection",
                              label_name: str = "subject", cmap: str | None = None, legend: bool = True,
                              explained=None, continuous: bool | None = None):
    """Scatter of a 2-D projection coloured by a label (subject, view, condition).

    Discrete colours (tab10/tab20) for up to 20 labels; `continuous=True` (or numeric
    labels with more than 12 values) gives a sequential colour map and a colour bar,
    which suits ordered labels such as view angles.
    """
    ax = _new_ax(ax, (5, 4.5))
    xy = np.asarray(xy)
    labels = np.asarray(labels)
    uniq = sorted(set(labels.tolist()), key=lambda v: (str(type(v)), v))
    numeric = all(isinstance(u, (int, float, np.integer, np.floating)) or str(u).lstrip("-").isdigit() for u in uniq)
    if continuous is None:
        continuous = len(uniq) > 20 or (numeric and len(uniq) > 12)
    if not continuous:
        cm = plt.get_cmap(cmap or ("tab20" if len(uniq) > 10 else "tab10"))
        for k, u in enumerate(uniq):
            m = labels == u
            ax.scatter(xy[m, 0], xy[m, 1], s=14, color=cm(k % cm.N), label=str(u), alpha=0.85)
        if legend:
            ax.legend(title=label_name, fontsize=7, title_fontsize=8, ncol=2 if len(uniq) > 10 else 1,
                      loc="upper left", bbox_to_anchor=(1.01, 1), markerscale=1.5)
    else:
        vals = np.asarray([float(v) for v in labels]) if numeric else np.unique(labels, return_inverse=True)[1]
        sc = ax.scatter(xy[:, 0], xy[:, 1], s=14, c=vals, cmap=cmap or "viridis", alpha=0.85)
        ax.figure.colorbar(sc, ax=ax, label=label_name)
    if explained is not None:
        ax.set_xlabel(f"PC 1 ({100 * explained[0]:.0f} % of variance)")
        ax.set_ylabel(f"PC 2 ({100 * explained[1]:.0f} % of variance)")
    else:
        ax.set_xlabel("component 1")
        ax.set_ylabel("component 2")
    ax.set_title(title)
    return ax.figure


# --------------------------------------------------------------------------------------
# Comparisons and ablations
# --------------------------------------------------------------------------------------
def plot_condition_bars(table: Mapping[str, Mapping[str, float]], conditions: Sequence[str] = CONDITIONS,
                        ax=None, title: str = "rank-1 per condition", hatch_names: Iterable[str] = (),
                        ylabel: str = "rank-1 (%)", colors: Mapping[str, str] | None = None):
    """Grouped bars: one group per condition, one bar per model (name -> {condition: %}).

    Bars of models in `hatch_names` are hatched (e.g. numbers measured on another dataset);
    `colors` maps a model to its colour (matplotlib's cycle otherwise). Each bar is labelled
    with its value.
    """
    ax = _new_ax(ax, (max(6, 1.3 * len(table) + 3), 3.8))
    names = list(table)
    hatch_names = set(hatch_names)
    width = 0.8 / max(1, len(names))
    xs = np.arange(len(conditions))
    for k, name in enumerate(names):
        vals = [table[name].get(c, np.nan) for c in conditions]
        bars = ax.bar(xs + (k - (len(names) - 1) / 2) * width, vals, width, label=name,
                      color=(colors or {}).get(name, f"C{k % 10}"),
                      hatch="//" if name in hatch_names else None, edgecolor="white" if name in hatch_names else None)
        for b, v in zip(bars, vals):
            if v is not None and np.isfinite(v):
                ax.text(b.get_x() + b.get_width() / 2, v + 1, f"{v:.1f}", ha="center", va="bottom", fontsize=6.5,
                        rotation=90 if len(names) > 4 else 0)
    ax.set_xticks(xs)
    ax.set_xticklabels(conditions)
    ax.set_ylim(0, 115)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("probe condition")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(axis="y", alpha=0.3)
    return ax.figure


def ablation_deltas(results: Mapping[str, Mapping[str, float]], reference: str = "full",
                    conditions: Sequence[str] = CONDITIONS) -> dict:
    """Rank-1 change of every variant against the reference model, per condition and mean.

    results: variant -> {condition: rank-1 %}. Returns variant -> {condition: delta, "mean":
    delta of the mean over `conditions`} (negative = the variant is worse, i.e. the removed
    component helped).
    """
    if reference not in results:
        raise ValueError(f"ablation_deltas: reference {reference!r} not among the variants {list(results)}")
    ref = results[reference]
    out = {}
    for name, res in results.items():
        if name == reference:
            continue
        missing = [c for c in conditions if c not in res or c not in ref]
        if missing:
            raise ValueError(f"ablation_deltas: variant {name!r} or {reference!r} lacks condition(s) {missing}")
        d = {c: float(res[c]) - float(ref[c]) for c in conditions}
        d["mean"] = float(np.mean([res[c] for c in conditions]) - np.mean([ref[c] for c in conditions]))
        out[name] = d
    return out


# Colours of the variants in `plot_ablation_bars`: no red or blue, which mean "worse" / "better" there.
_VARIANT_COLOURS = ["0.3", "#66c2a5", "#c9a0dc", "#e5c494", "#a6d854", "#ffd92f", "#b3b3b3"]


def plot_ablation_bars(results: Mapping[str, Mapping[str, float]], reference: str = "full",
                       conditions: Sequence[str] = CONDITIONS, axes=None, title: str | None = None,
                       saturate: float = 10.0):
    """Two panels: rank-1 per condition for every variant, and a table of the change against `reference`.

    Left: grouped bars, one colour per variant (never red or blue). Right: the change of
    every variant against `reference` per condition and on the mean, as numbers in coloured
    cells: red = the variant lost accuracy (the removed block helped), blue = it gained.
    Colours saturate at `saturate` points so that one collapsed variant cannot wash out the
    others; the printed numbers keep the exact values.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(13, 3.9), width_ratios=[1.35, 1], layout="constrained")
    names = list(results)
    colours = {n: _VARIANT_COLOURS[k % len(_VARIANT_COLOURS)] for k, n in enumerate(names)}
    plot_condition_bars(results, conditions, ax=axes[0], title="rank-1 per variant", colors=colours)
    deltas = ablation_deltas(results, reference, conditions)
    variants = list(deltas)
    cols = list(conditions) + ["mean"]
    grid = np.array([[deltas[n][c] for c in cols] for n in variants])  # [variants, conditions + 1]
    bound = min(float(np.abs(grid).max()) or 1.0, saturate)
    im = axes[1].imshow(grid, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    for (i, j), v in np.ndenumerate(grid):
        axes[1].text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=9,
                     color="white" if abs(v) > 0.6 * bound else "black",
                     weight="bold" if j == len(cols) - 1 else "normal")
    axes[1].set_xticks(range(len(cols)), cols)
    axes[1].set_yticks(range(len(variants)), variants)
    axes[1].set_xlabel("probe condition")
    axes[1].set_ylabel("variant")
    axes[1].set_title(f"rank-1 change against {reference} (points)\nred: lower than {reference}, "
                      "so the removed block helped", fontsize=10)
    axes[0].figure.colorbar(im, ax=axes[1], extend="both" if float(np.abs(grid).max()) > bound else "neither",
                            label=f"change (points), colours\nsaturate at ±{bound:g}")
    if title:
        axes[0].figure.suptitle(title)
    return axes[0].figure


# --------------------------------------------------------------------------------------
# Retrieval
# --------------------------------------------------------------------------------------
def show_retrieval(probe, gallery, correct: Sequence[bool], probe_title: str, gallery_titles: Sequence[str],
                   title: str = "A probe and its nearest gallery sequences") -> Figure:
    """The probe (left) and its nearest gallery items, best first; green border = same subject, red = another."""
    gallery = [to_image(g) for g in gallery]
    if not (len(gallery) == len(correct) == len(gallery_titles)):
        raise ValueError(f"show_retrieval: {len(gallery)} gallery images, {len(correct)} flags and "
                         f"{len(gallery_titles)} titles must match")
    probe = to_image(probe)
    h, w = probe.shape
    n = len(gallery) + 1
    panel = min(1.5, 11.0 / n)
    fig, axes = plt.subplots(1, n, figsize=(panel * n, panel * h / w + 1.0), squeeze=False)
    axes[0, 0].imshow(probe, cmap="gray", vmin=0, vmax=1)
    _blank(axes[0, 0], xlabel="probe")
    axes[0, 0].set_title(probe_title, fontsize=8)
    for k, (img, ok, name) in enumerate(zip(gallery, correct, gallery_titles), start=1):
        ax = axes[0, k]
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        _blank(ax, xlabel=f"rank {k}")
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color("tab:green" if ok else "tab:red")
            spine.set_linewidth(3)
        ax.set_title(name, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_cue_matrix(records, cues: Sequence[str] | None = None, variants: Sequence[str] | None = None,
                    baseline: str = "full", ax=None, title: str = "rank-1 by cue and variant"):
    """The cue study's matrix (docs/cue-study.md): one row per cue, one column per variant.

    Each cell shows the mean rank-1 over seeds, ± its spread (standard deviation) and, for a
    variant, its difference from `baseline` on that cue; the colour is that difference
    (the baseline column is grey). A cell whose difference is a "drop" or a "gain" by
    `evaluation.summarise_cells`'s rule is framed. records: dicts with cue, variant, seed, rank1.
    """
    import seaborn as sns

    from ..evaluation import summarise_cells

    summary = summarise_cells(records, baseline=baseline)
    cues = list(cues or dict.fromkeys(c for c, _ in summary))
    variants = list(variants or dict.fromkeys(v for _, v in summary))
    delta = np.full((len(cues), len(variants)), np.nan)
    text = np.full((len(cues), len(variants)), "", dtype=object)
    for i, c in enumerate(cues):
        for j, v in enumerate(variants):
            s = summary.get((c, v))
            if s is None:
                text[i, j] = "not run"
                continue
            spread = "" if math.isnan(s["sd"]) else f" ± {s['sd']:.1f}"
            line = f"{s['mean']:.1f}{spread}\n(n={s['n']})"
            if v != baseline and not math.isnan(s["delta"]):
                delta[i, j] = s["delta"]
                line = f"{s['mean']:.1f}{spread}\nΔ {s['delta']:+.1f} (n={s['n']})"
            text[i, j] = line
    ax = _new_ax(ax, figsize=(1.9 * len(variants) + 1.5, 1.0 * len(cues) + 1.6))
    lim = max(10.0, float(np.nanmax(np.abs(delta))) if np.isfinite(delta).any() else 10.0)
    sns.heatmap(delta, ax=ax, cmap="RdBu", vmin=-lim, vmax=lim, annot=False, xticklabels=variants,
                yticklabels=cues, linewidths=0.5, linecolor="white",
                cbar_kws={"label": f"Δ rank-1 vs {baseline} (points)"})
    ax.set_facecolor("0.85")                                     # the baseline column (no difference to show)
    for i, c in enumerate(cues):
        for j, v in enumerate(variants):
            dark = np.isfinite(delta[i, j]) and abs(delta[i, j]) > 0.6 * lim
            ax.text(j + 0.5, i + 0.5, text[i, j], ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
            s = summary.get((c, v))
            if s is not None and s["verdict"] in ("drop", "gain"):
                ax.add_patch(plt.Rectangle((j + 0.04, i + 0.04), 0.92, 0.92, fill=False, lw=2, ec="black"))
    ax.set_xlabel("variant (block switched off)")
    ax.set_ylabel("cue carrying identity")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=0)
    ax.tick_params(axis="y", rotation=0)
    return ax.figure
