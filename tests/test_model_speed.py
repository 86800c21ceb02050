"""The speed seam (`modeling/speed.py`) computes what the plain computation computes (benchmarks/README.md, "Model speed").

Horizontal pooling and PIEG's temporal max reduce channels-last maps where they lie; STEM's
folded strips are made again for the backward pass instead of kept; MGFE runs a large batch
in chunks of sequences and keeps no second copy of their outputs. Each is checked against
the plain computation, values and gradients, and the memory ones by what they free.
"""
import gc
import weakref

import pytest
import torch
import torch.nn.functional as F

from gaitgs_lib import GaitGS, get_config
from gaitgs_lib.modeling import HorizontalPooling, speed
from gaitgs_lib.modeling.pieg import temporal_max
from gaitgs_lib.modeling.speed import conv3d, conv3d_memory_format, is_channels_last
from gaitgs_lib.modeling.stem import STEM, fold_strips


def _chunk(model, x):
    """Sequences per chunk that GaitGS `model`'s MGFE takes for `x` `[n, 1, s, h, w]`."""
    return speed.chunk_size(x, model.mgfe.stem_f0.global_b3d.conv3x3x3.out_channels)


def _value_and_grad(fn, x, weight):
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    (out * weight).sum().backward()
    return out, x.grad


def test_channels_last_layout_helpers():
    x = torch.rand(2, 3, 4, 8, 5)
    cl = conv3d_memory_format(x)
    assert is_channels_last(cl) and not is_channels_last(x) and torch.equal(cl, x)


@pytest.mark.parametrize("cin, kernel, stride, padding", [
    (1, (3, 3, 3), 1, 1),          # the first input convolution
    (8, (1, 1, 1), 1, 0),          # the second
    (8, (3, 1, 1), (3, 1, 1), 0),  # UTA
    (8, (3, 3, 3), 1, 1),          # a B3D
])
def test_conv3d_of_one_sequence_equals_it_in_a_batch(cin, kernel, stride, padding):
    """A batch of one gets the numbers (and gradients) the same sequence gets in a batch of three."""
    torch.manual_seed(0)
    batch = torch.randn(3, cin, 12, 16, 11)
    weight = torch.randn(8, cin, *kernel)
    plain = torch.nn.functional.conv3d(batch, weight, stride=stride, padding=padding)
    together = conv3d(batch, weight, stride=stride, padding=padding)
    torch.testing.assert_close(together, plain, rtol=1e-5, atol=1e-5)
    one = batch[1:2].clone().requires_grad_(True)
    w = weight.clone().requires_grad_(True)
    alone = conv3d(one, w, stride=stride, padding=padding)
    assert torch.equal(alone, together[1:2]) and is_channels_last(alone)
    alone.square().sum().backward()
    ref_x, ref_w = batch[1:2].clone().requires_grad_(True), weight.clone().requires_grad_(True)
    torch.nn.functional.conv3d(ref_x, ref_w, stride=stride, padding=padding).square().sum().backward()
    for grad, ref in ((one.grad, ref_x.grad), (w.grad, ref_w.grad)):  # sums of hundreds of terms: relative to the largest
        scale = ref.abs().max()
        torch.testing.assert_close(grad / scale, ref / scale, rtol=0, atol=1e-5)


def test_one_sequence_does_not_take_pytorchs_native_3d_convolution():
    """The model's convolutions run through oneDNN for a single walker too (native: ~10x slower)."""
    if not torch.backends.mkldnn.is_available():
        pytest.skip("this PyTorch build has no oneDNN")
    model = GaitGS("tiny").eval()
    with torch.no_grad(), torch.profiler.profile() as prof:
        model(torch.rand(1, 30, 32, 22))
    names = {event.key for event in prof.key_averages()}
    assert "aten::mkldnn_convolution" in names
    assert not any("slow_conv3d" in name for name in names), sorted(n for n in names if "conv" in n)


