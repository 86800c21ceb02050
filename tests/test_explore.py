"""The pure functions behind notebook 07's widgets (gaitgs_lib/explore.py)."""
import numpy as np
import pytest
import torch

from gaitgs_lib import GaitGS
from gaitgs_lib import explore as ex
from gaitgs_lib.evaluation import part_distance



def test_unit_groups_cover_whole_units_and_drop_the_rest():
    assert ex.unit_groups(7, 3) == [[0, 1, 2], [3, 4, 5]]
    assert ex.unit_groups(6, 2) == [[0, 1], [2, 3], [4, 5]]
    assert ex.unit_groups(2, 3) == []
    assert ex.unit_groups(0, 1) == []


def test_unit_groups_match_uta_output_length():
    model = GaitGS("tiny").eval()
    out = model(torch.rand(1, 11, 32, 22), return_intermediates=True)
    assert out["intermediates"]["uta0_units"].shape[2] == len(ex.unit_groups(11, 3)) == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_unit_groups_rejects_bad_unit(bad):
    with pytest.raises(ValueError, match="unit must be a positive int"):
        ex.unit_groups(10, bad)


def test_mcm_windows_inside_and_at_the_borders():
    w = ex.mcm_windows(10, 4)
    assert w == {3: {"frames": [3, 4, 5], "padded": []}, 5: {"frames": [2, 3, 4, 5, 6], "padded": []}}
    assert ex.mcm_windows(10, 0)[5] == {"frames": [0, 1, 2], "padded": [-2, -1]}
    assert ex.mcm_windows(10, 9, sizes=(3,))[3] == {"frames": [8, 9], "padded": [10]}


def test_mcm_windows_equal_the_pooling_receptive_field():
    # A one-hot impulse at frame j reaches output t of MaxPool1d(k, 1, k//2) iff j is in t's window.
    s = 9
    for k in (3, 5):
        pool = torch.nn.MaxPool1d(k, 1, k // 2)
        for j in range(s):
            x = torch.zeros(1, 1, s)
            x[0, 0, j] = 1
            hit = pool(x)[0, 0]
            for t in range(s):
                assert bool(hit[t]) == (j in ex.mcm_windows(s, t, (k,))[k]["frames"])


def test_mcm_windows_errors():
    with pytest.raises(ValueError, match="outside the sequence"):
        ex.mcm_windows(5, 5)
    with pytest.raises(ValueError, match="odd positive"):
        ex.mcm_windows(5, 2, sizes=(4,))


def test_select_span():
    assert ex.select_span(50, 30) == (0, 30)
    assert ex.select_span(50, 30, start=40) == (20, 50)
    assert ex.select_span(10, 30, start=3) == (0, 10)
    with pytest.raises(ValueError, match="span must be >= 1"):
        ex.select_span(10, 0)


def test_fit_frames_cuts_sides_and_resizes():
    frames = np.zeros((4, 64, 64), np.uint8)
    frames[:, :, 10:54] = 255  # exactly the 44 kept columns
    x = ex.fit_frames(frames, (64, 44))
    assert x.shape == (4, 64, 44) and x.dtype == torch.float32
    assert torch.equal(x, torch.ones(4, 64, 44))
    small = ex.fit_frames(frames, (32, 22))
    assert small.shape == (4, 32, 22)
    torch.testing.assert_close(small, torch.ones(4, 32, 22))
    same = torch.rand(3, 32, 22)
    assert torch.equal(ex.fit_frames(same, (32, 22)), same)
    with pytest.raises(ValueError, match=r"expected silhouettes \[s, h, w\]"):
        ex.fit_frames(np.zeros((2, 3)), (32, 22))


def test_span_distances_equal_embedding_then_part_distance():
    torch.manual_seed(0)
    model = GaitGS("tiny").eval()
    probe = (torch.rand(12, 32, 22) > 0.5).float()
    gallery = torch.randn(3, 64, 32)
    d = ex.span_distances(model, probe, gallery, spans=[3, 12], start=2)
    assert d.shape == (2, 3)
    with torch.no_grad():
        e3 = model(probe[None, 2:5])["embeddings"]
        e12 = model(probe[None, :12])["embeddings"]
    np.testing.assert_allclose(d[0], part_distance(e3, gallery)[0].numpy(), rtol=1e-5)
    np.testing.assert_allclose(d[1], part_distance(e12, gallery)[0].numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="does not match gallery"):
        ex.span_distances(model, probe, torch.randn(3, 32, 32), spans=[3])


def test_embed_sequence_restores_training_mode():
    model = GaitGS("tiny").train()
    out = ex.embed_sequence(model, torch.rand(5, 32, 22))
    assert out["embeddings"].shape == (1, 64, 32)
    assert model.training


def test_class_token_attention_picks_row_zero_without_the_token_itself():
    a = torch.zeros(1, 2, 3, 4, 4)
    a[..., 0, :] = torch.tensor([0.1, 0.2, 0.3, 0.4])
    a[0, 1, :, 0, :] = torch.tensor([0.4, 0.3, 0.2, 0.1])
    out = ex.class_token_attention(a)
    assert out.shape == (1, 2, 3, 3)
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([0.2, 0.3, 0.4]))
    both = ex.class_token_attention(a, reduce_heads=True, reduce_parts=True)
    torch.testing.assert_close(both, torch.tensor([[0.25, 0.25, 0.25]]))
    with pytest.raises(ValueError, match=r"\[n, p, heads, s\+1, s\+1\]"):
        ex.class_token_attention(torch.zeros(2, 4, 4))


