"""Figures of the model's insides (notebooks 02, 03, 04 and 07): one helper per figure kind.

The whole network as a diagram with the tensor shapes of a real forward pass
(`architecture_shapes`, `show_architecture`); MGFE's pieces (B3D kernels, what STEM's strips
can see, frames vs units); horizontal pooling; attention heatmaps per head/part (d2l's
`show_heatmaps` idea), MCM attention over time, the class token's attention aligned with
the silhouettes, parameter bar charts, the span explorer's distance curves, the view classifier's scores and CAPE's kernels.
Every helper returns the matplotlib Figure (see `gaitgs_lib.viz` for the conventions).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle
from matplotlib.ticker import FuncFormatter
from torch import nn

from ..modeling import GaitGS
from .data import _blank

__all__ = [
    "architecture_shapes",
    "show_architecture",
    "row_dependency",
    "show_kernels",
    "show_row_dependency",
    "show_frames_vs_units",
    "plot_horizontal_pooling",
    "show_heatmaps",
    "plot_mcm_attention",
    "plot_class_token_attention",
    "plot_parameter_bars",
    "plot_span_distances",
    "plot_view_scores",
    "plot_cape",
]

STRIP_PAD = 1  # grey columns on each side of a frame in a silhouette strip, so frame borders show


def _np(x) -> np.ndarray:
    """torch tensor / array-like -> float numpy array (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


# ----------------------------------------------------------------------------- the whole network


def architecture_shapes(model: nn.Module | str = "paper", frames: int = 30, batch: int = 2) -> dict:
    """Run GaitGS once on `batch` random walks of `frames` frames and record every block's output shape.

    `model` is a `GaitGS` or a preset name (all blocks on: no ablation). Forward hooks catch
    the tensors as the model computes them, so the shapes are the model's, not typed by
    hand. Returns `{name: shape}` (tuples of ints, the batch axis included) for: `input`,
    `input_conv`, `STEM_f0` (after its max-pool), `STEM_f1a`, `S_f`, `UTA0`, `STEM_c0` (after
    max-pool + UTA1), `STEM_c1a`, `S_c`, `view_logits`, `prior`, `{f,c}_hp`, `{f,c}_E` (MCM),
    `{f,c}_local`, `{f,c}_tokens` (transformer input, `[n*p, s+1, c]`), `{f,c}_cls` (class
    token output `[n, c, p]`), `{f,c}_global`, `{f,c}_branch`, `embeddings`.
    """
    net = model if isinstance(model, nn.Module) else GaitGS(model)
    cfg = net.cfg
    if not (cfg.use_coarse and cfg.use_mcm and cfg.use_global_span and cfg.use_pieg_prior):
        raise ValueError(f"architecture_shapes: config {cfg.name!r} has a block switched off; "
                         "the diagram shows the whole network (all use_* switches on)")
    shapes: dict[str, tuple] = {}

    def record(name: str, take: str = "out"):
        def hook(module, inputs, output):
            value = inputs[0] if take == "in" else output
            shapes.setdefault(name, tuple(value.shape))
        return hook

    m = net.mgfe
    watch = [(m.input_conv, "input_conv", "out"), (m.stem_f1a, "STEM_f0", "in"), (m.stem_f1a, "STEM_f1a", "out"),
             (m.uta0, "UTA0", "out"), (m.stem_c1a, "STEM_c0", "in"), (m.stem_c1a, "STEM_c1a", "out")]
    for tag, msfe in (("f", net.msfe_f), ("c", net.msfe_c)):
        watch += [(msfe.mcm, f"{tag}_E", "out"), (msfe.fc_local, f"{tag}_local", "out"),
                  (msfe.gcm.transformer, f"{tag}_tokens", "in"), (msfe.gcm.fc, f"{tag}_cls", "in"),
                  (msfe.gcm, f"{tag}_global", "out"), (msfe, f"{tag}_branch", "out")]
    handles = [mod.register_forward_hook(record(name, take)) for mod, name, take in watch]
    hp_out: list[tuple] = []
    handles.append(net.hp.register_forward_hook(lambda mod, i, o: hp_out.append(tuple(o.shape))))
    device = next(net.parameters()).device
    sils = torch.rand(batch, frames, *cfg.input_hw, device=device)  # [n, s, h, w]
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            out = net(sils, return_intermediates=True)
    finally:
        net.train(was_training)
        for h in handles:
            h.remove()
    inter = out["intermediates"]
    shapes.update({"input": tuple(sils.shape), "S_f": tuple(inter["S_f"].shape), "S_c": tuple(inter["S_c"].shape),
                   "view_logits": tuple(out["view_logits"].shape), "prior": tuple(inter["pieg_prior"].shape),
                   "f_hp": hp_out[0], "c_hp": hp_out[1], "embeddings": tuple(out["embeddings"].shape)})
    order = ["input", "input_conv", "STEM_f0", "STEM_f1a", "S_f", "UTA0", "STEM_c0", "STEM_c1a", "S_c",
             "view_logits", "prior"] + [f"{t}_{k}" for t in "fc" for k in
                                        ("hp", "E", "local", "tokens", "cls", "global", "branch")] + ["embeddings"]
    return {k: shapes[k] for k in order}


def _shape_text(shape: tuple, batch: int, parts: int) -> str:
    """`(2, 128, 30, 32, 22)` -> `[n, 128, 30, 32, 22]`; a leading batch*parts reads `n·p`."""
    head = "n" if shape[0] == batch else f"n·{parts}" if shape[0] == batch * parts else str(shape[0])
    return "[" + ", ".join([head, *map(str, shape[1:])]) + "]"


# Sections of docs/architecture.md and their colours in the diagram.
_SECTIONS = {0: ("input / output", "0.88"), 1: ("§1 input convolutions", "#fde0c5"),
             2: ("§2 B3D, STEM, UTA (§3 MGFE)", "#d9ead3"), 4: ("§4 PIEG", "#f4cccc"),
             5: ("§5 horizontal pooling", "#cfe2f3"), 6: ("§6 MSFE: MCM, CAPE, transformer", "#d9d2e9"),
             7: ("§7 SeparateFCs, output", "#fff2cc")}
# x centre and width of the columns: whole branch, its local sub-column, its global sub-column.
_COLUMNS = {"wide": (0.5, 0.5), "centre": (0.5, 0.2), "f": (0.19, 0.34), "f_local": (0.095, 0.15),
            "f_global": (0.27, 0.18), "c": (0.81, 0.34), "c_global": (0.73, 0.18), "c_local": (0.905, 0.15)}


def _diagram_nodes(cfg, frames: int) -> list[tuple]:
    """(key, column, row, section, title) of every box of `show_architecture`."""
    h, w = cfg.input_hw
    nodes = [("input", "wide", 0, 0, f"silhouettes: {frames} frames of {h} x {w} pixels"),
             ("input_conv", "wide", 1, 1, "input convolutions: Conv3d 3x3x3, LeakyReLU, Conv3d 1x1x1, LeakyReLU"),
             ("STEM_f0", "f", 2, 2, "STEM_f0, then MaxPool(1,2,2)"), ("UTA0", "c", 2, 2, "UTA0: 3 frames -> 1 unit"),
             ("STEM_c0", "c", 3, 2, "STEM_c0, MaxPool(1,2,2), + UTA1(fine)"),
             ("STEM_f1a", "f", 4, 2, "STEM_f1a"), ("STEM_c1a", "c", 4, 2, "STEM_c1a"),
             ("S_f", "f", 5, 2, "STEM_f1b = S_f (frames)"), ("S_c", "c", 5, 2, "STEM_c1b + UTA2(fine) = S_c (units)"),
             ("pieg", "centre", 6, 4, "PIEG (the view)")]
    for tag in "fc":
        tokens = frames if tag == "f" else frames // 3
        nodes += [(f"{tag}_hp", tag, 7, 5, f"HP: mean + max in each of {cfg.parts} strips"),
                  (f"{tag}_E", tag, 8, 6, "MCM: E = MTB1 (window 3) + MTB2 (window 5)"),
                  (f"{tag}_local", f"{tag}_local", 9, 7, "local span: max over\ntime, SeparateFCs"),
                  (f"{tag}_tokens", f"{tag}_global", 9, 6, f"E + CAPE(E), class token,\n+ prior: {tokens} + 1 tokens"),
                  (f"{tag}_cls", f"{tag}_global", 10, 6, f"transformer, {cfg.depth} layers x {cfg.heads} heads:\nclass token"),
                  (f"{tag}_global", f"{tag}_global", 11, 7, "SeparateFCs (global)"),
                  (f"{tag}_branch", tag, 12, 7, "local + global = the branch's embedding")]
    nodes.append(("embeddings", "wide", 13, 7, "concatenate the parts of both branches: the embedding"))
    return nodes


_DIAGRAM_EDGES = [("input", "input_conv", ""), ("input_conv", "STEM_f0", ""), ("input_conv", "UTA0", ""),
                  ("UTA0", "STEM_c0", ""), ("STEM_f0", "STEM_c0", "UTA1"), ("STEM_f0", "STEM_f1a", ""),
                  ("STEM_c0", "STEM_c1a", ""), ("STEM_f1a", "S_f", ""), ("STEM_c1a", "S_c", ""),
                  ("S_f", "S_c", "UTA2"), ("S_f", "pieg", ""), ("S_c", "pieg", ""), ("S_f", "f_hp", ""),
                  ("S_c", "c_hp", ""), ("pieg", "f_tokens", "prior"), ("pieg", "c_tokens", "prior")] + [
    (f"{t}_{a}", f"{t}_{b}", "") for t in "fc" for a, b in
    (("hp", "E"), ("E", "local"), ("E", "tokens"), ("tokens", "cls"), ("cls", "global"),
     ("local", "branch"), ("global", "branch"))] + [("f_branch", "embeddings", ""), ("c_branch", "embeddings", "")]


def _edge_points(a, b, box_h):
    """Start and end of an arrow between boxes `a` and `b`, each `(x, y, width)`."""
    (x0, y0, w0), (x1, y1, w1) = a, b
    if abs(y0 - y1) < 1e-9:  # same row: side to side
        d = np.sign(x1 - x0)
        return (x0 + d * w0 / 2, y0), (x1 - d * w1 / 2, y1)
    lo0, hi0, lo1, hi1 = x0 - w0 / 2, x0 + w0 / 2, x1 - w1 / 2, x1 + w1 / 2
    if max(lo0, lo1) < min(hi0, hi1):  # the boxes overlap in x: a vertical arrow through the overlap
        x = (max(lo0, lo1) + min(hi0, hi1)) / 2
        return (x, y0 - box_h / 2), (x, y1 + box_h / 2)
    d = np.sign(x1 - x0)
    if abs(y0 - y1) > 1.5:  # several rows down: into the side of the target, clear of the boxes between
        return (x0 + d * w0 * 0.4, y0 - box_h / 2), (x1 - d * w1 / 2, y1)
    return (x0 + d * w0 / 2, y0 - box_h / 4), (x1 - d * w1 / 2.5, y1 + box_h / 2)  # one row: corner to corner


def show_architecture(model: nn.Module | str = "paper", frames: int = 30, title: str | None = None):
    """The whole GaitGS as boxes and arrows, each box with the shape its block outputs.

    Shapes come from `architecture_shapes` (a real forward pass of `frames` frames), so the
    diagram cannot disagree with the code; `n` is the batch axis, `n·p` the (sample, part)
    sequences of the transformer. Colours follow the sections of docs/architecture.md
    (legend). Left: the fine (frame-level) branch; right: the coarse (unit-level) branch.
    """
    net = model if isinstance(model, nn.Module) else GaitGS(model)
    cfg, batch = net.cfg, 2
    shapes = architecture_shapes(net, frames=frames, batch=batch)
    texts = {k: _shape_text(v, batch, cfg.parts) for k, v in shapes.items()}
    texts["pieg"] = f"logits {texts['view_logits']}\nprior {texts['prior']}"
    nodes = _diagram_nodes(cfg, frames)
    rows = max(row for _, _, row, _, _ in nodes) + 1
    box_h = 0.74
    fig, ax = plt.subplots(figsize=(13, 0.82 * rows + 1.6))
    where = {}
    for key, column, row, section, label in nodes:
        x, wdt = _COLUMNS[column]
        y = rows - 1 - row
        ax.add_patch(FancyBboxPatch((x - wdt / 2, y - box_h / 2), wdt, box_h, boxstyle="round,pad=0,rounding_size=0.012",
                                    facecolor=_SECTIONS[section][1], edgecolor="0.35", lw=0.8, mutation_aspect=12))
        shape_lines = texts[key].count("\n") + 1
        ax.text(x, y + 0.1 + 0.06 * (shape_lines - 1), label, ha="center", va="bottom", fontsize=7.5, linespacing=1.1)
        ax.text(x, y + 0.06 - 0.06 * (shape_lines - 1), texts[key], ha="center", va="top", fontsize=8,
                family="monospace", weight="bold", linespacing=1.1)
        where[key] = (x, y, wdt)
    for a, b, label in _DIAGRAM_EDGES:
        start, end = _edge_points(where[a], where[b], box_h)
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": "0.3", "lw": 0.9,
                                                          "shrinkA": 0, "shrinkB": 0})
        if label:
            ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, label, ha="center", va="center",
                    fontsize=7.5, style="italic", color="0.15",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.55, rows - 0.2)
    _blank(ax)
    for x, name in ((0.12, "fine branch\n(frames)"), (0.88, "coarse branch\n(units)")):
        ax.text(x, rows - 1.5, name, ha="center", va="center", fontsize=10, weight="bold")
    ax.legend(handles=[Patch(facecolor=c, edgecolor="0.35", label=n) for n, c in _SECTIONS.values()],
              loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, fontsize=8, frameon=False)
    ax.set_title(title or f"GaitGS, preset {cfg.name!r}: the shape each block outputs "
                 f"(n = batch; shapes from a forward pass of {frames} frames)", fontsize=11)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- MGFE's pieces


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


