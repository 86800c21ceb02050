"""Data pipeline: OpenGait `.pkl` IO (`io`), silhouette pre-processing with OpenCV (`pretreat`),
partition files (`partition`), load-time frame transforms (`transforms`: the side cut, the only
resize), the OpenGait-layout dataset (`dataset`) and P x K / frame sampling (`samplers`).

Import from the submodules, e.g. `from gaitgs_lib.data.dataset import GaitDataset`; this
package imports nothing itself, and `pretreat` imports OpenCV (the optional `real-data`
extra) only when it resizes or reads a PNG.
"""
