"""Batch and frame sampling (docs/data-and-evaluation.md, "Sampling").

Training batches hold P subjects x K sequences; from each sequence a random window of
30 consecutive frames (a shorter sequence is tiled first). Evaluation takes every frame
of one sequence at a time. Under DDP every rank takes a different slice of one common
batch plan, and the plan depends only on (seed, batch index), so a resumed run draws the
same batches.
"""
from __future__ import annotations

from typing import Iterator, Mapping, Sequence

import numpy as np
import torch


class PKBatchSampler(torch.utils.data.Sampler):
    """P distinct subjects x K sequences each per batch, DDP-aware and resumable (docs/data-and-evaluation.md).

    labels: one subject label per dataset index (e.g. `GaitDataset.labels`).
    Batch `b` is drawn from `numpy.random.default_rng([seed, b])` alone: P subjects without
    replacement, then K of each subject's sequences, with replacement only when the subject
    has fewer than K. The plan (subject-major, length P*K) is the same on every rank; rank
    `r` takes `plan[r::world_size]` (P*K must be divisible by world_size, and K by
    world_size keeps K / world_size positives of every subject on each rank).
    Iterating yields this rank's index lists from the current batch counter on, forever,
    or until `num_batches` batches have been drawn in all.

    Resuming: a DataLoader fetches batches ahead, so the counter runs ahead of training;
    save the number of batches the training loop actually consumed and restore it with
    `load_state_dict({"next_batch": n})` (`state_dict()` gives the sampler's own counter).
    """

    def __init__(self, labels: Sequence, p: int, k: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1, num_batches: int | None = None):
        if p < 1 or k < 1:
            raise ValueError(f"P and K must be positive, got P={p}, K={k}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size), got rank={rank}, world_size={world_size}")
        if (p * k) % world_size:
            raise ValueError(f"P x K = {p} x {k} = {p * k} is not divisible by world_size={world_size}; "
                             f"every rank must get the same number of sequences")
        labels = list(labels)
        self.subjects = sorted(set(labels))
        if p > len(self.subjects):
            raise ValueError(f"P x K larger than what the training set holds: P={p} distinct subjects "
                             f"per batch, but the set has only {len(self.subjects)} subject(s)")
        by_subject = {s: [] for s in self.subjects}
        for index, label in enumerate(labels):
            by_subject[label].append(index)
        self._indices = [np.asarray(by_subject[s]) for s in self.subjects]
        self.p, self.k, self.seed = p, k, seed
        self.rank, self.world_size = rank, world_size
        self.num_batches = num_batches
        self._next = 0

    def batch_plan(self, b: int) -> list[int]:
        """All P*K dataset indices of batch `b` (every rank's share), subject-major."""
        rng = np.random.default_rng([self.seed, b])
        chosen = rng.choice(len(self.subjects), size=self.p, replace=False)
        plan = []
        for s in chosen:
            pool = self._indices[s]
            plan.extend(rng.choice(pool, size=self.k, replace=len(pool) < self.k).tolist())
        return plan

    def batch(self, b: int) -> list[int]:
        """This rank's share of batch `b`: `batch_plan(b)[rank::world_size]`."""
        return self.batch_plan(b)[self.rank:: self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        while self.num_batches is None or self._next < self.num_batches:
            b = self._next
            self._next += 1
            yield self.batch(b)

    def __len__(self) -> int:
        if self.num_batches is None:
            raise TypeError("an infinite PKBatchSampler (num_batches=None) has no length")
        return self.num_batches

    def state_dict(self) -> dict:
        return {"next_batch": self._next, "seed": self.seed, "p": self.p, "k": self.k}

    def load_state_dict(self, state: Mapping) -> None:
        for key in ("seed", "p", "k"):
            if key in state and state[key] != getattr(self, key):
                raise ValueError(f"sampler state was saved with {key}={state[key]}, "
                                 f"this sampler has {key}={getattr(self, key)}")
        self._next = int(state["next_batch"])


# ---------------------------------------------------------------------- frames
def random_window(frames, length: int = 30, generator: torch.Generator | None = None):
    """A random run of `length` consecutive frames of `frames` [T, ...] -> [length, ...].

    A sequence shorter than `length` is tiled (repeated end to end) first, then windowed.
    Works on tensors and numpy arrays; `generator` seeds the choice (torch's global RNG
    when None, which DataLoader seeds per worker).
    """
    T = len(frames)
    if T == 0:
        raise ValueError("random_window: the sequence has no frames")
    if T < length:
        reps = -(-length // T)  # ceil
        index = np.tile(np.arange(T), reps)
    else:
        index = np.arange(T)
    start = int(torch.randint(0, len(index) - length + 1, (1,), generator=generator))
    index = index[start: start + length]
    if isinstance(frames, torch.Tensor):
        return frames[torch.from_numpy(index)]
    return frames[index]


def all_frames(frames):
    """Evaluation: every frame, in order (the identity, named for symmetry with `random_window`)."""
    return frames


def _labels(infos, label_of: Mapping | None) -> torch.Tensor:
    if label_of is None:  # batch-local labels: equal subjects, equal labels
        order = {s: n for n, s in enumerate(sorted({i.sid for i in infos}))}
        return torch.tensor([order[i.sid] for i in infos], dtype=torch.long)
    return torch.tensor([label_of[i.sid] for i in infos], dtype=torch.long)


def collate_windows(batch, length: int = 30, generator: torch.Generator | None = None,
                    label_of: Mapping | None = None):
    """Training collate: [(frames [T, h, w], info), ...] -> (sils [n, length, h, w], labels [n], infos).

    Labels are `label_of[info.sid]` (pass `GaitDataset.label_of`, e.g. with
    `functools.partial`); without it they are batch-local (equal subject, equal label),
    enough for the triplet loss.
    """
    frames = [random_window(f, length, generator) for f, _ in batch]
    shapes = {tuple(f.shape[1:]) for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"collate_windows: frames of different sizes in one batch: {sorted(shapes)}")
    infos = [info for _, info in batch]
    return torch.stack(frames), _labels(infos, label_of), infos


def collate_single(batch, label_of: Mapping | None = None):
    """Evaluation collate (batch_size=1): [(frames [T, h, w], info)] -> (sils [1, T, h, w], labels [1], infos)."""
    if len(batch) != 1:
        raise ValueError(f"collate_single takes one sequence at a time (batch_size=1, sequences differ "
                         f"in length), got {len(batch)}")
    frames, info = batch[0]
    return all_frames(frames)[None], _labels([info], label_of), [info]
