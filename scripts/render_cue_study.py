"""Render the cue study's results into the README and docs/ from its results file (never typed by hand).

    python scripts/render_cue_study.py            # rewrite the README block and docs/img/cue_matrix.png
    python scripts/render_cue_study.py --check    # exit 1 when the README block differs from the file

The README block sits between `<!-- cue-study:begin -->` and `<!-- cue-study:end -->`;
tests/test_cue_study.py checks that it equals what this script renders from
data/studies/cue-ablation.json.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- cue-study:begin -->", "<!-- cue-study:end -->"


def render_block(results: Path) -> str:
    from gaitgs_lib.study import load_records, markdown_table

    return f"{BEGIN}\n{markdown_table(load_records(results))}\n{END}"


def replace_block(text: str, block: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + block + text[end:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, default=REPO / "data" / "studies" / "cue-ablation.json")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    readme = REPO / "README.md"
    text = readme.read_text()
    new = replace_block(text, render_block(args.results))
    if args.check:
        if new != text:
            print("README.md: the cue-study block differs from data/studies/cue-ablation.json; "
                  "run python scripts/render_cue_study.py", file=sys.stderr)
            return 1
        return 0
    readme.write_text(new)
    import matplotlib

    matplotlib.use("Agg")
    from gaitgs_lib.study import DESIGN, load_records
    from gaitgs_lib.viz.results import plot_cue_matrix

    fig = plot_cue_matrix(load_records(args.results), cues=DESIGN.cues, variants=DESIGN.variants,
                          title="GaitGS tiny on the cue sets: rank-1 % (mean ± sd over seeds)")
    fig.savefig(REPO / "docs" / "img" / "cue_matrix.png", dpi=90, bbox_inches="tight")
    print("README.md and docs/img/cue_matrix.png rendered from", args.results.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
