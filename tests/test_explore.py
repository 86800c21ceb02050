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


# ------------------------------------------------------------------------------------------
# Slider ranges
# ------------------------------------------------------------------------------------------
def test_spans_from_keeps_every_window_inside_the_sequence():
    assert ex.spans_from(41, 0) == [3, 6, 9, 12, 18, 24, 41]
    assert ex.spans_from(41, 30) == [3, 6, 9, 11]
    assert ex.spans_from(24, 0) == [3, 6, 9, 12, 18, 24]  # 24 itself is "every frame"
    assert ex.spans_from(50, 0, spans=(3, 36, 48)) == [3, 36, 48, 50]
    assert ex.spans_from(5, 4) == [1]
    for start in range(0, 39):
        assert all(start + s <= 41 for s in ex.spans_from(41, start))
    with pytest.raises(ValueError, match="outside the sequence"):
        ex.spans_from(41, 41)


def test_control_limits_are_bounded_by_the_sequence():
    assert ex.control_limits(41, span=24) == {"span": (3, 41), "t": (0, 23), "unit": (1, 6), "start": (0, 38)}
    assert ex.control_limits(41) == {"span": (3, 41), "t": (0, 40), "unit": (1, 6), "start": (0, 38)}
    # a span larger than the sequence is bounded by it; short sequences get what their frames allow
    assert ex.control_limits(10, span=99)["t"] == (0, 9)
    assert ex.control_limits(2, span=2) == {"span": (2, 2), "t": (0, 1), "unit": (1, 2), "start": (0, 0)}
    assert ex.control_limits(4, span=3)["unit"] == (1, 3)
    with pytest.raises(ValueError, match="no frames"):
        ex.control_limits(0)


# ------------------------------------------------------------------------------------------
# SpanExplorer: results and what is cached
# ------------------------------------------------------------------------------------------
class _TinySet:
    """Three subjects at two views, nm-01 (gallery) and nm-05 (probe), counting frame reads."""

    def __init__(self):
        from types import SimpleNamespace as S

        g = torch.Generator().manual_seed(3)
        self.infos, self.data, self.reads = [], [], 0
        for sid in ("001", "002", "003"):
            for view in ("000", "090"):
                for typ in ("nm-01", "nm-05"):
                    self.infos.append(S(sid=sid, type=typ, view=view))
                    n = 14 if typ == "nm-05" else 12
                    self.data.append((torch.rand(n, 32, 22, generator=g) > 0.6).float())

    def __len__(self):
        return len(self.infos)

    def __getitem__(self, i):
        self.reads += 1
        return self.data[i], self.infos[i]


@pytest.fixture
def tiny_explorer():
    model = GaitGS("tiny").eval()
    return ex.SpanExplorer(model, _TinySet(), spans=(3, 6, 9)), model


def test_span_explorer_caches_each_result_by_what_it_depends_on(tiny_explorer):
    explorer, _ = tiny_explorer
    w = ex.Walker("002", "090", "nm-05")
    assert explorer.num_frames(w) == 14 and explorer.dataset.reads == 1
    explorer.frames(w), explorer.signal(w)
    assert explorer.dataset.reads == 1  # frames and signal: once per walker

    fine = explorer.attention(w, 9, "fine")
    assert fine.shape == (16, 9) and explorer.forward_passes == 1
    coarse = explorer.attention(w, 9, "coarse")
    assert coarse.shape == (16, 3) and explorer.forward_passes == 1  # same forward pass
    assert bool((fine.sum(1) < 1).all())  # the rest of each row goes to the class token itself

    curve = explorer.span_curve(w, 0)
    # 3 gallery sequences at 090 + spans 3, 6, 9 (cached: the attention's pass) and 14
    assert curve.spans == [3, 6, 9, 14] and explorer.forward_passes == 1 + 3 + 3
    passes = explorer.forward_passes
    explorer.span_curve(w, 0), explorer.attention(w, 14, "fine")
    assert explorer.forward_passes == passes  # going back costs nothing
    explorer.span_curve(ex.Walker("001", "090", "nm-05"), 0)
    assert explorer.forward_passes == passes + 4  # same view: the gallery is reused
    explorer.span_curve(w, 2)  # another start: new windows, same gallery
    assert explorer.forward_passes == passes + 4 + len(ex.spans_from(14, 2, (3, 6, 9)))