def show_kernels(kernels: Mapping[str, np.ndarray], title: str = "Kernels, one temporal slice per column") -> Figure:
    """Rows = named kernels `[t, kh, kw]` (one output/input channel pair), columns = temporal slices.

    Signed weights: a diverging colour map centred on zero, one scale for the whole figure.
    """
    names = list(kernels)
    ks = [_np(kernels[n]) for n in names]
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
                         frame_label: str = "frames", unit_label: str = "units", value_label: str = "RMS over channels",
                         cmap: str = "viridis", difference: bool = False):
    """Top row: per-frame maps `[s, h, w]`; below: unit maps `[u, h, w]`, each under its 3 frames.

    Pass `feature_energy(...)` of a feature tensor (or raw silhouettes with `cmap="gray"`).
    One colour scale per row, each with a labelled colour bar (`value_label`). With
    `difference=True` a third row shows `|unit - its middle frame|` (units and frames must
    then be on the same scale, e.g. a UTA that averages): where it is zero the unit looks
    like the instant in its middle; where it is bright the unit holds motion from its other
    two frames, the trail a moving limb leaves.
    """
    frames, units = _np(frames), _np(units)
    if frames.ndim != 3 or units.ndim != 3:
        raise ValueError(f"show_frames_vs_units: expected frames [s, h, w] and units [u, h, w], got "
                         f"{tuple(frames.shape)} and {tuple(units.shape)}")
    u = min(max_units, units.shape[0], frames.shape[0] // frames_per_unit)
    if u < 1:
        raise ValueError(f"show_frames_vs_units: need at least {frames_per_unit} frames and one unit")
    s = u * frames_per_unit
    h, w = frames.shape[1:]
    rows = 3 if difference else 2
    panel = min(1.1, 10.0 / s)
    fig = plt.figure(figsize=(panel * s + 1.6, rows * panel * h / w + 0.4 * rows + 0.6))
    gs = fig.add_gridspec(rows, s + 1, width_ratios=[1] * s + [0.12], hspace=0.3, wspace=0.08)
    row_max = [float(frames[:s].max()) or 1.0, float(units[:u].max()) or 1.0]
    for k in range(s):
        ax = fig.add_subplot(gs[0, k])
        im_f = ax.imshow(frames[k], cmap=cmap, vmin=0, vmax=row_max[0])
        _blank(ax, ylabel=frame_label if k == 0 else None)
        ax.set_title(f"frame {k}", fontsize=8)
    fig.colorbar(im_f, cax=fig.add_subplot(gs[0, s]), label=value_label)
    middle = frames[frames_per_unit // 2: s: frames_per_unit]  # [u, h, w]: the middle frame of each unit
    diff = np.abs(units[:u] - middle[:u])
    for j in range(u):
        cols = slice(j * frames_per_unit, (j + 1) * frames_per_unit)
        ax = fig.add_subplot(gs[1, cols])
        im_u = ax.imshow(units[j], cmap=cmap, vmin=0, vmax=row_max[1])
        _blank(ax, ylabel=unit_label if j == 0 else None)
        ax.set_title(f"unit {j} = frames {j * frames_per_unit}-{(j + 1) * frames_per_unit - 1}", fontsize=8)
        if difference:
            ax = fig.add_subplot(gs[2, cols])
            im_d = ax.imshow(diff[j], cmap="magma", vmin=0, vmax=float(diff.max()) or 1.0)
            _blank(ax, ylabel="|unit - middle|" if j == 0 else None)
            ax.set_title(f"|unit {j} - frame {j * frames_per_unit + frames_per_unit // 2}|", fontsize=8)
    fig.colorbar(im_u, cax=fig.add_subplot(gs[1, s]), label=value_label)
    if difference:
        fig.colorbar(im_d, cax=fig.add_subplot(gs[2, s]), label="|unit - its middle frame|")
    fig.suptitle(title)
    return fig


def plot_horizontal_pooling(feature_map, strip_mean, strip_max,
                            title: str = "Horizontal pooling: one value per strip = mean + max of its pixels"):
    """One feature map `[h, w]` cut into `p` strips (red lines), and what HP makes of each strip.

    `strip_mean` and `strip_max` (`[p]`) are the mean and the maximum of each strip's pixels;
    the right panel draws both and their sum (the HP output), aligned with the strips.
    """
    fmap, mean, peak = _np(feature_map), _np(strip_mean), _np(strip_max)
    if fmap.ndim != 2 or mean.shape != peak.shape or mean.ndim != 1:
        raise ValueError(f"plot_horizontal_pooling: expected a map [h, w] and strip values [p], got "
                         f"{fmap.shape}, {mean.shape}, {peak.shape}")
    h, w = fmap.shape
    p = len(mean)
    if h % p:
        raise ValueError(f"plot_horizontal_pooling: {h} rows cannot be cut into {p} equal strips")
    rows = h // p
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 5.2), width_ratios=[1, 1.6], layout="constrained")
    im = left.imshow(fmap, cmap="viridis", aspect="equal", extent=(-0.5, w - 0.5, h - 0.5, -0.5))
    for b in range(rows, h, rows):
        left.axhline(b - 0.5, color="tab:red", lw=0.7)
    left.set_xlabel("x (feature column)")
    left.set_ylabel(f"y (feature row); red lines: the {p} strip borders")
    left.set_title("the map", fontsize=10)
    fig.colorbar(im, ax=left, shrink=0.8, label="feature value")
    centre = np.arange(p) * rows + (rows - 1) / 2  # [p] row of each strip's centre
    right.plot(mean, centre, "o-", ms=3, color="tab:blue", label="mean of the strip")
    right.plot(peak, centre, "s-", ms=3, color="tab:orange", label="max of the strip")
    right.plot(mean + peak, centre, "D-", ms=3, color="black", label="mean + max (HP output)")
    right.set_ylim(h - 0.5, -0.5)
    right.set_xlabel("value")
    right.set_ylabel("y (feature row), one point per strip")
    right.set_title(f"HP: {p} strips -> {p} values", fontsize=10)
    right.grid(alpha=0.3)
    right.legend(fontsize=8, loc="best")
    fig.suptitle(title)
    return fig


