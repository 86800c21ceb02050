"""Command line of SynthGait: `python -m gaitgs_lib synth ...` and `python -m gaitgs_lib contact-sheet ...`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .generator import SYNTHGAIT_PRESETS, generate, load_meta


def main(argv=None) -> int:
    """`synth --preset mini --out data/synthgait-mini [--seed 0] [--overwrite] [--raw-png]`."""
    p = argparse.ArgumentParser(prog="python -m gaitgs_lib synth",
                                description="Generate a SynthGait dataset (CASIA-B structure, OpenGait layout).")
    p.add_argument("--preset", default="mini", choices=sorted(SYNTHGAIT_PRESETS),
                   help="mini: 30 subjects (notebooks); b: 124 subjects like CASIA-B; test: 4 subjects")
    p.add_argument("--out", default=None, help="output folder (default data/synthgait-<preset>)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subjects", type=int, default=None, help="number of subjects (default: the preset's)")
    p.add_argument("--overwrite", action="store_true", help="replace whatever is in --out")
    p.add_argument("--raw-png", action="store_true",
                   help="also write CASIA-B-style 320x240 PNGs into <out>-raw/ (input for `pretreat`)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: up to 2)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    out = args.out or f"data/synthgait-{args.preset}"
    try:
        generate(args.preset, out, seed=args.seed, overwrite=args.overwrite, raw_png=args.raw_png,
                 subjects=args.subjects, progress=not args.no_progress, workers=args.workers)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _cell(frames: np.ndarray, mode: str) -> np.ndarray:
    """One contact-sheet cell from uint8 [T, 64, 64]: the GEI or the middle frame, float [64, 64] in [0, 1]."""
    if mode == "gei":
        return frames.astype(np.float32).mean(0) / 255.0
    return frames[len(frames) // 2].astype(np.float32) / 255.0


def contact_sheet(data, subject: str = "001", out=None, mode: str = "frame", twins: bool = False,
                  types=("nm-01", "bg-01", "cl-01")):
    """Matplotlib figure: one subject across 11 views x NM/BG/CL (frame or GEI per cell).

    With `twins=True` the subject's twin (or, for `subject="auto"`, the first twin pair) is
    shown beside it: rows of GEIs (nearly identical) and rows of frames at one time
    (different, because the gaits differ).
    """
    import matplotlib
    if out is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..data.io import read_sequence

    data = Path(data)
    meta = load_meta(data)
    views = meta["views"]
    if twins:
        pairs = meta.get("twins", [])
        pair = next((p for p in pairs if subject in p), pairs[0] if pairs else None)
        if pair is None:
            raise ValueError(f"{data}: meta.json lists no twins")
        rows = [(pair[0], "nm-01", "gei"), (pair[1], "nm-01", "gei"),
                (pair[0], "nm-01", "frame"), (pair[1], "nm-01", "frame")]
        title = f"SynthGait twins {pair[0]} and {pair[1]}: GEIs (same body) and frames (different gaits)"
    else:
        if subject not in meta["subjects"]:
            raise ValueError(f"{data}: no subject {subject!r} (subjects {sorted(meta['subjects'])[:5]}...)")
        rows = [(subject, t, mode) for t in types]
        title = f"SynthGait subject {subject} ({mode} per cell)"
    fig, axes = plt.subplots(len(rows), len(views), figsize=(1.1 * len(views), 1.3 * len(rows) + 0.5),
                             squeeze=False)
    for r, (sid, typ, m) in enumerate(rows):
        for c, view in enumerate(views):
            ax = axes[r, c]
            seq = read_sequence(data / sid / typ / view / f"{view}.pkl")
            if m == "frame" and twins:
                seq = seq[min(12, len(seq) - 1):]
                img = seq[0].astype(np.float32) / 255
            else:
                img = _cell(seq, m)
            ax.imshow(img[:, 10:54], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(view, fontsize=8)
            if c == 0:
                ax.set_ylabel(f"{sid} {typ}\n{m}", fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
        fig.savefig(tmp, dpi=110)
        tmp.replace(out)
        plt.close(fig)
    return fig


def contact_sheet_main(argv=None) -> int:
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
        contact_sheet(args.data, args.subject, args.out, mode=args.mode, twins=args.twins)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0
