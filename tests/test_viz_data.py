"""gaitgs_lib.viz.data: exact results of the pure helpers, and the figure helpers draw what they are given.

Titles and labels of every helper are checked in tests/test_viz_labels.py.
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402

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


def test_overlay_rgb_colours_first_second_and_both():
    a = np.array([[1.0, 1.0, 0.0]])
    b = np.array([[1.0, 0.0, 1.0]])
    rgb = vd.overlay_rgb(a, b)  # [1, 3, 3]
    np.testing.assert_allclose(rgb[0, 0], [1.0, 1.0, 1.0])  # both: white
    np.testing.assert_allclose(rgb[0, 1], vd.OVERLAY_COLOURS[0])  # only the first
    np.testing.assert_allclose(rgb[0, 2], vd.OVERLAY_COLOURS[1])  # only the second
    np.testing.assert_allclose(vd.overlay_rgb(np.zeros((2, 2)), np.zeros((2, 2))), 0.0)
    with pytest.raises(ValueError, match="different sizes"):
        vd.overlay_rgb(np.zeros((2, 2)), np.zeros((2, 3)))


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


def test_show_overlay_draws_each_pair_and_names_the_colours():
    a, b = _sils(2), _sils(3)[1:]
    fig = vd.show_overlay(a, b, ["twin 1", "twin 2"], titles=["t = 0", "t = 3"])
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 2
    np.testing.assert_allclose(images[1].get_array(), vd.overlay_rgb(a[1], b[1]))
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["only twin 1", "only twin 2", "both"]


def test_plot_frame_windows_bars_and_legend():
    fig = vd.plot_frame_windows([40, 20], [5, 0], 30, ["x", "y"])
    ax = fig.axes[0]
    widths = [round(p.get_width(), 6) for p in ax.patches]
    # x: length 40, window 5..35 (30 frames); y: length 20, window 0..20 then 10 tiled frames
    assert widths == [40, 30, 20, 20, 10]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0].startswith("whole sequence") and "30-frame window" in texts[1] and texts[2].startswith("tiled")


def test_plot_signals_draws_each_signal():
    fig = vd.plot_signals({"a": np.arange(5), "b": torch.ones(7)}, "frame", "px", "signals", fps=25.0)
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), np.arange(5))
    assert len(lines[1].get_ydata()) == 7


def test_figure_helpers_explain_bad_input():
    with pytest.raises(ValueError, match="2 titles for 3 frames"):
        vd.show_silhouettes(_sils(3), titles=["a", "b"])
    with pytest.raises(ValueError, match=r"2 x 2 grid"):
        vd.show_contact_grid([[None]], ["a", "b"], ["x", "y"], "t")
    with pytest.raises(ValueError, match=r"joints \[frames, J, 2\]"):
        vd.show_skeletons(np.zeros((3, 4)), [], _sils(3))
    with pytest.raises(ValueError, match=r"frames \[P, K, h, w\]"):
        vd.show_pk_batch(np.zeros((2, 16, 11)), ["a"], [["b"]])
    with pytest.raises(ValueError, match="labels must name the two walks"):
        vd.show_overlay(_sils(2), _sils(2), ["a"])
    with pytest.raises(ValueError, match="same number"):
        vd.show_overlay(_sils(2), _sils(3), ["a", "b"])