# ----------------------------------------------------------------------------- attention


def show_heatmaps(matrices, xlabel: str, ylabel: str, titles: Sequence[str] | None = None,
                  row_labels: Sequence[str] | None = None, suptitle: str | None = None,
                  cmap: str = "Reds", symmetric: bool = False, figsize: tuple[float, float] | None = None,
                  colorbar_label: str = "weight", limit: float | None = None):
    """A grid of heatmaps with one shared, labelled colour scale, e.g. attention per (layer or part) x head.

    matrices: `[rows, cols, a, b]` (each `[a, b]` drawn with `a` on the y axis). Use a
    sequential `cmap` for weights/distances; `symmetric=True` centres a diverging map on 0
    (e.g. attention minus the uniform share). `limit` caps the colour scale (`±limit` when
    symmetric): larger values saturate, and the colour bar's arrows say so, so that a few
    extreme cells cannot wash out the structure of the rest.
    """
    m = _np(matrices)
    if m.ndim != 4:
        raise ValueError(f"show_heatmaps: expected matrices [rows, cols, a, b], got shape {m.shape}")
    rows, cols = m.shape[:2]
    if symmetric:
        bound = float(np.abs(m).max()) or 1.0
        if limit is not None:
            bound = min(bound, limit)
        vmin, vmax = -bound, bound
    else:
        vmin, vmax = float(m.min()), float(m.max())
        if limit is not None:
            vmax = min(vmax, limit)
    extend = ("both" if symmetric else "max") if limit is not None and float(np.abs(m).max()) > limit else "neither"
    figsize = figsize or (min(2.6 * cols + 1.2, 14), min(2.4 * rows + 0.6, 12))
    fig, axes = plt.subplots(rows, cols, figsize=figsize, squeeze=False, sharex=True, sharey=True,
                             layout="constrained")
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            im = ax.imshow(m[i, j], cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
            if titles is not None and i == 0:
                ax.set_title(titles[j], fontsize=10)
            ax.set_xlabel(xlabel if i == rows - 1 else "")
            ax.set_ylabel((f"{row_labels[i]}\n{ylabel}" if row_labels is not None else ylabel) if j == 0 else "")
    fig.colorbar(im, ax=axes, shrink=0.8, label=colorbar_label, extend=extend)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def _strip_image(frames) -> np.ndarray:
    """Frames `[s, h, w]` side by side as one image `[h, s * (w + 2)]`, a grey column between frames."""
    f = _np(frames)
    return np.concatenate([np.pad(fr, ((0, 0), (STRIP_PAD, STRIP_PAD)), constant_values=0.35) for fr in f], axis=1)


def _strip_inches(frames, axis_width: float) -> float:
    """Height (inches) of a silhouette strip drawn `axis_width` inches wide without distortion."""
    s, h, w = _np(frames).shape
    return axis_width / s * h / (w + 2 * STRIP_PAD)


def _silhouette_strip(ax, frames, highlight: dict | None = None) -> None:
    """Draw frames `[s, h, w]` side by side on `ax`, frame i centred at x = i, at their true aspect ratio.

    The strip spans x in [-0.5, s - 0.5] like a per-frame plot below it (set the same xlim);
    `highlight` maps a colour to frame indices to frame with a box.
    """
    f = _np(frames)
    s, h, w = f.shape
    height = h / (w + 2 * STRIP_PAD)  # one frame is 1 unit wide, so this tall
    ax.imshow(_strip_image(f), cmap="gray", vmin=0, vmax=1, extent=(-0.5, s - 0.5, height, 0),
              interpolation="nearest")
    ax.set_aspect("equal", adjustable="box")
    ax.set_anchor("S")
    ax.set_xlim(-0.5, s - 0.5)
    ax.set_yticks([])
    ax.set_ylabel("frames", rotation=0, ha="right", va="center")
    ax.set_xticks([])
    for colour, idx in (highlight or {}).items():
        for i in idx:
            ax.add_patch(Rectangle((i - 0.5, 0), 1, height, fill=False, edgecolor=colour, lw=2))


def plot_mcm_attention(attention_by_window: Mapping, parts: Sequence[int] | None = None, frames=None,
                       title: str = "MCM attention over time"):
    """MTB attention (mean over channels) per part and frame, one row of panels per temporal window.

    attention_by_window: `{"MTB1 (window 3)": [s, p], "MTB2 (window 5)": [s, p]}`; `parts`:
    which parts to show (all by default). Left: the attention minus each part's own mean over
    time (diverging colours, one labelled scale for all windows), so changes over time show
    even when they are a few hundredths; right: each part's mean level (0.5 = neutral, above
    amplifies the template, below damps it). With `frames` (`[s, h, w]`) the silhouettes are
    drawn on top, frame i above column i.
    """
    panels = {k: _np(v) for k, v in attention_by_window.items()}
    if not panels or any(v.ndim != 2 for v in panels.values()):
        raise ValueError("plot_mcm_attention: expected {name: attention [s, p]}")
    s, p = next(iter(panels.values())).shape
    parts = list(range(p)) if parts is None else list(parts)
    sub = {k: v[:, parts] for k, v in panels.items()}  # [s, len(parts)]
    dev = {k: (v - v.mean(0, keepdims=True)).T for k, v in sub.items()}  # [len(parts), s]
    bound = max(float(np.abs(d).max()) for d in dev.values()) or 1e-3
    width, heat_w = 12.0, 12.0 * 0.72
    heights = ([1.5 * _strip_inches(frames, heat_w) + 0.3] if frames is not None else []) + \
        [0.17 * len(parts) + 0.9] * len(panels)
    fig = plt.figure(figsize=(width, sum(heights) + 0.9), layout="constrained")
    # columns: heatmap, its colour bar, the level panel (the strip spans only the heatmap column)
    gs = fig.add_gridspec(len(heights), 3, height_ratios=heights, width_ratios=[5, 0.12, 1])
    row = 0
    if frames is not None:
        if _np(frames).shape[0] != s:
            raise ValueError(f"plot_mcm_attention: {_np(frames).shape[0]} frames but attention for {s}")
        _silhouette_strip(fig.add_subplot(gs[0, 0]), frames)
        row = 1
    level_lo = min(float(v.mean(0).min()) for v in sub.values())
    level_hi = max(float(v.mean(0).max()) for v in sub.values())
    pad = 0.1 * max(level_hi - level_lo, 0.01)
    for k, (name, d) in enumerate(dev.items()):
        ax = fig.add_subplot(gs[row + k, 0])
        im = ax.imshow(d, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto", interpolation="nearest",
                       extent=(-0.5, s - 0.5, len(parts) - 0.5, -0.5))
        ax.set_yticks(range(len(parts)), [str(q) for q in parts], fontsize=7)
        ax.set_ylabel("part (0 = head strip)")
        ax.set_xlabel("frame")
        ax.set_title(f"{name}: attention minus the part's mean over time", fontsize=10)
        fig.colorbar(im, cax=fig.add_subplot(gs[row + k, 1]), label="attention - part mean")
        lv = fig.add_subplot(gs[row + k, 2])
        level = sub[name].mean(0)
        lv.barh(range(len(parts)), level - 0.5, left=0.5, color=np.where(level >= 0.5, "tab:red", "tab:blue"))
        lv.axvline(0.5, color="k", lw=0.8, ls="--")
        lv.set_ylim(len(parts) - 0.5, -0.5)
        lv.set_yticks(range(len(parts)), [str(q) for q in parts], fontsize=7)
        lv.set_xlim(min(level_lo - pad, 0.5 - pad), max(level_hi + pad, 0.5 + pad))
        lv.set_xlabel("mean attention\n(dashed: 0.5, neutral)", fontsize=8)
        lv.set_ylabel("part")
        lv.set_title("level", fontsize=10)
    fig.suptitle(title)
    return fig


def plot_class_token_attention(frames, weights, labels: Sequence[str] | None = None,
                               title: str = "What the class token looks at",
                               ylabel: str = "attention to frame", signal=None,
                               signal_label: str = "gait phase signal", xlabel: str = "frame"):
    """The class token's attention to every frame, aligned under the silhouettes of those frames.

    frames: `[s, h, w]`; weights: `[s]` or `[k, s]` (e.g. per head or per layer) drawn as
    grouped bars (`labels` names the k rows). `signal` (`[s]`, e.g. `explore.stride_signal`)
    is drawn as a black line on a second y axis, to read attention against the gait phase.
    Legends sit above the plot, so no bar is hidden.
    """
    w = _np(weights)
    w = w[None] if w.ndim == 1 else w
    s = w.shape[1]
    if _np(frames).shape[0] != s:
        raise ValueError(f"plot_class_token_attention: {_np(frames).shape[0]} frames but weights for {s}")
    width = 12.0
    strip_h = 1.5 * _strip_inches(frames, width * 0.85) + 0.3  # room to spare: the strip keeps its aspect
    fig, (top, ax) = plt.subplots(2, 1, figsize=(width, strip_h + 3.6), layout="constrained",
                                  gridspec_kw={"height_ratios": [strip_h, 3.0]})
    _silhouette_strip(top, frames)
    top.set_title(title)
    k = w.shape[0]
    bar_w = 0.8 / k
    colours = plt.get_cmap("tab10")(np.arange(k) % 10)
    for i in range(k):
        ax.bar(np.arange(s) - 0.4 + bar_w * (i + 0.5), w[i], width=bar_w, color=colours[i],
               label=None if labels is None else labels[i])
    ax.axhline(1.0 / (s + 1), color="k", lw=0.8, ls="--", label="uniform 1/(s+1)")
    ax.legend(fontsize=8, ncol=min(k + 1, 5), loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(-0.5, s - 0.5)
    ax.set_ylim(0, max(float(w.max()), 1.0 / (s + 1)) * 1.1)
    ax.grid(axis="y", alpha=0.3)
    if signal is not None:
        sig = _np(signal)
        if sig.shape != (s,):
            raise ValueError(f"plot_class_token_attention: signal {sig.shape} must be [s={s}]")
        twin = ax.twinx()
        twin.plot(np.arange(s), sig, color="k", lw=1.2, marker=".", label=signal_label)
        lo, hi = float(sig.min()), float(sig.max())
        twin.set_ylim(lo - 0.05 * (hi - lo + 1e-9), hi + 0.1 * (hi - lo + 1e-9))
        twin.set_ylabel(signal_label)
        twin.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1, 1.0), frameon=False)
    return fig


