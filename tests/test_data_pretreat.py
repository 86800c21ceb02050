"""data/pretreat.py: the five per-frame steps of docs/data-and-evaluation.md (OpenGait's, with OpenCV),
a sequence, the raw-tree CLI."""
import json
import sys
import warnings

import cv2
import numpy as np
import pytest
import torch

from gaitgs_lib.data.io import read_sequence
from gaitgs_lib.data.pretreat import (
    EMPTY,
    NO_CENTRE,
    cubic_resize,
    main,
    preprocess_frame,
    preprocess_sequence,
    pretreat,
)


def _rect(H=100, W=70, rows=(20, 84), cols=(30, 50)):
    img = np.zeros((H, W), np.uint8)
    img[rows[0]: rows[1], cols[0]: cols[1]] = 255
    return img


def _blobby(rng, H=100, W=70):
    """A person-like union of ellipses, cropped top and bottom at random."""
    yy, xx = np.mgrid[:H, :W]
    img = np.zeros((H, W), np.uint8)
    cx = W / 2 + rng.normal() * W * 0.1
    top, bot = rng.integers(0, H // 5), H - rng.integers(0, H // 5)
    for _ in range(6):
        ey, ex = rng.uniform(top, bot), cx + rng.normal() * W * 0.08
        ry, rx = rng.uniform(3, H / 4), rng.uniform(2, W / 6)
        img[((yy - ey) / ry) ** 2 + ((xx - ex) / rx) ** 2 < 1] = 255
    img[:top] = 0
    img[bot:] = 0
    return img


# ---------------------------------------------------------------- against OpenCV, as OpenGait calls it
def _opengait_frame(img, size=64):
    """OpenGait's per-frame loop (datasets/pretreatment.py) transcribed step by step, with cv2.resize."""
    if img.sum() <= 10000:
        return None
    nonzero_rows = img.sum(axis=1) != 0
    top, bottom = nonzero_rows.argmax(), nonzero_rows.cumsum().argmax()
    img = img[top: bottom + 1, :]
    img = cv2.resize(img, (int(size * (img.shape[1] / img.shape[0])), size), interpolation=cv2.INTER_CUBIC)
    total, centre = img.sum(), None
    for idx, csum in enumerate(img.sum(axis=0).cumsum()):
        if csum > total / 2:
            centre = idx
            break
    if not centre:
        return None
    half = size // 2
    left, right = centre - half, centre + half
    if left <= 0 or right >= img.shape[1]:
        left, right = left + half, right + half
        pad = np.zeros((img.shape[0], half))
        img = np.concatenate([pad, img, pad], axis=1)
    return img[:, left:right].astype("uint8")


@pytest.mark.parametrize("size", [64, 128])
def test_frames_are_opengaits_bytes(size):
    rng = np.random.default_rng(11)
    frames = [_blobby(rng, 100, 70) for _ in range(30)] + [_blobby(rng, 240, 320) for _ in range(30)]
    frames += [_rect(), _rect(cols=(0, 10)), _rect(cols=(60, 70)), _rect(cols=(0, 1)), np.zeros((100, 70), np.uint8)]
    kept = 0
    for img in frames:
        ours, ref = preprocess_frame(img, size), _opengait_frame(img, size)
        assert (ours is None) == (ref is None)
        if ref is not None:
            kept += 1
            assert ours.dtype == np.uint8 and ours.shape == (size, size)
            np.testing.assert_array_equal(ours, ref)
    assert preprocess_frame(frames[-1], size) is None     # blank (at 64 the column-0 bar too; at 128 the
    assert kept >= len(frames) - 2                        # resize spreads it over two columns)


def test_cubic_resize_is_opencv_inter_cubic_on_a_fixed_case():
    # cv2.resize(img, (7, 9), interpolation=cv2.INTER_CUBIC), OpenCV 4.14, computed once; OpenCV 5 agrees
    img = np.array([[241, 160, 175, 229, 148], [198, 213, 57, 14, 76], [72, 223, 233, 1, 127],
                    [210, 33, 204, 30, 119], [209, 77, 87, 71, 184], [65, 253, 113, 122, 129]], np.uint8)
    opencv = np.array([[252, 190, 151, 185, 243, 215, 147], [235, 214, 157, 100, 115, 119, 106],
                       [170, 218, 192, 73, 0, 20, 84], [65, 174, 255, 208, 38, 26, 129],
                       [130, 114, 167, 246, 66, 32, 130], [240, 88, 47, 184, 73, 60, 136],
                       [238, 119, 48, 101, 61, 107, 189], [134, 164, 151, 89, 87, 128, 167],
                       [36, 194, 251, 115, 117, 127, 124]], np.uint8)
    ours = cubic_resize(img, 9, 7)
    assert ours.dtype == np.uint8
    np.testing.assert_array_equal(ours, opencv)


def test_without_opencv_pretreat_says_how_to_install(tmp_path, monkeypatch, capsys):
    raw = tmp_path / "raw"
    _raw_tree(raw)
    monkeypatch.setitem(sys.modules, "cv2", None)         # `import cv2` now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "gaitgs-lib\[real-data\]"'):
        preprocess_frame(_rect())
    assert main([str(raw), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs OpenCV" in err and "opencv-python-headless" in err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- one frame
def test_empty_frames_are_dropped_at_the_pixel_sum_threshold():
    img = np.zeros((100, 70), np.uint8)
    img[50, :39] = 255                       # 39 * 255 = 9945 <= 10000
    assert preprocess_frame(img) is None
    img[51, :40] = 255                       # now 79 * 255 > 10000
    assert preprocess_frame(img) is not None
    assert preprocess_frame(np.zeros((100, 70), np.uint8)) is None


def test_crop_rows_and_identity_scale():
    # rows 20..83 -> crop height 64 = size, width int(64 * 70 / 64) = 70: the resize is the identity
    out = preprocess_frame(_rect())
    assert out.shape == (64, 64) and out.dtype == np.uint8
    assert out.any(axis=1).all()             # rows cropped exactly: every output row holds person
    # 20 columns 30..49: mass median is column 40 -> window [8, 72): the bar lands on 22..41
    cols = np.flatnonzero(out.any(axis=0))
    assert cols.tolist() == list(range(22, 42))
    assert set(np.unique(out)) == {0, 255}


def test_centre_is_the_mass_median_not_the_bbox_centre():
    img = _rect(cols=(40, 60))
    img[20:84, 10:12] = 255                  # a thin bar far left: bbox centre 35, mass median 49
    out = preprocess_frame(img)
    cols = np.flatnonzero(out.any(axis=0))
    assert cols.tolist() == list(range(23, 43))  # block 40..59 shifted by 49 - 32 = 17; the bar falls outside


@pytest.mark.parametrize("cols, expect", [((0, 10), range(27, 37)), ((60, 70), range(27, 37))])
def test_padding_at_the_border(cols, expect):
    out = preprocess_frame(_rect(cols=cols))
    assert np.flatnonzero(out.any(axis=0)).tolist() == list(expect)
    assert out.shape == (64, 64)


def test_centre_in_column_zero_is_skipped_like_opengait():
    img = _rect(cols=(0, 1))                 # all mass in column 0: OpenGait's `if not x_center` skips it
    assert preprocess_frame(img) is None


def test_128_variant():
    img = np.zeros((150, 140), np.uint8)
    img[10:138, 60:80] = 255                 # crop height 128 -> width 140: identity scale
    out = preprocess_frame(img, size=128)
    assert out.shape == (128, 128)
    assert np.flatnonzero(out.any(axis=0)).tolist() == list(range(54, 74))  # centre 70 -> window [6, 134)


def test_resized_width_follows_the_crop_aspect():
    img = _rect(rows=(0, 32), cols=(0, 70))  # 32 x 70 full block -> 64 x 140, centre 70
    out = preprocess_frame(img)
    assert (out == 255).all()


def test_frame_type_errors():
    with pytest.raises(ValueError, match="uint8 frame"):
        preprocess_frame(np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError, match="uint8 frame"):
        preprocess_frame(np.zeros((2, 10, 10), np.uint8))


# ---------------------------------------------------------------- a sequence
def test_sequence_equals_frame_by_frame_and_reports_drops():
    rng = np.random.default_rng(1)
    frames = np.stack([_blobby(rng) for _ in range(40)])
    frames[[3, 17]] = 0
    frames[25] = _rect(cols=(0, 1))          # no centre
    frames[30, [0, 99], 35] = 255            # crop height 100: vertical taps at exact halves, ties likely
    frames[31] = _rect(rows=(0, 100), cols=(20, 41))
    out, report = preprocess_sequence(frames)
    ref = [preprocess_frame(f) for f in frames]
    np.testing.assert_array_equal(out, np.stack([r for r in ref if r is not None]))
    assert report.frames_in == 40 and report.frames_kept == 37
    assert report.dropped == {EMPTY: (3, 17), NO_CENTRE: (25,)}
    assert "37/40 frames kept" in str(report)


def test_sequence_of_mixed_shapes_keeps_order():
    rng = np.random.default_rng(2)
    frames = [_blobby(rng, 100, 70) if i % 3 else _blobby(rng, 240, 320) for i in range(12)]
    out, report = preprocess_sequence(iter(frames), size=64)
    ref = np.stack([preprocess_frame(f) for f in frames])
    np.testing.assert_array_equal(out, ref)
    assert report.frames_kept == 12


def test_sequence_accepts_a_tensor():
    rng = np.random.default_rng(6)
    frames = np.stack([_blobby(rng) for _ in range(5)])
    out, _ = preprocess_sequence(torch.from_numpy(frames))
    np.testing.assert_array_equal(out, preprocess_sequence(frames)[0])


def test_sequence_128_matches_frames():
    rng = np.random.default_rng(3)
    frames = np.stack([_blobby(rng, 240, 320) for _ in range(6)])
    out, _ = preprocess_sequence(frames, size=128)
    np.testing.assert_array_equal(out, np.stack([preprocess_frame(f, size=128) for f in frames]))


def test_short_sequence_warns_and_empty_gives_zero_frames():
    rng = np.random.default_rng(4)
    with pytest.warns(UserWarning, match="only 3 frame"):
        out, report = preprocess_sequence([_blobby(rng) for _ in range(3)])
    assert out.shape == (3, 64, 64) and report.short
    with pytest.warns(UserWarning, match="only 0 frame"):
        out, report = preprocess_sequence(np.zeros((4, 50, 40), np.uint8))
    assert out.shape == (0, 64, 64) and report.dropped == {EMPTY: (0, 1, 2, 3)}


def test_sequence_input_errors():
    with pytest.raises(ValueError, match=r"uint8 frames \[T, H, W\]"):
        preprocess_sequence(np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match="frame 1"):
        preprocess_sequence([np.zeros((5, 5), np.uint8), np.zeros((5, 5), np.int32)])


# ---------------------------------------------------------------- a raw tree
def _write_png(path, img):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def _raw_tree(root):
    rng = np.random.default_rng(5)
    for sid in ("001", "002"):
        for view in ("000", "090"):
            for i in range(6):
                _write_png(root / sid / "nm-01" / view / f"{sid}-nm-01-{view}-{i + 1:03d}.png", _blobby(rng))
    for i in range(3):  # a sequence of blank frames
        _write_png(root / "002" / "bg-01" / "000" / f"002-bg-01-000-{i + 1:03d}.png", np.zeros((100, 70), np.uint8))
    for i in range(3):  # a short sequence: written, and listed in the report
        _write_png(root / "001" / "nm-02" / "000" / f"001-nm-02-000-{i + 1:03d}.png", _blobby(rng))
    bad = root / "002" / "cl-01" / "000"
    _write_png(bad / "002-cl-01-000-001.png", _blobby(rng))
    (bad / "002-cl-01-000-002.png").write_bytes(b"\x89PNG broken")


def test_pretreat_end_to_end(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    _raw_tree(raw)
    report = pretreat(raw, out, progress=False)
    assert len(report.written) == 5 and report.short == ["001/nm-02/000"]
    assert report.frames_in == 6 * 4 + 3 + 3 and report.frames_kept == 6 * 4 + 3
    assert set(report.skipped) == {"002/bg-01/000", "002/cl-01/000"}
    assert "no frames left" in report.skipped["002/bg-01/000"]
    assert "unreadable PNG 002-cl-01-000-002.png" in report.skipped["002/cl-01/000"]
    seq = read_sequence(out / "001" / "nm-01" / "090" / "090.pkl")
    assert seq.shape == (6, 64, 64) and seq.dtype == np.uint8
    # frames are taken in file-name order and processed exactly as preprocess_frame does
    from PIL import Image

    pngs = sorted((raw / "001" / "nm-01" / "090").glob("*.png"))
    ref = np.stack([preprocess_frame(np.asarray(Image.open(p).convert("L"))) for p in pngs])
    np.testing.assert_array_equal(seq, ref)
    # a second run leaves what exists alone unless asked to overwrite
    again = pretreat(raw, out, progress=False)
    assert len(again.existing) == 5 and not again.written
    assert len(pretreat(raw, out, overwrite=True, progress=False).written) == 5
    # several processes give the same files
    par = pretreat(raw, tmp_path / "par", progress=False, workers=2)
    assert sorted(p.relative_to(tmp_path / "par") for p in par.written) == sorted(
        p.relative_to(out) for p in report.written)
    for p in report.written:
        assert (tmp_path / "par" / p.relative_to(out)).read_bytes() == p.read_bytes()


def test_pretreat_cli_and_missing_root(tmp_path, capsys):
    raw, out = tmp_path / "raw", tmp_path / "out"
    _raw_tree(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([str(raw), str(out), "--size", "128"]) == 0
    assert read_sequence(out / "002" / "nm-01" / "000" / "000.pkl").shape == (6, 128, 128)
    assert "5 sequence(s) written" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pretreat(tmp_path / "nowhere", out)
    assert main([str(tmp_path / "nowhere"), str(out)]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_pretreat_writing_nothing_is_an_error(tmp_path, capsys):
    raw = tmp_path / "raw"
    for i in range(3):  # only blank frames: every sequence is skipped
        _write_png(raw / "001" / "nm-01" / "000" / f"{i:03d}.png", np.zeros((100, 70), np.uint8))
    assert main([str(raw), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.splitlines()[-1]            # after the progress bar
    assert err.startswith("error: pretreat wrote nothing: all 1 sequence folder(s) were skipped (no frames left")
    # pointed one level too high: <RAW>/<dataset>/<sid>/<type>/<view>/*.png
    _raw_tree(tmp_path / "top" / "CASIA-B")
    assert main([str(tmp_path / "top"), str(tmp_path / "out2")]) == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert "no PNG frames" in err and f"is {tmp_path / 'top'} one level above" in err
    # a second run over a finished output writes nothing new, and that is fine
    _raw_tree(tmp_path / "raw2")
    assert main([str(tmp_path / "raw2"), str(tmp_path / "out3")]) == 0
    assert main([str(tmp_path / "raw2"), str(tmp_path / "out3")]) == 0
    assert "0 sequence(s) written, 5 already present" in capsys.readouterr().out


def test_pretreat_output_that_is_a_file(tmp_path, capsys):
    _raw_tree(tmp_path / "raw")
    (tmp_path / "out").write_text("x")
    assert main([str(tmp_path / "raw"), str(tmp_path / "out")]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err


def test_pretreat_writes_the_partition(tmp_path, capsys):
    raw, out = tmp_path / "raw", tmp_path / "out"
    _raw_tree(raw)
    assert main([str(raw), str(out)]) == 0
    assert "has no partition.json yet; add --partition casia-b" in capsys.readouterr().out
    assert main(["--partition", "casia-b", str(out)]) == 0             # only the partition, data exists
    part = json.loads((out / "partition.json").read_text())
    assert part["TRAIN_SET"][:5] == ["001", "002", "003", "004", "006"] and len(part["TRAIN_SET"]) == 73
    assert part["TEST_SET"][0] == "075" and part["TEST_SET"][-1] == "124" and len(part["TEST_SET"]) == 50
    assert main(["--partition", "casia-b", str(out)]) == 0             # the same file again: fine
    assert main(["--partition", "ou-mvlp", str(out)]) == 1             # none of 001, 002 is an OU-MVLP id
    assert "none of its subject folders (001, 002) is a subject of the ou-mvlp partition" in capsys.readouterr().err
    (out / "partition.json").write_text(json.dumps({"TRAIN_SET": ["001"], "TEST_SET": ["002"]}))
    assert main(["--partition", "casia-b", str(out)]) == 1             # a different file is kept...
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["--partition", "casia-b", "--overwrite", str(out)]) == 0  # ...unless asked
    assert len(json.loads((out / "partition.json").read_text())["TRAIN_SET"]) == 73
    assert main([str(raw), str(tmp_path / "both"), "--partition", "casia-b"]) == 0   # convert and write
    assert (tmp_path / "both" / "partition.json").is_file()
    with pytest.raises(SystemExit):
        main([str(out)])                                               # one path needs --partition


def test_pretreat_reads_only_the_files_opengait_reads(tmp_path):
    """OpenGait lists `rglob('*.png')` (case-sensitive) and skips GEI images (paths in which
    `gei` is followed by `.png`). Landed main also read upper-case `.PNG` files and GEI
    images: one extra frame per such file."""
    raw = tmp_path / "raw"
    _raw_tree(raw)
    plain = pretreat(raw, tmp_path / "plain", progress=False)
    seq_dir = raw / "001" / "nm-01" / "000"
    frame = next(iter(sorted(seq_dir.glob("*.png"))))
    (seq_dir / "001-nm-01-000-999.PNG").write_bytes(frame.read_bytes())
    (seq_dir / "001-nm-01-000-gei.png").write_bytes(frame.read_bytes())
    (seq_dir / "Thumbs.db").write_bytes(b"x")
    again = pretreat(raw, tmp_path / "again", progress=False)
    assert again.frames_in == plain.frames_in == 6 * 4 + 3 + 3
    for p in plain.written:
        assert (tmp_path / "again" / p.relative_to(tmp_path / "plain")).read_bytes() == p.read_bytes()


@pytest.mark.parametrize("inside", [".", "out", "001/out"])
def test_pretreat_output_inside_the_raw_root_is_refused(tmp_path, capsys, inside):
    """Landed main: `pretreat RAW RAW/out` wrote RAW/out/<sid>/... into the raw tree."""
    raw = tmp_path / "raw"
    _raw_tree(raw)
    before = sorted(p.relative_to(raw) for p in raw.rglob("*"))
    out = raw / inside
    assert main([str(raw), str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: output {out} is inside the raw root {raw}: ")
    assert sorted(p.relative_to(raw) for p in raw.rglob("*")) == before


def test_pretreat_raw_root_that_is_a_file(tmp_path, capsys):
    """Landed main: "raw silhouette root ... does not exist" for a file that exists."""
    (tmp_path / "raw.zip").write_bytes(b"PK")
    assert main([str(tmp_path / "raw.zip"), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: raw silhouette root {tmp_path / 'raw.zip'} is a file, not a folder")


def test_pretreat_ctrl_c_is_one_line(tmp_path, capsys, monkeypatch):
    """Landed main: Ctrl-C printed Python's traceback."""
    import gaitgs_lib.data.pretreat as pt

    _raw_tree(tmp_path / "raw")

    def interrupted(job):
        raise KeyboardInterrupt

    monkeypatch.setattr(pt, "_pretreat_one", interrupted)
    assert main([str(tmp_path / "raw"), str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"interrupted: every sequence in {tmp_path / 'out'} is complete")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pretreat_workers_end_with_their_parent(tmp_path):
    """Landed main: after kill -9 of `pretreat --workers 2`, its workers went on writing
    sequences and then waited forever."""
    import os
    import signal
    import subprocess
    import time
    from pathlib import Path

    raw, out = tmp_path / "raw", tmp_path / "out"
    rng = np.random.default_rng(0)
    frames = [_blobby(rng, 240, 160) for _ in range(4)]
    for s in range(40):  # 40 sequences of 30 frames: several seconds of work for two workers
        for i in range(30):
            _write_png(raw / f"{s:03d}" / "nm-01" / "000" / f"{i:03d}.png", frames[i % 4])
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "gaitgs_lib", "pretreat", str(raw), str(out), "--workers", "2"],
                            cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("*/*/*/*.pkl")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        assert len(children) == 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        written = len(list(out.glob("*/*/*/*.pkl")))
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in children)
        assert written < 40  # killed mid-way: the check above is not vacuous
        time.sleep(0.5)
        assert len(list(out.glob("*/*/*/*.pkl"))) == written  # nothing more was written
    finally:
        if proc.poll() is None:
            proc.kill()
