"""Figures of gait data: silhouettes, GEIs, overlays, skeletons, preprocessing, batches (notebooks 00, 01).

One helper per figure kind (as d2l does); every helper returns the matplotlib `Figure`
and takes numpy arrays or torch tensors (see `gaitgs_lib.viz` for the shared conventions).
Images may be `uint8` (0..255) or floats in [0, 1]. The pure functions here (`to_image`,
`feature_energy`, `overlay_rgb`, `layout_tree`) are tested in `tests/test_viz_data.py`;
figures of the model's insides live in `viz.model`, results in `viz.results`.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

__all__ = [
    "show_cue",
    "to_image",
    "feature_energy",
    "overlay_rgb",
    "layout_tree",
    "show_silhouettes",
    "show_contact_grid",
    "show_geis",
    "show_overlay",
    "plot_joint_angles",
    "show_skeletons",
    "show_preprocessing",
    "show_pk_batch",
    "plot_frame_windows",
    "plot_signals",
]

INCH_PER_PANEL = 1.3  # width of one silhouette panel; keeps 8-11 panels readable at notebook width
MAX_WIDTH = 11.0  # inches; wider figures are scaled down by the notebook anyway


# ----------------------------------------------------------------------------- pure helpers


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)


def to_image(frame) -> np.ndarray:
    """One frame as `float [h, w]` in [0, 1]: uint8 is divided by 255, floats are kept as they are.

    Accepts numpy arrays and torch tensors; a leading axis of size 1 (a channel) is dropped.
    """
    raw = frame
    a = _numpy(frame)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"to_image: expected one frame [h, w] (or [1, h, w]), got shape {tuple(a.shape)}")
    if a.dtype == np.uint8 or (isinstance(raw, torch.Tensor) and raw.dtype == torch.uint8):
        return a.astype(np.float32) / 255.0
    if a.dtype == bool:
        return a.astype(np.float32)
    return a.astype(np.float32)


def feature_energy(features) -> np.ndarray:
    """Root-mean-square over channels: `[c, s, h, w]` -> `[s, h, w]` (also `[c, h, w]` -> `[h, w]`).

    A feature map has many channels; its RMS per pixel shows *where* a layer responds,
    whatever the sign of the individual channels.
    """
    f = _numpy(features).astype(np.float64)
    if f.ndim not in (3, 4):
        raise ValueError(
            f"feature_energy: expected features [c, s, h, w] or [c, h, w] (one sample, no batch axis), "
            f"got shape {tuple(f.shape)}"
        )
    return np.sqrt(np.mean(f ** 2, axis=0)).astype(np.float32)


# Colours of `overlay_rgb`: first walk orange, second walk blue; where both are, white.
OVERLAY_COLOURS = ((1.0, 0.55, 0.0), (0.0, 0.45, 1.0))


def overlay_rgb(first, second) -> np.ndarray:
    """Two frames `[h, w]` as one RGB image `[h, w, 3]`: first orange, second blue, both white.

    The colours add up (orange + blue = white), so a pixel covered by both walks is white, a
    pixel of only one walk shows its colour, and black is background: the pose difference of
    two walks is exactly the coloured area.
    """
    a, b = to_image(first), to_image(second)
    if a.shape != b.shape:
        raise ValueError(f"overlay_rgb: frames of different sizes {a.shape} and {b.shape}")
    rgb = a[..., None] * np.asarray(OVERLAY_COLOURS[0]) + b[..., None] * np.asarray(OVERLAY_COLOURS[1])
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def layout_tree(root: str | os.PathLike, max_entries: int = 2, depth: int = 4) -> str:
    """A `tree`-like listing of a dataset folder, with paths relative to `root` (never absolute).

    At every level the first `max_entries` folders (sorted) are listed and the rest counted
    ("... 28 more"); only the first folder of each level is opened, and the files of the
    top level (partition.json, meta.json) are always listed, so an OpenGait layout
    `sid/type/view/view.pkl` fits in about fifteen lines.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"layout_tree: {root.name!r} is not a folder")
    lines = [f"{root.name}/"]

    def walk(folder: Path, prefix: str, level: int) -> None:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        folders = [p for p in entries if p.is_dir()]
        files = [p for p in entries if not p.is_dir()]
        if level > 0:  # below the top only a few files are worth a line
            files = files[:max_entries]
        items = [(p.name + "/", p) for p in folders[:max_entries]]
        if len(folders) > max_entries:
            items.append((f"... {len(folders) - max_entries} more", None))
        items += [(p.name, None) for p in files]
        for k, (label, path) in enumerate(items):
            last = k == len(items) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label}")
            if path is not None and path == folders[0] and level + 1 < depth:
                walk(path, prefix + ("    " if last else "│   "), level + 1)

    walk(root, "", 0)
    return "\n".join(lines)


