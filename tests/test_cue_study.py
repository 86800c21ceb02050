"""The cue data sets (synthgait.cues) and the controlled-cue study (gaitgs_lib.study, docs/cue-study.md).

Each cue must be present and alone: what the cue changes separates subjects, everything
else is shared (exactly, where the generator can say so; measured on rendered silhouettes
where it cannot).
"""
import json
import math
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from gaitgs_lib.evaluation import summarise_cells
from gaitgs_lib.modeling import GaitGS
from gaitgs_lib.study import DESIGN, load_records
from gaitgs_lib.synthgait import generate, load_meta
from gaitgs_lib.synthgait.cues import (CUES, LONG_SPAN_EVENTS, LONG_SPAN_PHASE, MICRO_FRAMES,
                                       cue_subjects, long_span_orders, shared_gait)
from gaitgs_lib.synthgait.motion import A, fourier, phases, pose
from gaitgs_lib.synthgait.preprocess import preprocess_walk
from gaitgs_lib.synthgait.sequence import render_walk


def _subjects(cue, n=8):
    return cue_subjects(cue, 0, n, DESIGN.cue_strength[cue])


def _gei_nn_accuracy(cue, n=8, types=("nm-01", "nm-02", "nm-03"), frames=60):
    """Leave-one-out nearest-neighbour identification by GEI over n subjects x len(types) walks."""
    feats, labels = [], []
    for sub, ev in _subjects(cue, n):
        for t in types:
            r = render_walk(sub, t, "090", 0, n_frames=frames, noise=True, events=ev)
            feats.append(preprocess_walk(r.frames)[:, ::2, ::2].astype(float).mean(0).ravel())
            labels.append(sub.sid)
    f = np.stack(feats)
    d = ((f[:, None] - f[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float((np.array(labels)[d.argmin(1)] == np.array(labels)).mean())


def _same_walk(sub, ev, other):
    """`other` walking exactly `sub`'s walk (same speed, start, heading and noise draws): only the cue differs."""
    return replace(other, sid=sub.sid)


def test_every_cue_makes_distinct_subjects_and_shares_the_rest():
    gait = shared_gait()
    for cue in CUES:
        subs = _subjects(cue)
        bodies = {json.dumps(s.body.to_dict(), sort_keys=True) for s, _ in subs}
        outfits = {json.dumps(s.outfit.to_dict(), sort_keys=True) for s, _ in subs}
        gaits = {s.gait.coeffs.tobytes() for s, _ in subs}
        events = {json.dumps(asdict(e), sort_keys=True) for _, e in subs if e is not None}
        cadences = {s.gait.cadence for s, _ in subs}
        assert cadences == {gait.cadence}, cue                       # nobody is identified by pace
        if cue == "shape":
            assert len(bodies) == len(subs) and gaits == {gait.coeffs.tobytes()} and not events
        elif cue == "cycle":
            assert len(bodies) == 1 and len(outfits) == 1 and len(gaits) == len(subs) and not events
        else:
            assert len(bodies) == 1 and len(outfits) == 1 and gaits == {gait.coeffs.tobytes()}
            assert len(events) == len(subs), cue


def test_shape_subjects_move_identically_and_a_template_separates_them():
    (a, _), (b, _) = _subjects("shape")[:2]
    ph = phases(a.gait, 50)
    assert np.array_equal(pose(a.body, a.gait, ph)["angles"], pose(b.body, b.gait, ph)["angles"])
    assert _gei_nn_accuracy("shape") >= 0.35                        # chance: 1 / 8 (0.42 at the study's strength)


def test_cycle_subjects_share_mean_pose_and_harmonic_sizes_but_not_timing():
    subs = _subjects("cycle")
    coeffs = np.stack([s.gait.coeffs[0] for s, _ in subs])       # [n, 9 angles, 7]
    means = coeffs[:, :, 0]
    sizes = np.hypot(coeffs[:, :, 1::2], coeffs[:, :, 2::2])     # amplitude of each harmonic
    assert np.allclose(means, means[0]) and np.allclose(sizes, sizes[0])
    curves = np.stack([fourier(c, np.linspace(0, 1, 50)) for c in coeffs])   # [n, 50, 9]
    assert np.abs(curves[0] - curves[1]).max() > 2.0              # degrees: the timing differs


def test_micro_events_are_brief_and_only_there():
    (a, ea), (b, eb) = _subjects("micro")[:2]
    ph = phases(a.gait, 120, start_phase=0.3)
    off = ea(ph, np.random.default_rng(0))                         # [T, 2, 9]
    on = np.flatnonzero(np.abs(off).sum((1, 2)))
    strides = math.floor(ph[-1]) - math.floor(ph[0]) + 1
    assert 0 < len(on) <= 2 * MICRO_FRAMES * strides              # two flicks per stride, two frames each
    runs = np.split(on, np.flatnonzero(np.diff(on) > 1) + 1)
    assert all(len(r) <= MICRO_FRAMES * 2 for r in runs)          # never longer than two flicks back to back
    # the same walk with another subject's flicks differs only on flick frames
    b_same = _same_walk(a, ea, b)
    fa = render_walk(a, "nm-01", "090", 0, n_frames=60, noise=False, events=ea).frames
    fb = render_walk(b_same, "nm-01", "090", 0, n_frames=60, noise=False, events=eb).frames
    ph60 = render_walk(a, "nm-01", "090", 0, n_frames=60, noise=False).posed["phase"]
    flick_frames = set(np.flatnonzero(np.abs(ea(ph60, None)).sum((1, 2)) + np.abs(eb(ph60, None)).sum((1, 2))))
    differs = {t for t in range(60) if fa[t].shape != fb[t].shape or (fa[t] != fb[t]).any()}
    assert differs and differs <= flick_frames


def test_micro_subjects_are_not_told_apart_by_a_template():
    assert _gei_nn_accuracy("micro") <= 0.3                       # chance: 1 / 8; shape gets >= 0.35


def test_long_span_every_subject_makes_each_movement_equally_often_and_one_per_stride():
    orders = long_span_orders(0, 40)
    assert len(set(orders)) == 40 and all(sorted(o) == list(range(len(LONG_SPAN_EVENTS))) for o in orders)
    (a, ea), (b, eb) = _subjects("long-span")[:2]
    ph = phases(a.gait, 400, start_phase=0.0)                      # ~14 strides
    for ev in (ea, eb):
        off = ev(ph, np.random.default_rng(1))
        per_stride = []
        for k in range(12):
            frames = (ph >= k) & (ph < k + 1)
            moved = {e for e in range(len(LONG_SPAN_EVENTS)) if _channel_active(off[frames], e)}
            per_stride.append(moved)
        assert all(len(m) == 1 for m in per_stride)               # one movement per stride
        counts = np.bincount([next(iter(m)) for m in per_stride], minlength=6)
        assert (counts == 2).all()                                # twelve strides: each movement twice
        within = (ph % 1)[np.abs(off).sum((1, 2)) > 0]
        assert within.min() > LONG_SPAN_PHASE[0] and within.max() < LONG_SPAN_PHASE[1]
    # what differs is which movement follows which
    ta = {(o[i], o[(i + 1) % 6]) for o in [ea.order] for i in range(6)}
    tb = {(o[i], o[(i + 1) % 6]) for o in [eb.order] for i in range(6)}
    assert ta != tb


def _channel_active(off, e):
    side, angle, _ = LONG_SPAN_EVENTS[e]
    return np.abs(off[:, side, A[angle]]).sum() > 0


def test_long_span_subjects_are_not_told_apart_by_a_template():
    assert _gei_nn_accuracy("long-span", frames=100) <= 0.3


def test_gaitgs_sees_what_happened_not_when():
    """Two walks made of the same local windows in another order get the same embedding (docs/cue-study.md)."""
    torch.manual_seed(0)
    model = GaitGS("tiny").eval().double()
    h, w = model.cfg.input_hw
    still = torch.rand(h, w, dtype=torch.float64) * 0.2
    a, b = torch.rand(6, h, w, dtype=torch.float64), torch.rand(6, h, w, dtype=torch.float64)

    def walk(x, y, gap):
        s = still.expand(gap, h, w)
        return torch.cat([s, x, s, y, s])[None]                    # [1, 3 gap + 12, h, w]

    with torch.no_grad():
        embed = lambda x: model(x)["embeddings"]
        ab = embed(walk(a, b, 36))
        swapped = (ab - embed(walk(b, a, 36))).abs().max().item()
        other = (ab - embed(walk(a, a, 36))).abs().max().item()
        near = (embed(walk(a, b, 3)) - embed(walk(b, a, 3))).abs().max().item()
    assert swapped < 1e-4 * other                                   # order of distant events: invisible
    assert near > 1e3 * swapped and other > 1e3 * swapped          # nearby order and content: visible


def test_summarise_cells_applies_the_decision_rule():
    recs = [{"cue": "c", "variant": "full", "seed": s, "rank1": v, "chance": 6.25} for s, v in enumerate((60, 62, 64))]
    recs += [{"cue": "c", "variant": "drop", "seed": s, "rank1": v, "chance": 6.25} for s, v in enumerate((40, 41, 42))]
    recs += [{"cue": "c", "variant": "noisy", "seed": s, "rank1": v, "chance": 6.25} for s, v in enumerate((30, 62, 80))]
    recs += [{"cue": "c", "variant": "small", "seed": s, "rank1": v, "chance": 6.25} for s, v in enumerate((58, 59, 60))]
    s = summarise_cells(recs)
    assert s[("c", "full")]["mean"] == 62 and s[("c", "full")]["sd"] == 2 and s[("c", "full")]["verdict"] == "-"
    assert s[("c", "drop")]["delta"] == -21 and s[("c", "drop")]["verdict"] == "drop"
    assert s[("c", "noisy")]["verdict"] == "same"                 # a big mean difference inside the noise
    assert s[("c", "small")]["verdict"] == "same"                 # beyond 2 SE but under 5 points
    assert s[("c", "drop")]["above_chance"] and math.isclose(s[("c", "drop")]["se"], 1 / math.sqrt(3))


def test_cue_data_set_on_disk_records_its_cue(tmp_path):
    out = generate("test", tmp_path / "cue", cue="long-span", cue_strength=0.5, progress=False, workers=1)
    meta = load_meta(out)
    assert (meta["cue"], meta["cue_strength"], meta["cue_version"]) == ("long-span", 0.5, "1")
    assert set(meta["cue_events"]) == set(meta["subjects"]) and meta["cue_events"]["001"]["kind"] == "long-span"
    with pytest.raises(ValueError, match="unknown cue"):
        generate("test", tmp_path / "x", cue="gait", progress=False)
    with pytest.raises(ValueError, match="strength"):
        generate("test", tmp_path / "x", cue="micro", cue_strength=0, progress=False)


def test_study_results_file_is_checked(tmp_path):
    assert load_records(tmp_path / "none.json") == []
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="not a readable study results file"):
        load_records(bad)
    bad.write_text(json.dumps([{"cue": "micro"}]))
    with pytest.raises(ValueError, match="expected a JSON list of records"):
        load_records(bad)


@pytest.mark.slow
def test_the_study_runs_resumes_and_keeps_finished_cells(tmp_path, capsys):
    from gaitgs_lib.study import StudyDesign, run_study, shipped_checkpoint

    design = StudyDesign(cues=("micro",), variants=("full", "no-global-span"), seeds=(0,), iterations=2, frames=8,
                         p=2, k=2, data_preset="test")
    kwargs = dict(out=tmp_path / "study.json", data_root=tmp_path / "data", runs=tmp_path / "runs")
    records = run_study(design, workers=2, **kwargs)
    assert sorted((r["cue"], r["variant"], r["seed"]) for r in records) == [
        ("micro", "full", 0), ("micro", "no-global-span", 0)]
    assert records == load_records(tmp_path / "study.json") or len(load_records(tmp_path / "study.json")) == 2
    for r in records:
        assert 0 <= r["rank1"] <= 100 and r["iterations"] == 2 and r["train_cpu_s"] > 0
        assert r["data"]["cue"] == "micro" and r["data"]["preset"] == "test"
    assert shipped_checkpoint("micro", "full", 0, design, tmp_path / "data").is_file()
    assert not (tmp_path / "data" / "checkpoints" / "cue-study" / "tiny-no-global-span-micro.pt").exists()
    capsys.readouterr()
    again = run_study(design, workers=2, **kwargs)                   # nothing left to run
    assert "0 to run" in capsys.readouterr().out and len(again) == 2


def test_readme_shows_the_shipped_results_file():
    """The README's table is rendered from data/studies/cue-ablation.json, never typed."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(repo / "scripts" / "render_tables.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    records = load_records(repo / "data" / "studies" / "cue-ablation.json")
    cells = {(r["cue"], r["variant"], r["seed"]) for r in records}
    assert len(cells) == len(records) >= len(DESIGN.cues) * 4 * 3       # every cell once; >= 4 cues x 4 variants x 3 seeds
    assert {c for c, _, _ in cells} == set(DESIGN.cues)