def test_span_curve_equals_span_distances_and_its_ranks(tiny_explorer):
    explorer, model = tiny_explorer
    w = ex.Walker("003", "000", "nm-05")
    curve = explorer.span_curve(w, 2)
    gallery, sids = explorer.gallery("000")
    assert sids == ["001", "002", "003"]
    frames = explorer.frames(w)
    expected = ex.span_distances(model, frames, gallery, curve.spans, start=2)
    np.testing.assert_allclose(curve.distances, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(curve.ranks, ex.span_ranks(expected, [False, False, True]))
    with torch.no_grad():
        emb = model(frames[None])["embeddings"]
    torch.testing.assert_close(explorer.window(w, 0, 14)["embedding"], emb)


def test_span_explorer_errors(tiny_explorer):
    explorer, _ = tiny_explorer
    with pytest.raises(KeyError, match="has types"):
        explorer.frames(ex.Walker("001", "090", "cl-01"))
    with pytest.raises(ValueError, match="not inside the sequence"):
        explorer.window(ex.Walker("001", "090", "nm-05"), 10, 20)
    with pytest.raises(ValueError, match="no gallery sequence"):
        explorer.gallery("180")


# ------------------------------------------------------------------------------------------
# The explorer's figures (gaitgs_lib/viz/explorer.py)
# ------------------------------------------------------------------------------------------
def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_timeline_rows_keep_units_whole():
    from gaitgs_lib.viz.explorer import timeline_rows

    assert timeline_rows(41, 3) == [range(0, 18), range(18, 36), range(36, 41)]
    assert timeline_rows(41, 4) == [range(0, 20), range(20, 40), range(40, 41)]
    assert timeline_rows(5, 6) == [range(0, 5)]
    for unit in range(1, 7):
        rows = timeline_rows(50, unit)
        assert all(len(r) % unit == 0 for r in rows[:-1])


def test_plot_timeline_draws_units_windows_and_frame_t():
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from gaitgs_lib.viz.explorer import plot_timeline

    frames = torch.rand(20, 32, 22)
    fig = plot_timeline(frames, ex.unit_groups(20, 3), ex.mcm_windows(20, 19, (3, 5)), t=19, title="demo")
    texts = _texts(fig)
    assert [t for t in texts if t[:1] == "u" and t[1:].isdigit()] == [f"u{j}" for j in range(6)]
    assert texts.count("×") == 2  # frames 18 and 19 are in no unit
    assert texts.count("window 3 at t") == texts.count("units of 3") == 2  # one lane label per row
    assert [str(i) for i in range(20)] == [t for t in texts if t.isdigit()]
    red = [p for ax in fig.axes for p in ax.patches if isinstance(p, Rectangle) and p.get_edgecolor()[:3] == (1, 0, 0)]
    assert len(red) == 1 and red[0].get_x() == pytest.approx(19 - 18 - 0.5)  # frame 19 in the second row
    hatched = [p for ax in fig.axes for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1 + 2  # padding after frame 19: one for window 3, two for window 5
    # the silhouettes keep their shape: a frame is as wide as one frame unit and h/(w+2) high
    image = fig.axes[-1].images[0]
    left, right, bottom, top = image.get_extent()
    w_in = fig.axes[-1].get_position().width * fig.get_figwidth() / np.diff(fig.axes[-1].get_xlim())[0]
    h_in = fig.axes[-1].get_position().height * fig.get_figheight() / np.diff(fig.axes[-1].get_ylim())[0]
    assert (top - bottom) * h_in / ((right - left) / 2 * w_in) == pytest.approx(32 / 24, rel=0.02)
    plt.close(fig)


def test_plot_span_attention_shares_the_frame_axis_and_labels_everything():
    import matplotlib.pyplot as plt

    from gaitgs_lib.viz.explorer import plot_span_attention

    weights = torch.full((16, 4), 1 / 5)  # uniform over 4 units + the class token
    fig = plot_span_attention(weights, torch.arange(12.0), frames_per_token=3, title="coarse")
    heat = [ax for ax in fig.axes if ax.images][0]
    assert heat.images[0].get_extent() == [-0.5, 11.5, 15.5, -0.5]
    np.testing.assert_allclose(heat.images[0].get_array(), np.ones((16, 4)))  # 1 = the uniform share
    assert heat.get_ylabel() == "part (0 = head)" and heat.get_xlabel().startswith("frame")
    assert any("uniform share" in ax.get_ylabel() for ax in fig.axes)  # the colour bar
    with pytest.raises(ValueError, match=r"\[parts, tokens\]"):
        plot_span_attention(torch.zeros(3), torch.zeros(3))
    plt.close(fig)


def test_plot_span_curve_shows_the_ranks_on_top():
    import matplotlib.pyplot as plt

    from gaitgs_lib.viz.explorer import plot_span_curve

    d = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
    fig = plot_span_curve([3, 6], d, ["a", "b", "c"], subject="b", ranks=[2, 1], twin="c", title="t")
    ax = fig.axes[0]
    top = ax.child_axes[0]
    assert [t.get_text() for t in top.get_xticklabels()] == ["2", "1"]
    assert "rank of b" in top.get_xlabel()
    assert ax.get_xlabel().startswith("span")
    plt.close(fig)


def test_figure_png_renders_and_closes():
    import matplotlib.pyplot as plt

    from gaitgs_lib.viz.explorer import figure_png

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    png = figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)


class _Handle:
    def __init__(self):
        self.updates = []

    def update(self, obj):
        self.updates.append(obj.data)


def test_figure_panel_bounds_sliders_and_redraws_once_per_change():
    pytest.importorskip("ipywidgets")
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from gaitgs_lib.viz.explorer import FigurePanel

    lengths = {"long": 40, "short": 10}
    seq = widgets.Dropdown(options=list(lengths), value="long")
    span = widgets.IntSlider(value=30, min=3, max=60)
    t = widgets.IntSlider(value=25, min=0, max=59)
    calls = []

    def draw(seq, span, t):
        calls.append((seq, span, t))
        fig, ax = plt.subplots()
        ax.set_title(f"{seq} {span} {t}")
        return fig

    def limits(seq, span, t):
        lim = ex.control_limits(lengths[seq], span)
        return {"span": lim["span"], "t": lim["t"]}

    open_before = set(plt.get_fignums())
    panel = FigurePanel(draw, {"span": span, "t": t}, limits=limits, watch={"seq": seq})
    panel.show()
    assert calls == [("long", 30, 25)] and (span.max, t.max) == (40, 29)
    panel._handle = _Handle()
    seq.value = "short"  # the bounds follow the sequence, the values are clamped, ONE redraw
    assert (span.max, span.value, t.max, t.value) == (10, 10, 9, 9)
    assert calls[1:] == [("short", 10, 9)] and len(panel._handle.updates) == 1
    assert panel._handle.updates[0][:4] == b"\x89PNG" and "updated in" in panel.status.value
    t.value = 3
    assert calls[-1] == ("short", 10, 3) and len(calls) == 3
    assert set(plt.get_fignums()) == open_before  # every figure is closed after rendering


def test_figure_panel_shows_errors_on_its_status_line():
    pytest.importorskip("ipywidgets")
    import ipywidgets as widgets

    from gaitgs_lib.viz.explorer import FigurePanel

    def draw(x):
        raise KeyError("no such walker")

    x = widgets.IntSlider(value=1, min=0, max=5)
    panel = FigurePanel(draw, {"x": x})
    panel._handle = _Handle()
    x.value = 2
    assert "error: KeyError" in panel.status.value and "no such walker" in panel.status.value
    assert panel._handle.updates == []


def test_figure_panel_replacing_a_panel_stops_the_old_one():
    pytest.importorskip("ipywidgets")
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from gaitgs_lib.viz.explorer import FigurePanel

    shared = widgets.IntSlider(value=1, min=0, max=5)
    drawn = []

    def draw(who):
        def inner(x):
            drawn.append(who)
            return plt.figure()
        return inner

    old = FigurePanel(draw("old"), {}, watch={"x": shared})
    new = FigurePanel(draw("new"), {}, watch={"x": shared}, replaces=old)
    shared.value = 2
    assert drawn == ["new"]  # only the new panel redraws
    assert "updated in" in new.status.value and old.status.value == ""


# ------------------------------------------------------------------------------------------
# The cue sets: spans in strides, rank against span for several walkers
# ------------------------------------------------------------------------------------------
def test_stride_frames_and_spans_follow_the_cadence():
    meta = {"fps": 25.0, "subjects": {s: {"gait": {"cadence": c}} for s, c in
                                      (("001", 112.5), ("002", 112.5), ("003", 100.0))}}
    assert ex.stride_frames(meta) == pytest.approx(25 * 120 / 112.5)  # the median subject: 26.7 frames
    assert ex.stride_spans(25 * 120 / 112.5) == (3, 7, 13, 20, 27, 40, 53, 80)
    assert ex.stride_spans(12.0, (0.1, 0.25, 1.0)) == (3, 12)  # at least MIN_SPAN, no repeats
    with pytest.raises(ValueError, match="gait.cadence"):
        ex.stride_frames({"fps": 25.0, "subjects": {"001": {}}})
    with pytest.raises(ValueError, match="positive number of frames"):
        ex.stride_spans(0)


def test_cue_set_needs_the_shipped_checkpoint(tmp_path):
    from gaitgs_lib.study import shipped_checkpoint

    assert ex.cue_set("long-span", data_root=tmp_path) is None  # the study has not shipped it yet
    ckpt = shipped_checkpoint("long-span", data_root=tmp_path)
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"")
    assert ex.cue_set("long-span", data_root=tmp_path, generate=False) == (
        tmp_path / "synthgait-cue-long-span", ckpt)
    with pytest.raises(ValueError, match="unknown cue 'tempo'"):
        ex.cue_set("tempo", data_root=tmp_path)


