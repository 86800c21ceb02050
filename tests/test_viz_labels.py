"""Every figure helper of gaitgs_lib.viz keeps the package's promises (gaitgs_lib/viz/__init__.py):

it returns a Figure, the figure has a title, every axis that shows a scale (visible tick
labels) has a label, every colour bar has a label, and single-panel helpers draw into the
Axes they are given. A helper added to a module's `__all__` without a case here fails
`test_every_figure_helper_is_covered`.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gaitgs_lib.viz import data as vd  # noqa: E402
from gaitgs_lib.viz import model as vm  # noqa: E402
from gaitgs_lib.viz import results as vr  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _sils(k, h=16, w=11):
    rng = np.random.default_rng(0)
    return (rng.random((k, h, w)) > 0.5).astype(np.uint8) * 255


def _protocol_result():
    views = ["000", "090", "180"]
    mat = np.array([[100.0, 50.0, 0.0], [50.0, 100.0, 50.0], [0.0, 50.0, 100.0]])
    return {"views": views, "conditions": ["NM", "BG", "CL"], "matrices": {c: mat for c in ("NM", "BG", "CL")},
            "per_view": {c: np.array([25.0, 50.0, 25.0]) for c in ("NM", "BG", "CL")},
            "mean": {c: 100 / 3 for c in ("NM", "BG", "CL")}}


RECORDS = [{"iteration": i, "loss": 1.0 / (i + 1), "triplet": 0.5, "nonzero_frac": 0.1} for i in range(6)]
ABLATION = {"full": {"NM": 80.0, "BG": 60.0, "CL": 40.0}, "no-mcm": {"NM": 30.0, "BG": 25.0, "CL": 20.0},
            "no-pieg": {"NM": 78.0, "BG": 61.0, "CL": 38.0}}

# name -> a call that returns the helper's Figure (small, fast inputs)
CASES = {
    # viz.data
    "show_silhouettes": lambda: vd.show_silhouettes(_sils(6), titles=list("abcdef"), ncols=3, suptitle="s"),
    "show_contact_grid": lambda: vd.show_contact_grid([[_sils(1)[0], None], [_sils(1)[0], _sils(1)[0]]],
                                                      ["nm", "cl"], ["000", "018"], "grid"),
    "show_geis": lambda: vd.show_geis([_sils(1)[0], _sils(2)[1]], ["a", "b"], suptitle="twins"),
    "show_overlay": lambda: vd.show_overlay(_sils(3), _sils(3)[::-1], ["a", "b"], titles=["0", "1", "2"]),
    "plot_joint_angles": lambda: vd.plot_joint_angles({"hip": np.zeros((3, 20)), "knee": np.ones(20)},
                                                      {"hip": np.zeros(50)}),
    "show_skeletons": lambda: vd.show_skeletons(np.random.rand(3, 4, 2), [(0, 1), (1, 2)], _sils(3)),
    "show_preprocessing": lambda: vd.show_preprocessing([("raw", np.zeros((24, 32))), ("cut", _sils(1)[0])],
                                                        vlines={0: [16]}, xlims={0: (4, 20)}),
    "show_pk_batch": lambda: vd.show_pk_batch(_sils(4).reshape(2, 2, 16, 11), ["001", "002"], [["a", "b"], ["c", "d"]]),
    "plot_frame_windows": lambda: vd.plot_frame_windows([40, 20], [5, 0], 30, ["x", "y"]),
    "plot_signals": lambda: vd.plot_signals({"a": np.arange(5), "b": torch.ones(7)}, "frame", "px", "sig", fps=25.0),
    # viz.model
    "show_architecture": lambda: vm.show_architecture("tiny", frames=6),
    "show_kernels": lambda: vm.show_kernels({"k": np.random.randn(3, 3, 3), "m": np.random.randn(1, 3, 3)}),
    "show_row_dependency": lambda: vm.show_row_dependency({"dep": np.eye(8)}, strip_height=2),
    "show_frames_vs_units": lambda: vm.show_frames_vs_units(np.random.rand(9, 8, 6), np.random.rand(3, 8, 6),
                                                            difference=True),
    "plot_horizontal_pooling": lambda: vm.plot_horizontal_pooling(np.random.rand(8, 6), np.ones(4), np.ones(4) * 2),
    "show_heatmaps": lambda: vm.show_heatmaps(torch.rand(2, 2, 4, 4), "key", "query", titles=["h0", "h1"],
                                              row_labels=["a", "b"], suptitle="attention"),
    "plot_mcm_attention": lambda: vm.plot_mcm_attention({"MTB1": torch.rand(10, 4), "MTB2": torch.rand(10, 4)},
                                                        frames=torch.rand(10, 8, 6)),
    "plot_class_token_attention": lambda: vm.plot_class_token_attention(torch.rand(3, 8, 6), torch.rand(2, 3),
                                                                        labels=["h0", "h1"], signal=torch.rand(3)),
    "plot_parameter_bars": lambda: vm.plot_parameter_bars({"a": 1000, "b": 234}),
    "plot_span_distances": lambda: vm.plot_span_distances([3, 6], np.ones((2, 3)), ["a", "b", "c"], highlight=[1]),
    "plot_view_scores": lambda: vm.plot_view_scores(np.full(3, 1 / 3), ["000", "018", "036"], true_view="018"),
    "plot_cape": lambda: vm.plot_cape(torch.randn(4, 1, 7), torch.randn(4, 10, 3), torch.randn(4, 10, 3)),
    # viz.results
    "plot_training_curves": lambda: vr.plot_training_curves(RECORDS, resumed_at=2),
    "plot_metric_comparison": lambda: vr.plot_metric_comparison({"a": RECORDS, "b": RECORDS[:3]}, key="loss"),
    "plot_triplet_geometry": lambda: vr.plot_triplet_geometry(*vr.toy_embedding_2d(), 0, 1, 0.25),
    "plot_pair_distances": lambda: vr.plot_pair_distances([0.1, 0.2], [0.5, 0.7, 0.9], margin=0.25),
    "plot_rank1_heatmaps": lambda: vr.plot_rank1_heatmaps(_protocol_result(), title="rank-1"),
    "plot_per_view_rank1": lambda: vr.plot_per_view_rank1({"model": _protocol_result()}),
    "plot_cmc": lambda: vr.plot_cmc({"model": [50.0, 75.0, 100.0]}),
    "plot_embedding_projection": lambda: vr.plot_embedding_projection(np.random.rand(12, 2), list(range(0, 180, 15)),
                                                                      continuous=True),
    "plot_condition_bars": lambda: vr.plot_condition_bars(vr.PAPER_CASIA_B_64),
    "plot_ablation_bars": lambda: vr.plot_ablation_bars(ABLATION, title="ablation"),
    "show_cue": lambda: vd.show_cue("micro", n_subjects=2),
    "plot_cue_matrix": lambda: vr.plot_cue_matrix(CUE_RECORDS),
    "show_retrieval": lambda: vr.show_retrieval(_sils(1)[0], _sils(3), [True, False, True], "p", ["a", "b", "c"]),
}

# a cue study: 2 cues x 2 variants x 2 seeds (one cell missing)
CUE_RECORDS = [{"cue": c, "variant": v, "seed": s, "rank1": 50.0 + 10 * s - 20 * (v != "full"), "chance": 6.25}
               for c in ("micro", "long-span") for v in ("full", "no-mcm") for s in (0, 1)][:-1]

# single-panel helpers: name -> a call that draws into the given Axes
SINGLE_PANEL = {
    "plot_signals": lambda ax: vd.plot_signals({"a": np.arange(5)}, "frame", "px", "sig", ax=ax),
    "plot_parameter_bars": lambda ax: vm.plot_parameter_bars({"a": 1, "b": 2}, ax=ax),
    "plot_span_distances": lambda ax: vm.plot_span_distances([3, 6], np.ones((2, 2)), ["a", "b"], ax=ax),
    "plot_view_scores": lambda ax: vm.plot_view_scores(np.full(2, 0.5), ["000", "018"], ax=ax),
    "plot_metric_comparison": lambda ax: vr.plot_metric_comparison({"a": RECORDS}, ax=ax),
    "plot_triplet_geometry": lambda ax: vr.plot_triplet_geometry(*vr.toy_embedding_2d(), 0, 1, 0.25, ax=ax),
    "plot_pair_distances": lambda ax: vr.plot_pair_distances([0.1], [0.5], ax=ax),
    "plot_per_view_rank1": lambda ax: vr.plot_per_view_rank1({"model": _protocol_result()}, ax=ax),
    "plot_cmc": lambda ax: vr.plot_cmc({"model": [50.0, 100.0]}, ax=ax),
    "plot_embedding_projection": lambda ax: vr.plot_embedding_projection(np.random.rand(6, 2), list("aabbcc"), ax=ax),
    "plot_condition_bars": lambda ax: vr.plot_condition_bars({"m": {"NM": 1.0, "BG": 2.0, "CL": 3.0}}, ax=ax),
    "plot_cue_matrix": lambda ax: vr.plot_cue_matrix(CUE_RECORDS, ax=ax),
}


def assert_labelled(fig: Figure) -> None:
    """The promises of gaitgs_lib.viz on one figure (see the module docstring)."""
    assert isinstance(fig, Figure)
    fig.canvas.draw()  # tick labels are only known after drawing
    assert fig.get_suptitle() or any(ax.get_title() for ax in fig.axes), "the figure has no title"
    colorbars = {}
    for ax in fig.axes:
        for mappable in [*ax.images, *ax.collections]:
            if getattr(mappable, "colorbar", None) is not None:
                colorbars[mappable.colorbar.ax] = mappable.colorbar
    for cax, bar in colorbars.items():
        assert cax.get_ylabel() or cax.get_xlabel(), "a colour bar has no label"
    for ax in fig.axes:
        if ax in colorbars or not ax.get_visible():
            continue
        shows_x = ax.xaxis.get_visible() and any(t.get_visible() and t.get_text() for t in ax.get_xticklabels())
        shows_y = ax.yaxis.get_visible() and any(t.get_visible() and t.get_text() for t in ax.get_yticklabels())
        where = ax.get_title() or fig.get_suptitle()
        if shows_x:
            assert ax.get_xlabel(), f"x axis with a scale but no label in {where!r}"
        if shows_y:
            assert ax.get_ylabel(), f"y axis with a scale but no label in {where!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_helper_returns_a_labelled_figure(name):
    assert_labelled(CASES[name]())


@pytest.mark.parametrize("name", sorted(SINGLE_PANEL))
def test_single_panel_helper_draws_into_the_given_axes(name):
    fig, ax = plt.subplots()
    assert SINGLE_PANEL[name](ax) is fig
    assert ax.has_data() or ax.patches or ax.images
    assert_labelled(fig)


def test_every_figure_helper_is_covered():
    helpers = {n for module in (vd, vm, vr) for n in module.__all__ if n.startswith(("show_", "plot_"))}
    assert helpers == set(CASES)


def test_an_unlabelled_figure_fails_the_check():
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    ax.set_title("t")
    with pytest.raises(AssertionError, match="no label"):
        assert_labelled(fig)
    im = ax.imshow(np.eye(2))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    fig.colorbar(im)
    with pytest.raises(AssertionError, match="colour bar"):
        assert_labelled(fig)
