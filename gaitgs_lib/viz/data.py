"""Figures of gait data and of MGFE's inputs: silhouettes, GEIs, skeletons, preprocessing, frames vs units.

One helper per figure kind (STYLE.md, "d2l"); every `show_*` / `plot_*` helper returns the
matplotlib `Figure` (the notebook displays it) and takes numpy arrays or torch tensors.
Images may be `uint8` (0..255) or floats in [0, 1]. The few pure functions here
(`to_image`, `feature_energy`, `fourier_series`, `row_dependency`, `layout_tree`) are
tested in `tests/test_viz_data.py`.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

__all__ = [
    "to_image",
    "feature_energy",
    "fourier_series",
    "row_dependency",
    "layout_tree",
    "show_silhouettes",
    "show_contact_grid",
    "show_geis",
    "plot_joint_angles",
    "show_skeletons",
    "show_preprocessing",
    "show_pk_batch",
    "plot_frame_windows",
    "show_kernels",
    "show_row_dependency",
    "show_frames_vs_units",
    "show_retrieval",
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


def fourier_series(coefficients: Sequence, t) -> np.ndarray:
    """`a0 + sum_k (a_k cos 2 pi k t + b_k sin 2 pi k t)` for `coefficients = [a0, (a1, b1), (a2, b2), ...]`.

    `t` is the gait-cycle phase in [0, 1) (docs/synthgait.md, "Body and motion model").
    """
    t = np.asarray(t, dtype=np.float64)
    if len(coefficients) == 0:
        raise ValueError("fourier_series: coefficients must start with a0, then (a_k, b_k) pairs")
    out = np.full_like(t, float(coefficients[0]))
    for k, pair in enumerate(coefficients[1:], start=1):
        if len(pair) != 2:
            raise ValueError(f"fourier_series: harmonic {k} must be a pair (a_k, b_k), got {pair!r}")
        a, b = pair
        out = out + a * np.cos(2 * np.pi * k * t) + b * np.sin(2 * np.pi * k * t)
    return out


def row_dependency(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, row_axis: int = -2) -> np.ndarray:
    """How much every output row depends on every input row: `[h_out, h_in]`, entry `sum |d out_i / d in_j|`.

    `fn` maps `x` (e.g. `[n, c, s, h, w]`) to an output with rows on the same `row_axis`.
    An exact zero at `(i, j)` means input row `j` cannot influence output row `i` at all:
    for STEM's local branch the matrix is block-diagonal, one block per strip.
    """
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    h_out = out.shape[row_axis]
    rows = []
    for i in range(h_out):
        (grad,) = torch.autograd.grad(out.select(row_axis, i).sum(), x, retain_graph=i + 1 < h_out)
        g = grad.abs().movedim(row_axis, 0)  # [h_in, ...]
        rows.append(g.reshape(g.shape[0], -1).sum(dim=1))
    return torch.stack(rows).cpu().numpy()  # [h_out, h_in]


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
    """Horizontal bars: each sequence's length (grey) and the window of `window` frames drawn from it.

    A sequence shorter than the window is tiled (repeated), drawn as a hatched bar beyond its end.
    """
    m = len(lengths)
    if not (len(starts) == len(labels) == m):
        raise ValueError("plot_frame_windows: lengths, starts and labels must have the same length")
    fig, ax = plt.subplots(figsize=(8, 0.28 * m + 1.2))
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
    fig.tight_layout()
    return fig


def show_kernels(kernels: Mapping[str, np.ndarray], title: str = "Kernels, one temporal slice per column") -> Figure:
    """Rows = named kernels `[t, kh, kw]` (one output/input channel pair), columns = temporal slices.

    Signed weights: a diverging colour map centred on zero, one scale for the whole figure.
    """
    names = list(kernels)
    ks = [_numpy(kernels[n]) for n in names]
    if any(k.ndim != 3 for k in ks):
        raise ValueError("show_kernels: every kernel must be [t, kh, kw] (one channel pair)")
    t = max(k.shape[0] for k in ks)
    vmax = max(float(np.abs(k).max()) for k in ks) or 1.0
    fig, axes = plt.subplots(len(ks), t, figsize=(1.5 * t + 1.8, 1.35 * len(ks) + 0.6), squeeze=False)
    for r, (name, k) in enumerate(zip(names, ks)):
        for c in range(t):
            ax = axes[r, c]
            if c < k.shape[0]:
                im = ax.imshow(k[c], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
                for (y, x), v in np.ndenumerate(k[c]):
                    ax.text(x, y, f"{v:.2f}", ha="center", va="center", fontsize=6)
            else:
                ax.set_visible(False)
            _blank(ax, xlabel=f"t = {c}" if r == len(ks) - 1 else None, ylabel=name if c == 0 else None)
    fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.03, pad=0.02, label="weight")
    fig.suptitle(title)
    return fig


def show_row_dependency(maps: Mapping[str, np.ndarray], strip_height: int | None = None,
                        title: str = "Which input rows can change which output rows") -> Figure:
    """Heatmaps of `row_dependency` results `[h_out, h_in]` side by side, log-scaled; zero = white.

    `strip_height` draws STEM's strip borders, so that a block-diagonal matrix shows that
    no information crosses a border.
    """
    names = list(maps)
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names) + 0.8, 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        m = np.asarray(maps[name], dtype=np.float64)
        shown = np.where(m > 0, np.log10(np.maximum(m, 1e-30)), np.nan)
        finite = shown[np.isfinite(shown)]
        cmap = plt.get_cmap("viridis").with_extremes(bad="white")
        im = ax.imshow(shown, cmap=cmap, vmin=finite.min() if finite.size else 0,
                       vmax=finite.max() if finite.size else 1)
        if strip_height:
            for b in range(strip_height, m.shape[0], strip_height):
                ax.axhline(b - 0.5, color="tab:red", lw=0.8)
                ax.axvline(b - 0.5, color="tab:red", lw=0.8)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("input row")
        ax.set_ylabel("output row")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="log10 sum |gradient|")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_frames_vs_units(frames, units, frames_per_unit: int = 3, max_units: int = 4,
                         title: str = "Frames (fine branch) and the units that aggregate them (coarse branch)",
                         frame_label: str = "frames", unit_label: str = "units") -> Figure:
    """Top row: per-frame maps `[s, h, w]`; bottom row: unit maps `[u, h, w]`, each under its 3 frames.

    Pass `feature_energy(...)` of a feature tensor (or raw silhouettes). Sequential colour
    map, one colour scale per row, and a colour bar for each.
    """
    frames, units = _numpy(frames), _numpy(units)
    if frames.ndim != 3 or units.ndim != 3:
        raise ValueError(f"show_frames_vs_units: expected frames [s, h, w] and units [u, h, w], got "
                         f"{tuple(frames.shape)} and {tuple(units.shape)}")
    u = min(max_units, units.shape[0], frames.shape[0] // frames_per_unit)
    if u < 1:
        raise ValueError(f"show_frames_vs_units: need at least {frames_per_unit} frames and one unit")
    s = u * frames_per_unit
    h, w = frames.shape[1:]
    panel = min(1.1, (MAX_WIDTH - 1) / s)
    fig = plt.figure(figsize=(panel * s + 1.0, 2 * panel * h / w + 1.0))
    gs = fig.add_gridspec(2, s + 1, width_ratios=[1] * s + [0.12], hspace=0.25, wspace=0.08)
    row_max = [float(frames[:s].max()) or 1.0, float(units[:u].max()) or 1.0]
    for k in range(s):
        ax = fig.add_subplot(gs[0, k])
        im_f = ax.imshow(frames[k], cmap="viridis", vmin=0, vmax=row_max[0])
        _blank(ax, ylabel=frame_label if k == 0 else None)
        ax.set_title(f"frame {k}", fontsize=8)
    fig.colorbar(im_f, cax=fig.add_subplot(gs[0, s]))
    for j in range(u):
        ax = fig.add_subplot(gs[1, j * frames_per_unit:(j + 1) * frames_per_unit])
        im_u = ax.imshow(units[j], cmap="viridis", vmin=0, vmax=row_max[1])
        _blank(ax, ylabel=unit_label if j == 0 else None)
        ax.set_title(f"unit {j} = frames {j * frames_per_unit}-{(j + 1) * frames_per_unit - 1}", fontsize=8)
    fig.colorbar(im_u, cax=fig.add_subplot(gs[1, s]))
    fig.suptitle(title)
    return fig


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
    panel = min(1.5, MAX_WIDTH / n)
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


def plot_signals(signals: Mapping[str, np.ndarray], xlabel: str, ylabel: str, title: str, fps: float | None = None) -> Figure:
    """Per-frame signals (e.g. the distance between the feet) as lines over time, one per label.

    With `fps` a second x axis on top gives the time in seconds.
    """
    if not signals:
        raise ValueError("plot_signals: no signals")
    fig, ax = plt.subplots(figsize=(8, 2.8))
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
    fig.tight_layout()
    return fig
