"""Training batches: a resumable P x K plan, windows seeded by (seed, iteration, rank).

The DataLoader prefetches ahead of the training loop, so the sampler's own counter runs
ahead of what was trained; `PlannedBatches` tags every batch with its iteration and keeps
the sampler's state after each one, so a checkpoint stores the state of the batch just
trained on. Frame windows are drawn from a generator seeded by the iteration, never from
the global RNG, so the batches of iteration i are the same in a straight and a resumed run.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from ..data.samplers import collate_windows

__all__ = ["PlannedBatches", "TaggedDataset", "WindowCollate", "make_loader"]


class PlannedBatches:
    """Batch sampler wrapper: yields `[(iteration, index), ...]` and remembers the sampler's
    state after every batch (`state_after(it)`)."""

    def __init__(self, sampler, start_iter: int):
        self.sampler = sampler
        self.start_iter = start_iter
        self.states: dict[int, dict] = {}

    def __iter__(self):
        it = self.start_iter
        while True:  # the P x K sampler may be finite (epochs) or endless
            empty = True
            for batch in self.sampler:
                empty = False
                it += 1
                self.states[it] = self.sampler.state_dict()
                yield [(it, int(i)) for i in batch]
            if empty:
                raise RuntimeError("the P x K sampler yielded no batch")

    def state_after(self, it: int) -> dict:
        for old in [k for k in self.states if k < it]:
            del self.states[old]
        return self.states[it]


class TaggedDataset(Dataset):
    """`dataset[(it, index)] -> (it, index, frames, info)`."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        it, index = key
        frames, info = self.dataset[index]
        return it, index, frames, info


class WindowCollate:
    """Random windows of `frames` consecutive frames (tiled when shorter), seeded per batch."""

    def __init__(self, frames: int, seed: int, rank: int, labels: torch.Tensor, views: torch.Tensor):
        self.frames, self.seed, self.rank = frames, seed, rank
        self.labels, self.views = labels, views

    def __call__(self, items):
        it = items[0][0]
        gen = torch.Generator().manual_seed((self.seed * 1_000_003 + it) * 1_009 + self.rank)
        sils, _, _ = collate_windows([(frames, info) for _, _, frames, info in items], self.frames, gen)
        index = torch.tensor([i for _, i, _, _ in items])
        return {
            "iteration": it,
            "index": index,
            "sils": sils,  # [n, frames, h, w]
            "labels": self.labels[index],  # [n] subject indices
            "views": self.views[index],  # [n] view classes
        }


def make_loader(dataset, plan: PlannedBatches, collate: WindowCollate, num_workers: int, pin_memory: bool):
    return DataLoader(
        TaggedDataset(dataset), batch_sampler=plan, num_workers=num_workers, collate_fn=collate,
        pin_memory=pin_memory, persistent_workers=False,
        generator=torch.Generator(),  # keeps the global RNG (dropout) untouched
    )
