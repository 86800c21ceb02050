"""View names of the datasets (CASIA-B, OU-MVLP) and how they map to PIEG's view classes.

Used by the data pipeline, the trainer (view labels of PIEG's cross-entropy) and the
evaluator (the columns of the cross-view tables), so it lives below all three.
"""
from __future__ import annotations

from typing import Iterable

__all__ = ["CASIA_B_VIEWS", "OU_MVLP_VIEWS", "view_key", "view_index_map"]

# CASIA-B: 11 views, 0..180 degrees in 18-degree steps (PIEG class = angle / 18).
CASIA_B_VIEWS = tuple(f"{a:03d}" for a in range(0, 181, 18))
# OU-MVLP: 14 views, 0..90 and 180..270 degrees in 15-degree steps.
OU_MVLP_VIEWS = tuple(f"{a:03d}" for a in list(range(0, 91, 15)) + list(range(180, 271, 15)))


def view_key(view: str):
    """Sort key for view names: numeric names by angle first, then any others by name."""
    try:
        return (0, float(view), view)
    except ValueError:
        return (1, 0.0, view)


def view_index_map(views: Iterable) -> tuple[list[str], dict]:
    """View names -> (class names, {name: class index}).

    Views that all belong to CASIA-B's (or OU-MVLP's) set get that dataset's full list, so
    class `i` means the same angle whatever subset a split holds; others are sorted.
    """
    names = sorted(set(str(v) for v in views), key=view_key)
    for canon in (CASIA_B_VIEWS, OU_MVLP_VIEWS):
        if set(names) <= set(canon):
            return list(canon), {v: i for i, v in enumerate(canon)}
    return names, {v: i for i, v in enumerate(names)}
