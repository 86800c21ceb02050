"""Figures of the model's insides for notebooks 03, 04 and 07: one helper per figure kind (STYLE.md habit 5).

Attention heatmaps per head/part over time (d2l's `show_heatmaps` idea), MCM attention over
time, the class token's attention aligned with the silhouettes, parameter bar charts, and
the timelines of the temporal span explorer. Every helper returns the matplotlib Figure.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

__all__ = [
    "show_heatmaps",
    "plot_mcm_attention",
    "plot_class_token_attention",
    "plot_parameter_bars",
    "plot_sequence_timeline",
    "plot_span_distances",
    "plot_view_scores",
]


def _np(x) -> np.ndarray:
    """torch tensor / array-like -> float numpy array (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


def show_heatmaps(matrices, xlabel: str, ylabel: str, titles: Sequence[str] | None = None,
                  row_labels: Sequence[str] | None = None, suptitle: str | None = None,
                  cmap: str = "Reds", symmetric: bool = False, figsize: tuple[float, float] | None = None,
                  colorbar_label: str = "weight"):
    """A grid of heatmaps with one shared colour scale, e.g. attention per (layer or part) x head.

    matrices: `[rows, cols, a, b]` (each `[a, b]` drawn with `a` on the y axis). Use a
    sequential `cmap` for weights/distances; `symmetric=True` centres a diverging map on 0.
    """
    m = _np(matrices)
    if m.ndim != 4:
        raise ValueError(f"show_heatmaps: expected matrices [rows, cols, a, b], got shape {m.shape}")
    rows, cols = m.shape[:2]
    if symmetric:
        bound = float(np.abs(m).max()) or 1.0
        vmin, vmax = -bound, bound
    else:
        vmin, vmax = float(m.min()), float(m.max())
    figsize = figsize or (min(2.6 * cols + 1.2, 14), min(2.4 * rows + 0.6, 12))
    fig, axes = plt.subplots(rows, cols, figsize=figsize, squeeze=False, sharex=True, sharey=True,
                             constrained_layout=True)
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            im = ax.imshow(m[i, j], cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
            if titles is not None and i == 0:
                ax.set_title(titles[j], fontsize=10)
            if i == rows - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(f"{row_labels[i]}\n{ylabel}" if row_labels is not None else ylabel)
    fig.colorbar(im, ax=axes, shrink=0.8, label=colorbar_label)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_mcm_attention(attention_by_window: dict, parts: Sequence[int], frames=None,
                       title: str = "MCM attention over time"):
    """MTB attention (mean over channels) per frame, one panel per temporal window, one line per part.

    attention_by_window: `{"MTB1 (window 3)": [s, p], "MTB2 (window 5)": [s, p]}`; `parts`:
    which parts to draw. With `frames` (`[s, h, w]`) a strip of the silhouettes is drawn on top.
    """
    panels = {k: _np(v) for k, v in attention_by_window.items()}
    s = next(iter(panels.values())).shape[0]
    n_rows = len(panels) + (frames is not None)
    ratios = ([0.7] if frames is not None else []) + [1.0] * len(panels)
    fig, axes = plt.subplots(n_rows, 1, figsize=(10, 2.2 * n_rows), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": ratios}, constrained_layout=True)
    axes = axes[:, 0]
    if frames is not None:
        _silhouette_strip(axes[0], frames)
        axes = axes[1:]
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(parts)))
    for ax, (name, a) in zip(axes, panels.items()):
        for colour, part in zip(colours, parts):
            ax.plot(np.arange(s), a[:, part], marker="o", ms=3, color=colour, label=f"part {part}")
        ax.set_ylabel("attention σ(·)")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(ncol=min(len(parts), 6), fontsize=8, loc="upper right")
    axes[-1].set_xlabel("frame")
    fig.suptitle(title)
    return fig


def _silhouette_strip(ax, frames, highlight: dict | None = None):
    """Draw frames `[s, h, w]` side by side on one axis, frame i centred at x = i."""
    f = _np(frames)
    s, h, w = f.shape
    strip = np.concatenate([np.pad(fr, ((0, 0), (1, 1)), constant_values=0.15) for fr in f], axis=1)
    ax.imshow(strip, cmap="gray", vmin=0, vmax=1, aspect="auto", extent=(-0.5, s - 0.5, h, 0),
              interpolation="nearest")
    ax.set_yticks([])
    ax.set_ylabel("frames")
    for colour, idx in (highlight or {}).items():
        for i in idx:
            ax.add_patch(Rectangle((i - 0.5, 0), 1, h, fill=False, edgecolor=colour, lw=2))


def plot_class_token_attention(frames, weights, labels: Sequence[str] | None = None,
                               title: str = "What the class token looks at",
                               ylabel: str = "attention to frame", signal=None,
                               signal_label: str = "gait phase signal", xlabel: str = "frame"):
    """The class token's attention to every frame, aligned under the silhouettes of those frames.

    frames: `[s, h, w]`; weights: `[s]` or `[k, s]` (e.g. per head or per layer) drawn as
    grouped bars (`labels` names the k rows). `signal` (`[s]`, e.g. `explore.stride_signal`)
    is drawn as a black line on a second y axis, to read attention against the gait phase.
    """
    w = _np(weights)
    w = w[None] if w.ndim == 1 else w
    s = w.shape[1]
    if _np(frames).shape[0] != s:
        raise ValueError(f"plot_class_token_attention: {_np(frames).shape[0]} frames but weights for {s}")
    fig, (top, ax) = plt.subplots(2, 1, figsize=(10, 4.2), sharex=True, constrained_layout=True,
                                  gridspec_kw={"height_ratios": [0.8, 1.2]})
    _silhouette_strip(top, frames)
    top.set_title(title)
    k = w.shape[0]
    width = 0.8 / k
    colours = plt.get_cmap("tab10")(np.arange(k) % 10)
    for i in range(k):
        ax.bar(np.arange(s) - 0.4 + width * (i + 0.5), w[i], width=width, color=colours[i],
               label=None if labels is None else labels[i])
    ax.axhline(1.0 / (s + 1), color="k", lw=0.8, ls="--", label="uniform 1/(s+1)")
    ax.legend(fontsize=8, ncol=min(k + 1, 5), loc="upper right")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(-0.5, s - 0.5)
    ax.set_ylim(0, max(float(w.max()), 1.0 / (s + 1)) * 1.35)  # head room for the legends
    ax.grid(axis="y", alpha=0.3)
    if signal is not None:
        sig = _np(signal)
        if sig.shape != (s,):
            raise ValueError(f"plot_class_token_attention: signal {sig.shape} must be [s={s}]")
        twin = ax.twinx()
        twin.plot(np.arange(s), sig, color="k", lw=1.2, marker=".", label=signal_label)
        lo, hi = float(sig.min()), float(sig.max())
        twin.set_ylim(lo - 0.05 * (hi - lo + 1e-9), hi + 0.4 * (hi - lo + 1e-9))
        twin.set_ylabel(signal_label)
        twin.legend(fontsize=8, loc="upper left")
    return fig


def plot_parameter_bars(counts: dict, title: str = "Trainable parameters per block", log: bool = False):
    """Horizontal bars of parameter counts per block, the count printed at each bar's end."""
    if not counts:
        raise ValueError("plot_parameter_bars: counts is empty")
    names = list(counts)[::-1]
    values = np.array([counts[n] for n in names], dtype=float)
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(names) + 1.2), constrained_layout=True)
    bars = ax.barh(names, values, color=plt.get_cmap("viridis")(0.35))
    for bar, v in zip(bars, values):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {int(v):,}", va="center", fontsize=8)
    if log:
        ax.set_xscale("log")
    ax.set_xlim(right=values.max() * (3 if log else 1.18))
    if not log and values.max() >= 1e6:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1e6:g} M"))
    ax.set_xlabel("parameters" + (" (log scale)" if log else ""))
    ax.set_title(f"{title} (total {int(values.sum()):,})")
    return fig


