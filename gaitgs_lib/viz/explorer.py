"""The figures of notebook 07, the temporal span explorer, and the panel that keeps each one live.

Three figures, one per control group of the notebook, each drawn from what
`gaitgs_lib.explore` computes:

- `plot_timeline`: the frames fed, wrapped in rows at their true shape, with the units UTA
  forms and the frames MCM's windows pool around a frame `t` (docs/architecture.md §2, §6);
- `plot_span_attention`: the class token's attention to every frame (or unit) for one span,
  under the gait phase (docs/architecture.md §6);
- `plot_span_curve`: distance to the gallery vs frames fed, with the rank of the right subject
  (draws with `viz.model.plot_span_distances`);
- `plot_ranks_by_span`: rank-1 and mean rank of the right subject vs frames fed, one line per
  data set (the cue sets, docs/cue-study.md), with one stride marked.

`FigurePanel` joins a group of widgets to ONE figure that is replaced in place after every
change, with a status line that says when it is computing and how long the update took.
Every plotting helper returns the matplotlib Figure.
"""
from __future__ import annotations

import io
import time
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from gaitgs_lib.viz.model import plot_span_distances

__all__ = ["timeline_rows", "plot_timeline", "plot_span_attention", "plot_span_curve",
           "plot_ranks_by_span", "figure_png", "FigurePanel"]

FRAMES_PER_ROW = 20  # silhouettes per row of the timeline (about 0.5 inch each)
WINDOW_COLOURS = ("tab:orange", "tab:purple", "tab:green")