def test_span_rank_table_aligns_the_curves_of_several_walkers(tiny_explorer):
    explorer, _ = tiny_explorer
    walkers = [ex.Walker(s, v, "nm-05") for s in ("001", "002", "003") for v in ("000", "090")]
    table = ex.span_rank_table(explorer, walkers)
    assert table.spans == [3, 6, 9] and table.last_spans == [14] * 6 and table.gallery_size == 3
    expected = [explorer.span_curve(w, 0).ranks for w in walkers]  # spans 3, 6, 9, 14
    np.testing.assert_array_equal(table.ranks, expected)
    np.testing.assert_allclose(table.rank1(), 100 * (np.array(expected) == 1).mean(0))
    np.testing.assert_allclose(table.mean_rank(), np.array(expected).mean(0))
    late = ex.span_rank_table(explorer, walkers[:2], start=7)  # 7 frames left: spans 3, 6, then 7
    assert late.spans == [3, 6] and late.last_spans == [7, 7]
    with pytest.raises(ValueError, match="no walkers"):
        ex.span_rank_table(explorer, [])


def test_span_rank_table_needs_the_subject_in_the_gallery():
    class _NoGallery(_TinySet):
        def __init__(self):
            super().__init__()
            keep = [i for i, info in enumerate(self.infos) if not (info.sid == "003" and info.type == "nm-01")]
            self.infos, self.data = [self.infos[i] for i in keep], [self.data[i] for i in keep]

    explorer = ex.SpanExplorer(GaitGS("tiny").eval(), _NoGallery(), spans=(3,))
    with pytest.raises(ValueError, match="subject 003 has no gallery sequence at view 090"):
        ex.span_rank_table(explorer, [ex.Walker("003", "090", "nm-05")])


