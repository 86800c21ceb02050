"""The checkpoints in data/checkpoints/ are what their results files say they are.

Each ablation study's JSON names a checkpoint per variant: it must exist, load, have the
recorded parameter count and switch off exactly the variant's block. The SynthGait-B model's
JSON names its checkpoint and preset the same way. (What they score is checked by the
notebooks that re-evaluate them, 06 and 08, not here.)
"""
import json
from pathlib import Path

import pytest

from gaitgs_lib.modeling import load_trained_model
from gaitgs_lib.training import ABLATIONS

REPO = Path(__file__).resolve().parents[1]
CHECKPOINTS = REPO / "data" / "checkpoints"
STUDIES = sorted(CHECKPOINTS.glob("ablations-tiny*.json"))


def test_both_studies_ship():
    assert [p.name for p in STUDIES] == ["ablations-tiny-synthgait-b.json", "ablations-tiny.json"]


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.stem)
def test_every_variant_of_a_study_loads_as_recorded(study):
    results = json.loads(study.read_text())
    assert set(results["variants"]) == {"full", *ABLATIONS}
    preset = "mini" if study.stem == "ablations-tiny" else study.stem.rsplit("-", 1)[-1]
    assert results["data"]["preset"] == preset
    for name, res in results["variants"].items():
        model, _ = load_trained_model(REPO / res["checkpoint"])
        assert model.cfg.name == "tiny", name
        assert sum(p.numel() for p in model.parameters()) == res["parameters"], name
        switched_off = {flag for flag in ABLATIONS.values() if not getattr(model.cfg, flag)}
        assert switched_off == ({ABLATIONS[name]} if name != "full" else set()), name
        assert res["steps"] == results["steps"][0], name


def test_the_synthgait_b_model_loads_as_recorded():
    record = json.loads((CHECKPOINTS / "small-32-synthgait-b.json").read_text())
    model, _ = load_trained_model(REPO / record["checkpoint"])
    assert record["checkpoint"] == "data/checkpoints/small-32-synthgait-b.pt"
    assert model.cfg.name == record["preset"] == "small-32"
    assert sum(p.numel() for p in model.parameters()) == record["parameters"]
    assert record["data"]["name"] == "synthgait-b"