# ----------------------------------------------------------------------------- parameters, explorer


def plot_parameter_bars(counts: dict, title: str = "Trainable parameters per block", log: bool = False, ax=None):
    """Horizontal bars of parameter counts per block, the count printed at each bar's end (one panel)."""
    if not counts:
        raise ValueError("plot_parameter_bars: counts is empty")
    names = list(counts)[::-1]
    values = np.array([counts[n] for n in names], dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.32 * len(names) + 1.2), layout="constrained")
    bars = ax.barh(names, values, color=plt.get_cmap("viridis")(0.35))
    for bar, v in zip(bars, values):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {int(v):,}", va="center", fontsize=8)
    if log:
        ax.set_xscale("log")
    ax.set_xlim(right=values.max() * (3 if log else 1.18))
    if not log and values.max() >= 1e6:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1e6:g} M"))
    ax.set_xlabel("parameters" + (" (log scale)" if log else ""))
    ax.set_ylabel("block")
    ax.set_title(f"{title} (total {int(values.sum()):,})")
    return ax.figure


def plot_span_distances(spans: Sequence[int], distances, labels: Sequence[str], highlight: Sequence[int] = (),
                        title: str = "Distance to the gallery vs. frames fed", twins: Sequence[int] = (),
                        relative: bool = False, ax=None):
    """One line per gallery sequence: its distance to the probe as the span (frames fed) grows.

    distances: `[len(spans), m]`; `highlight`: gallery indices drawn bold red (e.g. the same
    subject); `twins`: indices drawn dashed orange (e.g. the subject's SynthGait twin).
    `relative=True` divides each span's distances by their mean over the gallery, so that the
    ranking stays readable while all distances shrink or grow with the span. One panel.
    """
    d = _np(distances)
    if relative:
        d = d / d.mean(1, keepdims=True)
    if d.shape != (len(spans), len(labels)):
        raise ValueError(f"plot_span_distances: distances {d.shape} must be [len(spans)={len(spans)}, "
                         f"len(labels)={len(labels)}]")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4), layout="constrained")
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
    return ax.figure


