"""Render the cue study's results into the README and docs/ from its results file (never typed by hand).

    python scripts/render_cue_study.py            # rewrite the blocks and docs/img/cue_matrix.png
    python scripts/render_cue_study.py --check    # exit 1 when a block differs from the file

The README's results table and benchmarks/README.md's cost table sit between markers
(`BLOCKS`); tests/test_cue_study.py checks that both equal what this script renders from
data/studies/cue-ablation.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BLOCKS = {  # file -> (begin marker, end marker, renderer name in gaitgs_lib.study)
    "README.md": ("<!-- cue-study:begin -->", "<!-- cue-study:end -->", "markdown_table"),
    "benchmarks/README.md": ("<!-- cue-study-cost:begin -->", "<!-- cue-study-cost:end -->", "cost_table"),
}


def render(text: str, file: str, records) -> str:
    """`text` with its block between the markers rendered afresh from the records."""
    import gaitgs_lib.study as study

    begin, end, name = BLOCKS[file]
    start, stop = text.index(begin), text.index(end) + len(end)
    return text[:start] + f"{begin}\n{getattr(study, name)(records)}\n{end}" + text[stop:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, default=REPO / "data" / "studies" / "cue-ablation.json")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    from gaitgs_lib.study import load_records

    records = load_records(args.results)
    stale = []
    for file in BLOCKS:
        text = (REPO / file).read_text()
        new = render(text, file, records)
        if new != text:
            stale.append(file)
            if not args.check:
                (REPO / file).write_text(new)
    if args.check:
        for file in stale:
            print(f"{file}: the cue-study block differs from {args.results.name}; run python scripts/render_cue_study.py",
                  file=sys.stderr)
        return 1 if stale else 0
    import matplotlib

    matplotlib.use("Agg")
    from gaitgs_lib.study import DESIGN
    from gaitgs_lib.viz.results import plot_cue_matrix

    fig = plot_cue_matrix(records, cues=DESIGN.cues, variants=DESIGN.variants,
                          title="GaitGS tiny on the cue sets: rank-1 % (mean ± sd over seeds)")
    fig.savefig(REPO / "docs" / "img" / "cue_matrix.png", dpi=90, bbox_inches="tight")
    print(", ".join(BLOCKS), "and docs/img/cue_matrix.png rendered from", args.results.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
