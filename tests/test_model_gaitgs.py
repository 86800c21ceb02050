"""GaitGS forward: shapes for every preset, intermediates, ablations, short sequences, autocast, input checks."""
import copy

import pytest
import torch

from gaitgs_lib import MODEL_PRESETS, GaitGS, get_config
from gaitgs_lib.modeling import GeM, HorizontalPooling, UTA, EncoderLayer
from gaitgs_lib.modeling.gaitgs import tile_short_sequence



@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(0)
    return GaitGS("authors-small").eval()


@pytest.mark.parametrize("name", list(MODEL_PRESETS))
def test_output_shapes_of_every_preset(name):
    cfg = get_config(name)
    with torch.no_grad():
        out = GaitGS(cfg).eval()(torch.rand(2, 3, *cfg.input_hw))
    assert out["embeddings"].shape == (2, cfg.embed_dim, 2 * cfg.parts)
    assert out["view_logits"].shape == (2, cfg.views)
    assert "intermediates" not in out


def test_intermediates_have_the_documented_shapes(small_model):
    n, s = 2, 7
    out = small_model(torch.rand(n, s, 32, 22), return_intermediates=True)
    shapes = {k: tuple(v.shape) for k, v in out["intermediates"].items()}
    u = s // 3
    assert shapes == {
        "input_conv": (n, 4, s, 32, 22), "uta0_units": (n, 4, u, 32, 22),
        "S_f": (n, 16, s, 16, 11), "S_c": (n, 16, u, 16, 11),
        "f_hp": (n, 16, s, 16), "c_hp": (n, 16, u, 16),
        "f_mtb1_attention": (n, 16, s, 16), "f_mtb2_attention": (n, 16, s, 16),
        "c_mtb1_attention": (n, 16, u, 16), "c_mtb2_attention": (n, 16, u, 16),
        "f_attention_0": (n, 16, 2, s + 1, s + 1), "f_attention_1": (n, 16, 2, s + 1, s + 1),
        "c_attention_0": (n, 16, 2, u + 1, u + 1), "c_attention_1": (n, 16, 2, u + 1, u + 1),
        "pieg_view": (n,), "pieg_prior": (n, 16),
    }
    att = out["intermediates"]["f_attention_1"]
    torch.testing.assert_close(att.sum(-1), torch.ones_like(att.sum(-1)))  # rows are distributions
    assert torch.equal(out["intermediates"]["pieg_view"], out["view_logits"].argmax(-1))
    plain = small_model(torch.rand(1, 3, 32, 22))
    assert set(plain) == {"embeddings", "view_logits"}


def test_intermediates_do_not_change_the_outputs(small_model):
    x = torch.rand(2, 6, 32, 22)
    with torch.no_grad():
        a = small_model(x)
        b = small_model(x, return_intermediates=True)
    torch.testing.assert_close(a["embeddings"], b["embeddings"], rtol=1e-5, atol=1e-6)


def test_short_sequences_are_tiled(small_model):
    one, two = torch.rand(1, 1, 32, 22), torch.rand(1, 2, 32, 22)
    assert torch.equal(tile_short_sequence(one), one.repeat(1, 3, 1, 1))
    assert torch.equal(tile_short_sequence(two)[:, [0, 1, 2, 3]], two[:, [0, 1, 0, 1]])
    with torch.no_grad():
        torch.testing.assert_close(small_model(one)["embeddings"], small_model(one.repeat(1, 3, 1, 1))["embeddings"])
        torch.testing.assert_close(small_model(two)["embeddings"], small_model(two.repeat(1, 2, 1, 1))["embeddings"])


@pytest.mark.parametrize("switch, parts", [("use_coarse", 16), ("use_mcm", 32), ("use_global_span", 32),
                                           ("use_pieg_prior", 32)])
def test_ablations(switch, parts):
    torch.manual_seed(0)
    model = GaitGS(get_config("authors-small", **{switch: False})).eval()
    out = model(torch.rand(2, 4, 32, 22), return_intermediates=True)
    assert out["embeddings"].shape == (2, 32, parts)
    assert out["view_logits"].shape == (2, 11)
    names = {k for k, _ in model.named_parameters()}
    inter = out["intermediates"]
    if switch == "use_coarse":
        assert not any(k.startswith(("msfe_c.", "mgfe.uta", "mgfe.stem_c")) for k in names)
        assert inter["S_c"] is None and model.pieg.view_cls.in_features == 16
    if switch == "use_mcm":
        assert not any(".mcm." in k or "fc_local" in k for k in names) and "f_mtb1_attention" not in inter
    if switch == "use_global_span":
        assert not any(".gcm." in k for k in names) and "pieg.v_view" not in names
    if switch == "use_pieg_prior":
        assert "pieg.v_view" not in names and inter["pieg_prior"] is None


