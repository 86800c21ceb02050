"""OpenGait checkpoint IO: exact round trips, prefixes, clear mismatch errors."""
import pytest
import torch

from gaitgs_lib import GaitGS, get_config
from gaitgs_lib.modeling.checkpoint import (CheckpointMismatchError, authors_parameter_order, infer_config_fields,
                                            load_opengait, save_opengait, to_opengait_optimizer_state,
                                            to_opengait_state_dict)
from gaitgs_lib.modeling.reference import ReferenceGaitGS



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
    path = save_opengait(src, tmp_path / "ckpt" / "GaitGS-01000.pt", iteration=1000)
    ckpt = torch.load(path, weights_only=True)
    # Weights only: no None entries (OpenGait's resume would call load_state_dict(None) on them).
    assert set(ckpt) == {"model", "iteration"} and ckpt["iteration"] == 1000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    _assert_same_state(src, load_opengait(GaitGS("tiny"), path))
    _assert_same_state(src, load_opengait(GaitGS("tiny"), str(path)))
    _assert_same_state(src, load_opengait(GaitGS("tiny"), ckpt))  # a full checkpoint dict


def test_reference_registers_parameters_in_the_authors_order(authors_fixture):
    # The fixture's state dict comes from the authors' network: its key order is their registration order.
    assert authors_parameter_order(get_config("authors-small")) == list(authors_fixture["state_dict"])


def test_paper_optimizer_state_has_the_authors_380_tensors():
    cfg = get_config("paper")
    order = authors_parameter_order(cfg)
    with torch.device("meta"):
        ours = to_opengait_state_dict(GaitGS(cfg))
    assert len(order) == 380 and set(order) == set(ours)


def _train_steps(model, optimizer, scheduler, batches):
    for sils in batches:
        optimizer.zero_grad()
        out = model(sils)
        (out["embeddings"].square().mean() + out["view_logits"].logsumexp(-1).mean()).backward()
        optimizer.step()
        scheduler.step()


def test_opengait_resumes_training_from_our_optimizer_state(tmp_path):
    """What OpenGait does on resume: load the file into the authors' network, build Adam over
    its parameters (their order), load 'optimizer' and 'scheduler', step on. The next step must
    match ours: a moment in the wrong place (order, per-part split) would change the update."""
    cfg = get_config("authors-small", dropout=0.0)
    torch.manual_seed(0)
    ours = GaitGS(cfg).train()
    opt = torch.optim.Adam(ours.parameters(), lr=1e-2, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2], gamma=0.1)
    batches = [torch.rand(2, 5, 32, 22) for _ in range(3)]
    _train_steps(ours, opt, sched, batches[:2])
    path = save_opengait(ours, tmp_path / "GaitGS-00002.pt", iteration=2, optimizer=opt, scheduler=sched)
    ckpt = torch.load(path, weights_only=True)
    assert len(ckpt["optimizer"]["param_groups"][0]["params"]) == 228 and len(ckpt["optimizer"]["state"]) == 228
    # The per-part split: part 3 of MTB1's first convolution holds rows 12..15 of our grouped state.
    exp_avg = opt.state[ours.msfe_f.mcm.mtb1.conv_a.weight]["exp_avg"]
    index = authors_parameter_order(cfg).index("MCMs_S.conv1d3x1.3.0.conv.weight")
    assert torch.equal(ckpt["optimizer"]["state"][index]["exp_avg"], exp_avg[12:16])

    theirs = ReferenceGaitGS(cfg).train()
    theirs.load_state_dict(ckpt["model"])
    opt_t = torch.optim.Adam(theirs.parameters(), lr=1e-2, weight_decay=5e-4)
    sched_t = torch.optim.lr_scheduler.MultiStepLR(opt_t, milestones=[2], gamma=0.1)
    opt_t.load_state_dict(ckpt["optimizer"])
    sched_t.load_state_dict(ckpt["scheduler"])
    assert opt_t.param_groups[0]["lr"] == pytest.approx(1e-3)  # the milestone has passed
    _train_steps(ours, opt, sched, batches[2:])
    _train_steps(theirs, opt_t, sched_t, batches[2:])
    # Adam's moments went on from the loaded ones (a misplaced moment would be far off) ...
    ours_state = to_opengait_optimizer_state(ours, opt)["state"]
    for index, key in enumerate(authors_parameter_order(cfg)):
        for moment in ("exp_avg", "exp_avg_sq"):
            mine, reference = ours_state[index][moment], opt_t.state_dict()["state"][index][moment]
            scale = reference.abs().max().clamp(min=1e-12)  # rounding of the two networks' gradients
            torch.testing.assert_close(mine / scale, reference / scale, rtol=1e-3, atol=1e-4, msg=f"{key} {moment}")
    # ... and the weights agree. Adam divides by sqrt(exp_avg_sq): where the gradient is zero up to
    # rounding (the key bias of attention) the update is +-lr either way, hence atol = 2 lr.
    after = to_opengait_state_dict(ours)
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(after[key], value, rtol=1e-4, atol=2e-3, msg=key)


def test_optimizer_state_needs_every_parameter_in_one_group(tmp_path):
    model = GaitGS("tiny")
    with pytest.raises(ValueError, match="exactly the model's parameters"):
        save_opengait(model, tmp_path / "a.pt", optimizer=torch.optim.Adam(list(model.parameters())[:3]))
    halves = list(model.parameters())
    two_groups = torch.optim.Adam([{"params": halves[:10]}, {"params": halves[10:]}])
    with pytest.raises(ValueError, match="one parameter group"):
        save_opengait(model, tmp_path / "b.pt", optimizer=two_groups)
    assert not (tmp_path / "a.pt").exists() and not (tmp_path / "b.pt").exists()


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
