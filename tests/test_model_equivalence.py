"""The fast GaitGS (fused B3D, folded STEM strips, grouped MCM) equals the plain reference.

Same weights through the OpenGait mapping; same outputs AND same gradients in float32.
"""
import pytest
import torch
from torch import nn

from gaitgs_lib import GaitGS, get_config
from gaitgs_lib.modeling import B3D, MCM, STEM
from gaitgs_lib.modeling.checkpoint import load_opengait, to_opengait_state_dict
from gaitgs_lib.modeling.reference import RefB3D, RefMCM, ReferenceGaitGS, RefSTEM

TOL = dict(rtol=1e-4, atol=1e-5)



def _b3d_state(ref_b3d):
    return {"conv3x3x3.weight": ref_b3d.conv3d_1.conv3d.weight, "conv1x3x3.weight": ref_b3d.conv3d_2.conv3d.weight,
            "conv3x1x1.weight": ref_b3d.conv3d_3.conv3d.weight}


def _run(module, x, weight):
    x = x.clone().requires_grad_(True)
    out = module(x)
    (out * weight).sum().backward()
    return out, x.grad


def test_b3d_fused_equals_three_convolutions():
    ref, ours = RefB3D(3, 5), B3D(3, 5)
    ours.load_state_dict(_b3d_state(ref))
    x = torch.randn(2, 3, 7, 8, 6)
    w = torch.randn(2, 5, 7, 8, 6)
    out_r, gx_r = _run(ref, x, w)
    out_o, gx_o = _run(ours, x, w)
    torch.testing.assert_close(out_o, out_r, **TOL)
    torch.testing.assert_close(gx_o, gx_r, **TOL)
    for k_ours, k_ref in (("conv3x3x3", "conv3d_1"), ("conv1x3x3", "conv3d_2"), ("conv3x1x1", "conv3d_3")):
        torch.testing.assert_close(getattr(ours, k_ours).weight.grad, getattr(ref, k_ref).conv3d.weight.grad, **TOL)


def test_b3d_fused_kernel_places_the_small_kernels():
    b = B3D(1, 1)
    with torch.no_grad():
        b.conv3x3x3.weight.zero_()
        b.conv1x3x3.weight.fill_(1.0)
        b.conv3x1x1.weight.fill_(10.0)
    k = b.fused_weight()[0, 0]  # [3, 3, 3]
    expected = torch.zeros(3, 3, 3)
    expected[1] += 1.0
    expected[:, 1, 1] += 10.0
    assert torch.equal(k, expected)


def test_stem_folded_strips_equal_the_strip_loop():
    ref, ours = RefSTEM(2, 4), STEM(2, 4)
    ours.global_b3d.load_state_dict(_b3d_state(ref.plain))
    ours.local_b3d.load_state_dict(_b3d_state(ref.shortcut))
    x = torch.randn(2, 2, 5, 16, 6)
    w = torch.randn(2, 4, 5, 16, 6)
    out_r, gx_r = _run(ref, x, w)
    out_o, gx_o = _run(ours, x, w)
    torch.testing.assert_close(out_o, out_r, **TOL)
    torch.testing.assert_close(gx_o, gx_r, **TOL)
    torch.testing.assert_close(ours.local_b3d.conv3x3x3.weight.grad, ref.shortcut.conv3d_1.conv3d.weight.grad, **TOL)


def test_stem_local_branch_does_not_cross_strips():
    stem = STEM(1, 1)
    nn.init.zeros_(stem.global_b3d.conv3x3x3.weight)
    for conv in (stem.global_b3d.conv1x3x3, stem.global_b3d.conv3x1x1):
        nn.init.zeros_(conv.weight)
    x = torch.zeros(1, 1, 3, 16, 4)
    x[..., 2:4, :] = 1.0  # exactly the second strip
    with torch.no_grad():
        out = stem(x)
    assert out[..., :2, :].abs().sum() == 0 and out[..., 4:, :].abs().sum() == 0