def test_prior_changes_the_embedding():
    torch.manual_seed(0)
    model = GaitGS("authors-small").eval()
    x = torch.rand(1, 5, 32, 22)
    with torch.no_grad():
        before = model(x)["embeddings"]
        model.pieg.v_view.add_(1.0)
        after = model(x)["embeddings"]
    assert not torch.allclose(before, after)


def test_cpu_bfloat16_autocast_matches_float32_on_the_same_input(small_model):
    x = torch.rand(2, 5, 32, 22)
    with torch.no_grad():
        ref = small_model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = small_model(x, return_intermediates=True)
    assert out["embeddings"].dtype == torch.bfloat16
    # bfloat16 keeps 8 significant bits (relative rounding 2**-8 = 4e-3 per operation); through
    # the whole network the error stays near 1e-2 (measured 5e-3 for the embeddings, 4e-3 for the logits).
    for key in ("embeddings", "view_logits"):
        err = (out[key].float() - ref[key]).norm() / ref[key].norm()
        assert err < 3e-2, f"{key}: bfloat16 autocast is {err:.2e} from float32"
    assert torch.isfinite(out["intermediates"]["S_f"].float()).all()


def test_train_step_under_autocast_backpropagates():
    model = GaitGS("authors-small").train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.rand(2, 4, 32, 22))
    (out["embeddings"].float().square().mean() + out["view_logits"].float().logsumexp(-1).mean()).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("shape, message", [
    ((1, 1, 5, 32, 22), r"rank 4 \[n, s, h, w\].*squeeze\(1\)"),
    ((5, 32, 22), r"rank 4 \[n, s, h, w\], got shape \(5, 32, 22\)"),
    ((1, 5, 64, 44), r"config 'authors-small'.*expected frames of 32x22, got 64x44"),
])
def test_bad_input_shapes_are_explained(small_model, shape, message):
    with pytest.raises(ValueError, match=message):
        small_model(torch.rand(shape))


def test_integer_input_is_explained(small_model):
    with pytest.raises(ValueError, match=r"float silhouettes in \[0, 1\].*/ 255"):
        small_model(torch.zeros(1, 5, 32, 22, dtype=torch.uint8))


def test_floats_in_0_255_are_explained(small_model):
    frames = (torch.rand(1, 5, 32, 22) > 0.5).float() * 255  # uint8 frames converted without / 255
    with pytest.raises(ValueError, match=r"values up to 255: frames in 0\.\.255 must be divided by 255 \(sils / 255\)"):
        small_model(frames)


def test_values_outside_0_1_are_explained(small_model):
    with pytest.raises(ValueError, match=r"expected silhouettes in \[0, 1\], got values in \[-0\.5, 0\.5\]"):
        small_model(torch.linspace(-0.5, 0.5, 5 * 32 * 22).reshape(1, 5, 32, 22))


def test_nan_and_inf_inputs_are_counted(small_model):
    sils = torch.rand(2, 5, 32, 22)
    sils[0, 0, 0, :3] = float("nan")
    sils[1, 4, 31, 21] = float("inf")
    sils[1, 2, 3, 4] = -float("inf")
    with pytest.raises(ValueError, match=r"holds 5 NaN/inf value\(s\) out of 7040"):
        small_model(sils)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_float_dtypes_are_explained(small_model, dtype):
    name = str(dtype).replace("torch.", "")
    with pytest.raises(ValueError, match=rf"expected float32 silhouettes \(the dtype of the model's weights\), "
                                         rf"got {name}; cast the input with sils.to\(torch.float32\)"):
        small_model(torch.rand(1, 5, 32, 22).to(dtype))


def test_autocast_dtype_is_accepted(small_model):
    x = torch.rand(1, 5, 32, 22)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        a = small_model(x.bfloat16())["embeddings"]
        b = small_model(x)["embeddings"]
    assert small_model.input_dtypes() == (torch.float32,)  # outside autocast
    torch.testing.assert_close(a, b, rtol=0, atol=0)  # autocast casts float32 input to bfloat16 anyway


