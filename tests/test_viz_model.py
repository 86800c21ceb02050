"""Plot helpers of gaitgs_lib/viz/model.py: they draw what they are given, with labels, and reject bad shapes."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gaitgs_lib.config import get_config  # noqa: E402
from gaitgs_lib.modeling import GaitGS  # noqa: E402
from gaitgs_lib.viz import model as vm  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _labelled(fig):
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert any(ax.get_xlabel() for ax in axes)
    assert any(ax.get_title() for ax in axes) or fig._suptitle is not None


def test_show_heatmaps_grid_and_shared_scale():
    m = torch.rand(2, 3, 5, 5)
    fig = vm.show_heatmaps(m, "key", "query", titles=["h0", "h1", "h2"], row_labels=["a", "b"], suptitle="att")
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 6
    assert {im.get_clim() for im in images} == {(float(m.min()), float(m.max()))}
    np.testing.assert_allclose(images[4].get_array(), m[1, 1].numpy())
    _labelled(fig)
    sym = vm.show_heatmaps(-m[:1, :1], "x", "y", symmetric=True, cmap="RdBu_r")
    lo, hi = sym.axes[0].get_images()[0].get_clim()
    assert lo == -hi
    with pytest.raises(ValueError, match=r"\[rows, cols, a, b\]"):
        vm.show_heatmaps(torch.rand(3, 3), "x", "y")


def test_plot_mcm_attention_shows_changes_over_time_and_the_level_per_part():
    a = torch.rand(10, 4)  # [s, p]
    fig = vm.plot_mcm_attention({"MTB1": a, "MTB2": a * 0.5}, parts=[0, 3], frames=torch.rand(10, 8, 6))
    heat = [ax for ax in fig.axes if ax.get_images() and "minus" in ax.get_title()]
    assert len(heat) == 2
    shown = heat[0].get_images()[0].get_array()  # [parts, s]
    expected = (a[:, [0, 3]] - a[:, [0, 3]].mean(0)).T.numpy()
    np.testing.assert_allclose(shown, expected, rtol=1e-6, atol=1e-7)
    clims = {ax.get_images()[0].get_clim() for ax in heat}
    assert len(clims) == 1 and list(clims)[0][0] == -list(clims)[0][1]  # one symmetric scale
    levels = [ax for ax in fig.axes if ax.get_title() == "level"][0]
    np.testing.assert_allclose([p.get_width() + 0.5 for p in levels.patches], a[:, [0, 3]].mean(0).numpy(),
                               rtol=1e-6)
    _labelled(fig)
    with pytest.raises(ValueError, match="3 frames but attention for 10"):
        vm.plot_mcm_attention({"MTB1": a}, frames=torch.rand(3, 8, 6))


def test_silhouette_strip_keeps_the_frames_aspect_ratio():
    frames = torch.rand(24, 32, 22)
    fig = vm.plot_class_token_attention(frames, torch.rand(24))
    strip = fig.axes[0]
    fig.canvas.draw()
    box = strip.get_window_extent()
    # 24 frames of 22 (+2 grey) columns side by side, 32 rows: width / height = 24 * 24 / 32
    assert box.width / box.height == pytest.approx(24 * 24 / 32, rel=0.03)
    assert strip.get_xlim() == (-0.5, 23.5)


def test_row_dependency_of_a_3x3x3_conv_is_tridiagonal():
    conv = torch.nn.Conv3d(1, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    x = torch.rand(1, 1, 3, 6, 4)
    dep = vm.row_dependency(conv, x)
    assert dep.shape == (6, 6)
    i, j = np.indices(dep.shape)
    assert np.all(dep[np.abs(i - j) <= 1] > 0)
    assert np.all(dep[np.abs(i - j) > 1] == 0)


def test_row_dependency_of_a_strip_local_conv_is_block_diagonal():
    conv = torch.nn.Conv3d(1, 1, 3, padding=1, bias=False)

    def strips_of_two(x):  # [n, c, s, h, w]: convolve rows {0,1}, {2,3}, {4,5} separately
        return torch.cat([conv(x[..., r:r + 2, :]) for r in range(0, x.shape[-2], 2)], dim=-2)

    dep = vm.row_dependency(strips_of_two, torch.rand(1, 1, 3, 6, 4))
    i, j = np.indices(dep.shape)
    assert np.all(dep[(i // 2) != (j // 2)] == 0)
    assert np.all(dep[(i // 2) == (j // 2)] > 0)


def test_show_kernels_draws_each_temporal_slice_with_its_value():
    k = np.arange(27, dtype=float).reshape(3, 3, 3) - 13
    fig = vm.show_kernels({"k": k, "m": k[1:2]})
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 4  # three slices of k, one of m
    np.testing.assert_allclose(images[1].get_array(), k[1])
    assert images[0].get_clim() == (-13.0, 13.0)  # one symmetric scale: the largest |weight|


def test_show_frames_vs_units_difference_row_is_the_trail():
    frames = np.zeros((6, 4, 3))
    frames[:, 0, 0] = 1.0  # a pixel that never moves
    frames[0, 3, 0] = frames[1, 3, 1] = frames[2, 3, 2] = 1.0  # a "foot" moving one column per frame
    units = frames.reshape(2, 3, 4, 3).mean(1)  # UTA with weights 1/3
    fig = vm.show_frames_vs_units(frames, units, difference=True, max_units=2)
    diff_axes = [ax for ax in fig.axes if ax.get_title().startswith("|unit")]
    trail = diff_axes[0].get_images()[0].get_array()
    assert trail[0, 0] == 0  # the still pixel leaves no trail
    np.testing.assert_allclose(trail[3], [1 / 3, 2 / 3, 1 / 3])  # the foot does, around its middle position
    with pytest.raises(ValueError, match="at least 3 frames"):
        vm.show_frames_vs_units(np.zeros((2, 4, 4)), np.zeros((1, 4, 4)))


def test_plot_horizontal_pooling_aligns_one_point_per_strip():
    fmap = np.arange(24, dtype=float).reshape(8, 3)
    mean, peak = fmap.reshape(4, 6).mean(1), fmap.reshape(4, 6).max(1)
    fig = vm.plot_horizontal_pooling(fmap, mean, peak)
    right = fig.axes[1]
    sum_line = right.get_lines()[2]
    np.testing.assert_allclose(sum_line.get_xdata(), mean + peak)
    np.testing.assert_allclose(sum_line.get_ydata(), [0.5, 2.5, 4.5, 6.5])  # strip centres, 2 rows each
    with pytest.raises(ValueError, match="3 equal strips"):
        vm.plot_horizontal_pooling(fmap, np.ones(3), np.ones(3))


def test_architecture_shapes_come_from_a_forward_pass():
    shapes = vm.architecture_shapes("tiny", frames=12, batch=2)  # tiny: 32x22, channels 4/8/16, 16 parts
    assert shapes["input"] == (2, 12, 32, 22)
    assert shapes["input_conv"] == (2, 4, 12, 32, 22)
    assert shapes["UTA0"] == (2, 4, 4, 32, 22)
    assert shapes["S_f"] == (2, 16, 12, 16, 11) and shapes["S_c"] == (2, 16, 4, 16, 11)
    assert shapes["f_hp"] == (2, 16, 12, 16) and shapes["c_hp"] == (2, 16, 4, 16)
    assert shapes["f_tokens"] == (2 * 16, 13, 16) and shapes["c_tokens"] == (2 * 16, 5, 16)
    assert shapes["embeddings"] == (2, 64, 32)
    with pytest.raises(ValueError, match="switched off"):
        vm.architecture_shapes(GaitGS(get_config("tiny", use_coarse=False)))


def test_show_architecture_prints_every_shape():
    fig = vm.show_architecture("tiny", frames=12)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for shape in ("[n, 12, 32, 22]", "[n, 4, 12, 32, 22]", "[n, 16, 4, 16, 11]", "[n·16, 13, 16]", "[n, 64, 32]"):
        assert shape in texts


def test_plot_class_token_attention_bars_align_with_frames():
    w = torch.tensor([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    fig = vm.plot_class_token_attention(torch.rand(3, 8, 6), w, labels=["head 0", "head 1"])
    heights = [p.get_height() for p in fig.axes[1].patches]
    np.testing.assert_allclose(heights, w.flatten().numpy(), rtol=1e-6)
    _labelled(fig)
    with pytest.raises(ValueError, match="4 frames but weights for 3"):
        vm.plot_class_token_attention(torch.rand(4, 8, 6), w[0])


def test_plot_parameter_bars_total_in_title():
    fig = vm.plot_parameter_bars({"a": 1000, "b": 234})
    assert "1,234" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="empty"):
        vm.plot_parameter_bars({})


def test_plot_span_distances():
    fig = vm.plot_span_distances([3, 6], np.ones((2, 3)), ["a", "b", "c"], highlight=[1])
    _labelled(fig)
    with pytest.raises(ValueError, match="must be"):
        vm.plot_span_distances([3, 6], np.ones((3, 3)), ["a", "b", "c"])


def test_plot_view_scores():
    fig = vm.plot_view_scores(np.full(3, 1 / 3), ["000", "018", "036"], true_view="018")
    _labelled(fig)
    with pytest.raises(ValueError, match="probabilities for 2 views"):
        vm.plot_view_scores(np.ones(3), ["a", "b"])


def test_plot_class_token_attention_with_phase_signal():
    fig = vm.plot_class_token_attention(torch.rand(3, 8, 6), torch.rand(3), signal=torch.tensor([1.0, 2.0, 3.0]))
    twin = fig.axes[-1]
    np.testing.assert_allclose(twin.get_lines()[0].get_ydata(), [1, 2, 3])
    with pytest.raises(ValueError, match="signal"):
        vm.plot_class_token_attention(torch.rand(3, 8, 6), torch.rand(3), signal=torch.ones(4))


def test_plot_span_distances_one_legend_entry_per_highlighted_name():
    fig = vm.plot_span_distances([3, 6], np.ones((2, 4)), ["a", "a", "b", "b"], highlight=[0, 1])
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["a", "other subjects"]


def test_plot_span_distances_marks_twins():
    fig = vm.plot_span_distances([3, 6], np.ones((2, 3)), ["a", "b", "c"], highlight=[0], twins=[2])
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["a", "c (twin)", "other subjects"]
    assert fig.axes[0].get_lines()[2].get_linestyle() == "--"


def test_plot_span_distances_relative_divides_by_the_gallery_mean():
    d = np.array([[1.0, 3.0], [2.0, 2.0]])
    fig = vm.plot_span_distances([3, 6], d, ["a", "b"], relative=True)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.5, 1.0])
    assert "gallery mean" in fig.axes[0].get_ylabel()
