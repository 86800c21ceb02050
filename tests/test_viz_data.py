"""gaitgs_lib.viz.data: exact results of the pure helpers, and every figure helper draws what it is given."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gaitgs_lib.viz import data as vd  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ----------------------------------------------------------------------------- pure helpers


def test_to_image_scales_uint8_keeps_floats_and_drops_a_channel_axis():
    frame = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    np.testing.assert_allclose(vd.to_image(frame), [[0, 1], [0.2, 0.4]], atol=1e-7)
    np.testing.assert_allclose(vd.to_image(torch.tensor(frame)), [[0, 1], [0.2, 0.4]], atol=1e-7)
    f = torch.tensor([[[0.25, 0.5]]])  # [1, 1, 2]
    np.testing.assert_array_equal(vd.to_image(f), [[0.25, 0.5]])
    assert vd.to_image(f).dtype == np.float32


def test_to_image_rejects_a_sequence_with_a_clear_message():
    with pytest.raises(ValueError, match=r"one frame \[h, w\].*\(3, 4, 5\)"):
        vd.to_image(np.zeros((3, 4, 5)))


def test_feature_energy_is_the_rms_over_channels():
    f = torch.zeros(2, 1, 1, 2)  # [c, s, h, w]
    f[0, 0, 0] = torch.tensor([3.0, -1.0])
    f[1, 0, 0] = torch.tensor([4.0, 1.0])
    e = vd.feature_energy(f)
    assert e.shape == (1, 1, 2)
    np.testing.assert_allclose(e[0, 0], [np.sqrt(12.5), 1.0], rtol=1e-6)
    assert vd.feature_energy(np.ones((3, 4, 5))).shape == (4, 5)
    with pytest.raises(ValueError, match="no batch axis"):
        vd.feature_energy(np.ones((1, 2, 3, 4, 5)))


def test_fourier_series_matches_the_formula_at_hand_picked_phases():
    coeffs = [1.0, (2.0, 3.0), (0.5, -1.0)]
    t = np.array([0.0, 0.25, 0.5])
    # t=0: 1 + 2 + 0.5; t=0.25: 1 + 3 (sin) - 0.5 (cos pi); t=0.5: 1 - 2 + 0.5
    np.testing.assert_allclose(vd.fourier_series(coeffs, t), [3.5, 3.5, -0.5], atol=1e-12)
    with pytest.raises(ValueError, match="harmonic 1"):
        vd.fourier_series([0.0, (1.0,)], t)


def test_row_dependency_of_a_3x3x3_conv_is_tridiagonal():
    conv = torch.nn.Conv3d(1, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    x = torch.rand(1, 1, 3, 6, 4)
    dep = vd.row_dependency(conv, x)
    assert dep.shape == (6, 6)
    i, j = np.indices(dep.shape)
    assert np.all(dep[np.abs(i - j) <= 1] > 0)
    assert np.all(dep[np.abs(i - j) > 1] == 0)


def test_row_dependency_of_a_strip_local_conv_is_block_diagonal():
    conv = torch.nn.Conv3d(1, 1, 3, padding=1, bias=False)

    def strips_of_two(x):  # [n, c, s, h, w]: convolve rows {0,1}, {2,3}, {4,5} separately
        return torch.cat([conv(x[..., r:r + 2, :]) for r in range(0, x.shape[-2], 2)], dim=-2)

    dep = vd.row_dependency(strips_of_two, torch.rand(1, 1, 3, 6, 4))
    i, j = np.indices(dep.shape)
    assert np.all(dep[(i // 2) != (j // 2)] == 0)
    assert np.all(dep[(i // 2) == (j // 2)] > 0)


def test_layout_tree_lists_relative_paths_and_counts_the_rest(tmp_path):
    root = tmp_path / "synthgait-mini"
    for sid in ["001", "002", "003"]:
        for typ in ["nm-01", "bg-01"]:
            for view in ["000", "018", "036"]:
                d = root / sid / typ / view
                d.mkdir(parents=True)
                (d / f"{view}.pkl").write_bytes(b"")
    (root / "partition.json").write_text("{}")
    text = vd.layout_tree(root, max_entries=2)
    lines = text.splitlines()
    assert lines == [
        "synthgait-mini/",
        "├── 001/",
        "│   ├── bg-01/",
        "│   │   ├── 000/",
        "│   │   │   └── 000.pkl",
        "│   │   ├── 018/",
        "│   │   └── ... 1 more",
        "│   └── nm-01/",
        "├── 002/",
        "├── ... 1 more",
        "└── partition.json",
    ]
    assert str(tmp_path) not in text
    with pytest.raises(FileNotFoundError, match="not a folder"):
        vd.layout_tree(tmp_path / "nope")


# ----------------------------------------------------------------------------- figure helpers


def _sils(k, h=16, w=11):
    rng = np.random.default_rng(0)
    return (rng.random((k, h, w)) > 0.5).astype(np.uint8) * 255


def test_every_figure_helper_returns_a_titled_figure():
    sils = _sils(6)
    figs = [
        vd.show_silhouettes(sils, titles=[str(i) for i in range(6)], ncols=3, suptitle="s"),
        vd.show_contact_grid([[sils[0], None], [sils[1], sils[2]]], ["nm", "cl"], ["000", "018"], "grid"),
        vd.show_geis([sils[0], sils[1]], ["a", "b"], suptitle="twins"),
        vd.plot_joint_angles({"hip": np.zeros((3, 20)), "knee": np.ones(20)}, {"hip": np.zeros(50)}),
        vd.show_skeletons(np.random.rand(3, 4, 2), [(0, 1), (1, 2), (2, 3)], sils[:3]),
        vd.show_preprocessing([("raw", np.zeros((24, 32))), ("cut", sils[0])], vlines={0: [16]}, hlines={1: [2]},
                              xlims={0: (4, 20)}),
        vd.show_pk_batch(sils[:4].reshape(2, 2, 16, 11), ["001", "002"], [["a", "b"], ["c", "d"]]),
        vd.plot_frame_windows([40, 20], [5, 0], 30, ["x", "y"]),
        vd.show_kernels({"k": np.random.randn(3, 3, 3), "m": np.random.randn(1, 3, 3)}),
        vd.show_row_dependency({"dep": np.eye(8)}, strip_height=2),
        vd.show_frames_vs_units(np.random.rand(9, 8, 6), np.random.rand(3, 8, 6)),
        vd.show_retrieval(sils[0], sils[1:4], [True, False, True], "p", ["a", "b", "c"]),
        vd.plot_signals({"a": np.arange(5), "b": torch.ones(7)}, "frame", "px", "signals", fps=25.0),
    ]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert fig.get_suptitle() or any(ax.get_title() for ax in fig.axes)


def test_figure_helpers_explain_bad_input():
    with pytest.raises(ValueError, match="2 titles for 3 frames"):
        vd.show_silhouettes(_sils(3), titles=["a", "b"])
    with pytest.raises(ValueError, match=r"2 x 2 grid"):
        vd.show_contact_grid([[None]], ["a", "b"], ["x", "y"], "t")
    with pytest.raises(ValueError, match=r"joints \[frames, J, 2\]"):
        vd.show_skeletons(np.zeros((3, 4)), [], _sils(3))
    with pytest.raises(ValueError, match=r"frames \[P, K, h, w\]"):
        vd.show_pk_batch(np.zeros((2, 16, 11)), ["a"], [["b"]])
    with pytest.raises(ValueError, match="2 gallery images, 1 flags"):
        vd.show_retrieval(_sils(1)[0], _sils(2), [True], "p", ["a", "b"])
    with pytest.raises(ValueError, match="at least 3 frames"):
        vd.show_frames_vs_units(np.zeros((2, 4, 4)), np.zeros((1, 4, 4)))
