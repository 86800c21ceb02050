"""Embeddings of every sequence of a dataset, for the protocols (docs/data-and-evaluation.md, "Sampling").

Evaluation feeds every frame of a sequence, in order, and sequences differ in length, so
OpenGait's way is one sequence at a time. That leaves a CPU mostly idle, so
`extract_embeddings` batches sequences of EQUAL length only: no padding, no cropping, so
each embedding is the one the sequence alone would get (up to float rounding of the
batched kernels; `tests/test_evaluation.py` checks this). Every file is read once, and
sequences are grouped by length as they arrive (no first pass to sort them by length).

Where the work runs:

- on a CPU, DataLoader worker processes each take every W-th sequence, read it, batch it
  with others of its length and run the model with one thread each: W cores busy, and no
  threads spinning against each other when the machine is shared;
- on an accelerator (or with `num_workers=0`), the model runs in this process, fed by
  workers that only read files.
"""
from __future__ import annotations

import os
from typing import Iterable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from .protocols import NonFiniteEmbeddingsError

# Sequences a reading worker sends per message (fewer messages than one at a time).
_CHUNK = 16


class _BadSequence(Exception):
    """A sequence file that cannot be read: carries the one-line message across processes."""


def _read(dataset, i: int):
    """dataset[i] -> (i, frames float32 [T, h, w], info); _BadSequence naming the file when it fails."""
    try:
        frames, info = dataset[i]
    except (ValueError, OSError) as err:  # read_sequence's errors name the file
        raise _BadSequence(f"cannot embed sequence #{i} of the dataset: {err}") from None
    frames = torch.as_tensor(frames, dtype=torch.float32)
    if frames.ndim != 3:
        raise _BadSequence(f"dataset[{i}] ({getattr(info, 'path', '?')}): expected frames [T, h, w], "
                           f"got {tuple(frames.shape)}")
    return i, frames, info


def _equal_length_batches(items: Iterable, batch_size: int) -> Iterator[list]:
    """(i, frames, info) in any order -> lists of at most `batch_size` items of one frame shape."""
    buckets: dict = {}
    for item in items:
        bucket = buckets.setdefault(tuple(item[1].shape), [])
        bucket.append(item)
        if len(bucket) >= batch_size:
            yield buckets.pop(tuple(item[1].shape))
    yield from buckets.values()  # the last, partial batch of each length


def _embed(model, batch: list, device) -> torch.Tensor:
    sils = torch.stack([frames for _, frames, _ in batch]).to(device, non_blocking=True)  # [b, T, h, w]
    return model(sils)["embeddings"].float().cpu()  # [b, C, P]


class _WorkerEmbedder(IterableDataset):
    """Runs in each DataLoader worker: every W-th sequence, read, batched by length, embedded.

    Yields ("ok", indices, embeddings [b, C, P], infos) per batch, or ("error", message)
    once: a worker cannot raise a clean error to the main process.
    """

    def __init__(self, model, dataset, batch_size: int):
        self.model, self.dataset, self.batch_size = model, dataset, batch_size

    def __iter__(self):
        worker = get_worker_info()
        first, step = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        items = (_read(self.dataset, i) for i in range(first, len(self.dataset), step))
        try:
            with torch.no_grad():
                for batch in _equal_length_batches(items, self.batch_size):
                    yield "ok", [i for i, _, _ in batch], _embed(self.model, batch, "cpu"), [b[2] for b in batch]
        except _BadSequence as err:
            yield "error", str(err)


