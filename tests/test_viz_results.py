"""gaitgs_lib.viz.results: the numbers behind the result figures, and that every helper draws."""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gaitgs_lib.losses import TripletLoss  # noqa: E402
from gaitgs_lib.viz import results as R  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_read_metrics_skips_blank_lines_and_names_bad_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps({"iteration": 1, "loss": 0.5}) + "\n\n" + json.dumps({"iteration": 2}) + "\n")
    assert R.read_metrics(path) == [{"iteration": 1, "loss": 0.5}, {"iteration": 2}]
    path.write_text('{"iteration": 1}\nnot json\n')
    with pytest.raises(ValueError, match="metrics.jsonl line 2"):
        R.read_metrics(path)
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        R.read_metrics(tmp_path / "missing.jsonl")


def test_smooth_curve_is_a_bias_corrected_ema():
    np.testing.assert_allclose(R.smooth_curve([1.0, 3.0], 0.0), [1.0, 3.0])
    np.testing.assert_allclose(R.smooth_curve([2.0, 2.0, 2.0], 0.9), [2.0, 2.0, 2.0])
    # weight 0.5: [1, (0.25 + 1.5) / 0.75] = [1, 7/3]
    np.testing.assert_allclose(R.smooth_curve([1.0, 3.0], 0.5), [1.0, 7 / 3])
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        R.smooth_curve([1.0], 1.0)


def test_toy_embedding_is_deterministic_and_labelled():
    a, la = R.toy_embedding_2d(3, 4, 0.3, seed=1)
    b, lb = R.toy_embedding_2d(3, 4, 0.3, seed=1)
    assert a.shape == (12, 2) and la.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    torch.testing.assert_close(a, b)
    assert torch.equal(la, lb)


def test_triplet_zones_on_hand_made_points():
    # anchor at 0, positive at distance 1, margin 0.5: negatives at 0.5 (hard), 1.2 (semi-hard), 2 (easy)
    pts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.5], [0.0, -1.2], [2.0, 0.0], [0.0, 3.0]])
    labels = torch.tensor([0, 0, 1, 1, 2, 0])
    zones = R.triplet_zones(pts, labels, anchor=0, positive=1, margin=0.5)
    assert zones.tolist() == ["anchor", "positive", "hard", "semi-hard", "easy", "same"]
    with pytest.raises(ValueError, match="positive must be another point"):
        R.triplet_zones(pts, labels, anchor=0, positive=2, margin=0.5)


def test_active_zones_are_exactly_the_nonzero_triplets_of_the_library_loss():
    pts, labels = R.toy_embedding_2d(3, 4, 0.6, seed=0)
    margin = 0.25
    active = 0
    for a in range(len(pts)):
        for p in range(len(pts)):
            if a != p and labels[a] == labels[p]:
                active += int(np.isin(R.triplet_zones(pts, labels, a, p, margin), ["hard", "semi-hard"]).sum())
    # TripletLoss sees the 2-D points as embeddings [n, c=2, p=1]
    _, info = TripletLoss(margin)(pts.unsqueeze(-1), labels)
    n_valid = sum(int(labels[a] == labels[p]) * int((labels != labels[a]).sum())
                  for a in range(len(pts)) for p in range(len(pts)) if a != p)
    # anchor = positive (OpenGait's loss keeps it): active when a negative is within the margin
    negatives = labels[:, None] != labels[None, :]
    active += int(((torch.cdist(pts, pts) < margin) & negatives).sum())
    assert info["nonzero_frac"] == pytest.approx(active / (n_valid + int(negatives.sum())))


def test_pca_2d_matches_svd_and_is_sign_deterministic():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 5, generator=g) * torch.tensor([5.0, 2.0, 1.0, 0.5, 0.1])
    xy, explained = R.pca_2d(x)
    assert xy.shape == (30, 2) and explained.shape == (2,)
    assert explained[0] > explained[1] > 0 and explained.sum() <= 1
    # the first component carries the variance of the stretched first axis
    assert abs(np.corrcoef(xy[:, 0], x[:, 0].numpy())[0, 1]) > 0.95
    # centred first (a shift changes nothing); the sign convention fixes the components, so
    # negating the data negates the projection instead of flipping a component at random
    np.testing.assert_allclose(R.pca_2d(x + 3.0)[0], xy, atol=1e-4)
    np.testing.assert_allclose(R.pca_2d(-x)[0], -xy, atol=1e-4)
    # [N, C, P] embeddings are flattened
    assert R.pca_2d(x.reshape(30, 5, 1))[0].shape == (30, 2)
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        R.pca_2d(torch.zeros(1, 3))


def test_ablation_deltas():
    res = {"full": {"NM": 80.0, "BG": 60.0, "CL": 40.0}, "no-mcm": {"NM": 70.0, "BG": 65.0, "CL": 40.0}}
    d = R.ablation_deltas(res)
    assert d == {"no-mcm": {"NM": -10.0, "BG": 5.0, "CL": 0.0, "mean": pytest.approx(-5 / 3)}}
    with pytest.raises(ValueError, match="reference 'paper'"):
        R.ablation_deltas(res, reference="paper")
    with pytest.raises(ValueError, match="lacks condition"):
        R.ablation_deltas({"full": {"NM": 1.0}, "x": {"NM": 1.0}})