def _np(x) -> np.ndarray:
    """torch tensor / array-like -> float numpy array (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


def timeline_rows(num_frames: int, unit: int, per_row: int = FRAMES_PER_ROW) -> list[range]:
    """Frames of each row of the timeline: whole units per row, so that no unit is split.

    `timeline_rows(41, 3) == [range(0, 18), range(18, 36), range(36, 41)]` (18 = 6 units of 3).
    """
    if num_frames < 1 or unit < 1 or per_row < 1:
        raise ValueError(f"timeline_rows: need num_frames, unit, per_row >= 1, got {num_frames}, {unit}, {per_row}")
    width = max(unit, per_row // unit * unit)
    return [range(b, min(b + width, num_frames)) for b in range(0, num_frames, width)]


def plot_timeline(frames, units: Sequence[Sequence[int]], windows: Mapping[int, Mapping[str, list]],
                  t: int, title: str, per_row: int = FRAMES_PER_ROW) -> Figure:
    """Frames, UTA's units and MCM's windows around frame `t`, in rows of whole units.

    frames: `[s, h, w]`; units: `explore.unit_groups(s, unit)`; windows:
    `explore.mcm_windows(s, t, sizes)`. Each row shows its silhouettes at their true shape
    (frame `t` boxed in red), one lane with the units (frames in no unit marked ×) and one
    lane per window (hatched: zero padding outside the sequence). The layout is fixed (no
    layout engine), which keeps a redraw fast enough for a slider.
    """
    f = _np(frames)
    s, h, w = f.shape
    unit = len(units[0]) if units else 1
    rows = timeline_rows(s, unit, per_row)
    width = len(rows[0])
    sil_h = h / (w + 2)  # silhouette height in frame widths (1 px border on each side)
    lane, lanes = 0.7, 1 + len(windows)
    margin = max([k // 2 for k in windows] + [0]) + 0.6
    row_units = sil_h + lane * lanes + 0.1  # one row's height, in frame widths
    fig_w, left, right = 11.0, 1.25, 0.15  # inches
    inch = (fig_w - left - right) / (width - 1 + 2 * margin)  # inches per frame width (the x range)
    row_in, gap, top, bottom = row_units * inch, 0.32, 0.45, 0.5
    fig_h = top + bottom + len(rows) * row_in + (len(rows) - 1) * gap
    fig = plt.figure(figsize=(fig_w, fig_h))
    colours = plt.get_cmap("tab20")(np.arange(max(len(units), 1)) % 20)
    unit_of = {i: j for j, g in enumerate(units) for i in g}
    for n, row in enumerate(rows):
        y0 = fig_h - top - (n + 1) * row_in - n * gap
        ax = fig.add_axes((left / fig_w, y0 / fig_h, 1 - (left + right) / fig_w, row_in / fig_h))
        _timeline_row(ax, f, row, unit_of, units, colours, windows, t, sil_h, lane)
        ax.set_xlim(-margin, width - 1 + margin)
        ax.set_ylim(-lane * lanes - 0.05, sil_h + 0.05)
    fig.text(0.5, 0.12 / fig_h, "frame (red box: t; hatched: zero padding outside the sequence)",
             ha="center", va="bottom", fontsize=9)
    fig.suptitle(title, fontsize=11, y=1 - 0.12 / fig_h, va="top")
    return fig


def _timeline_row(ax, f, row, unit_of, units, colours, windows, t, sil_h, lane):
    """One row of `plot_timeline`: silhouettes, the units lane and one lane per MCM window."""
    r0, s = row.start, f.shape[0]
    strip = np.concatenate([np.pad(f[i], ((0, 0), (1, 1)), constant_values=0.25) for i in row], axis=1)
    ax.imshow(strip, cmap="gray", vmin=0, vmax=1, interpolation="nearest", aspect="auto",
              extent=(-0.5, len(row) - 0.5, 0, sil_h))
    if t in row:
        ax.add_patch(Rectangle((t - r0 - 0.5, 0), 1, sil_h, fill=False, edgecolor="red", lw=2))
    y = -lane
    for i in row:  # the units lane
        if i in unit_of:
            j = unit_of[i]
            ax.add_patch(Rectangle((i - r0 - 0.5, y + 0.08), 1, 0.54, color=colours[j], alpha=0.85, lw=0))
            if i == units[j][len(units[j]) // 2]:
                ax.text(i - r0 - (0.5 if len(units[j]) % 2 == 0 else 0), y + 0.35, f"u{j}",
                        ha="center", va="center", fontsize=7)
        else:
            ax.text(i - r0, y + 0.35, "×", ha="center", va="center", color="dimgrey", fontsize=9)
    unit = len(units[0]) if units else None
    labels = {sil_h / 2: "frames", y + 0.35: f"units of {unit}" if unit else "units (none)"}
    for r, (k, win) in enumerate(sorted(windows.items())):
        y = -lane * (r + 2)
        colour = WINDOW_COLOURS[r % len(WINDOW_COLOURS)]
        for i in win["frames"]:
            if i in row:
                ax.add_patch(Rectangle((i - r0 - 0.45, y + 0.1), 0.9, 0.5, color=colour))
        for i in win["padded"]:
            if (i < 0 and r0 == 0) or (i >= s and row.stop == s):
                ax.add_patch(Rectangle((i - r0 - 0.45, y + 0.1), 0.9, 0.5, fill=False, hatch="////",
                                       edgecolor="grey"))
        labels[y + 0.35] = f"window {k} at t"
    # Plain texts instead of ticks: a tick costs several artists, and this figure is redrawn
    # on every slider move.
    for y, text in labels.items():
        ax.text(-0.01, y, text, transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=8)
    bottom = -lane * (1 + len(windows)) - 0.12
    for i in row:
        ax.text(i - r0, bottom, str(i), ha="center", va="top", fontsize=7)
    ax.axis("off")


def plot_span_attention(weights, signal, frames_per_token: int = 1, title: str = "",
                        signal_label: str = "feet distance (px)") -> Figure:
    """The class token's attention per part and token for one span, under the gait phase.

    weights: `[p, k]` (part 0 = head; a row sums to at most 1, the rest goes to the class
    token itself), drawn relative to the uniform share `1 / (k + 1)`: red above, blue below;
    signal: `[s]` per frame (e.g. `explore.stride_signal`), drawn on top with the attention's
    mean over parts. With `frames_per_token=3` (the coarse branch's units) token `j` covers
    frames `3j ... 3j + 2`, so both panels share the frame axis. Fixed layout (fast redraw).
    """
    w = _np(weights)
    if w.ndim != 2:
        raise ValueError(f"plot_span_attention: weights must be [parts, tokens], got shape {w.shape}")
    sig = _np(signal)
    p, k = w.shape
    rel = w * (k + 1)  # 1 = the uniform share
    x_max = max(len(sig), k * frames_per_token) - 0.5
    fig = plt.figure(figsize=(10, 4.8))
    top = fig.add_axes((0.07, 0.70, 0.78, 0.19))
    ax = fig.add_axes((0.07, 0.11, 0.78, 0.55), sharex=top)
    cax = fig.add_axes((0.87, 0.11, 0.015, 0.55))
    top.plot(np.arange(len(sig)), sig, color="k", marker=".", lw=1.2, label=signal_label)
    top.set_ylabel(signal_label, fontsize=8)
    top.grid(alpha=0.3)
    top.tick_params(labelbottom=False)
    mean = fig.add_axes(top.get_position(), sharex=top, frameon=False)  # the twin y axis
    centres = (np.arange(k) + 0.5) * frames_per_token - 0.5
    mean.plot(centres, rel.mean(0), color="tab:red", lw=1.5, marker=".", label="attention, mean over parts")
    mean.axhline(1.0, color="tab:red", lw=0.6, ls=":")
    mean.yaxis.tick_right()
    mean.yaxis.set_label_position("right")
    mean.set_ylabel("mean ÷ uniform", fontsize=8, color="tab:red")
    mean.tick_params(axis="y", colors="tab:red", labelsize=8)
    mean.tick_params(labelbottom=False, bottom=False)
    # the legend sits above the panel, between it and the title, so it hides no frame's values
    top.legend(handles=[*top.get_lines(), *mean.get_lines()[:1]], fontsize=7, ncol=2, frameon=False,
               loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.1, borderpad=0.1)
    top.set_title(title, fontsize=10, pad=16)
    bound = max(float(np.abs(np.log2(np.clip(rel, 1e-6, None))).max()), 0.1)
    norm = TwoSlopeNorm(vmin=2 ** -bound, vcenter=1.0, vmax=2 ** bound)
    im = ax.imshow(rel, cmap="RdBu_r", norm=norm, aspect="auto", interpolation="nearest",
                   extent=(-0.5, k * frames_per_token - 0.5, p - 0.5, -0.5))
    for j in range(1, k if frames_per_token > 1 else 0):
        ax.axvline(j * frames_per_token - 0.5, color="white", lw=0.6)
    ax.set_xlim(-0.5, x_max)
    ax.set_ylabel("part (0 = head)")
    ax.set_xlabel("frame" if frames_per_token == 1 else f"frame (one cell per unit of {frames_per_token} frames)")
    fig.colorbar(im, cax=cax, label="attention ÷ uniform share 1/(k+1)")
    return fig


def plot_span_curve(spans: Sequence[int], distances, sids: Sequence[str], subject: str,
                    ranks: Sequence[int] | None, twin: str | None = None, title: str = "") -> Figure:
    """Distance to the gallery vs frames fed (relative to the gallery mean), the right subject's rank on top.

    distances: `[len(spans), m]`; sids: the gallery's subjects `[m]`; `twin`: the subject's
    SynthGait twin (dashed orange), if any; ranks: the right subject's rank per span, shown
    as the top axis. Drawn by `viz.model.plot_span_distances`.
    """
    d = _np(distances)
    same = [j for j, s in enumerate(sids) if s == subject]
    twins = [j for j, s in enumerate(sids) if twin is not None and s == twin]
    fig = plot_span_distances(list(spans), d, list(sids), highlight=same, twins=twins, relative=True, title=title)
    fig.set_layout_engine("none")  # fixed margins: a layout engine costs a third of a redraw
    ax = fig.axes[0]
    top = 0.78 if ranks is not None else 0.88
    ax.set_position((0.09, 0.13, 0.885, top - 0.13))
    ax.set_xticks(list(spans))
    if ranks is not None:
        rank_axis = ax.secondary_xaxis("top")
        rank_axis.set_xticks(list(spans), [str(r) for r in ranks], color="tab:red", fontsize=8)
        rank_axis.set_xlabel(f"rank of {subject} (1 = first)", color="tab:red", fontsize=8)
    return fig


def plot_ranks_by_span(tables: Mapping[str, object], stride: float, title: str = "") -> Figure:
    """Rank-1 (left) and mean rank (right) of the right subject vs frames fed, one line per table.

    tables: name -> `explore.SpanRanks` (`spans`, `ranks [walkers, len(spans) + 1]`,
    `last_spans`, `gallery_size`); the last column (every frame) is drawn at the walkers' mean
    number of frames, with an open marker. stride: frames per stride (`explore.stride_frames`),
    drawn as a dotted vertical line and as the top axis (in strides). Dashed grey: chance,
    `100 / gallery_size` % and `(gallery_size + 1) / 2`.
    """
    if not tables:
        raise ValueError("plot_ranks_by_span: no tables to draw")
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9), layout="constrained")
    sizes = sorted({int(t.gallery_size) for t in tables.values()})
    for k, (name, t) in enumerate(tables.items()):
        colour = f"C{k}"
        x = [*t.spans, float(np.mean(t.last_spans))]
        for ax, y in zip(axes, (t.rank1(), t.mean_rank())):
            ax.plot(x[:-1], y[:-1], "-o", color=colour, ms=4, label=f"{name} ({len(t.ranks)} walkers)")
            ax.plot(x[-2:], y[-2:], ":", color=colour)
            ax.plot(x[-1:], y[-1:], "o", color=colour, mfc="white", ms=6)
    for ax, ylabel, chance in ((axes[0], "rank-1 (% of walkers)", [100 / m for m in sizes]),
                               (axes[1], "mean rank of the right subject", [(m + 1) / 2 for m in sizes])):
        for c in chance:
            ax.axhline(c, color="grey", ls="--", lw=1)
        ax.axvline(stride, color="black", ls=":", lw=1.2)
        ax.set_xscale("log")
        ticks = sorted({s for t in tables.values() for s in t.spans})
        ax.set_xticks(ticks, [str(s) for s in ticks], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel("span fed (frames from the first; open marker: every frame)")
        ax.set_ylabel(ylabel)
        top = ax.secondary_xaxis("top", functions=(lambda f: f / stride, lambda n: n * stride))
        top.set_xticks([0.25, 0.5, 1, 2, 3], ["¼", "½", "1", "2", "3"], fontsize=8)
        top.set_xlabel(f"strides (1 stride = {stride:.1f} frames, dotted)", fontsize=8)
    axes[0].set_ylim(-3, 103)
    axes[1].set_ylim(0.5, max(sizes) + 0.5)
    axes[1].invert_yaxis()  # better ranks higher up, as on the left
    axes[0].text(0.01, 0.99, "chance: dashed", transform=axes[0].transAxes, va="top", fontsize=8, color="grey")
    axes[0].legend(fontsize=8, loc="center left")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes; the figure is closed (it would otherwise stay in pyplot's list)."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})  # fast to encode
    finally:
        plt.close(fig)
    return buf.getvalue()


class FigurePanel:
    """One control group of the explorer: its controls, a status line and ONE figure, replaced in place.

    `draw(**values) -> Figure` is called with the controls' values; `limits(**values) ->
    {name: (min, max)}` (optional) bounds the sliders by the data before every draw, so no
    slider can reach past the sequence. `show()` displays the controls and the figure for
    the current values (what a reader without a kernel sees); afterwards every change of a
    control redraws that figure in its place (an IPython display handle), while the status
    line says "computing…" and then how long the update took. `watch`: controls shared with
    other panels (e.g. the walker's pickers), shown in a first row; they redraw this panel too.
    Errors are shown on the status line: a widget callback has no cell to print into.
    `replaces`: the panel this one replaces when its cell is run again (it is closed, so
    that a walker change does not redraw both).
    """

    def __init__(self, draw: Callable[..., Figure], controls: Mapping[str, object],
                 limits: Callable[..., Mapping[str, tuple[int, int]]] | None = None,
                 watch: Mapping[str, object] | None = None, css_class: str | None = None, dpi: int = 90,
                 replaces: "FigurePanel | None" = None):
        import ipywidgets as widgets  # optional dependency (the `notebooks` extra)

        if replaces is not None:  # the cell was run again: the old panel stops listening
            replaces.close()
        self.draw, self.limits, self.dpi = draw, limits, dpi
        self.controls = dict(controls)
        self.watched = {**dict(watch or {}), **self.controls}
        self.status = widgets.HTML(value="")
        rows = [list(watch.values())] if watch else []
        rows.append(list(self.controls.values()))
        self.box = widgets.VBox([widgets.HBox(r, layout=widgets.Layout(flex_flow="row wrap")) for r in rows]
                                + [self.status])
        if css_class:
            self.box.add_class(css_class)
        self._handle = None
        self._busy = False
        self.last_seconds: float | None = None  # wall-clock time of the last update
        self.last_cpu_seconds: float | None = None  # CPU time the kernel process spent on it
        for w in self.watched.values():
            w.observe(self._on_change, names="value")

    def close(self) -> None:
        """Stop redrawing: unobserve every control and close this panel's own widgets."""
        for w in self.watched.values():
            w.unobserve(self._on_change, names="value")
        for w in [*self.controls.values(), self.status, *self.box.children, self.box]:
            w.close()

    def values(self) -> dict:
        return {name: w.value for name, w in self.watched.items()}

    def _apply_limits(self) -> None:
        if self.limits is None:
            return
        for _ in range(2):  # twice: a bound may depend on a value the first pass clamped (t on span)
            for name, (lo, hi) in self.limits(**self.values()).items():
                w = self.controls.get(name)
                if w is None:
                    continue
                if lo > w.max:  # keep min <= max at every step
                    w.max, w.min = hi, lo
                else:
                    w.min, w.max = lo, hi

    def _render(self) -> bytes:
        self._apply_limits()
        return figure_png(self.draw(**self.values()), dpi=self.dpi)

    def show(self) -> None:
        """Display the controls and the figure of the current values (call once, in the panel's cell)."""
        from IPython.display import Image, display  # IPython comes with the `notebooks` extra

        start = (time.perf_counter(), time.process_time())
        self._busy = True
        try:
            png = self._render()
        finally:
            self._busy = False
        bundle = self.box._repr_mimebundle_()  # the widget view, and for pages without widgets:
        bundle["text/plain"] = "(controls of the figure below: run the notebook to use them)"
        display(bundle, raw=True)
        self._handle = display(Image(data=png, format="png"), display_id=True)
        self._done(start)

    def mark_waiting(self, text: str = "waiting for the walker's other figures…") -> None:
        self.status.value = f"<span style='color:#b36b00'>⏳ {text}</span>"

    def refresh(self) -> None:
        """Recompute and replace the figure (the status line shows the busy state meanwhile)."""
        from IPython.display import Image  # IPython comes with the `notebooks` extra

        if self._busy:  # a bound moved a value while we draw: the draw reads it anyway
            return
        self._busy = True
        start = (time.perf_counter(), time.process_time())
        self.status.value = "<span style='color:#b36b00'>⏳ computing…</span>"
        try:
            png = self._render()
            if self._handle is not None:
                self._handle.update(Image(data=png, format="png"))
            self._done(start)
        except Exception as err:  # shown to the user: a callback has no cell to print into
            self.status.value = f"<span style='color:#c00'>error: {type(err).__name__}: {err}</span>"
        finally:
            self._busy = False

    def _done(self, start: tuple[float, float]) -> None:
        """Status: the update's wall-clock time and the CPU time the kernel spent on it (the
        second does not grow when other programs share the CPU)."""
        self.last_seconds = time.perf_counter() - start[0]
        self.last_cpu_seconds = time.process_time() - start[1]
        self.status.value = (f"<span style='color:#2a7a2a'>✓ updated in {self.last_seconds:.2f} s "
                             f"(kernel CPU {self.last_cpu_seconds:.2f} s)</span>")

    def _on_change(self, change) -> None:
        self.refresh()
