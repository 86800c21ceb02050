"""Embeddings of every sequence of a dataset, for the protocols (docs/protocols.md, "Sampling").

Evaluation feeds every frame of a sequence, in order, and sequences differ in length, so
OpenGait embeds them one at a time. Doing that here is slow (a batch of one keeps a CPU
mostly idle), so `extract_embeddings` batches sequences of EQUAL length only: no padding,
no cropping, so each embedding is the one the sequence alone would get (up to float
rounding of the batched convolutions; `tests/test_evaluation.py` checks this). Sequences
are read by DataLoader workers in dataset order, each read once, and grouped by length as
they arrive (no first pass to sort them by length).
"""
from __future__ import annotations

import os

import torch
from torch.utils.data import DataLoader, Dataset

from .protocols import NonFiniteEmbeddingsError

# Sequences a worker reads per task: fewer messages between processes than one at a time.
_CHUNK = 16


class _Items(Dataset):
    """`dataset[i]` -> (i, frames float32 [T, h, w], info), or (i, None, message) when the file is bad.

    A worker cannot raise a clean error to the main process (the DataLoader wraps it in a
    traceback), so a corrupt or missing sequence file comes back as a message instead.
    """

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        try:
            frames, info = self.dataset[i]
        except (ValueError, OSError) as err:  # read_sequence's errors name the file
            return i, None, str(err)
        return i, torch.as_tensor(frames, dtype=torch.float32), info


def _as_list(items):
    return items


def default_workers(n: int) -> int:
    """DataLoader workers for `n` sequences: none for a handful, else one per spare core (at most 4)."""
    if n < 4 * _CHUNK:
        return 0
    return max(1, min(4, (os.cpu_count() or 1) - 1))


def _loader(dataset, num_workers: int, pin_memory: bool) -> DataLoader:
    chunks = [list(range(s, min(s + _CHUNK, len(dataset)))) for s in range(0, len(dataset), _CHUNK)]
    extra = {"prefetch_factor": 4} if num_workers > 0 else {}
    return DataLoader(_Items(dataset), batch_sampler=chunks, collate_fn=_as_list, num_workers=num_workers,
                      pin_memory=pin_memory, **extra)


def _model_device(model, device):
    if device is not None:
        return torch.device(device)
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@torch.no_grad()
def extract_embeddings(model, dataset, device=None, batch_size: int = 32, progress: bool = True,
                       num_workers: int | None = None) -> dict:
    """Embeddings of every sequence of `dataset`, every frame (docs/protocols.md, "Sampling").

    `model` is put in eval mode (and back); `dataset[i] -> (frames float [T, h, w], info)`
    with `info.sid/.type/.view` (and `.path`, used in messages). Sequences of identical
    length share a batch of up to `batch_size` (1 = strictly one at a time, OpenGait's
    way; both give the same embeddings up to float rounding). `num_workers`: DataLoader
    worker processes reading the files (None: `default_workers`). Raises ValueError naming
    the file when a sequence cannot be read, and `NonFiniteEmbeddingsError` (a ValueError)
    naming how many sequences got NaN/inf embeddings.
    Returns {"embeddings": [N, C, P] float32 on the CPU, "sids", "types", "views"}, in
    dataset order.
    """
    device = _model_device(model, device)
    n = len(dataset)
    if n == 0:
        raise ValueError("extract_embeddings: the dataset is empty")
    if batch_size < 1:
        raise ValueError(f"extract_embeddings: batch_size must be >= 1, got {batch_size}")
    num_workers = default_workers(n) if num_workers is None else int(num_workers)
    out: list = [None] * n  # [C, P] per sequence, in dataset order
    infos: list = [None] * n
    buckets: dict = {}  # frame shape -> [(index, frames [T, h, w])]

    def run(batch):
        sils = torch.stack([f for _, f in batch]).to(device, non_blocking=True)  # [b, T, h, w]
        emb = model(sils)["embeddings"].float().cpu()  # [b, C, P]
        for (i, _), e in zip(batch, emb):
            out[i] = e
        if bar is not None:
            bar.update(len(batch))

    bar = None
    if progress:
        from tqdm.auto import tqdm  # imported here: start-up time of the command without a bar

        bar = tqdm(total=n, desc="embeddings", unit="seq")
    was_training = model.training
    model.eval()
    try:
        for items in _loader(dataset, num_workers, device.type == "cuda"):
            for i, frames, info in items:
                if frames is None:
                    raise ValueError(f"cannot embed sequence #{i} of the dataset: {info}")
                if frames.ndim != 3:
                    raise ValueError(f"dataset[{i}] ({getattr(info, 'path', '?')}): expected frames "
                                     f"[T, h, w], got {tuple(frames.shape)}")
                infos[i] = info
                bucket = buckets.setdefault(tuple(frames.shape), [])
                bucket.append((i, frames))
                if len(bucket) >= batch_size:
                    run(buckets.pop(tuple(frames.shape)))
        for bucket in buckets.values():  # the last, partial batch of each length
            run(bucket)
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