def test_horizontal_pooling_of_a_channels_last_map_equals_the_plain_one():
    hp = HorizontalPooling(4)
    x = torch.randn(2, 3, 5, 16, 6)  # continuous values: no ties in the max
    w = torch.randn(2, 3, 5, 4)
    plain, g_plain = _value_and_grad(hp, x, w)
    fast, g_fast = _value_and_grad(hp, x.contiguous(memory_format=torch.channels_last_3d), w)
    torch.testing.assert_close(fast, plain, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(g_fast, g_plain, rtol=1e-6, atol=1e-6)


def test_temporal_max_of_a_channels_last_map_equals_the_plain_one():
    x = torch.randn(2, 3, 7, 4, 5)
    w = torch.randn(2, 3, 4, 5)
    plain, g_plain = _value_and_grad(temporal_max, x, w)
    fast, g_fast = _value_and_grad(temporal_max, x.contiguous(memory_format=torch.channels_last_3d), w)
    assert torch.equal(fast, plain) and torch.equal(g_fast, g_plain)
    assert torch.equal(plain, x.amax(2))


def test_chunk_size_follows_the_memory_budget():
    small, tiny = GaitGS("small"), GaitGS("tiny")
    # small: the first STEM's map is 16 x 30 x 64 x 44 floats = 5.4 MB per sequence -> 6 per 32 MiB chunk
    assert _chunk(small, torch.empty(32, 1, 30, 64, 44)) == 6
    assert _chunk(tiny, torch.empty(32, 1, 30, 32, 22)) == 32  # 0.7 MB per sequence: one chunk
    assert _chunk(small, torch.empty(32, 1, 30, 64, 44, device="meta")) == 32  # chunks only on a CPU
    paper = GaitGS("paper")  # 64 x 30 x 64 x 44 floats = 21.6 MB: fewer than two per chunk -> the whole batch
    assert _chunk(paper, torch.empty(4, 1, 30, 64, 44)) == 4
    with torch.no_grad():  # evaluation: an 8 MiB budget
        assert _chunk(tiny, torch.empty(32, 1, 87, 32, 22)) == 4  # 1.96 MB per sequence
        assert _chunk(small, torch.empty(32, 1, 30, 64, 44)) == 1  # 5.4 MB: one fits
        assert _chunk(small, torch.empty(32, 1, 87, 64, 44)) == 1  # 15.7 MB: never fewer than one


def test_mgfe_in_chunks_equals_the_whole_batch_without_autograd(monkeypatch):
    torch.manual_seed(0)
    model = GaitGS("tiny").eval()
    sils = torch.rand(5, 87, 32, 22)
    monkeypatch.setattr(speed, "CPU_INFERENCE_CHUNK_BYTES", 2**40)
    with torch.no_grad():
        whole = model(sils)["embeddings"]
        monkeypatch.setattr(speed, "CPU_INFERENCE_CHUNK_BYTES", 1)  # the floor: one sequence per chunk
        assert _chunk(model, sils[:, None]) == 1
        chunked = model(sils)["embeddings"]
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)


