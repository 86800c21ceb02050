"""OpenGait checkpoint IO: exact round trips, prefixes, clear mismatch errors."""
import pytest
import torch

from gaitgs_lib import GaitGS, get_config
from gaitgs_lib.modeling.checkpoint import (CheckpointMismatchError, infer_config_fields, load_opengait,
                                            save_opengait, to_opengait_state_dict)



def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_round_trip_is_exact():
    src = GaitGS("authors-small")
    sd = to_opengait_state_dict(src)
    assert len(sd) == 228
    assert sd["MCMs_C.conv1d3x3.15.2.conv.weight"].shape == (16, 4, 3)
    assert torch.equal(sd["MCMs_S.conv1d3x1.3.0.conv.weight"], src.msfe_f.mcm.mtb1.conv_a.weight[12:16])
    dst = load_opengait(GaitGS("authors-small"), sd)
    _assert_same_state(src, dst)
    assert to_opengait_state_dict(dst).keys() == sd.keys()


def test_save_and_load_a_file(tmp_path):
    src = GaitGS("tiny")
    opt = torch.optim.Adam(src.parameters(), lr=1e-4)
    path = save_opengait(src, tmp_path / "ckpt" / "GaitGS-01000.pt", iteration=1000, optimizer=opt)
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) == {"model", "optimizer", "scheduler", "iteration"} and ckpt["iteration"] == 1000
    assert ckpt["scheduler"] is None and "param_groups" in ckpt["optimizer"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    _assert_same_state(src, load_opengait(GaitGS("tiny"), path))
    _assert_same_state(src, load_opengait(GaitGS("tiny"), str(path)))
    _assert_same_state(src, load_opengait(GaitGS("tiny"), ckpt))  # a full checkpoint dict


def test_ddp_module_prefix_is_accepted():
    src = GaitGS("tiny")
    sd = {f"module.{k}": v for k, v in to_opengait_state_dict(src).items()}
    _assert_same_state(src, load_opengait(GaitGS("tiny"), {"model": sd, "iteration": 3}))


def test_missing_and_unexpected_keys_are_named():
    sd = to_opengait_state_dict(GaitGS("tiny"))
    del sd["PIEG.V_view"]
    sd["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError, match=r"missing 1 key\(s\): PIEG.V_view.*unexpected 1 key\(s\): extra.weight"):
        load_opengait(GaitGS("tiny"), sd)
    model = load_opengait(GaitGS("tiny"), sd, strict=False)  # non-strict: the rest loads
    assert torch.equal(model.pieg.view_cls.weight, sd["PIEG.view_cls.weight"])


def test_other_preset_is_suggested(authors_fixture):
    with pytest.raises(CheckpointMismatchError) as err:
        load_opengait(GaitGS("tiny"), authors_fixture["state_dict"])
    message = str(err.value)
    assert "config 'tiny'" in message and "shape mismatch" in message
    assert "unexpected 24 key(s): catm_c.L_Transformer.attn.layers.1." in message  # the extra layer is named
    assert "fc.fc_bin: checkpoint (16, 16, 32) vs model (16, 16, 64)" in message
    assert "match preset(s): authors-small" in message


def test_unknown_shapes_report_the_inferred_fields():
    sd = to_opengait_state_dict(GaitGS(get_config("tiny", channels=(4, 8, 24), heads=2)))
    with pytest.raises(CheckpointMismatchError, match=r"channels=\(4, 8, 24\).*no preset matches"):
        load_opengait(GaitGS("tiny"), sd)
    fields = infer_config_fields(sd)
    assert fields["parts"] == 16 and fields["depth"] == 1 and fields["embed_dim"] == 64


def test_bad_sources():
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_opengait(GaitGS("tiny"), "nope.pt")
    with pytest.raises(TypeError, match="checkpoint path"):
        load_opengait(GaitGS("tiny"), 42)