# ----------------------------------------------------------------------------- figure helpers


def _blank(ax, xlabel: str | None = None, ylabel: str | None = None) -> None:
    """An image panel: no ticks or frame, but keep any axis label (row/column names)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)


def _grid(n: int, ncols: int | None, panel: float = INCH_PER_PANEL, aspect: float = 64 / 44):
    ncols = min(n, ncols or n)
    nrows = math.ceil(n / ncols)
    width = min(MAX_WIDTH, panel * ncols)
    height = width / ncols * aspect * nrows + 0.6
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    return fig, axes


def _panels(n: int, ncols: int, panel_w: float, panel_h: float):
    """`n` fixed-size panels in rows of `ncols`: the figure and its first `n` axes (spares hidden)."""
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(panel_w * ncols, panel_h * nrows + 0.5), squeeze=False)
    for ax in grid.flat[n:]:
        ax.set_visible(False)
    return fig, list(grid.flat[:n])


def show_silhouettes(frames, titles: Sequence[str] | None = None, ncols: int | None = None,
                     suptitle: str | None = None, xlabel: str | None = None) -> Figure:
    """A row (or grid) of silhouettes `[k, h, w]`, one panel each, grey on black."""
    frames = [to_image(f) for f in frames]
    if not frames:
        raise ValueError("show_silhouettes: no frames to show")
    if titles is not None and len(titles) != len(frames):
        raise ValueError(f"show_silhouettes: {len(titles)} titles for {len(frames)} frames")
    h, w = frames[0].shape
    fig, axes = _grid(len(frames), ncols, aspect=h / w)
    for k, ax in enumerate(axes.flat):
        if k < len(frames):
            ax.imshow(frames[k], cmap="gray", vmin=0, vmax=1)
            _blank(ax)
            if titles is not None:
                ax.set_title(titles[k], fontsize=9)
        else:
            ax.set_visible(False)
    if xlabel:
        fig.supxlabel(xlabel, fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_contact_grid(grid, row_labels: Sequence[str], col_labels: Sequence[str], title: str,
                      xlabel: str = "view (degrees)", ylabel: str | None = None) -> Figure:
    """A contact sheet: `grid[r][c]` is one frame (or None when missing); rows = conditions, columns = views."""
    rows, cols = len(row_labels), len(col_labels)
    if len(grid) != rows or any(len(r) != cols for r in grid):
        raise ValueError(f"show_contact_grid: expected a {rows} x {cols} grid of frames (rows x columns of labels)")
    first = next(to_image(f) for r in grid for f in r if f is not None)
    h, w = first.shape
    panel = min(INCH_PER_PANEL, MAX_WIDTH / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(panel * cols, panel * h / w * rows + 0.9), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            frame = grid[r][c]
            if frame is None:
                ax.imshow(np.zeros((h, w)), cmap="gray", vmin=0, vmax=1)
                ax.text(w / 2, h / 2, "missing", color="white", ha="center", va="center", fontsize=7)
            else:
                ax.imshow(to_image(frame), cmap="gray", vmin=0, vmax=1)
            _blank(ax, xlabel=col_labels[c] if r == rows - 1 else None,
                   ylabel=row_labels[r] if c == 0 else None)
    fig.supxlabel(xlabel, fontsize=10)
    if ylabel:
        fig.supylabel(ylabel, fontsize=10)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_geis(geis, titles: Sequence[str], difference: bool = True, suptitle: str | None = None) -> Figure:
    """GEIs (gait energy images, frame means) side by side, plus `|GEI_0 - GEI_1|` when there are two."""
    geis = [to_image(g) for g in geis]
    if len(titles) != len(geis):
        raise ValueError(f"show_geis: {len(titles)} titles for {len(geis)} GEIs")
    extra = difference and len(geis) == 2
    n = len(geis) + int(extra)
    h, w = geis[0].shape
    fig, axes = plt.subplots(1, n, figsize=(min(MAX_WIDTH, 2.3 * n + (0.6 if extra else 0)), 2.3 * h / w + 0.6),
                             squeeze=False)
    for k, g in enumerate(geis):
        ax = axes[0, k]
        im = ax.imshow(g, cmap="gray", vmin=0, vmax=1)
        _blank(ax)
        ax.set_title(titles[k], fontsize=9)
    if extra:
        diff = np.abs(geis[0] - geis[1])
        ax = axes[0, -1]
        im = ax.imshow(diff, cmap="magma", vmin=0, vmax=max(float(diff.max()), 1e-6))
        _blank(ax)
        ax.set_title("|difference|", fontsize=9)
        ax.set_xlabel(f"max {diff.max():.2f}, mean {diff.mean():.3f}", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.07, pad=0.03, label="|GEI difference|")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_overlay(first, second, labels: Sequence[str], titles: Sequence[str] | None = None,
                 suptitle: str = "Two walks overlaid", ncols: int | None = None) -> Figure:
    """Frames of two walks `[k, h, w]` overlaid pairwise (`overlay_rgb`), with a colour legend.

    Orange = only `labels[0]`, blue = only `labels[1]`, white = both: where two walks differ
    in pose is the coloured area, visible at a glance even when each walk alone looks alike.
    """
    first, second = [to_image(f) for f in first], [to_image(f) for f in second]
    if len(first) != len(second) or not first:
        raise ValueError(f"show_overlay: {len(first)} and {len(second)} frames; need the same number (>= 1)")
    if len(labels) != 2:
        raise ValueError(f"show_overlay: labels must name the two walks, got {list(labels)}")
    if titles is not None and len(titles) != len(first):
        raise ValueError(f"show_overlay: {len(titles)} titles for {len(first)} frame pairs")
    h, w = first[0].shape
    fig, axes = _grid(len(first), ncols, panel=1.5, aspect=h / w)
    fig.set_figheight(fig.get_figheight() + 0.4)
    for k, ax in enumerate(axes.flat):
        if k >= len(first):
            ax.set_visible(False)
            continue
        ax.imshow(overlay_rgb(first[k], second[k]), interpolation="nearest")
        _blank(ax)
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    handles = [Patch(color=OVERLAY_COLOURS[0], label=f"only {labels[0]}"),
               Patch(color=OVERLAY_COLOURS[1], label=f"only {labels[1]}"),
               Patch(facecolor="white", edgecolor="0.5", label="both")]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(suptitle)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def plot_joint_angles(curves: Mapping[str, np.ndarray], normative: Mapping[str, np.ndarray] | None = None,
                      phase=None, ncols: int = 3, title: str = "Joint angles over one gait cycle",
                      curve_label: str = "subjects") -> Figure:
    """One panel per joint angle: `curves[name]` is `[T]` or `[m, T]` (m subjects), `normative[name]` `[T]`.

    The x axis is the gait cycle in percent (0 = heel strike); `phase` (`[T]`, in [0, 1))
    defaults to `linspace(0, 1, T, endpoint=False)`.
    """
    names = list(curves)
    if not names:
        raise ValueError("plot_joint_angles: no curves")
    fig, axes = _panels(len(names), ncols, 3.6, 2.4)
    for k, ax in enumerate(axes):
        name = names[k]
        c = np.atleast_2d(_numpy(curves[name]))  # [m, T]
        t = np.linspace(0, 1, c.shape[1], endpoint=False) if phase is None else np.asarray(phase)
        for j, row in enumerate(c):
            ax.plot(100 * t, row, color="tab:blue", alpha=0.35 if len(c) > 1 else 0.9, lw=1,
                    label=curve_label if j == 0 else None)
        if normative is not None and name in normative:
            ref = _numpy(normative[name])
            tr = t if len(ref) == len(t) else np.linspace(0, 1, len(ref), endpoint=False)
            ax.plot(100 * tr, ref, color="black", lw=2, ls="--", label="population mean")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("gait cycle (%)")
        ax.set_ylabel("angle (degrees)")
        ax.set_xlim(0, 100)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=8, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_skeletons(joints, bones: Sequence[tuple[int, int]], silhouettes, titles: Sequence[str] | None = None,
                   suptitle: str = "Skeleton (top) and its silhouette (bottom)") -> Figure:
    """Frames of a stride: row 1 the 2-D skeleton `joints[f]` (`[J, 2]`, image x/y), row 2 the silhouette.

    `bones` are index pairs into the joints. Image coordinates: y grows downwards.
    """
    joints = _numpy(joints)
    frames = [to_image(s) for s in silhouettes]
    if joints.ndim != 3 or joints.shape[-1] != 2:
        raise ValueError(f"show_skeletons: expected joints [frames, J, 2], got shape {tuple(joints.shape)}")
    if len(frames) != len(joints):
        raise ValueError(f"show_skeletons: {len(joints)} skeletons but {len(frames)} silhouettes")
    f = len(frames)
    h, w = frames[0].shape
    panel = min(1.6, MAX_WIDTH / f)
    fig, axes = plt.subplots(2, f, figsize=(panel * f, 2 * panel * h / w + 0.8), squeeze=False)
    lo, hi = joints.reshape(-1, 2).min(0), joints.reshape(-1, 2).max(0)
    pad = 0.08 * (hi - lo).max()
    for k in range(f):
        ax = axes[0, k]
        for i, j in bones:
            ax.plot(*joints[k, [i, j]].T, color="tab:orange", lw=2, solid_capstyle="round")
        ax.scatter(*joints[k].T, s=8, color="black", zorder=3)
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(hi[1] + pad, lo[1] - pad)  # y down, as in the image
        ax.set_aspect("equal")
        _blank(ax, ylabel="skeleton" if k == 0 else None)
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
        ax2 = axes[1, k]
        ax2.imshow(frames[k], cmap="gray", vmin=0, vmax=1)
        _blank(ax2, ylabel="silhouette" if k == 0 else None)
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_preprocessing(steps: Sequence[tuple[str, np.ndarray]], vlines: Mapping[int, Sequence[float]] | None = None,
                       hlines: Mapping[int, Sequence[float]] | None = None,
                       xlims: Mapping[int, tuple[float, float]] | None = None, ncols: int = 3,
                       suptitle: str = "Preprocessing one raw frame, step by step") -> Figure:
    """Each step `(title, image)` in its own panel with pixel axes and its size in the title.

    `vlines[k]` / `hlines[k]` draw dashed lines on panel `k` (the mass-median column, the
    window `[x - 32, x + 32)`, the crop rows, the side cuts); `xlims[k] = (x0, x1)` zooms
    panel `k` to those columns (wide strips would otherwise be unreadable).
    """
    if not steps:
        raise ValueError("show_preprocessing: no steps")
    fig, axes = _panels(len(steps), ncols, 3.6, 3.0)
    for k, ax in enumerate(axes):
        title, img = steps[k]
        image = to_image(img)
        h, w = image.shape
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        zoom = (xlims or {}).get(k)
        if zoom is not None:
            ax.set_xlim(zoom[0] - 0.5, zoom[1] - 0.5)
        ax.set_title(f"{title}\n[{h} x {w}]", fontsize=9)
        ax.set_xlabel("x (px)" + (f", columns {zoom[0]}-{zoom[1]} shown" if zoom is not None else ""), fontsize=8)
        ax.set_ylabel("y (px)", fontsize=8)
        ax.tick_params(labelsize=7)
        for x in (vlines or {}).get(k, []):
            ax.axvline(x - 0.5, color="tab:red", lw=1.2, ls="--")
        for y in (hlines or {}).get(k, []):
            ax.axhline(y - 0.5, color="tab:red", lw=1.2, ls="--")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_pk_batch(frames, subject_labels: Sequence[str], sequence_labels: Sequence[Sequence[str]],
                  title: str = "One training batch: P subjects x K sequences") -> Figure:
    """`frames[p, k]` is one frame (e.g. the middle of its window) of sequence k of subject p.

    Rows are subjects (P), columns the K sequences drawn for that subject.
    """
    frames = _numpy(frames)
    if frames.ndim != 4:
        raise ValueError(f"show_pk_batch: expected frames [P, K, h, w], got shape {tuple(frames.shape)}")
    p, k, h, w = frames.shape
    panel = min(1.25, MAX_WIDTH / k)
    fig, axes = plt.subplots(p, k, figsize=(panel * k, panel * h / w * p * 0.95 + 0.8), squeeze=False)
    for i in range(p):
        for j in range(k):
            ax = axes[i, j]
            ax.imshow(to_image(frames[i, j]), cmap="gray", vmin=0, vmax=1)
            _blank(ax, ylabel=f"subject {subject_labels[i]}" if j == 0 else None)
            ax.set_title(sequence_labels[i][j], fontsize=7)
    fig.suptitle(title)
    fig.supxlabel("K sequences per subject (type / view)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_frame_windows(lengths: Sequence[int], starts: Sequence[int], window: int, labels: Sequence[str],
                       title: str = "Where each training window lies in its sequence") -> Figure:
    """Horizontal bars: each sequence's length (grey) and the window of `window` frames drawn from it (blue).

    A sequence shorter than the window is tiled (repeated), drawn as a hatched bar beyond its
    end. A legend names the three kinds of bar.
    """
    m = len(lengths)
    if not (len(starts) == len(labels) == m):
        raise ValueError("plot_frame_windows: lengths, starts and labels must have the same length")
    fig, ax = plt.subplots(figsize=(10, 0.28 * m + 1.2))
    for i, (n, s) in enumerate(zip(lengths, starts)):
        ax.barh(i, n, color="0.8", height=0.7)
        end = s + window
        ax.barh(i, min(end, n) - s, left=s, color="tab:blue", height=0.7)
        if end > n:
            ax.barh(i, end - n, left=n, color="tab:blue", alpha=0.4, hatch="//", height=0.7)
    ax.set_yticks(range(m), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("frame index")
    ax.set_ylabel("sequence in the batch")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color="0.8", label="whole sequence (frames on disk)"),
               Patch(color="tab:blue", label=f"the {window}-frame window fed to the model")]
    if any(s + window > n for n, s in zip(lengths, starts)):
        handles.append(Patch(facecolor="tab:blue", alpha=0.4, hatch="//", label="tiled: the sequence repeated"))
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def plot_signals(signals: Mapping[str, np.ndarray], xlabel: str, ylabel: str, title: str,
                 fps: float | None = None, ax=None) -> Figure:
    """Per-frame signals (e.g. the distance between the feet) as lines over time, one per label.

    With `fps` a second x axis on top gives the time in seconds. One panel: draws into `ax`
    when given.
    """
    if not signals:
        raise ValueError("plot_signals: no signals")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 2.8), layout="constrained")
    for label, values in signals.items():
        v = _numpy(values)
        ax.plot(np.arange(len(v)), v, marker=".", lw=1.5, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if fps:
        top = ax.secondary_xaxis("top", functions=(lambda f: f / fps, lambda t: t * fps))
        top.set_xlabel("time (s)")
    return ax.figure


def show_cue(cue: str, n_subjects: int = 3, strength: float = 1.0, seed: int = 0) -> Figure:
    """A picture of one SynthGait cue set (docs/synthgait-generator.md, "Cue data sets"): a few subjects, one row each.

    `synthgait.cues.cue_examples` chooses the frames: the same stride phases (shape, cycle), the
    frames around a hand flick with the flick's frames framed in red (micro), one frame per
    stride at its movement, named (long-span).
    """
    from ..synthgait.cues import cue_examples

    ex = cue_examples(cue, n_subjects, seed, strength)
    frames = ex["frames"]                                           # [rows, cols, 64, 64]
    rows, cols = frames.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(1.25 * cols + 0.6, 1.45 * rows + 0.6), squeeze=False)
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            ax.imshow(to_image(frames[i, j][:, 10:54]), cmap="gray", vmin=0, vmax=1)
            _blank(ax, xlabel=ex["labels"][i][j] or None, ylabel=ex["rows"][i] if j == 0 else None)
            if ex["flagged"][i, j]:
                for spine in ax.spines.values():
                    spine.set_visible(True)
                    spine.set_color("red")
                    spine.set_linewidth(2.5)
            if i == 0:
                ax.set_title(ex["columns"][j], fontsize=9)
    fig.suptitle(f"cue '{cue}' (strength {strength:g}): " + {
        "shape": "bodies and clothes differ, the gait is shared",
        "cycle": "one body; the timing within a stride differs",
        "micro": "one body and gait; two-frame flicks at a subject's own phases",
        "long-span": "one body and gait; the order of movements from stride to stride differs"}[cue], fontsize=10)
    fig.tight_layout()
    return fig
