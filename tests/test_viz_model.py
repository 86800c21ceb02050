"""Plot helpers of gaitgs_lib/viz/model.py: they draw what they are given, with labels, and reject bad shapes."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

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


def test_plot_mcm_attention_one_line_per_part():
    a = torch.rand(10, 4)
    fig = vm.plot_mcm_attention({"MTB1": a, "MTB2": a * 0.5}, parts=[0, 3], frames=torch.rand(10, 8, 6))
    lines = fig.axes[1].get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[1].get_ydata(), a[:, 3].numpy())
    _labelled(fig)


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


def test_plot_sequence_timeline_and_span_distances():
    fig = vm.plot_sequence_timeline(torch.rand(7, 8, 6), [[0, 1, 2], [3, 4, 5]],
                                    {3: {"frames": [0, 1], "padded": [-1]}}, t=0)
    _labelled(fig)
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