def test_pair_distances_splits_positive_and_negative_pairs():
    # 1 channel, 2 parts: distance = mean of the two per-part absolute differences
    emb = torch.tensor([[[0.0, 0.0]], [[1.0, 3.0]], [[4.0, 4.0]]])  # [3, 1, 2]
    pos, neg = R.pair_distances(emb, torch.tensor([0, 0, 1]))
    np.testing.assert_allclose(pos, [2.0])  # (1 + 3) / 2
    np.testing.assert_allclose(neg, [4.0, 2.0])  # pairs (0, 2) and (1, 2)
    with pytest.raises(ValueError, match=r"\[n, c, p\]"):
        R.pair_distances(torch.zeros(3, 2), torch.tensor([0, 0, 1]))


def _fake_result():
    views = ["000", "090", "180"]
    mat = np.array([[100.0, 50.0, 0.0], [50.0, 100.0, 50.0], [0.0, 50.0, 100.0]])
    per_view = np.array([25.0, 50.0, 25.0])
    return {"views": views, "conditions": ["NM", "BG", "CL"], "matrices": {c: mat for c in "NM BG CL".split()},
            "per_view": {c: per_view for c in "NM BG CL".split()}, "mean": {c: 100 / 3 for c in "NM BG CL".split()}}


def test_plot_rank1_heatmaps_shows_every_value_and_frames_the_diagonal():
    fig = R.plot_rank1_heatmaps(_fake_result())
    ax = fig.axes[0]
    shown = np.asarray(ax.collections[0].get_array()).reshape(3, 3)   # seaborn's heatmap: a QuadMesh
    np.testing.assert_allclose(shown, _fake_result()["matrices"]["NM"])
    values = [t.get_text() for t in ax.texts]
    assert values == ["100", "50", "0", "50", "100", "50", "0", "50", "100"]
    assert [t.get_style() for t in ax.texts][::4] == ["italic"] * 3  # the diagonal
    assert len([p for p in ax.patches if p.get_edgecolor()[:3] == (1.0, 1.0, 1.0)]) == 3
    ticks = {tuple(t.get_text() for t in a.get_xticklabels()) for a in fig.axes[:3]}
    assert ticks == {("000", "090", "180")}  # every panel names its views the same way


def test_plot_ablation_bars_right_panel_is_the_table_of_changes():
    res = {"full": {"NM": 80.0, "BG": 60.0, "CL": 40.0}, "no-mcm": {"NM": 20.0, "BG": 20.0, "CL": 20.0},
           "no-pieg": {"NM": 79.0, "BG": 62.0, "CL": 40.0}}
    fig = R.plot_ablation_bars(res)
    table = fig.axes[1]
    grid = table.get_images()[0].get_array()
    np.testing.assert_allclose(grid, [[-60, -40, -20, -40], [-1, 2, 0, 1 / 3]], atol=1e-9)
    assert [t.get_text() for t in table.texts][:4] == ["-60.0", "-40.0", "-20.0", "-40.0"]
    assert table.get_images()[0].get_clim() == (-10.0, 10.0)  # saturated: no-mcm cannot wash out no-pieg
    left_colours = {tuple(np.round(p.get_facecolor()[:3], 3)) for p in fig.axes[0].patches}
    assert (1.0, 0.0, 0.0) not in left_colours and (0.839, 0.153, 0.157) not in left_colours  # no red on the left


def test_plot_pair_distances_margin_band_or_note():
    fig = R.plot_pair_distances([1.0, 1.2, 1.4], [2.0, 3.0], margin=0.25)
    band = [p for p in fig.axes[0].patches if p.get_label().startswith("margin")]
    assert len(band) == 1
    assert "margin" in " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    fig = R.plot_pair_distances([0.01, 0.02], [0.03, 0.05], margin=0.25)
    assert "wider" in fig.axes[0].get_legend().get_title().get_text()   # the note is the legend's title


def test_helpers_return_the_figure_they_drew_on():
    recs = [{"iteration": i, "loss": 1.0 / (i + 1)} for i in range(5)]
    fig = R.plot_training_curves(recs, keys=("loss",), smooth=0.0)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [1.0 / (i + 1) for i in range(5)])
    fig = R.plot_cmc({"model": [50.0, 75.0, 100.0]})
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "model (r = 1: 50.0 %)"
    fig = R.show_retrieval(np.zeros((4, 3)), np.ones((2, 4, 3)), [True, False], "p", ["a", "b"])
    assert [a.spines["top"].get_edgecolor()[:3] for a in fig.axes[1:]] == [(0.17254901960784313, 0.6274509803921569,
                                                                            0.17254901960784313),
                                                                           (0.8392156862745098, 0.15294117647058825,
                                                                            0.1568627450980392)]
    with pytest.raises(ValueError, match="2 gallery images, 1 flags"):
        R.show_retrieval(np.zeros((4, 3)), np.ones((2, 4, 3)), [True], "p", ["a", "b"])


def test_live_curves_collects_records_outside_a_notebook():
    live = R.LiveCurves(every=2)
    for i in range(5):
        live({"iteration": i, "loss": 1.0, "triplet_loss": 0.5, "nonzero_frac": 0.2})
    live.close()
    assert [r["iteration"] for r in live.records] == [0, 1, 2, 3, 4]
