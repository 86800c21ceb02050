"""GaitGS on a CUDA GPU: the fused model equals the reference there, fp16 autocast trains with a
GradScaler, moves between devices keep the numbers. Skipped (with the reason) without CUDA;
benchmarks/device_check.sh runs them on a GPU machine."""
import pytest
import torch

from gaitgs_lib import GaitGS, get_config
from gaitgs_lib.modeling.checkpoint import load_opengait, to_opengait_state_dict
from gaitgs_lib.modeling.pieg import GeM
from gaitgs_lib.modeling.reference import ReferenceGaitGS

pytestmark = pytest.mark.cuda

MINI = dict(channels=(2, 4, 8), parts=8, depth=2, heads=2, ff_dim=16, embed_dim=8, input_hw=(16, 6), dropout=0.0)


@pytest.fixture
def exact_float32():
    """cuDNN and cuBLAS in full float32 (no TF32) for the comparisons at 1e-4."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _loss(out, w_emb, w_log):
    return (out["embeddings"].float() * w_emb).sum() + (out["view_logits"].float() * w_log).sum()


def test_fused_model_equals_the_reference_on_cuda(exact_float32):
    torch.manual_seed(1)
    cfg = get_config("authors-small", **MINI)
    ref = ReferenceGaitGS(cfg).cuda().train()
    ours = load_opengait(GaitGS(cfg), ref.state_dict()).cuda().train()
    sils = torch.rand(2, 7, 16, 6, device="cuda")
    w_emb, w_log = torch.randn(2, 8, 16, device="cuda"), torch.randn(2, 11, device="cuda")
    outs = []
    for model in (ref, ours):
        model.zero_grad()
        out = model(sils)
        _loss(out, w_emb, w_log).backward()
        outs.append(out)
    torch.testing.assert_close(outs[1]["embeddings"], outs[0]["embeddings"], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(outs[1]["view_logits"], outs[0]["view_logits"], rtol=1e-4, atol=1e-5)
    holder = GaitGS(cfg)
    holder.load_state_dict({k: p.grad.cpu() for k, p in ours.named_parameters()})
    g_ours = to_opengait_state_dict(holder)
    for key, p in ref.named_parameters():
        scale = p.grad.abs().max().clamp(min=1e-3)
        torch.testing.assert_close(g_ours[key].cuda() / scale, p.grad / scale, rtol=1e-4, atol=1e-5, msg=key)


def test_cuda_outputs_equal_cpu_outputs_and_the_round_trip_is_exact(exact_float32):
    torch.manual_seed(0)
    model = GaitGS("authors-small").eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sils = (torch.rand(2, 9, 32, 22) > 0.5).float()
    with torch.no_grad():
        cpu = model(sils)
        model.cuda()
        assert all(p.device.type == "cuda" for p in model.parameters())
        gpu = model(sils.cuda())
    torch.testing.assert_close(gpu["embeddings"].cpu(), cpu["embeddings"], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gpu["view_logits"].cpu(), cpu["view_logits"], rtol=1e-4, atol=1e-5)
    model.cpu()
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key  # weights come back bit for bit


def test_fp16_autocast_trains_with_a_grad_scaler():
    torch.manual_seed(0)
    model = GaitGS(get_config("tiny", dropout=0.0)).cuda().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda")
    sils = (torch.rand(4, 12, 32, 22, device="cuda") > 0.5).float()
    with torch.no_grad():
        reference = model(sils)
    with torch.autocast("cuda", dtype=torch.float16):
        out = model(sils)
    assert out["embeddings"].dtype == torch.float16
    # fp16 against float32 on the same input: relative error of the whole embedding tensor.
    err = (out["embeddings"].float() - reference["embeddings"]).norm() / reference["embeddings"].norm()
    assert err < 2e-2, f"fp16 autocast is {err:.2e} from float32"
    before = [p.detach().clone() for p in model.parameters()]
    for step in range(4):  # the scaler may skip the first steps (inf gradients at 2**16) and lower its scale
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16):
            out = model(sils)
        loss = out["embeddings"].float().square().mean() + out["view_logits"].float().logsumexp(-1).mean()
        scaler.scale(loss).backward()
        assert all(p.grad is not None for p in model.parameters())
        scaler.step(opt)
        scaler.update()
    assert scaler.get_scale() >= 2.0**12  # at most four halvings: most steps were taken
    changed = sum(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert changed == len(before)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_gem_stays_float32_under_fp16_autocast():
    gem = GeM(p_init=6.5).cuda()
    x = torch.full((1, 2, 3, 3), 9.0, device="cuda", dtype=torch.float16)  # 9^6.5 overflows float16
    with torch.autocast("cuda", dtype=torch.float16):
        y = gem(x)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, torch.full((1, 2), 9.0, device="cuda"), rtol=1e-4, atol=1e-4)


def test_input_checks_on_cuda():
    model = GaitGS("tiny").cuda().eval()
    sils = torch.rand(1, 4, 32, 22, device="cuda")
    sils[0, 1, 2, 3] = float("nan")
    with pytest.raises(ValueError, match=r"1 NaN/inf value\(s\)"):
        model(sils)
    with pytest.raises(ValueError, match=r"expected float32 silhouettes.*got float16"):
        model(torch.rand(1, 4, 32, 22, device="cuda").half())
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):  # under autocast fp16 input is fine
        out = model(torch.rand(1, 4, 32, 22, device="cuda").half())
    assert torch.isfinite(out["embeddings"].float()).all()
