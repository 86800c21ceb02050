"""Evaluation of gait embeddings, one job per module (docs/data-and-evaluation.md), as OpenGait keeps
the metric apart from the evaluator:

- `gaitgs_lib.distance`: the per-part distance (shared with the training loss);
- `metrics.py`: rank-1, CMC, mAP, mINP on a distance matrix, and the invalid-probe conventions;
- `protocols.py`: CASIA-B, OU-MVLP, retrieval and twins protocols (who is probe, who is gallery);
- `extract.py`: embeddings of every sequence of a dataset (equal-length batches, DataLoader workers);
- `results.py`: printed tables and JSON files;
- `cli.py`: the `evaluate` command.

Everything a notebook needs is importable from `gaitgs_lib.evaluation` directly.
"""
from ..data.views import CASIA_B_VIEWS, OU_MVLP_VIEWS, view_key
from ..distance import METRICS, part_distance, per_part_distance
from .cli import check_output_path, evaluate_checkpoint, main
from .extract import extract_embeddings
from .metrics import CONVENTIONS, cmc_curve, convention, rank1_accuracy, retrieval_metrics
from .protocols import (
    CASIA_B_GALLERY,
    CASIA_B_PROBES,
    OU_MVLP_GALLERY,
    OU_MVLP_PROBES,
    PROTOCOLS,
    NonFiniteEmbeddingsError,
    casia_b_protocol,
    check_embeddings,
    cross_view_protocol,
    ou_mvlp_protocol,
    retrieval_protocol,
    run_protocol,
    twins_protocol,
)
from .results import format_casia_b_table, format_result, format_retrieval, format_table, save_result_json, summarise_cells

__all__ = [
    "CASIA_B_VIEWS", "OU_MVLP_VIEWS", "view_key", "METRICS", "part_distance", "per_part_distance",
    "check_output_path", "evaluate_checkpoint", "main", "extract_embeddings", "CONVENTIONS", "cmc_curve",
    "convention", "rank1_accuracy", "retrieval_metrics", "CASIA_B_GALLERY", "CASIA_B_PROBES", "OU_MVLP_GALLERY",
    "OU_MVLP_PROBES", "PROTOCOLS", "NonFiniteEmbeddingsError", "casia_b_protocol", "check_embeddings",
    "cross_view_protocol", "ou_mvlp_protocol", "retrieval_protocol", "run_protocol", "twins_protocol",
    "format_casia_b_table", "format_result", "format_retrieval", "format_table", "save_result_json",
    "summarise_cells",
]
