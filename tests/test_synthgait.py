"""SynthGait generator: layout, metadata, determinism, twins, overwrite/atomicity, covariates, CLI."""
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gaitgs_lib.data.io import read_sequence
from gaitgs_lib.data.pretreat import preprocess_sequence
from gaitgs_lib.synthgait import (GENERATOR_VERSION, SYNTHGAIT_PRESETS, TYPES, VIEWS, generate, make_subject,
                                  render_frame, render_walk, skeleton)
from gaitgs_lib.synthgait import generator as gen_mod
from gaitgs_lib.synthgait.cli import main
from gaitgs_lib.viz.contact_sheet import main as contact_sheet_main
from gaitgs_lib.synthgait.covariates import Bag, Coat, CoatWear, coat_parts
from gaitgs_lib.synthgait.motion import J

SEED = 3


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("sg") / "synthgait-test"
    return generate("test", out, seed=SEED, progress=False, workers=1)


def _digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_naming(dataset):
    sids = sorted(p.name for p in dataset.iterdir() if p.is_dir())
    assert sids == ["001", "002", "003", "004"]
    for sid in sids:
        assert sorted(p.name for p in (dataset / sid).iterdir()) == sorted(TYPES)
        for typ in TYPES:
            assert sorted(p.name for p in (dataset / sid / typ).iterdir()) == VIEWS
            for view in VIEWS:
                assert [p.name for p in (dataset / sid / typ / view).iterdir()] == [f"{view}.pkl"]
    assert not list(dataset.parent.glob("*.tmp*")), "temporary folders left behind"


def test_partition_and_meta(dataset):
    part = json.loads((dataset / "partition.json").read_text())
    assert part == {"TRAIN_SET": ["001", "002"], "TEST_SET": ["003", "004"]}
    meta = json.loads((dataset / "meta.json").read_text())
    assert (meta["generator"], meta["version"], meta["preset"], meta["seed"]) == \
        ("synthgait", GENERATOR_VERSION, "test", SEED)
    assert meta["twins"] == [["003", "004"]]
    assert meta["n_sequences"] == 4 * len(TYPES) * len(VIEWS)
    assert meta["types"] == TYPES and meta["views"] == VIEWS and meta["fps"] == 25.0
    s = meta["subjects"]["001"]
    assert s["sex"] in ("F", "M") and isinstance(s["build"], float)
    assert 80 < s["gait"]["cadence"] < 145
    assert s["bags"]["bg-01"]["kind"] in ("backpack", "shoulder", "hand")
    assert s["coat"]["kind"] in ("jacket", "coat", "long") and 0.14 <= s["coat"]["hem"] <= 0.47
    assert set(s["coat_wear"]) == {"cl-01", "cl-02"} and isinstance(s["coat_wear"]["cl-01"]["pockets"], bool)
    assert s["twin"] is None and meta["subjects"]["004"]["twin"] == "003"


def test_frames_uint8_64x64_and_lengths(dataset):
    lo, hi = SYNTHGAIT_PRESETS["test"].frame_range
    for sid in ("001", "004"):
        for typ in ("nm-01", "bg-02", "cl-01"):
            seq = read_sequence(dataset / sid / typ / "054" / "054.pkl")
            assert seq.dtype == np.uint8 and seq.shape[1:] == (64, 64)
            assert 1 <= seq.shape[0] <= hi
            # bicubic resizing leaves grey only on the outline: nearly all pixels are 0 or 255
            assert np.isin(seq, (0, 255)).mean() > 0.9
            assert (seq.reshape(len(seq), -1).max(1) == 255).all()
    spec = SYNTHGAIT_PRESETS["test"]
    r = render_walk(make_subject(SEED, "001"), "nm-01", "090", SEED, cycles=spec.cycles, frame_range=spec.frame_range)
    assert set(np.unique(r.frames)) <= {0, 255}
    assert lo <= r.frames.shape[0] <= hi


@pytest.mark.slow
def test_deterministic_and_independent_of_workers(dataset, tmp_path):
    again = generate("test", tmp_path / "again", seed=SEED, progress=False, workers=2)
    assert _digest(again) == _digest(dataset)