def test_mcm_grouped_equals_per_part_loop():
    c, p = 8, 5
    ref, ours = RefMCM(c, p), MCM(c, p)
    with torch.no_grad():
        for mtb, name in ((ours.mtb1, "conv1d3x1"), (ours.mtb2, "conv1d3x3")):
            seqs = getattr(ref, name)
            mtb.conv_a.weight.copy_(torch.cat([s[0].conv.weight for s in seqs]))
            mtb.conv_b.weight.copy_(torch.cat([s[2].conv.weight for s in seqs]))
    for s in (1, 2, 6):
        x = torch.randn(3, c, s, p)
        w = torch.randn(3, c, s, p)
        for m in (ref, ours):
            m.zero_grad()
        out_r, gx_r = _run(ref, x, w)
        out_o, gx_o = _run(ours, x, w)
        torch.testing.assert_close(out_o, out_r, **TOL)
        torch.testing.assert_close(gx_o, gx_r, **TOL)
        g_ref = torch.cat([q[2].conv.weight.grad for q in ref.conv1d3x3])
        torch.testing.assert_close(ours.mtb2.conv_b.weight.grad, g_ref, **TOL)


# A miniature of the network (every block present, 16x6 input) keeps the reference fast.
MINI = dict(channels=(2, 4, 8), parts=8, depth=2, heads=2, ff_dim=16, embed_dim=8, input_hw=(16, 6), dropout=0.0)


@pytest.fixture(scope="module")
def pair():
    """(reference, ours) with the same random weights, dropout off so train mode is deterministic."""
    torch.manual_seed(1)
    cfg = get_config("authors-small", **MINI)
    ref = ReferenceGaitGS(cfg)
    ours = load_opengait(GaitGS(cfg), ref.state_dict())
    return ref, ours


def _grads_in_authors_names(model):
    holder = GaitGS(model.cfg)
    holder.load_state_dict({k: p.grad for k, p in model.named_parameters()})
    return to_opengait_state_dict(holder)


@pytest.mark.parametrize("s", [1, 2, 4, 7, 11])
def test_full_model_outputs_and_gradients_match_reference(pair, s):
    ref, ours = pair
    # Continuous values: binary silhouettes create exact ties in the max-pools, where the
    # two implementations may route the (sub-)gradient to different, equally valid, inputs.
    sils = torch.rand(2, s, 16, 6)
    w_emb, w_log = torch.randn(2, 8, 16), torch.randn(2, 11)
    outs, grads = [], []
    for model in (ref, ours):
        model.train()
        model.zero_grad()
        out = model(sils)
        ((out["embeddings"] * w_emb).sum() + (out["view_logits"] * w_log).sum()).backward()
        outs.append(out)
    torch.testing.assert_close(outs[1]["embeddings"], outs[0]["embeddings"], **TOL)
    torch.testing.assert_close(outs[1]["view_logits"], outs[0]["view_logits"], **TOL)
    g_ref = {k: p.grad for k, p in ref.named_parameters()}
    g_ours = _grads_in_authors_names(ours)
    assert set(g_ref) == set(g_ours)
    for key in g_ref:
        scale = g_ref[key].abs().max().clamp(min=1e-3)
        torch.testing.assert_close(g_ours[key] / scale, g_ref[key] / scale, rtol=1e-4, atol=1e-5, msg=key)


def test_full_model_eval_outputs_match_on_binary_silhouettes(pair):
    ref, ours = pair
    sils = (torch.rand(3, 9, 16, 6) > 0.5).float()
    with torch.no_grad():
        out_r, out_o = ref.eval()(sils), ours.eval()(sils)
    torch.testing.assert_close(out_o["embeddings"], out_r["embeddings"], **TOL)
    torch.testing.assert_close(out_o["view_logits"], out_r["view_logits"], **TOL)


def test_reference_loads_the_authors_fixture_and_matches(authors_fixture):
    ref = ReferenceGaitGS(get_config("authors-small")).eval()
    ref.load_state_dict(authors_fixture["state_dict"])
    with torch.no_grad():
        for case in authors_fixture["cases"]:
            out = ref(case["sils"])
            torch.testing.assert_close(out["embeddings"], case["embeddings"], atol=2e-5, rtol=1e-5)
            torch.testing.assert_close(out["view_logits"], case["view_logits"], atol=2e-5, rtol=1e-5)
