"""The SynthGait contact sheet: one subject across the 11 views and NM / BG / CL, or a twin pair.

Cells are stored sequences after the load-time side cut (`data.transforms.side_cut`),
shown as one frame or as the GEI (`baselines.gei`); the grid is `viz.data.show_contact_grid`.
CLI: `python -m gaitgs_lib contact-sheet` (`main` below).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from ..baselines import gei
from ..data.io import read_sequence
from ..data.transforms import side_cut
from ..fileio import atomic_open, not_a_folder, unwritable
from ..synthgait.generator import load_meta
from .data import show_contact_grid

TWIN_FRAME = 12  # the frame shown for twins: the same time into both walks


def _cell(seq: np.ndarray, mode: str, frame: int | None = None) -> np.ndarray:
    """One cell from uint8 [T, 64, 64]: the GEI or one frame (the middle one by default), float [64, 44] in [0, 1]."""
    if mode == "gei":
        img = gei(seq) / 255.0
    else:
        img = seq[len(seq) // 2 if frame is None else min(frame, len(seq) - 1)].astype(np.float32) / 255.0
    return side_cut(img)


def _rows(meta: dict, data: Path, subject: str, mode: str, twins: bool, types) -> tuple[list, str]:
    """(rows of (sid, type, mode, frame), title) of the sheet."""
    if twins:
        pairs = meta.get("twins", [])
        pair = next((p for p in pairs if subject in p), pairs[0] if pairs else None)
        if pair is None:
            raise ValueError(f"{data}: meta.json lists no twins")
        a, b = pair
        rows = [(a, "nm-01", "gei", None), (b, "nm-01", "gei", None),
                (a, "nm-01", "frame", TWIN_FRAME), (b, "nm-01", "frame", TWIN_FRAME)]
        return rows, f"SynthGait twins {a} and {b}: GEIs (same body) and frames (different gaits)"
    if subject not in meta["subjects"]:
        raise ValueError(f"{data}: no subject {subject!r} (subjects {sorted(meta['subjects'])[:5]}...)")
    return [(subject, t, mode, None) for t in types], f"SynthGait subject {subject} ({mode} per cell)"


def contact_sheet(data, subject: str = "001", out=None, mode: str = "frame", twins: bool = False,
                  types=("nm-01", "bg-01", "cl-01")) -> Figure:
    """Figure: one subject across the views (columns) x `types` (rows), one frame or the GEI per cell.

    With `twins=True` the subject's twin pair (or, when `subject` has no twin, the first pair
    in meta.json) instead: rows of GEIs (nearly identical) and rows of frames at one time
    (different, because the gaits differ). With `out` the figure is also written there as a
    PNG (atomically) and closed.
    """
    if mode not in ("frame", "gei"):
        raise ValueError(f"contact_sheet: mode must be 'frame' or 'gei', got {mode!r}")
    data = Path(data)
    problem = not_a_folder(data, "dataset folder")
    if problem:  # before load_meta, which would call any of these "not a SynthGait dataset"
        raise (FileNotFoundError if not data.exists() else ValueError)(
            f"{problem}; --data takes a SynthGait dataset folder (python -m gaitgs_lib synth)")
    meta = load_meta(data)
    views = meta["views"]
    rows, title = _rows(meta, data, subject, mode, twins, types)
    grid = [[_cell(read_sequence(data / sid / typ / view / f"{view}.pkl"), m, frame) for view in views]
            for sid, typ, m, frame in rows]
    fig = show_contact_grid(grid, [f"{sid} {typ}\n{m}" for sid, typ, m, _ in rows], list(views), title)
    if out is not None:
        with atomic_open(Path(out), "wb") as f:
            fig.savefig(f, format="png", dpi=110)
        plt.close(fig)
    return fig


def main(argv=None) -> int:
    """`contact-sheet --data data/synthgait-mini --subject 001 --out docs/img/contact_sheet.png [--twins]`."""
    p = argparse.ArgumentParser(prog="python -m gaitgs_lib contact-sheet",
                                description="PNG of one SynthGait subject across 11 views x NM/BG/CL.")
    p.add_argument("--data", default="data/synthgait-mini")
    p.add_argument("--subject", default="001")
    p.add_argument("--out", default="docs/img/contact_sheet.png")
    p.add_argument("--mode", choices=("frame", "gei"), default="frame", help="one frame or the GEI per cell")
    p.add_argument("--twins", action="store_true", help="show the subject's twin pair (or the first pair)")
    args = p.parse_args(argv)
    try:
        if Path(args.out).is_dir():
            raise ValueError(f"--out {args.out} is a folder; give a file name, e.g. {Path(args.out) / 'sheet.png'}")
        problem = unwritable(Path(args.out).parent)  # the folder the PNG goes into
        if problem:
            raise PermissionError(f"cannot write --out {args.out}: {problem}")
        contact_sheet(args.data, args.subject, args.out, mode=args.mode, twins=args.twins)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0