def test_other_seed_differs(tmp_path):
    a = render_walk(make_subject(0, "001"), "nm-01", "090", 0).frames
    b = render_walk(make_subject(1, "001"), "nm-01", "090", 1).frames
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_twins_share_body_not_gait(dataset):
    a, b = make_subject(SEED, "003"), make_subject(SEED, "004", twin_of="003")
    assert a.body == b.body and a.bags == b.bags and a.coat == b.coat and a.outfit == b.outfit
    assert b.twin == "003"
    assert abs(b.gait.cadence / a.gait.cadence - 1) > 0.05
    assert not np.allclose(a.gait.coeffs, b.gait.coeffs)
    assert a.gait.trunk_lean == b.gait.trunk_lean        # posture traits are part of the look
    other = make_subject(SEED, "001")
    assert other.body != a.body


def test_same_dataset_is_not_regenerated(dataset, capsys):
    before = (dataset / "meta.json").stat().st_mtime_ns
    assert generate("test", dataset, seed=SEED, progress=False) == dataset
    assert "already complete" in capsys.readouterr().out
    assert (dataset / "meta.json").stat().st_mtime_ns == before


@pytest.mark.slow
def test_refuses_to_overwrite_other_data(dataset, tmp_path):
    with pytest.raises(FileExistsError, match="different SynthGait dataset"):
        generate("test", dataset, seed=SEED + 1, progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    # a folder that is not a SynthGait dataset is never replaced, not even with overwrite=True
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match=r"not a SynthGait dataset \(e.g. notes.txt\)"):
            generate("test", foreign, seed=0, subjects=2, progress=False, overwrite=overwrite)
    assert (foreign / "notes.txt").read_text() == "mine"
    ours = tmp_path / "ours"                                  # a SynthGait dataset (its meta.json says so)
    ours.mkdir()
    (ours / "meta.json").write_text(json.dumps({"generator": "synthgait", "version": "0.9", "seed": 0}))
    with pytest.raises(FileExistsError, match="different SynthGait dataset"):
        generate("test", ours, seed=1, subjects=2, progress=False)
    out = generate("test", ours, seed=1, subjects=2, progress=False, overwrite=True, workers=1)
    assert json.loads((out / "meta.json").read_text())["seed"] == 1
    assert json.loads((out / "partition.json").read_text()) == {"TRAIN_SET": ["001"], "TEST_SET": ["002"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign", "ours"]  # no lock or temporary left


def test_crash_leaves_no_output(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = gen_mod.write_sequence

    def flaky(path, array):
        calls["n"] += 1
        if calls["n"] > 5:
            raise RuntimeError("disk full (simulated)")
        return real(path, array)

    monkeypatch.setattr(gen_mod, "write_sequence", flaky)
    with pytest.raises(RuntimeError, match="simulated"):
        generate("test", tmp_path / "crash", seed=0, subjects=2, progress=False, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_unknown_preset_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'c'"):
        generate("c", tmp_path / "x")


def _centre_offset(subject, type_, view):
    """Mean horizontal mass centre of the silhouette relative to the pelvis (pixels), and mean area."""
    r = render_walk(subject, type_, view, 0, noise=False, n_frames=30)
    f = r.frames.astype(np.float64) / 255
    cols = np.arange(f.shape[2]) + 0.5
    centre = (f.sum(1) * cols).sum(1) / f.sum((1, 2))
    return float(np.mean(centre - r.joints2d[:, J["pelvis"], 0])), float(f.sum((1, 2)).mean())


def test_bag_shifts_mass_centre_and_coat_widens():
    s = make_subject(0, "001")
    nm, nm_area = _centre_offset(s, "nm-01", "000")
    bag = Bag("shoulder", side=1.0, width=0.07, depth=0.2, length=0.16, arm_gain=0.4, lean=0.0)
    bg, bg_area = _centre_offset(replace(s, bags=(bag, bag)), "bg-01", "000")
    assert bg - nm > 0.1            # the bag on the left hip appears on the right of a frontal view
    assert bg_area > nm_area
    hand = Bag("hand", side=-1.0, width=0.07, depth=0.2, length=0.16, arm_gain=0.1, lean=0.0)
    hb, _ = _centre_offset(replace(s, bags=(hand, hand)), "bg-01", "000")
    assert hb - nm < -0.3           # a bag in the right hand: mass moves left
    pack = Bag("backpack", side=1.0, width=0.17, depth=0.1, length=0.24, arm_gain=1.0, lean=5.0)
    nm90, _ = _centre_offset(s, "nm-01", "090")
    bp90, _ = _centre_offset(replace(s, bags=(pack, pack)), "bg-01", "090")
    assert bp90 - nm90 > 0.3        # at 090 the walk goes leftwards: a backpack shifts mass rightwards
    _, cl_area = _centre_offset(s, "cl-01", "000")
    assert cl_area > 1.05 * nm_area


def _long_coat(**kw) -> Coat:
    base = dict(kind="long", bulk=0.04, sleeve=0.02, hem=0.2, flare=0.03, stiffness=0.0, lag=2, hood=0.05,
                arm_gain=0.7)
    return Coat(**(base | kw))


def _wear(**kw) -> CoatWear:
    return CoatWear(**(dict(open=False, pockets=False, hood_up=False, flap=0.0) | kw))


def test_coat_skirt_is_pushed_and_dragged_by_the_legs():
    s = make_subject(0, "005")
    r = render_walk(s, "nm-01", "090", 0, noise=False, n_frames=60)
    j, pelvis = r.posed["joints"], r.posed["joints"][:, J["pelvis"]]
    skirt = coat_parts(s.body, r.posed, _long_coat(), _wear())[0]
    hem_x = skirt.b[:, 0] - pelvis[:, 0]
    depth = skirt.rb[1]                                            # half the hem's front-back extent
    front, back = hem_x + depth, hem_x - depth
    ankles = j[:, [J["ankle_l"], J["ankle_r"]], 0] - pelvis[:, None, 0]
    knees = j[:, [J["knee_l"], J["knee_r"]], 0] - pelvis[:, None, 0]
    legs = (knees + (ankles - knees) * 0.5)                        # the shanks near the hem's height
    assert np.all(front >= legs.max(1) - 0.02) and np.all(back <= legs.min(1) + 0.02)   # the legs stay inside
    spread = front - back
    assert spread.max() - spread.min() > 0.1                      # it opens and closes with every step
    lagged = [np.corrcoef(spread[5:], (legs.max(1) - legs.min(1))[5 - k:60 - k])[0, 1] for k in range(4)]
    assert int(np.argmax(lagged)) >= 1                            # and follows the legs late
    stiff = coat_parts(s.body, r.posed, _long_coat(stiffness=1.0), _wear())[0].rb[1]
    assert np.all(stiff >= depth - 1e-9) and stiff.min() > depth.min() + 0.01   # a stiff coat keeps its A-line


def test_coat_hides_waist_and_arm_swing():
    s = make_subject(0, "005")
    coat = _long_coat()
    nm = render_walk(s, "nm-01", "000", 0, noise=False, n_frames=40)
    cl = render_walk(replace(s, coat=coat, wear=(_wear(), _wear(pockets=True))), "cl-01", "000", 0, noise=False,
                     n_frames=40)
    assert (cl.frames > 0).sum() > 1.3 * (nm.frames > 0).sum()     # bulk, sleeves and skirt
    swing = {}
    for typ in ("nm-01", "cl-01", "cl-02"):
        r = render_walk(replace(s, coat=coat, wear=(_wear(), _wear(pockets=True))), typ, "090", 0, noise=False,
                        n_frames=40)
        wrist = r.posed["joints"][:, J["wrist_l"], 0] - r.posed["joints"][:, J["shoulder_l"], 0]
        swing[typ] = float(np.ptp(wrist))
    assert swing["cl-01"] < 0.9 * swing["nm-01"]                  # the coat restrains the swing
    assert swing["cl-02"] < 0.25 * swing["nm-01"]                 # hands in the pockets
    assert "hood" in [p.name for p in coat_parts(s.body, nm.posed, coat, _wear(hood_up=True))]


def test_coat_wear_varies_by_session_not_by_view():
    subjects = [make_subject(0, f"{i:03d}") for i in range(1, 41)]
    kinds = {s.coat.kind for s in subjects}
    assert kinds == {"jacket", "coat", "long"}
    assert any(s.wear[0] != s.wear[1] for s in subjects)
    assert 0.15 < np.mean([w.pockets for s in subjects for w in s.wear]) < 0.45
    s = subjects[0]
    assert make_subject(0, "001").wear == s.wear                   # fixed per subject and session


def test_skeleton_matches_rendered_frame():
    s = make_subject(0, "002")
    sk = skeleton(s, view="090", n_frames=12)
    assert sk["joints"].shape == (12, 22, 3) and sk["joints2d"].shape == (12, 22, 2)
    frame = render_frame(s, view="090", frame=5, n_frames=12)
    col, row = sk["joints2d"][5, J["pelvis"]]
    assert frame[int(row), int(col)] == 255                  # the pelvis is inside the silhouette
    head = sk["joints"][:, J["head_top"], 2]
    assert np.all((head > 0.9) & (head < 1.1))               # about one body height tall


@pytest.mark.slow
def test_raw_png_round_trip_through_pretreat(tmp_path):
    from PIL import Image

    out = generate("test", tmp_path / "sg", seed=0, subjects=2, progress=False, raw_png=True, workers=1)
    raw = tmp_path / "sg-raw" / "001" / "nm-01" / "090"
    pngs = sorted(raw.glob("*.png"))
    assert pngs[0].name == "001-nm-01-090-001.png"
    frames = np.stack([np.asarray(Image.open(p)) for p in pngs])
    assert frames.shape[1:] == (240, 320) and set(np.unique(frames)) <= {0, 255}
    again, _ = preprocess_sequence(frames)
    stored = read_sequence(out / "001" / "nm-01" / "090" / "090.pkl")
    assert again.shape == stored.shape
    # The generator preprocesses a person-sized window, not the 320-wide field: the resized
    # width int(64 W / h) truncates differently (a horizontal scale off by <= 1.5 %), which can
    # also move the mass-median column by a pixel. Same frames otherwise: unrelated frames
    # of a walk differ by ~30 grey levels per pixel on average.
    diff = [min(np.abs(np.roll(a.astype(int), s, axis=1) - b.astype(int)).mean() for s in (-1, 0, 1))
            for a, b in zip(again, stored)]
    assert np.mean(diff) < 6.0


@pytest.mark.slow
def test_cli_and_contact_sheet(dataset, tmp_path, capsys):
    assert main(["--preset", "test", "--out", str(dataset), "--seed", str(SEED), "--no-progress"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert main(["--preset", "test", "--out", str(dataset), "--seed", "9", "--no-progress"]) == 1
    png = tmp_path / "sheet.png"
    assert contact_sheet_main(["--data", str(dataset), "--subject", "003", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    assert contact_sheet_main(["--data", str(dataset), "--twins", "--out", str(tmp_path / "tw.png")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.png", "tw.png"]  # no temporary left
    capsys.readouterr()
    assert contact_sheet_main(["--data", str(dataset), "--subject", "999", "--out", str(png)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no subject '999'" in err and err.count("\n") == 1


@pytest.mark.slow
def test_stale_temporary_of_a_killed_run_is_removed(tmp_path):
    stale = tmp_path / "sg.tmp-999999999"              # no such process
    (stale / "001").mkdir(parents=True)
    generate("test", tmp_path / "sg", seed=0, subjects=2, progress=False, workers=1)
    assert not stale.exists()


def test_camera_view_drifts_across_the_field_and_approach_grows():
    from gaitgs_lib.synthgait.render import Camera, make_projection

    root = np.stack([np.linspace(0, 2.6, 80), np.zeros(80), np.full(80, 0.52)], -1)   # 2.6 heights walked
    side = make_projection(Camera(90.0), root)
    assert side.view_deg[-1] - side.view_deg[0] > 20          # seen from ~75 deg, then ~105 deg
    assert abs(side.view_deg[40] - 90) < 1
    assert side.root_u[0] > side.root_u[-1]                   # crosses the field right to left
    front = make_projection(Camera(0.0), root)
    assert front.scale[-1] > 1.5 * front.scale[0]             # walking towards the camera: grows
    np.testing.assert_allclose(front.view_deg, 0.0, atol=1e-9)


@pytest.mark.slow
def test_ensure_synthgait_upgrades_old_versions_only(tmp_path, capsys):
    from gaitgs_lib.synthgait import ensure_synthgait

    out = ensure_synthgait("test", root=tmp_path, progress=False)
    assert out == tmp_path / "synthgait-test"
    meta = json.loads((out / "meta.json").read_text())
    meta["version"] = "0.9"
    (out / "meta.json").write_text(json.dumps(meta))
    ensure_synthgait("test", root=tmp_path, progress=False)
    assert "regenerating" in capsys.readouterr().out
    assert json.loads((out / "meta.json").read_text())["version"] == GENERATOR_VERSION
    other = tmp_path / "x" / "synthgait-test"
    other.mkdir(parents=True)
    (other / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError):
        ensure_synthgait("test", root=tmp_path / "x", progress=False)
