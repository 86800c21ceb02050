"""data/dataset.py: partition files, indexing the OpenGait layout, side cut, resize, cache, errors."""
import json
import logging
import pickle

import numpy as np
import pytest
import torch

from gaitgs_lib.data.dataset import GaitDataset, SequenceInfo, load_partition
from gaitgs_lib.data.io import write_sequence

SIDS = ["001", "002", "003", "004"]


def _make(root, size=64, sids=SIDS, partition=True):
    """Sequence (sid, type, view) has T = 3 + 2*sid_no + n_view frames; pixel (f, r, c) = (f*7 + c) % 256."""
    for n, sid in enumerate(sids):
        for typ in ("nm-01", "bg-01"):
            for v, view in enumerate(("000", "090")):
                T = 3 + 2 * n + v
                f, _, c = np.meshgrid(np.arange(T), np.arange(size), np.arange(size), indexing="ij")
                write_sequence(root / sid / typ / view / f"{view}.pkl", ((f * 7 + c) % 256).astype(np.uint8))
    if partition:
        (root / "partition.json").write_text(json.dumps({"TRAIN_SET": sids[:2], "TEST_SET": sids[2:]}))
    return root


# ---------------------------------------------------------------- partition
def test_load_partition(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"TRAIN_SET": ["001", 2], "TEST_SET": ["075"]}))
    assert load_partition(path) == {"train": ["001", "2"], "test": ["075"]}


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"TRAIN_SET": []}), r"missing key\(s\) \['TEST_SET'\]"),
    (json.dumps([1, 2]), "expected a JSON object"),
    (json.dumps({"TRAIN_SET": "001", "TEST_SET": []}), "TRAIN_SET must be a list"),
])
def test_load_partition_errors(tmp_path, text, message):
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        load_partition(path)
    assert "p.json" in str(err.value)
    with pytest.raises(FileNotFoundError, match="absent.json"):
        load_partition(tmp_path / "absent.json")


# ---------------------------------------------------------------- indexing
def test_train_split_from_default_partition(tmp_path):
    ds = GaitDataset(_make(tmp_path))
    assert len(ds) == 8 and ds.subjects == ["001", "002"]
    assert ds.sids == ["001"] * 4 + ["002"] * 4
    assert ds.types == ["bg-01", "bg-01", "nm-01", "nm-01"] * 2  # sorted folder order
    assert ds.views == ["000", "090"] * 4
    assert ds.label_of == {"001": 0, "002": 1} and ds.labels == [0] * 4 + [1] * 4
    assert ds.view_names == ["000", "090"] and ds.view_label_of == {"000": 0, "090": 1}
    assert ds.infos[1] == SequenceInfo("001", "bg-01", "090", str(tmp_path / "001" / "bg-01" / "090" / "090.pkl"))
    assert "2 subjects" in repr(ds)


def test_test_and_all_splits_and_subject_subset(tmp_path):
    root = _make(tmp_path)
    assert GaitDataset(root, split="test").subjects == ["003", "004"]
    assert GaitDataset(root, split="all").subjects == SIDS
    assert GaitDataset(root, split="all", subjects=["004", "001"]).subjects == ["001", "004"]
    part = {"train": ["003"], "test": ["001"]}
    assert GaitDataset(root, partition=part).subjects == ["003"]


def test_item_side_cut_and_scale(tmp_path):
    ds = GaitDataset(_make(tmp_path))
    frames, info = ds[3]  # 001 / nm-01 / 090: T = 3 + 0 + 1
    assert info.sid == "001" and info.type == "nm-01" and info.view == "090"
    assert frames.dtype == torch.float32 and frames.shape == (4, 64, 44)
    # the first kept column is column 10, so pixel (f, r, 0) = (f * 7 + 10) / 255
    assert frames[2, 5, 0].item() == pytest.approx((2 * 7 + 10) / 255)
    assert frames[0, 0, -1].item() == pytest.approx(53 / 255)
    full, _ = GaitDataset(tmp_path, side_cut=False)[3]
    assert full.shape == (4, 64, 64)
    torch.testing.assert_close(full[:, :, 10:54], frames)


def test_side_cut_at_128(tmp_path):
    ds = GaitDataset(_make(tmp_path, size=128), split="all")
    frames, _ = ds[0]
    assert frames.shape[1:] == (128, 88)
    assert frames[0, 0, 0].item() == pytest.approx(20 / 255)


def test_area_resize_to_tiny_input(tmp_path):
    ds = GaitDataset(_make(tmp_path), size=(32, 22))
    small, _ = ds[0]
    big, _ = GaitDataset(tmp_path)[0]
    assert small.shape == (big.shape[0], 32, 22)
    expect = big.reshape(big.shape[0], 32, 2, 22, 2).mean(dim=(2, 4))  # an exact 2x2 average
    torch.testing.assert_close(small, expect)


def test_cache_is_lazy_and_reused(tmp_path):
    ds = GaitDataset(_make(tmp_path))
    assert ds._cache == {}
    a, _ = ds[0]
    assert list(ds._cache) == [0]
    (tmp_path / "001" / "bg-01" / "000" / "000.pkl").unlink()
    b, _ = ds[0]  # served from memory
    torch.testing.assert_close(a, b)
    ds2 = GaitDataset(tmp_path, cache=False)
    ds2[1]
    assert ds2._cache == {}


def test_negative_index_and_out_of_range(tmp_path):
    ds = GaitDataset(_make(tmp_path))
    assert ds[-1][1] == ds.infos[-1]
    with pytest.raises(IndexError, match="out of range"):
        ds[8]