def test_blocks_on_hand_made_inputs():
    # HP: mean + max of each strip's pixels.
    x = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(1, 1, 2, 4, 3)  # [n, c, s, h=4, w=3]
    hp = HorizontalPooling(2)(x)  # [1, 1, 2, 2]
    assert torch.equal(hp[0, 0, 0], torch.tensor([2.5 + 5.0, 8.5 + 11.0]))
    # GeM with P = 1 is the mean; with large P it tends to the max.
    gem = GeM(p_init=1.0)
    z = torch.tensor([[[[1.0, 2.0], [3.0, 6.0]]]])
    torch.testing.assert_close(gem(z), torch.tensor([[3.0]]))
    # UTA: s frames -> floor(s / 3) units.
    assert UTA(2)(torch.rand(1, 2, 8, 3, 3)).shape == (1, 2, 2, 3, 3)


def test_encoder_layer_equals_pytorch_pre_norm_layer():
    torch.manual_seed(0)
    ours = EncoderLayer(16, 4, 32, dropout=0.0).eval()
    theirs = torch.nn.TransformerEncoderLayer(16, 4, 32, 0.0, activation="gelu", batch_first=True, norm_first=True).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(5, 9, 16)
    y, w = ours(x, need_weights=True)
    torch.testing.assert_close(y, theirs(x), rtol=1e-5, atol=1e-5)
    _, w_ref = ours.self_attn(ours.norm1(x), ours.norm1(x), ours.norm1(x), average_attn_weights=False)
    torch.testing.assert_close(w, w_ref)
    assert w.shape == (5, 4, 9, 9) and ours(x)[1] is None


def test_dtype_round_trip_keeps_the_numbers(small_model):
    model = copy.deepcopy(small_model)
    x = torch.rand(1, 4, 32, 22)
    with torch.no_grad():
        ref = model(x)
        out64 = model.double()(x.double())
        back = model.float()(x)
    assert out64["embeddings"].dtype == torch.float64
    torch.testing.assert_close(out64["embeddings"].float(), ref["embeddings"], rtol=1e-4, atol=1e-5)
    assert torch.equal(back["embeddings"], ref["embeddings"])  # float32 -> float64 -> float32 is exact
    for key, value in model.state_dict().items():
        assert torch.equal(value, small_model.state_dict()[key]), key


def test_meta_device_model_runs_and_moves_to_the_cpu(small_model):
    with torch.device("meta"):
        paper = GaitGS("paper")  # 11.8 M parameters, no memory
        small = GaitGS("authors-small")
    out = paper(torch.empty(2, 30, 64, 44, device="meta"))  # shapes only: no value checks on 'meta'
    assert out["embeddings"].shape == (2, 256, 64) and out["embeddings"].device.type == "meta"
    small = small.to_empty(device="cpu")  # meta -> cpu, then real weights: the real numbers
    small.load_state_dict(small_model.state_dict())
    x = torch.rand(1, 4, 32, 22)
    with torch.no_grad():
        assert torch.equal(small.eval()(x)["embeddings"], small_model(x)["embeddings"])


def test_gem_equals_the_plain_formula_and_survives_a_dead_channel_at_large_p():
    torch.manual_seed(0)
    x = torch.rand(3, 5, 4, 6)
    x[0, 1] = 0.0  # a dead channel: clamped to eps everywhere
    for p in (1.0, 3.0, 6.5, 9.0):
        gem = GeM(p_init=p)
        xd = x.double().clamp(min=gem.eps)
        plain = xd.pow(p).flatten(2).mean(-1).pow(1.0 / p)  # the formula, in float64
        torch.testing.assert_close(gem(x).double(), plain, rtol=1e-5, atol=1e-12)
    # float32's plain formula underflows here (1e-6 ** 9 = 0) and gives p a -inf gradient.
    gem = GeM(p_init=9.0)
    x.requires_grad_(True)
    gem(x).sum().backward()
    assert torch.isfinite(gem.p.grad) and torch.isfinite(x.grad).all()
    # The gradient of p equals the float64 formula's.
    p64 = torch.tensor(9.0, dtype=torch.float64, requires_grad=True)
    x64 = x.detach().double().clamp(min=1e-6)
    x64.pow(p64).flatten(2).mean(-1).pow(1.0 / p64).sum().backward()
    torch.testing.assert_close(gem.p.grad.double(), p64.grad, rtol=1e-4, atol=1e-6)
