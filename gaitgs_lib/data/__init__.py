"""Data pipeline: OpenGait `.pkl` IO (`io`), silhouette pre-processing (`pretreat`),
the OpenGait-layout dataset (`dataset`) and P x K / frame sampling (`samplers`).

Import from the submodules, e.g. `from gaitgs_lib.data.dataset import GaitDataset`;
this package imports nothing itself, so `pretreat` stays light for the generator.
"""
