"""Plotting helpers of the notebook series: one helper per figure kind, grouped by subject.

Conventions shared by every helper in this package:

- **Every helper returns the matplotlib `Figure`** it drew on (a notebook shows it; a script
  saves it with `fig.savefig`). End a notebook line with `;` or assign the result
  (`fig = ...`) so that Jupyter does not show the figure twice.
- **Helpers that draw one panel take `ax=None`**: given an Axes they draw into it (so several
  helpers can share one figure) and return `ax.figure`; without one they make their own
  figure. Helpers that draw several panels make their own figure, or take `axes=` where
  composing them is useful (e.g. `plot_training_curves`).
- **Every axis that shows a scale is labelled, and so is every colour bar**; image panels
  (silhouettes, feature maps) have no ticks and carry row/column names instead. Every
  figure has a title. `tests/test_viz_labels.py` checks all of this on every helper.
- **pyplot is imported at the top of each module.** Notebooks import `gaitgs_lib.viz`; in the
  rest of the library only the `contact-sheet` command does (inside the function, for that
  reason), so training, evaluation and the other commands never load matplotlib. This package
  imports none of its modules itself: import the one you need.

Modules:

- `gaitgs_lib.viz.data`: the data: silhouettes, contact grids (views x conditions), GEIs and
  their differences, two walks overlaid, joint-angle curves, skeletons next to silhouettes,
  preprocessing steps, the OpenGait layout as a text tree, P x K batches and their frame
  windows, per-frame signals (notebooks 00, 01).
- `gaitgs_lib.viz.model`: the model's insides: the whole-network diagram with its tensor
  shapes, B3D kernels, row-dependency maps (what STEM's strips can see), frames vs units,
  horizontal pooling, attention heatmaps, MCM attention over time, class-token attention,
  parameter bars, the span explorer's distance curves, the view classifier's scores, CAPE (notebooks 02, 03, 04, 07).
- `gaitgs_lib.viz.results`: training and results: loss curves, triplet geometry, pair
  distances, retrieval examples, rank-1 heatmaps per view, CMC curves, embedding
  projections, ablation bars, the cue study's matrix (notebooks 00, 05, 06, 08).
- `gaitgs_lib.viz.contact_sheet`: SynthGait's contact sheet (the `contact-sheet` command).
"""