def plot_view_scores(probabilities, view_names: Sequence[str], true_view: str | None = None,
                     title: str = "PIEG view prediction", ax=None):
    """Bar chart of PIEG's view probabilities (softmax of the view logits) for one sequence (one panel).

    The true view's column is shaded green over the whole height, so that it shows even when the
    model puts almost no probability on it; every bar carries its value. The y axis ends a little
    above the largest probability (not at 1), so that small differences between views are visible.
    """
    p = _np(probabilities)
    if p.shape != (len(view_names),):
        raise ValueError(f"plot_view_scores: {p.shape} probabilities for {len(view_names)} views")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3), layout="constrained")
    top = min(1.0, float(p.max()) * 1.25 + 1e-3)
    x = np.arange(len(view_names))
    if true_view is not None and true_view in list(view_names):
        i = list(view_names).index(true_view)
        ax.axvspan(i - 0.5, i + 0.5, color="tab:green", alpha=0.18, lw=0)
    colours = ["tab:green" if v == true_view else "tab:blue" for v in view_names]
    ax.bar(x, p, color=colours, edgecolor="black", linewidth=0.5)
    for xi, pi in zip(x, p):
        ax.text(xi, pi + top * 0.01, f"{pi:.2f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, list(view_names))
    for tick, v in zip(ax.get_xticklabels(), view_names):
        if v == true_view:
            tick.set_color("darkgreen")
            tick.set_fontweight("bold")
    ax.set_xlim(-0.5, len(view_names) - 0.5)
    ax.set_xlabel("view (degrees)" + (" — green: the true view" if true_view is not None else ""))
    ax.set_ylabel("probability")
    ax.set_ylim(0, top)
    ax.set_title(title)
    return ax.figure


def plot_cape(kernels, tokens, added, title: str = "CAPE: what the positional encoding adds"):
    """CAPE's depthwise kernels, and how large the signal it adds to each token is (two panels).

    kernels: `[c, 1, k]` or `[c, k]`, one temporal kernel per channel (docs/architecture.md §6,
    GCM). tokens `E` and added `CAPE(E)`: `[c, s, p]` for one sequence. Left: the kernels,
    channel x time offset (a diverging map centred on 0). Right: per frame, the size of what
    CAPE adds relative to the token it is added to, `||CAPE(E)_t|| / ||E_t||` over the
    channels, one thin line per part and their mean in bold: the zero padding at the ends of
    the sequence shows as a change at the first and last `k // 2` frames (shaded).
    """
    w = _np(kernels)
    w = w.reshape(w.shape[0], -1)                                        # [c, k]
    e, a = _np(tokens), _np(added)
    if e.ndim != 3 or e.shape != a.shape:
        raise ValueError(f"plot_cape: expected tokens and added of one shape [c, s, p], got {e.shape} and {a.shape}")
    c, k = w.shape
    ratio = np.linalg.norm(a, axis=0) / np.maximum(np.linalg.norm(e, axis=0), 1e-12)   # [s, p]
    s = ratio.shape[0]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained",
                                   gridspec_kw={"width_ratios": [1, 1.8]})
    bound = float(np.abs(w).max()) or 1.0
    offsets = np.arange(k) - k // 2
    im = ax0.imshow(w, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto", interpolation="nearest",
                    extent=(offsets[0] - 0.5, offsets[-1] + 0.5, c - 0.5, -0.5))
    ax0.set_xticks(offsets)
    ax0.set_xlabel("time offset (frames)")
    ax0.set_ylabel("channel")
    ax0.set_title(f"{c} depthwise kernels of length {k}", fontsize=10)
    fig.colorbar(im, ax=ax0, label="kernel weight")
    t = np.arange(s)
    for j in range(ratio.shape[1]):
        ax1.plot(t, ratio[:, j], color="0.6", lw=0.7)
    ax1.plot(t, ratio.mean(1), color="black", lw=2, marker=".", label="mean over parts")
    ax1.plot([], [], color="0.6", lw=0.7, label="one part")
    for lo, hi in ((-0.5, k // 2 - 0.5), (s - k // 2 - 0.5, s - 0.5)):
        ax1.axvspan(lo, hi, color="tab:orange", alpha=0.15, lw=0)
    ax1.set_xlim(-0.5, s - 0.5)
    ax1.set_ylim(0, None)
    ax1.set_xlabel("frame")
    ax1.set_ylabel("||CAPE(E)|| / ||E|| per token")
    ax1.set_title("size of the added position signal, per frame and part", fontsize=10)
    ax1.grid(alpha=0.3)
    handles, labels = ax1.get_legend_handles_labels()
    handles.append(Patch(color="tab:orange", alpha=0.15))
    labels.append("kernel reaches into the zero padding")
    ax1.legend(handles, labels, fontsize=8, loc="best")
    fig.suptitle(title)
    return fig
