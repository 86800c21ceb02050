"""data/samplers.py: P x K batches (ranks, seeds, resume), frame windows, collate functions."""
import itertools
from collections import Counter

import numpy as np
import pytest
import torch

from gaitgs_lib.data.dataset import SequenceInfo
from gaitgs_lib.data.samplers import (
    PKBatchSampler,
    all_frames,
    collate_single,
    collate_windows,
    random_window,
)

# 6 subjects; subject 5 has only 2 sequences
LABELS = [0] * 5 + [1] * 4 + [2] * 6 + [3] * 4 + [4] * 5 + [5] * 2


def _take(sampler, n):
    return list(itertools.islice(iter(sampler), n))


def test_p_distinct_subjects_times_k():
    sampler = PKBatchSampler(LABELS, p=4, k=3, seed=1)
    for batch in _take(sampler, 50):
        assert len(batch) == 12
        subjects = [LABELS[i] for i in batch]
        counts = Counter(subjects)
        assert len(counts) == 4 and set(counts.values()) == {3}
        assert subjects == sorted(subjects, key=lambda s: subjects.index(s))  # subject-major
        for s in counts:  # without replacement when the subject has at least K sequences
            picked = [i for i in batch if LABELS[i] == s]
            if LABELS.count(s) >= 3:
                assert len(set(picked)) == 3


def test_replacement_only_for_small_subjects():
    sampler = PKBatchSampler(LABELS, p=6, k=4, seed=0)
    batch = next(iter(sampler))
    picked = [i for i in batch if LABELS[i] == 5]
    assert len(picked) == 4 and set(picked) <= {24, 25}


def test_same_seed_same_plan_other_seed_other_plan():
    a = _take(PKBatchSampler(LABELS, 3, 2, seed=7), 20)
    b = _take(PKBatchSampler(LABELS, 3, 2, seed=7), 20)
    c = _take(PKBatchSampler(LABELS, 3, 2, seed=8), 20)
    assert a == b and a != c


def test_ranks_are_disjoint_slices_of_the_common_plan():
    common = PKBatchSampler(LABELS, 4, 4, seed=3)
    ranks = [PKBatchSampler(LABELS, 4, 4, seed=3, rank=r, world_size=4) for r in range(4)]
    for b, per_rank in enumerate(zip(*[_take(s, 10) for s in ranks])):
        plan = common.batch_plan(b)
        assert all(len(x) == 4 for x in per_rank)
        positions = [list(range(r, 16, 4)) for r in range(4)]
        assert sorted(itertools.chain(*positions)) == list(range(16))        # disjoint, covering
        for r in range(4):
            assert per_rank[r] == [plan[i] for i in positions[r]]
        # with K divisible by world_size every rank sees every subject K / world_size times
        assert all(Counter(LABELS[i] for i in x) == Counter({LABELS[plan[0]]: 1, LABELS[plan[4]]: 1,
                                                             LABELS[plan[8]]: 1, LABELS[plan[12]]: 1})
                   for x in per_rank)


def test_state_dict_resume_continues_identically():
    full = _take(PKBatchSampler(LABELS, 3, 2, seed=5), 12)
    first = PKBatchSampler(LABELS, 3, 2, seed=5)
    head = _take(first, 5)
    state = first.state_dict()
    assert state["next_batch"] == 5
    resumed = PKBatchSampler(LABELS, 3, 2, seed=5)
    resumed.load_state_dict(state)
    assert head + _take(resumed, 7) == full
    with pytest.raises(ValueError, match="seed=5"):
        PKBatchSampler(LABELS, 3, 2, seed=6).load_state_dict(state)


def test_num_batches_bounds_iteration():
    sampler = PKBatchSampler(LABELS, 2, 2, num_batches=3)
    assert len(sampler) == 3 and len(list(sampler)) == 3
    assert list(sampler) == []  # all three drawn
    with pytest.raises(TypeError, match="no length"):
        len(PKBatchSampler(LABELS, 2, 2))


def test_works_as_a_dataloader_batch_sampler():
    data = torch.arange(len(LABELS))
    loader = torch.utils.data.DataLoader(data, batch_sampler=PKBatchSampler(LABELS, 2, 3, num_batches=4))
    batches = list(loader)
    assert len(batches) == 4 and all(b.shape == (6,) for b in batches)


@pytest.mark.parametrize("kwargs, message", [
    (dict(p=7, k=2), "P x K larger than what the training set holds"),
    (dict(p=3, k=3, world_size=2), "not divisible by world_size=2"),
    (dict(p=2, k=2, rank=2, world_size=2), "rank must be in"),
    (dict(p=0, k=2), "must be positive"),
])
def test_sampler_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PKBatchSampler(LABELS, **kwargs)


# ---------------------------------------------------------------- frames
def test_random_window_is_contiguous():
    frames = torch.arange(50).float()[:, None, None].expand(50, 4, 3)
    g = torch.Generator().manual_seed(0)
    starts = set()
    for _ in range(30):
        w = random_window(frames, 30, g)
        assert w.shape == (30, 4, 3)
        first = int(w[0, 0, 0])
        assert w[:, 0, 0].tolist() == list(range(first, first + 30))
        starts.add(first)
    assert len(starts) > 5 and max(starts) <= 20


def test_random_window_tiles_short_sequences():
    frames = np.arange(7)[:, None, None] * np.ones((1, 2, 2))
    w = random_window(frames, 30, torch.Generator().manual_seed(1))
    values = w[:, 0, 0].astype(int).tolist()
    start = values[0]
    assert values == [(start + i) % 7 for i in range(30)]
    with pytest.raises(ValueError, match="no frames"):
        random_window(np.zeros((0, 2, 2)), 30)


def test_random_window_is_seeded():
    frames = torch.rand(80, 2, 2)
    a = random_window(frames, 30, torch.Generator().manual_seed(3))
    b = random_window(frames, 30, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    assert all_frames(frames) is frames


def _batch(lengths, sids):
    return [(torch.rand(t, 8, 6), SequenceInfo(s, "nm-01", "090", f"{s}.pkl")) for t, s in zip(lengths, sids)]


def test_collate_windows():
    batch = _batch([40, 12, 30], ["003", "001", "003"])
    sils, labels, infos = collate_windows(batch, 30, torch.Generator().manual_seed(0))
    assert sils.shape == (3, 30, 8, 6) and sils.dtype == torch.float32
    assert labels.tolist() == [1, 0, 1]  # batch-local
    assert [i.sid for i in infos] == ["003", "001", "003"]
    _, labels, _ = collate_windows(batch, 30, label_of={"001": 4, "003": 9})
    assert labels.tolist() == [9, 4, 9]
    with pytest.raises(ValueError, match="different sizes"):
        collate_windows(batch + [(torch.rand(30, 4, 4), batch[0][1])], 30)


def test_collate_single():
    batch = _batch([17], ["002"])
    sils, labels, infos = collate_single(batch, label_of={"002": 1})
    assert sils.shape == (1, 17, 8, 6) and labels.tolist() == [1] and infos[0].sid == "002"
    torch.testing.assert_close(sils[0], batch[0][0])
    with pytest.raises(ValueError, match="batch_size=1"):
        collate_single(_batch([3, 4], ["1", "2"]))