# ---------------------------------------------------------------- errors
def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset root .*nowhere does not exist"):
        GaitDataset(tmp_path / "nowhere")


def test_no_sequences(tmp_path):
    (tmp_path / "001" / "nm-01" / "000").mkdir(parents=True)
    with pytest.raises(ValueError, match="no sequences found"):
        GaitDataset(tmp_path, split="all")


def test_partition_naming_absent_subjects_warns(tmp_path):
    root = _make(tmp_path, partition=False)
    (root / "partition.json").write_text(json.dumps({"TRAIN_SET": ["001", "009", "010"], "TEST_SET": []}))
    with pytest.warns(UserWarning, match=r"2 subject\(s\) of the 'train' partition .*009, 010"):
        ds = GaitDataset(root)
    assert ds.subjects == ["001"]


def test_empty_split_and_missing_partition(tmp_path):
    root = _make(tmp_path, partition=False)
    with pytest.raises(ValueError, match="split 'train' needs a partition") as err:
        GaitDataset(root)
    assert f"python -m gaitgs_lib pretreat --partition casia-b {root}" in str(err.value)
    assert len(GaitDataset(root, split="all")) == 16
    (root / "partition.json").write_text(json.dumps({"TRAIN_SET": ["001"], "TEST_SET": ["077"]}))
    with pytest.warns(UserWarning, match="077"), pytest.raises(ValueError, match="split 'test' .* holds no sequence"):
        GaitDataset(root, split="test")
    with pytest.raises(ValueError, match="split must be one of"):
        GaitDataset(root, split="val")


def test_corrupt_file_is_named_on_access(tmp_path):
    root = _make(tmp_path)
    bad = root / "001" / "nm-01" / "000" / "000.pkl"
    bad.write_bytes(b"garbage")
    ds = GaitDataset(root)
    with pytest.raises(ValueError, match="000.pkl"):
        ds[ds.infos.index(next(i for i in ds.infos if i.path == str(bad)))]


def test_several_pkl_files_in_one_folder(tmp_path):
    root = _make(tmp_path)
    folder = root / "001" / "nm-01" / "000"
    write_sequence(folder / "extra.pkl", np.zeros((2, 64, 64), np.uint8))
    ds = GaitDataset(root)  # the folder's own <view>.pkl is the sequence
    assert sum(i.path.endswith("extra.pkl") for i in ds.infos) == 0 and len(ds) == 8
    (folder / "000.pkl").unlink()
    with pytest.raises(ValueError, match="expected one sequence per folder, named 000.pkl"):
        write_sequence(folder / "other.pkl", np.zeros((2, 64, 64), np.uint8))
        GaitDataset(root)


# ---------------------------------------------------------------- leakage and sizes
def test_a_subject_in_both_sets_is_refused_wherever_a_partition_is_loaded(tmp_path):
    root = _make(tmp_path, partition=False)
    leaky = {"TRAIN_SET": ["001", "002", "003"], "TEST_SET": ["003", "004", "002"]}
    (root / "partition.json").write_text(json.dumps(leaky))
    for load in (lambda: load_partition(root / "partition.json"), lambda: GaitDataset(root),
                 lambda: GaitDataset(root, split="test"), lambda: GaitDataset(root, partition=leaky),
                 lambda: GaitDataset(root, partition={"train": ["001"], "test": ["001"]})):
        with pytest.raises(ValueError, match=r"subject\(s\) .* in both .* \(leakage\)") as err:
            load()
        assert "002, 003" in str(err.value) or "001" in str(err.value)


def test_frames_that_are_not_opengaits_are_an_error_not_a_resize(tmp_path):
    root = _make(tmp_path)
    odd = root / "001" / "nm-01" / "000" / "000.pkl"
    odd.write_bytes(pickle.dumps(np.full((5, 100, 37), 255, np.uint8)))
    for ds in (GaitDataset(root), GaitDataset(root, size=(32, 22))):
        with pytest.raises(ValueError, match=r"frames are 100x37; expected OpenGait's square frames") as err:
            ds[ds.infos.index(next(i for i in ds.infos if i.path == str(odd)))]
        assert str(odd) in str(err.value)


def test_only_exact_block_averages_and_they_are_logged_once(tmp_path, caplog):
    root = _make(tmp_path, size=128)
    with caplog.at_level(logging.INFO, logger="gaitgs_lib.data.dataset"):
        ds = GaitDataset(root, size=(32, 22))
        assert ds[0][0].shape[1:] == (32, 22) and ds[1][0].shape[1:] == (32, 22)   # 128x88 -> 4x4 averages
    assert [r.getMessage() for r in caplog.records] == [
        f"{root}: frames 128x88 are averaged 4x4 to the model input 32x22"]
    for size in [(30, 22), (64, 64), (256, 176)]:                                     # stretch, aspect, upscale
        with pytest.raises(ValueError, match=rf"frames are 128x88 after the side cut, which is not an exact "
                                             rf"k x k downscale of the model input {size[0]}x{size[1]}"):
            GaitDataset(root, size=size)[0]
    stored_cut = tmp_path / "cut"                                                       # already 64x44 on disk
    write_sequence(stored_cut / "001" / "nm-01" / "000" / "000.pkl", np.zeros((3, 64, 44), np.uint8))
    assert GaitDataset(stored_cut, split="all", size=(32, 22))[0][0].shape == (3, 32, 22)