def test_attention_keys_and_mcm_attention_from_a_forward_pass():
    model = GaitGS("authors-small").eval()
    with torch.no_grad():
        inter = model(torch.rand(1, 9, 32, 22), return_intermediates=True)["intermediates"]
    assert ex.attention_keys(inter, "fine") == ["f_attention_0", "f_attention_1"]
    assert ex.attention_keys(inter, "coarse") == ["c_attention_0", "c_attention_1"]
    a = ex.class_token_attention(inter["f_attention_0"])  # [1, 16, 2, 9]
    assert a.shape == (1, 16, 2, 9)
    assert bool((a.sum(-1) <= 1 + 1e-6).all())
    m = ex.mcm_attention_over_time(inter["f_mtb1_attention"])
    assert m.shape == (9, 16) and bool(((m > 0) & (m < 1)).all())
    with pytest.raises(ValueError, match="branch must be"):
        ex.attention_keys(inter, "both")


def test_stride_signal_measures_the_feet_band():
    f = torch.zeros(3, 8, 10)
    f[0, 6:, 2:5] = 1  # feet together: columns 2..4 -> 3
    f[1, 7, 1] = 1
    f[1, 6, 8] = 1  # feet apart: columns 1..8 -> 8
    f[2, :4, :] = 1  # nothing in the bottom quarter -> 0
    torch.testing.assert_close(ex.stride_signal(f), torch.tensor([3.0, 8.0, 0.0]))
    u8 = (f * 255).to(torch.uint8).numpy()
    torch.testing.assert_close(ex.stride_signal(u8), torch.tensor([3.0, 8.0, 0.0]))
    with pytest.raises(ValueError, match="rows must be a fraction"):
        ex.stride_signal(f, rows=0)


def test_sequence_and_gallery_indices():
    from types import SimpleNamespace as S

    infos = [S(sid="002", type="nm-01", view="090"), S(sid="001", type="nm-01", view="090"),
             S(sid="001", type="bg-01", view="090"), S(sid="001", type="nm-01", view="000")]
    assert ex.sequence_index(infos, "001", "bg-01", "090") == 2
    with pytest.raises(KeyError, match="has types"):
        ex.sequence_index(infos, "001", "cl-01", "090")
    assert ex.gallery_indices(infos, "090") == [1, 0]
    with pytest.raises(ValueError, match="no gallery sequence"):
        ex.gallery_indices(infos, "180")


def test_span_ranks():
    d = np.array([[0.5, 0.1, 0.9], [0.05, 0.1, 0.9]])
    np.testing.assert_array_equal(ex.span_ranks(d, 0), [2, 1])
    np.testing.assert_array_equal(ex.span_ranks(d, [False, False, True]), [3, 3])
    with pytest.raises(ValueError, match="non-empty mask"):
        ex.span_ranks(d, [False, False, False])