def plot_sequence_timeline(frames, units: Sequence[Sequence[int]], windows: dict | None = None,
                           t: int | None = None, title: str = "Frames, units and MCM windows"):
    """The explorer's timeline: silhouettes, which frames form each unit, and MCM's windows around `t`.

    units: `unit_groups(...)` output; windows: `mcm_windows(...)` output (`{k: {"frames", "padded"}}`).
    """
    f = _np(frames)
    s = f.shape[0]
    n_win = len(windows or {})
    fig, axes = plt.subplots(2, 1, figsize=(11, 3.0 + 0.35 * n_win), sharex=True, constrained_layout=True,
                             gridspec_kw={"height_ratios": [1.0, 0.5 + 0.25 * n_win]})
    _silhouette_strip(axes[0], f, highlight={"red": [t]} if t is not None else None)
    axes[0].set_title(title)
    ax = axes[1]
    colours = plt.get_cmap("tab20")(np.arange(max(len(units), 1)) % 20)
    for j, group in enumerate(units):
        ax.add_patch(Rectangle((group[0] - 0.45, 0.1), len(group) - 0.1, 0.8, color=colours[j], alpha=0.8))
        ax.text((group[0] + group[-1]) / 2, 0.5, f"u{j}", ha="center", va="center", fontsize=7)
    covered = {i for g in units for i in g}
    for i in range(s):
        if i not in covered:
            ax.text(i, 0.5, "×", ha="center", va="center", color="grey")
    labels, ticks = ["units"], [0.5]
    for r, (k, win) in enumerate(sorted((windows or {}).items()), start=1):
        y = -r
        for i in win["frames"]:
            ax.add_patch(Rectangle((i - 0.45, y + 0.15), 0.9, 0.7, color="tab:orange" if r == 1 else "tab:purple"))
        for i in win["padded"]:
            ax.add_patch(Rectangle((i - 0.45, y + 0.15), 0.9, 0.7, fill=False, hatch="//", edgecolor="grey"))
        labels.append(f"window {k}")
        ticks.append(y + 0.5)
    ax.set_yticks(ticks, labels)
    ax.set_ylim(-n_win - 0.1, 1.1)
    margin = max([k // 2 for k in (windows or {})] + [0]) + 0.5
    ax.set_xlim(-margin, s - 1 + margin)
    ax.set_xlabel("frame (hatched = zero padding outside the sequence)")
    return fig


def plot_span_distances(spans: Sequence[int], distances, labels: Sequence[str], highlight: Sequence[int] = (),
                        title: str = "Distance to the gallery vs. frames fed", twins: Sequence[int] = (),
                        relative: bool = False):
    """One line per gallery sequence: its distance to the probe as the span (frames fed) grows.

    distances: `[len(spans), m]`; `highlight`: gallery indices drawn bold red (e.g. the same
    subject); `twins`: indices drawn dashed orange (e.g. the subject's SynthGait twin).
    `relative=True` divides each span's distances by their mean over the gallery, so that the
    ranking stays readable while all distances shrink or grow with the span.
    """
    d = _np(distances)
    if relative:
        d = d / d.mean(1, keepdims=True)
    if d.shape != (len(spans), len(labels)):
        raise ValueError(f"plot_span_distances: distances {d.shape} must be [len(spans)={len(spans)}, "
                         f"len(labels)={len(labels)}]")
    fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
    named = set()
    for j, label in enumerate(labels):
        bold, twin = j in set(highlight), j in set(twins)
        show = (bold or twin) and label not in named  # one legend entry per highlighted name
        named.add(label)
        colour = "tab:red" if bold else "tab:orange" if twin else "tab:blue"
        ax.plot(spans, d[:, j], marker="o", ms=3, lw=2.5 if bold else 2 if twin else 1,
                ls="--" if twin else "-", alpha=1 if (bold or twin) else 0.45, color=colour,
                label=(f"{label} (twin)" if twin else label) if show else None)
    ax.plot([], [], color="tab:blue", alpha=0.45, label="other subjects")
    ax.set_xlabel("span: frames fed to the model")
    ax.set_ylabel("distance / gallery mean" if relative else "distance (mean over parts)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_view_scores(probabilities, view_names: Sequence[str], true_view: str | None = None,
                     title: str = "PIEG view prediction"):
    """Bar chart of PIEG's view probabilities (softmax of the view logits) for one sequence."""
    p = _np(probabilities)
    if p.shape != (len(view_names),):
        raise ValueError(f"plot_view_scores: {p.shape} probabilities for {len(view_names)} views")
    fig, ax = plt.subplots(figsize=(7, 3), constrained_layout=True)
    colours = ["tab:green" if v == true_view else "tab:blue" for v in view_names]
    ax.bar(view_names, p, color=colours)
    ax.set_xlabel("view (degrees)" + (" — green: the true view" if true_view is not None else ""))
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    return fig
