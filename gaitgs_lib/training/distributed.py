"""DistributedDataParallel under torchrun: who this process is, the process group, the
wrapped model, the gathered batch-all triplet loss, and decisions that rank 0 takes for
every rank.

Under torchrun (WORLD_SIZE > 1) every rank trains on its slice of one common P x K batch;
embeddings and labels are gathered so that the batch-all triplet loss sees the whole
batch, as on one device. Only rank 0 writes files.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Dist", "process_group", "wrap_model", "gather_batch", "GatherWithGrad", "gather_labels",
           "rank0_decides", "all_ranks_agree"]


@dataclass(frozen=True)
class Dist:
    """This process's place: rank, world size, local rank, and whether `train` must create
    (and destroy) the process group itself."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    init_here: bool = False

    @classmethod
    def detect(cls) -> "Dist":
        if dist.is_available() and dist.is_initialized():
            rank = dist.get_rank()
            return cls(rank, dist.get_world_size(), int(os.environ.get("LOCAL_RANK", rank)), False)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world > 1:
            rank = int(os.environ["RANK"])
            return cls(rank, world, int(os.environ.get("LOCAL_RANK", rank)), True)
        return cls()

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


@contextmanager
def process_group(where: Dist, device: torch.device):
    """Create the process group when torchrun started us and nobody else did (NCCL on CUDA,
    Gloo on CPU); destroy it on the way out."""
    if where.init_here:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=where.rank, world_size=where.world)
    if where.distributed and device.type == "cuda":
        torch.cuda.set_device(device)
    try:
        yield
    finally:
        if where.init_here and dist.is_initialized():
            dist.destroy_process_group()


def wrap_model(model: torch.nn.Module, where: Dist, device: torch.device) -> torch.nn.Module:
    """The module the loop calls: `model` wrapped in DistributedDataParallel under torchrun, else `model`."""
    if not where.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP  # only under torchrun (start-up time)

    return DDP(model, device_ids=[device] if device.type == "cuda" else None)


def gather_batch(where: Dist, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole P x K batch for the batch-all triplet loss: every rank's embeddings [n, c, p] and
    labels [n] gathered to [world * n, c, p] and [world * n] (unchanged on one process)."""
    if not where.distributed:
        return emb, labels
    return GatherWithGrad.apply(emb), gather_labels(labels)


class GatherWithGrad(torch.autograd.Function):
    """all_gather along the batch axis that passes gradients back to each rank's slice.

    Every rank computes the same loss L on the gathered batch, so the gradient of rank r's
    slice is the sum over ranks of dL/d(slice); DDP then averages parameter gradients, which
    gives exactly the gradient of L.
    """

    @staticmethod
    def forward(ctx, x):  # x: [n, ...] -> [world * n, ...]
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.n, ctx.rank = x.shape[0], dist.get_rank()
        return torch.cat(parts, 0)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.n:(ctx.rank + 1) * ctx.n]


def gather_labels(y: torch.Tensor) -> torch.Tensor:
    """[n] on every rank -> [world * n], rank 0's slice first (the order GatherWithGrad uses)."""
    parts = [torch.empty_like(y) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, y)
    return torch.cat(parts)


def rank0_decides(where: Dist, flag: bool, device: torch.device) -> bool:
    """Rank 0's boolean (e.g. "stop now", "the data is valid") on every rank."""
    if not where.distributed:
        return flag
    value = torch.tensor([int(flag)], device=device)
    dist.broadcast(value, 0)
    return bool(value.item())


def all_ranks_agree(where: Dist, flag: bool, device: torch.device) -> bool:
    """True only when `flag` is true on every rank (one all_reduce; the flag itself on one process)."""
    if not where.distributed:
        return bool(flag)
    value = torch.tensor([int(bool(flag))], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())
