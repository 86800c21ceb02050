"""Command line of SynthGait: `python -m gaitgs_lib synth ...` (the contact sheet's is in `viz.contact_sheet`)."""
from __future__ import annotations

import argparse
import sys

from .cues import CUES
from .generator import SYNTHGAIT_PRESETS, cue_folder_name, generate


def main(argv=None) -> int:
    """`synth --preset mini --out data/synthgait-mini [--seed 0] [--overwrite] [--raw-png] [--cue CUE]`.

    User errors (bad arguments, an output that is not ours, busy or read-only) print one
    line and return 1; Ctrl-C stops the workers, removes the temporaries and returns 130.
    """
    p = argparse.ArgumentParser(prog="python -m gaitgs_lib synth",
                                description="Generate a SynthGait dataset (CASIA-B structure, OpenGait layout).")
    p.add_argument("--preset", default=None, choices=sorted(SYNTHGAIT_PRESETS),
                   help="mini: 30 subjects (notebooks); b: 124 subjects like CASIA-B; cue: 40 subjects, NM, 3 views "
                        "(the cue sets' size); test: 4 subjects (default: mini, or cue with --cue)")
    p.add_argument("--cue", default=None, choices=CUES,
                   help="identity carried by one temporal cue only (docs/synthgait-generator.md, 'Cue data sets')")
    p.add_argument("--cue-strength", type=float, default=1.0, help="scale of the cue (default 1.0)")
    p.add_argument("--out", default=None,
                   help="output folder (default data/synthgait-<preset>, with --cue data/synthgait-cue-<cue>)")
    p.add_argument("--seed", type=int, default=0, help="an integer >= 0 (default 0)")
    p.add_argument("--subjects", type=int, default=None, help="number of subjects, >= 2 (default: the preset's)")
    p.add_argument("--overwrite", action="store_true", help="replace the SynthGait dataset already in --out")
    p.add_argument("--raw-png", action="store_true",
                   help="also write CASIA-B-style 320x240 PNGs into <out>-raw/ (input for `pretreat`)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: up to 2)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    args.preset = args.preset or ("cue" if args.cue else "mini")
    out = args.out or ("data/" + (f"synthgait-{args.preset}" if args.cue is None else cue_folder_name(args.cue, args.preset)))
    try:
        generate(args.preset, out, seed=args.seed, overwrite=args.overwrite, raw_png=args.raw_png,
                 subjects=args.subjects, progress=not args.no_progress, workers=args.workers, cue=args.cue,
                 cue_strength=args.cue_strength)
    except KeyboardInterrupt:
        print(f"synth: interrupted; temporary files removed, {out} left as it was", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0

