"""data/partition.py: the published splits, exactly as OpenGait ships them, and writing one beside a dataset."""
import json

import pytest

from gaitgs_lib.data.partition import load_partition, standard_partition, write_partition


def test_casia_b_is_opengaits_file():
    part = standard_partition("casia-b")
    train, test = part["TRAIN_SET"], part["TEST_SET"]
    assert len(train) == 73 and "005" not in train                 # OpenGait's CASIA-B.json leaves 005 out
    assert train == [f"{i:03d}" for i in range(1, 75) if i != 5]
    assert test == [f"{i:03d}" for i in range(75, 125)]


def test_ou_mvlp_is_opengaits_file():
    part = standard_partition("ou-mvlp")
    train, test = part["TRAIN_SET"], part["TEST_SET"]
    assert (len(train), len(test)) == (5153, 5154)
    assert train[:3] == ["00001", "00003", "00005"] and train[-1] == "10305"
    assert test[:3] == ["00002", "00004", "00006"] and test[-2:] == ["10306", "10307"]
    assert not set(train) & set(test) and len(set(train) | set(test)) == 10307


def test_write_and_load_round_trip(tmp_path):
    for sid in ("001", "080"):
        (tmp_path / sid).mkdir()
    path = write_partition(tmp_path, "casia-b")
    assert json.loads(path.read_text()) == standard_partition("casia-b")
    loaded = load_partition(path)
    assert loaded["train"][:4] == ["001", "002", "003", "004"] and loaded["test"][-1] == "124"
    with pytest.raises(ValueError, match="unknown partition 'casia-c'"):
        standard_partition("casia-c")


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pretreat --partition casia-b"):
        load_partition(tmp_path / "partition.json")
