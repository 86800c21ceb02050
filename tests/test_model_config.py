"""GaitGSConfig presets, overrides and validation; parameter counts of the paper presets."""
import pytest

from gaitgs_lib import GaitGS, MODEL_PRESETS, get_config
from gaitgs_lib.config import GaitGSConfig
from gaitgs_lib.modeling.summary import format_parameter_table, main as summary_main, parameter_table

SPEC_BLOCKS = {  # docs/architecture.md, "Paper configuration"
    "input_conv": 1_888, "STEM_f0": 159_744, "STEM_f1": 1_916_928, "STEM_c0": 159_744, "STEM_c1": 1_916_928,
    "UTA0": 3_072, "UTA1": 12_288, "UTA2": 49_152, "PIEG": 4_225, "MCM_f": 1_310_720, "MCM_c": 1_310_720,
    "GCM_f": 1_451_008, "GCM_f.CAPE": 896, "GCM_f.cls_token": 4_096, "GCM_f.transformer": 397_440,
    "GCM_f.SeparateFCs": 1_048_576,
    "GCM_c": 1_451_008, "SeparateFCs_f": 1_048_576, "SeparateFCs_c": 1_048_576, "total": 11_844_577,
}



@pytest.fixture(scope="module")
def paper_model():
    return GaitGS("paper")


def test_presets_exist_and_paper_is_the_spec():
    assert {"paper", "paper-128", "small", "tiny", "authors-small"} <= set(MODEL_PRESETS)
    cfg = get_config("paper")
    assert (cfg.channels, cfg.views, cfg.parts, cfg.depth, cfg.heads, cfg.ff_dim) == ((32, 64, 128), 11, 32, 3, 8, 256)
    assert (cfg.dropout, cfg.cape_kernel, cfg.embed_dim, cfg.input_hw, cfg.gem_p_init) == (0.2, 7, 256, (64, 44), 6.5)
    assert cfg.use_coarse and cfg.use_mcm and cfg.use_global_span and cfg.use_pieg_prior
    assert get_config("paper-128").input_hw == (128, 88)


def test_paper_parameter_count_per_block(paper_model):
    table = parameter_table(paper_model, detail=True)
    for key, expected in SPEC_BLOCKS.items():
        assert table[key] == expected, key
    assert sum(p.numel() for p in paper_model.parameters() if p.requires_grad) == 11_844_577
    assert "other" not in table
    text = format_parameter_table(table)
    assert "11,844,577" in text and "STEM_f1" in text


def test_paper_128_has_the_same_parameters():
    assert parameter_table(GaitGS("paper-128"))["total"] == 11_844_577


@pytest.mark.parametrize("name, low, high", [("small", 200_000, 900_000), ("tiny", 50_000, 400_000)])
def test_teaching_presets_are_small(name, low, high):
    assert low <= parameter_table(GaitGS(name))["total"] <= high


def test_get_config_overrides_and_unknown_names():
    cfg = get_config("tiny", use_coarse=False, depth=2)
    assert cfg.depth == 2 and not cfg.use_coarse and cfg.channels == MODEL_PRESETS["tiny"].channels
    assert MODEL_PRESETS["tiny"].use_coarse  # presets are not mutated
    with pytest.raises(ValueError, match="unknown GaitGS preset 'nope'.*paper, paper-128, small, small-32, tiny"):
        get_config("nope")
    with pytest.raises(ValueError, match="unknown GaitGSConfig field"):
        get_config("tiny", colour=3)


def test_lists_become_tuples_and_to_dict_round_trips():
    cfg = GaitGSConfig(**{**get_config("tiny").to_dict(), "channels": [4, 8, 16], "input_hw": [32, 22]})
    assert cfg.channels == (4, 8, 16) and cfg.input_hw == (32, 22)
    assert cfg == get_config("tiny")


@pytest.mark.parametrize("overrides, message", [
    ({"input_hw": (36, 22)}, "divisible by 8"),
    ({"input_hw": (40, 22)}, "divisible by 16"),
    ({"parts": 12}, r"parts=12 must divide h/2 = 32"),
    ({"heads": 3}, "divisible by heads=3"),
    ({"channels": (4, 8, 18)}, "divisible by 4"),
    ({"use_mcm": False, "use_global_span": False}, "at least one of use_mcm"),
])
def test_invalid_configs_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        get_config("paper", **overrides)


def test_summary_cli_prints_the_table(capsys):
    assert summary_main(["--preset", "tiny", "--frames", "3", "--no-torchinfo"]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and f"{parameter_table(GaitGS('tiny'))['total']:,}" in out


def test_summary_cli_with_torchinfo(capsys):
    assert summary_main(["--preset", "authors-small", "--frames", "3", "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert f"Trainable params: {parameter_table(GaitGS('authors-small'))['total']:,}" in out


def test_model_accepts_a_config_dict_and_a_preset_name():
    cfg = get_config("tiny", depth=2)
    assert GaitGS(cfg.to_dict()).cfg == cfg
    assert GaitGS("tiny").cfg == get_config("tiny")
    with pytest.raises(TypeError, match="GaitGSConfig, a preset name or a config dict"):
        GaitGS(3)


@pytest.mark.parametrize("name, total", [("tiny", 159_869), ("small", 530_233), ("small-32", 530_233)])
def test_teaching_presets_parameter_counts(name, total):
    # small-32 is small's network on 32x22 input: no layer's size depends on the input size.
    assert parameter_table(GaitGS(name))["total"] == total