def test_mgfe_in_chunks_equals_the_whole_batch(monkeypatch):
    torch.manual_seed(0)
    model = GaitGS(get_config("authors-small", dropout=0.0)).train()
    sils = torch.rand(5, 7, 32, 22)
    w = torch.randn(5, 32, 32)
    results = []
    per_sequence = 8 * 7 * 32 * 22 * 4  # the first STEM's map: c1 = 8 channels x 7 frames x 32 x 22 floats
    for budget in (2**40, 2 * per_sequence):  # one chunk, then chunks of 2 sequences (2, 2, 1)
        monkeypatch.setattr(speed, "CPU_CHUNK_BYTES", budget)
        model.zero_grad()
        out = model(sils)
        ((out["embeddings"] * w).sum() + out["view_logits"].sum()).backward()
        results.append((out, {k: p.grad.clone() for k, p in model.named_parameters()}))
    assert _chunk(model, sils[:, None]) == 2
    (whole, g_whole), (chunked, g_chunked) = results
    torch.testing.assert_close(chunked["embeddings"], whole["embeddings"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(chunked["view_logits"], whole["view_logits"], rtol=1e-5, atol=1e-6)
    for key, grad in g_whole.items():
        scale = grad.abs().max().clamp(min=1e-6)  # per-chunk weight gradients are summed in another order
        torch.testing.assert_close(g_chunked[key] / scale, grad / scale, rtol=1e-4, atol=1e-5, msg=key)


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_intermediates_are_the_same_with_and_without_chunks(preset, monkeypatch):
    """`return_intermediates=True` runs MGFE in one piece; its outputs match the chunked run."""
    monkeypatch.setattr(speed, "CPU_CHUNK_BYTES", 1)  # one sequence per chunk
    cfg = get_config(preset)
    model = GaitGS(cfg).eval()
    sils = torch.rand(3, 4, *cfg.input_hw)
    with torch.no_grad():
        a = model(sils)["embeddings"]
        b = model(sils, return_intermediates=True)["embeddings"]
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_reduce_takes_torch_max_over_the_merged_axes():
    """Ties: the whole gradient goes to one maximum (torch.max), not split between them (einops' amax)."""
    x = torch.zeros(1, 2, 3, 4, 2, requires_grad=True)  # every value tied
    out = speed.reduce(x, "n c s (p r) w -> n c s p", "max", p=2)
    assert out.shape == (1, 2, 3, 2)
    out.sum().backward()
    assert x.grad.sum() == out.numel() and set(x.grad.unique().tolist()) == {0.0, 1.0}


def test_reduce_of_a_channels_last_map_gives_a_channels_last_gradient():
    x = torch.randn(2, 3, 5, 8, 4).contiguous(memory_format=torch.channels_last_3d).requires_grad_(True)
    speed.reduce(x, "n c s (p r) w -> n c s p", "mean", "max", p=4).sum().backward()
    assert is_channels_last(x.grad)


def test_rearrange_keeps_a_channels_last_map_channels_last():
    x = torch.randn(2, 3, 5, 8, 4)
    plain = fold_strips(x, 4)
    fast = fold_strips(x.contiguous(memory_format=torch.channels_last_3d), 4)
    assert torch.equal(fast, plain) and is_channels_last(fast) and fast.shape == (8, 3, 5, 2, 4)


@pytest.mark.parametrize("pattern", ["c n s h w -> c n h w", "n c s h w -> n c s h w", "n c s h w -> n c h"])
def test_speed_patterns_say_what_they_need(pattern):
    x = torch.randn(1, 2, 3, 4, 5).contiguous(memory_format=torch.channels_last_3d)
    with pytest.raises(ValueError, match="pattern|drop"):
        speed.reduce(x, pattern, "max")


def test_stem_keeps_no_folded_copy_for_the_backward_pass():
    """The folded strips are freed after the forward pass and made again for the backward pass."""
    torch.manual_seed(0)
    stem = STEM(4, 6)
    x = torch.randn(2, 4, 5, 16, 6).contiguous(memory_format=torch.channels_last_3d).requires_grad_(True)
    made = []

    def fold(t, k):
        out = fold_strips(t, k)
        made.append(weakref.ref(out))
        return out

    y = speed.recompute_for_backward(stem.local_b3d, fold, x, stem.strips)
    gc.collect()
    assert len(made) == 1 and made[0]() is None  # nothing keeps the forward pass's copy
    y.square().sum().backward()
    assert len(made) == 2  # made again for the backward pass
    got = [x.grad] + [p.grad for p in stem.local_b3d.parameters()]
    x_ref = x.detach().clone().requires_grad_(True)
    stem.zero_grad(set_to_none=True)
    ref = stem.local_b3d(fold_strips(x_ref, stem.strips))
    ref.square().sum().backward()
    assert torch.equal(ref, y)
    for g, r in zip(got, [x_ref.grad] + [p.grad for p in stem.local_b3d.parameters()]):
        assert torch.equal(g, r)


def test_in_chunks_frees_the_chunks_outputs():
    """The backward pass keeps rows of the joined output, not the chunks' own copies; gradients are unchanged."""
    torch.manual_seed(0)
    w = torch.randn(3, 2, 1, 1, 1, requires_grad=True)
    x = torch.randn(4, 2, 3, 4, 4)
    pieces = []

    def fn(part):
        y = F.leaky_relu(F.conv3d(part, w), inplace=True)  # keeps its output for the backward pass
        pieces.append(weakref.ref(y))
        return y, None

    joined, none = speed.in_chunks(fn, x, 1)
    gc.collect()
    assert none is None and len(pieces) == 4 and all(p() is None for p in pieces)
    (joined * torch.arange(joined.numel()).reshape(joined.shape)).sum().backward()
    chunked = w.grad.clone()
    w.grad = None
    whole = F.leaky_relu(F.conv3d(x, w))
    assert torch.equal(whole, joined)
    (whole * torch.arange(whole.numel()).reshape(whole.shape)).sum().backward()
    torch.testing.assert_close(chunked, w.grad)


def test_max_pool_keeps_only_the_indices_and_gives_the_same_gradient():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 8, 6).contiguous(memory_format=torch.channels_last_3d).requires_grad_(True)
    w = torch.randn(2, 3, 4, 4, 3)
    plain, g_plain = _value_and_grad(lambda t: F.max_pool3d(t, (1, 2, 2), (1, 2, 2)), x, w)
    lean, g_lean = _value_and_grad(lambda t: speed.max_pool3d(t, (1, 2, 2), (1, 2, 2)), x, w)
    assert torch.equal(lean, plain) and torch.equal(g_lean, g_plain) and is_channels_last(g_lean)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        speed.max_pool3d(x, (1, 2, 2), (1, 2, 2))
    assert [t.dtype for t in saved] == [torch.int64]  # the indices, not the input
