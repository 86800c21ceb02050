"""Plotting helpers of the notebook series: one helper per figure kind.

`viz.data` and `viz.model` helpers return the Figure they made; `viz.results` helpers draw
on an Axes they are given (or make one) and return it, so several can share a figure.

Modules (import the one you need; this package imports none of them itself, so that
`import gaitgs_lib.viz.data` never pulls in the others):

- `gaitgs_lib.viz.data`: silhouettes, contact grids (views x conditions), GEIs and their
  differences, joint-angle curves, skeletons next to silhouettes, preprocessing steps,
  the OpenGait layout as a text tree, P x K batches and their frame windows, B3D kernels,
  row-dependency maps (what STEM's strips can see) and feature maps of frames vs units
  (notebooks 00-02).
- `gaitgs_lib.viz.model`: the model's insides: attention heatmaps per head/part, MCM
  attention over time, class-token attention, parameter bars, span timelines
  (notebooks 03, 04, 07).
- `gaitgs_lib.viz.results`: training and results: loss curves, triplet geometry, rank-1
  heatmaps per view, CMC curves, embedding projections, ablation bars (notebooks 05, 06, 08).
"""