class _Reader(Dataset):
    """`dataset[i]` for reading workers -> (i, frames, info), or (i, None, message) for a bad file."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        try:
            return _read(self.dataset, i)
        except _BadSequence as err:
            return i, None, str(err)


def _as_list(items):
    return items


def default_workers(n: int, device) -> int:
    """Worker processes for `n` sequences: none for a handful; else one per core on a CPU
    (they run the model), one per spare core (at most 4) to read files for an accelerator."""
    cores = os.cpu_count() or 1
    if n < 4 * _CHUNK:
        return 0
    if torch.device(device).type == "cpu":
        return min(cores, 8)
    return max(1, min(4, cores - 1))


def _batches_in_workers(model, dataset, batch_size: int, num_workers: int) -> Iterator[tuple]:
    loader = DataLoader(_WorkerEmbedder(model, dataset, batch_size), batch_size=None, num_workers=num_workers)
    for record in loader:
        if record[0] == "error":
            raise ValueError(record[1])
        _, indices, emb, infos = record
        yield indices, emb.clone(), infos  # a private copy: the shared-memory block (and its file) is freed


def _batches_here(model, dataset, batch_size: int, num_workers: int, device) -> Iterator[tuple]:
    chunks = [list(range(s, min(s + _CHUNK, len(dataset)))) for s in range(0, len(dataset), _CHUNK)]
    extra = {"prefetch_factor": 4} if num_workers > 0 else {}
    loader = DataLoader(_Reader(dataset), batch_sampler=chunks, collate_fn=_as_list, num_workers=num_workers,
                        pin_memory=device.type == "cuda", **extra)

    def items():
        for chunk in loader:
            for i, frames, info in chunk:
                if frames is None:
                    raise ValueError(info)
                yield i, frames, info

    for batch in _equal_length_batches(items(), batch_size):
        yield [i for i, _, _ in batch], _embed(model, batch, device), [b[2] for b in batch]


def _model_device(model, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@torch.no_grad()
def extract_embeddings(model, dataset, device=None, batch_size: int = 32, progress: bool = True,
                       num_workers: int | None = None) -> dict:
    """Embeddings of every sequence of `dataset`, every frame (docs/data-and-evaluation.md, "Sampling").

    `model` is put in eval mode (and back); `dataset[i] -> (frames float [T, h, w], info)`
    with `info.sid/.type/.view` (and `.path`, used in messages). Sequences of identical
    length share a batch of up to `batch_size` (1 = strictly one at a time, OpenGait's
    way; both give the same embeddings up to float rounding). `num_workers`: worker
    processes (None: `default_workers`; see the module docstring for what they do).
    Raises ValueError naming the file when a sequence cannot be read, and
    `NonFiniteEmbeddingsError` (a ValueError) naming how many sequences got NaN/inf embeddings.
    Returns {"embeddings": [N, C, P] float32 on the CPU, "sids", "types", "views"}, in
    dataset order.
    """
    device = _model_device(model, device)
    n = len(dataset)
    if n == 0:
        raise ValueError("extract_embeddings: the dataset is empty")
    if batch_size < 1:
        raise ValueError(f"extract_embeddings: batch_size must be >= 1, got {batch_size}")
    num_workers = default_workers(n, device) if num_workers is None else int(num_workers)
    out: list = [None] * n  # [C, P] per sequence, in dataset order
    infos: list = [None] * n
    bar = None
    if progress:
        from tqdm.auto import tqdm  # imported here: start-up time of the command without a bar

        bar = tqdm(total=n, desc="embeddings", unit="seq")
    was_training = model.training
    model.eval()
    try:
        if device.type == "cpu" and num_workers > 0:
            batches = _batches_in_workers(model, dataset, batch_size, num_workers)
        else:
            batches = _batches_here(model, dataset, batch_size, num_workers, device)
        for indices, emb, batch_infos in batches:
            for i, e, info in zip(indices, emb, batch_infos):
                out[i], infos[i] = e, info
            if bar is not None:
                bar.update(len(indices))
    except _BadSequence as err:
        raise ValueError(str(err)) from None
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()
    embeddings = torch.stack(out)  # [N, C, P]
    _check_finite(embeddings, infos)
    return {"embeddings": embeddings, "sids": [str(i.sid) for i in infos],
            "types": [str(i.type) for i in infos], "views": [str(i.view) for i in infos]}


def _check_finite(embeddings: torch.Tensor, infos) -> None:
    bad = (~torch.isfinite(embeddings).flatten(1).all(1)).nonzero().flatten().tolist()
    if bad:
        first = infos[bad[0]]
        where = getattr(first, "path", None) or f"{first.sid}/{first.type}/{first.view}"
        raise NonFiniteEmbeddingsError(
            f"{len(bad)} of {len(embeddings)} sequences have non-finite embeddings (NaN or inf), "
            f"first {where}; the model's weights are probably non-finite (a diverged training run?): "
            f"no result is computed from them")
