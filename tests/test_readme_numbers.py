"""The README's accuracy tables and training figures agree with the result files they come from.

A number typed into prose goes stale when a model is retrained; these are the ones that can be
checked mechanically against the shipped result files (data/checkpoints/*.json). The cue
study's table is rendered from its file (tests/test_cue_study.py).
"""
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
TINY = json.loads((REPO / "data" / "checkpoints" / "tiny-synthgait-mini.json").read_text())
SMALL = json.loads((REPO / "data" / "checkpoints" / "small-32-synthgait-b.json").read_text())


def row(label: str) -> list[str]:
    """The cells after `label` in the README table row that starts with it."""
    match = re.search(rf"^\| {re.escape(label)} \|(.*)\|\s*$", README, re.MULTILINE)
    assert match, f"README has no table row {label!r}"
    return [c.strip() for c in match.group(1).split("|")]


def rank1(result: dict) -> list[str]:
    return [f"{result['casia_b']['mean'][c]:.1f}" for c in ("NM", "BG", "CL")]


@pytest.mark.parametrize("label, result", [
    ("GaitGS `tiny`", TINY["gaitgs_tiny"]),
    ("GEI + nearest neighbour", TINY["gei_64x44"]),
    ("GaitGS `small-32`", SMALL["learned"]),
    ("GEI + nearest neighbour (32×22)", SMALL["gei"]),
])
def test_readme_rank1_rows_match_their_result_files(label, result):
    assert row(label)[:3] == rank1(result)


def test_readme_retrieval_and_training_figures_match_the_result_files():
    assert row("GaitGS `small-32`")[4] == f"{SMALL['learned']['retrieval']['mAP']:.1f}"
    assert f"in {TINY['train_minutes']:.1f} min on one CPU thread" in README
    assert f"in {SMALL['train_wall_minutes']:.0f} min wall" in README
    assert f"({SMALL['train_cpu_minutes']:.0f} min CPU, one thread)" in README
    assert f"`small-32` (`small`'s network, {SMALL['parameters']:,} parameters" in README