def test_plot_ranks_by_span_draws_one_line_per_table_and_the_stride():
    import matplotlib.pyplot as plt

    from gaitgs_lib.viz.explorer import plot_ranks_by_span

    a = ex.SpanRanks([3, 6], np.array([[2, 1, 1], [3, 2, 1]]), [10, 12], 4)
    b = ex.SpanRanks([3, 6], np.array([[4, 4, 3], [1, 2, 2]]), [9, 9], 4)
    fig = plot_ranks_by_span({"micro": a, "long-span": b}, stride=5.0, title="t")
    left, right = fig.axes[:2]
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["micro (2 walkers)", "long-span (2 walkers)"]
    xs = [tuple(line.get_xdata()) for line in left.lines]
    assert (3, 6) in xs and (11.0,) in xs and (9.0,) in xs  # every frame: at the walkers' mean length
    assert (5.0, 5.0) in xs  # one stride, vertical
    ys = [tuple(np.round(line.get_ydata(), 3)) for line in left.lines]
    assert (0.0, 50.0) in ys and (25.0, 25.0) in ys  # micro's rank-1 at spans 3, 6; chance 100/4
    assert (2.5, 2.5) in [tuple(line.get_ydata()) for line in right.lines]  # chance mean rank (4+1)/2
    assert right.yaxis_inverted() and "mean rank" in right.get_ylabel()
    plt.close(fig)
    with pytest.raises(ValueError, match="no tables"):
        plot_ranks_by_span({}, stride=5.0)
