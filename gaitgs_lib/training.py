"""Training GaitGS: the paper's recipe as `TrainConfig` presets, a resumable trainer (CPU, one
GPU with AMP, or DistributedDataParallel under torchrun), and the `train` command
(docs/architecture.md, "Training recipe"; docs/protocols.md, "Sampling").

A run directory holds `config.json`, `metrics.jsonl` (one line per logging step) and
`checkpoints/latest.pt` (+ periodic `iter-NNNNNNN.pt`), every file written atomically.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset

from .config import GaitGSConfig, get_config
from .data.views import view_index_map
from .fileio import atomic_open, read_torch_file
from .losses import TripletLoss, view_cross_entropy

__all__ = ["TrainConfig", "TRAIN_PRESETS", "ABLATIONS", "get_train_config", "model_config", "train",
           "TrainResult", "export_checkpoint", "read_metrics", "main"]

# Ablation name (CLI) -> GaitGSConfig switch turned off.
ABLATIONS = {
    "no-coarse": "use_coarse",
    "no-mcm": "use_mcm",
    "no-global-span": "use_global_span",
    "no-pieg": "use_pieg_prior",
}
# Keys that may differ when a run is resumed (they change nothing that is learnt).
_RESUME_FREE = {"log_every", "ckpt_every", "num_workers"}
CHECKPOINT_FORMAT = "gaitgs-train-v1"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation recipe (docs/architecture.md, "Training recipe"): Adam, P x K batches of `frames` frames."""

    preset: str = "paper"  # model preset (gaitgs_lib.config.MODEL_PRESETS)
    lr: float = 1e-4
    weight_decay: float = 5e-4
    total_iters: int = 80_000
    milestones: tuple[int, ...] = (70_000,)  # lr x gamma at each
    gamma: float = 0.1
    p: int = 8  # subjects per batch
    k: int = 8  # sequences per subject
    frames: int = 30  # consecutive frames per training sequence
    amp: bool = True  # mixed precision (autocast fp16 + GradScaler); CUDA only
    margin: float = 0.25  # triplet margin
    triplet_weight: float = 1.0
    view_weight: float = 0.2  # PIEG view cross-entropy
    log_every: int = 100
    ckpt_every: int = 5_000
    seed: int = 0
    num_workers: int = 4
    ablations: tuple[str, ...] = ()  # names from ABLATIONS
    model_overrides: dict = field(default_factory=dict)  # extra GaitGSConfig fields

    def __post_init__(self):
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))
        object.__setattr__(self, "ablations", tuple(str(a) for a in self.ablations))
        object.__setattr__(self, "model_overrides", dict(self.model_overrides))
        bad = [a for a in self.ablations if a not in ABLATIONS]
        if bad:
            raise ValueError(f"unknown ablation(s) {bad}; valid: {', '.join(ABLATIONS)}")
        for name in ("p", "k", "frames", "total_iters", "log_every", "ckpt_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.p < 2:
            raise ValueError(f"TrainConfig.p must be >= 2 (the triplet loss needs negatives), got {self.p}")

    def replace(self, **overrides) -> "TrainConfig":
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


TRAIN_PRESETS: dict[str, TrainConfig] = {
    # The paper's recipe (CASIA-B, 64x44): 80k iterations, lr x0.1 at 70k, P=8 x K=8 x 30 frames.
    "paper": TrainConfig(preset="paper"),
    "paper-128": TrainConfig(preset="paper-128"),
    # CPU teaching presets: fewer iterations, a higher learning rate (measured, see
    # benchmarks/README.md "Training"), P x K that fits synthgait-mini's train subjects.
    "small": TrainConfig(preset="small", lr=1e-3, weight_decay=0.0, total_iters=3000, milestones=(2500,),
                         p=8, k=4, frames=30, log_every=20, ckpt_every=500, num_workers=0),
    # tiny: ~2.5 s per iteration on one busy CPU core -> 300 iterations in ~13 min; lr 3e-3
    # beat 1e-3 after 100 iterations (CASIA-B NM/BG/CL 79.9/71.4/75.5 vs 79.1/67.1/74.1).
    "tiny": TrainConfig(preset="tiny", lr=3e-3, weight_decay=0.0, total_iters=300, milestones=(240,),
                        p=8, k=4, frames=30, log_every=10, ckpt_every=100, num_workers=0),
}


def get_train_config(preset: str = "paper", **overrides) -> TrainConfig:
    """The training preset `preset` with field overrides; `total_iters` alone rescales milestones."""
    if preset in TRAIN_PRESETS:
        base = TRAIN_PRESETS[preset]
    else:
        get_config(preset)  # raises a clear error for an unknown model preset
        base = TrainConfig(preset=preset)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown TrainConfig field(s) {sorted(unknown)}; fields are {sorted(fields)}")
    if "total_iters" in overrides and "milestones" not in overrides:
        ratio = overrides["total_iters"] / base.total_iters
        overrides["milestones"] = tuple(max(1, round(m * ratio)) for m in base.milestones)
    return base.replace(**overrides) if overrides else base


def model_config(tc: TrainConfig) -> GaitGSConfig:
    """The GaitGSConfig a training config trains: its preset, ablations and overrides."""
    overrides = {ABLATIONS[a]: False for a in tc.ablations}
    overrides.update(tc.model_overrides)
    return get_config(tc.preset, **overrides)


# --------------------------------------------------------------------------------------
# Small utilities
# --------------------------------------------------------------------------------------
def _atomic_torch_save(obj, path: Path) -> None:
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)


def _atomic_write_text(path: Path, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def _rng_state() -> dict:
    """torch / CUDA / numpy / python RNG states as tensors and plain types (weights_only-safe)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss_next": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def read_metrics(run_dir) -> list[dict]:
    """The records of a run's metrics.jsonl (one dict per logging step)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --------------------------------------------------------------------------------------
# Batches: a resumable P x K plan, windows seeded by (seed, iteration, rank)
# --------------------------------------------------------------------------------------
class _PlannedBatches:
    """Batch sampler wrapper: tags each index with its iteration and remembers the sampler's
    state after every batch, so a checkpoint stores the state of the batch just trained on
    even when the loader prefetches ahead."""

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


class _TaggedDataset(Dataset):
    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        it, index = key
        frames, info = self.dataset[index]
        return it, index, frames, info


class _Collate:
    """Random windows of `frames` consecutive frames (tiled when shorter), seeded per batch."""

    def __init__(self, frames: int, seed: int, rank: int, labels, views):
        self.frames, self.seed, self.rank = frames, seed, rank
        self.labels, self.views = labels, views

    def __call__(self, items):
        from .data.samplers import collate_windows

        it = items[0][0]
        gen = torch.Generator().manual_seed((self.seed * 1_000_003 + it) * 1_009 + self.rank)
        batch = [(frames, info) for _, _, frames, info in items]
        sils = collate_windows(batch, self.frames, gen)
        if isinstance(sils, (tuple, list)):
            sils = sils[0]
        index = torch.tensor([i for _, i, _, _ in items])
        return {
            "iteration": it,
            "index": index,
            "sils": sils,  # [n, frames, h, w]
            "labels": self.labels[index],
            "views": self.views[index],
        }


# --------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What `train` returns: where the run lives, its metrics and the trained model."""

    run_dir: Path
    metrics_path: Path
    checkpoint: Path
    iteration: int
    history: list = field(default_factory=list)
    model: torch.nn.Module | None = None


def _dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    if world > 1:
        return int(os.environ["RANK"]), world, True
    return 0, 1, False


def _check_run_dir(out: Path, resume: bool, overwrite: bool) -> None:
    if resume and overwrite:
        raise ValueError("pass either resume or overwrite, not both")
    if resume:
        if not (out / "checkpoints" / "latest.pt").exists():
            raise FileNotFoundError(f"nothing to resume: {out / 'checkpoints' / 'latest.pt'} does not exist")
        return
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(
            f"run directory {out} already exists and is not empty; pass --resume to continue it "
            f"or --overwrite to start it afresh")


def _clear_run_dir(out: Path) -> None:
    """--overwrite: remove what a run writes (and nothing else)."""
    for name in ("config.json", "metrics.jsonl"):
        if (out / name).exists():
            (out / name).unlink()
    if (out / "checkpoints").exists():
        shutil.rmtree(out / "checkpoints")


def _load_train_dataset(data, cfg: GaitGSConfig):
    from .data.dataset import GaitDataset

    return GaitDataset(data, split="train", cache=True, size=tuple(cfg.input_hw))


def train(
    preset: str = "tiny",
    data=None,
    out=None,
    steps: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device=None,
    progress: bool = True,
    callback: Callable[[dict], None] | None = None,
    batch_hook: Callable[[int, torch.Tensor], None] | None = None,
    dataset=None,
    **overrides,
) -> TrainResult:
    """Train GaitGS with the training preset `preset` on the train split of `data`.

    `out` is the run directory (refused when it exists, unless `resume` or `overwrite`).
    `steps`: stop after this iteration (absolute; default `total_iters`) without changing
    the schedule. `overrides`: TrainConfig fields (`lr=...`, `ablations=("no-mcm",)`).
    `callback(record)` gets every metrics record (rank 0) and may return False to stop
    after this iteration (a checkpoint is written; `resume` continues); `batch_hook(iteration, indices)`
    is called on every rank with the dataset indices it trains on. `dataset` may replace
    `GaitDataset(data, split="train")` (any object with `__getitem__ -> (frames, info)`,
    `sids`, `views`). Under torchrun (WORLD_SIZE > 1) the model is wrapped in
    DistributedDataParallel (NCCL on CUDA, Gloo on CPU) and rank 0 writes the files.
    """
    from torch.nn.parallel import DistributedDataParallel as DDP

    from .data.samplers import PKBatchSampler
    from .modeling.gaitgs import GaitGS
    from .runtime import default_device

    if out is None:
        raise ValueError("train: `out` (the run directory) is required")
    if data is None and dataset is None:
        raise ValueError("train: `data` (a dataset root) is required")
    out = Path(out)
    rank, world, init_here = _dist_info()
    _check_run_dir(out, resume, overwrite)

    ckpt = None
    if resume:
        ckpt = torch.load(out / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True)
        tc = TrainConfig(**ckpt["train_config"])
        changed = {k: v for k, v in overrides.items() if k not in _RESUME_FREE and getattr(tc, k, None) != v}
        if changed:
            raise ValueError(f"cannot change {sorted(changed)} when resuming {out}: the run was started with "
                             + ", ".join(f"{k}={getattr(tc, k, None)!r}" for k in changed))
        tc = tc.replace(**{k: v for k, v in overrides.items() if k in _RESUME_FREE})
        if int(ckpt.get("world_size", 1)) != world:
            raise ValueError(f"{out} was trained on {ckpt.get('world_size', 1)} process(es); resume it on as many "
                             f"(this run has {world}): the batch plan is split per rank")
    else:
        tc = get_train_config(preset, **overrides)
    cfg = model_config(tc)
    stop = tc.total_iters if steps is None else int(steps)

    # Device and process group.
    if world > 1:
        local = int(os.environ.get("LOCAL_RANK", rank))
        if device is None:
            device = torch.device(f"cuda:{local}") if torch.cuda.is_available() else torch.device("cpu")
        if init_here:
            backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
            dist.init_process_group(backend, rank=rank, world_size=world)
        if torch.device(device).type == "cuda":
            torch.cuda.set_device(device)
        dist.barrier()  # every rank has checked the run directory before rank 0 writes to it
    device = torch.device(device) if device is not None else default_device()
    use_amp = bool(tc.amp and device.type == "cuda")

    try:
        # Data: labels are subject indices, views class indices.
        ds = dataset if dataset is not None else _load_train_dataset(data, cfg)
        sids = [str(s) for s in ds.sids]
        subjects = sorted(set(sids))
        if len(subjects) < tc.p:
            raise ValueError(
                f"P x K = {tc.p} x {tc.k} needs {tc.p} subjects per batch but the train split of "
                f"{data} has only {len(subjects)} subject(s); lower p (--p) or use more data")
        if (tc.p * tc.k) % world:
            raise ValueError(f"the batch P x K = {tc.p * tc.k} must split evenly over {world} processes")
        label_of = {s: i for i, s in enumerate(subjects)}
        labels = torch.tensor([label_of[s] for s in sids])
        view_names, view_of = view_index_map(ds.views)
        if len(view_names) > cfg.views:
            raise ValueError(f"the data has {len(view_names)} views ({view_names[:14]}) but preset "
                             f"{cfg.name!r} classifies {cfg.views}; pass --views {len(view_names)} "
                             f"(model_overrides={{'views': {len(view_names)}}})")
        views = torch.tensor([view_of[str(v)] for v in ds.views])

        # Model, optimiser, schedule (seeded: the same run twice gives the same weights on CPU).
        torch.manual_seed(tc.seed)
        np.random.seed(tc.seed)
        random.seed(tc.seed)
        model = GaitGS(cfg).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(tc.milestones), gamma=tc.gamma)
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        sampler = PKBatchSampler(labels.tolist(), tc.p, tc.k, seed=tc.seed, rank=rank, world_size=world)
        start = 0
        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            if ckpt.get("scaler"):
                scaler.load_state_dict(ckpt["scaler"])
            sampler.load_state_dict(ckpt["sampler"])
            _set_rng_state(ckpt["rng"])
            start = int(ckpt["iteration"])
        net = DDP(model, device_ids=[device] if device.type == "cuda" else None) if world > 1 else model

        triplet = TripletLoss(tc.margin)
        plan = _PlannedBatches(sampler, start)
        loader = DataLoader(
            _TaggedDataset(ds), batch_sampler=plan, num_workers=tc.num_workers,
            collate_fn=_Collate(tc.frames, tc.seed, rank, labels, views),
            pin_memory=device.type == "cuda", persistent_workers=False,
            generator=torch.Generator(),  # keeps the global RNG (dropout) untouched
        )

        # Run directory (rank 0 writes).
        ckpt_dir = out / "checkpoints"
        metrics_path = out / "metrics.jsonl"
        if rank == 0:
            if overwrite and out.exists():
                _clear_run_dir(out)
            out.mkdir(parents=True, exist_ok=True)
            run_info = {"train_config": tc.to_dict(), "model_config": cfg.to_dict(), "data": str(data),
                        "world_size": world, "device": str(device), "amp": use_amp, "view_names": view_names,
                        "num_train_sequences": len(sids), "num_train_subjects": len(subjects)}
            _atomic_write_text(out / "config.json", json.dumps(run_info, indent=2, default=str))
            kept = [r for r in read_metrics(out) if r["iteration"] <= start]
            _atomic_write_text(metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

        def save(it: int, periodic: bool) -> Path:
            state = {
                "format": CHECKPOINT_FORMAT,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if use_amp else None,
                "iteration": it,
                "config": cfg.to_dict(),
                "preset": cfg.name,
                "train_config": tc.to_dict(),
                "sampler": plan.state_after(it) if it > start else sampler_start_state,
                "rng": _rng_state(),
                "view_names": view_names,
                "world_size": world,
            }
            if rank == 0:
                _atomic_torch_save(state, ckpt_dir / "latest.pt")
                if periodic:
                    shutil.copyfile(ckpt_dir / "latest.pt", ckpt_dir / f".iter-{it:07d}.pt.tmp")
                    os.replace(ckpt_dir / f".iter-{it:07d}.pt.tmp", ckpt_dir / f"iter-{it:07d}.pt")
            return ckpt_dir / "latest.pt"

        sampler_start_state = sampler.state_dict()
        history, window = [], _Window()
        bar = None
        if progress and rank == 0:
            from tqdm.auto import tqdm

            bar = tqdm(total=stop, initial=min(start, stop), desc=f"train {cfg.name}", unit="it")
        it = done = start  # `done`: last iteration whose optimiser step completed
        net.train()
        try:
            if start < stop:
                t_last = time.perf_counter()
                for batch in loader:
                    it = batch["iteration"]
                    if batch_hook is not None:
                        batch_hook(it, batch["index"])
                    sils = batch["sils"].to(device, non_blocking=True)
                    y = batch["labels"].to(device)
                    v = batch["views"].to(device)
                    with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                        output = net(sils)
                    emb = output["embeddings"].float()  # [n, c, p]
                    logits = output["view_logits"].float()  # [n, views]
                    if world > 1:  # batch-all triplet over the whole P x K batch
                        emb_all = _GatherWithGrad.apply(emb)  # [world * n, c, p]
                        y_all = [torch.empty_like(y) for _ in range(world)]
                        dist.all_gather(y_all, y)
                        y_all = torch.cat(y_all)
                    else:
                        emb_all, y_all = emb, y
                    trip, info = triplet(emb_all, y_all)
                    ce = view_cross_entropy(logits, v, tc.view_weight)
                    loss = tc.triplet_weight * trip + ce
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                    scheduler.step()
                    done = it
                    window.add(float(loss.detach()), info, float(ce.detach()), len(sils) * world)
                    if bar is not None:
                        bar.update(1)
                    halt = False
                    if it % tc.log_every == 0 or it == stop:
                        now = time.perf_counter()
                        record = window.record(it, optimizer.param_groups[0]["lr"], now - t_last)
                        t_last = now
                        if rank == 0:
                            history.append(record)
                            with open(metrics_path, "a") as f:
                                f.write(json.dumps(record) + "\n")
                            if bar is not None:
                                bar.set_postfix(loss=f"{record['loss']:.3f}", seq_s=f"{record['seq_per_s']:.1f}")
                            if callback is not None:
                                halt = callback(record) is False
                        if world > 1:  # rank 0's decision holds for every rank
                            flag = torch.tensor([int(halt)], device=device)
                            dist.broadcast(flag, 0)
                            halt = bool(flag.item())
                    if it >= stop or halt:
                        break
                    if it % tc.ckpt_every == 0:
                        save(it, periodic=True)
        except KeyboardInterrupt:
            if done > start:  # keep what was learnt; --resume continues from here
                save(done, periodic=False)
            raise
        finally:
            if bar is not None:
                bar.close()
        path = save(it, periodic=it % tc.ckpt_every == 0) if it > start else ckpt_dir / "latest.pt"
        if world > 1:
            dist.barrier()
        return TrainResult(run_dir=out, metrics_path=metrics_path, checkpoint=path, iteration=it,
                           history=history, model=model)
    finally:
        if init_here and dist.is_initialized():
            dist.destroy_process_group()


class _GatherWithGrad(torch.autograd.Function):
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


class _Window:
    """Running means of the logged quantities between two logging steps."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.n, self.seqs = 0, 0
        self.sums = {"loss": 0.0, "triplet": 0.0, "ce": 0.0, "nonzero_frac": 0.0, "mean_dist": 0.0}

    def add(self, loss, info, ce, seqs):
        self.n += 1
        self.seqs += seqs
        for key, value in (("loss", loss), ("triplet", info["triplet_loss"]), ("ce", ce),
                           ("nonzero_frac", info["nonzero_frac"]), ("mean_dist", info["mean_dist"])):
            self.sums[key] += value

    def record(self, it, lr, seconds) -> dict:
        rec = {"iteration": int(it)}
        rec.update({k: v / max(1, self.n) for k, v in self.sums.items()})
        rec["lr"] = float(lr)
        rec["seq_per_s"] = self.seqs / seconds if seconds > 0 else float("nan")
        self.reset()
        return rec


# --------------------------------------------------------------------------------------
# Using trained checkpoints
# --------------------------------------------------------------------------------------
def export_checkpoint(src, dst) -> Path:
    """A training checkpoint -> a small one for shipping: weights (fp32), config, preset,
    iteration, view names; no optimizer, scheduler, sampler or RNG state. Atomic."""
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    keep = {k: ckpt[k] for k in ("format", "config", "preset", "iteration", "train_config", "view_names") if k in ckpt}
    keep["model"] = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    dst = Path(dst)
    _atomic_torch_save(keep, dst)
    return dst


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m gaitgs_lib train",
                                 description="Train GaitGS (CPU, one GPU, or `torchrun --nproc_per_node=K`).")
    ap.add_argument("--preset", default="tiny", help=f"training/model preset: {', '.join(TRAIN_PRESETS)}")
    ap.add_argument("--data", required=True, help="dataset root (OpenGait layout + partition.json)")
    ap.add_argument("--out", required=True, help="run directory")
    ap.add_argument("--steps", type=int, help="stop after this iteration (the schedule is unchanged)")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoints/latest.pt")
    ap.add_argument("--overwrite", action="store_true", help="start afresh in an existing run directory")
    ap.add_argument("--ablation", action="append", default=[], choices=sorted(ABLATIONS),
                    help="switch a block off (repeatable)")
    ap.add_argument("--device", help="cpu, cuda, cuda:1 (default: CUDA when present)")
    ap.add_argument("--no-progress", action="store_true")
    for name, typ in (("lr", float), ("weight-decay", float), ("total-iters", int), ("p", int), ("k", int),
                      ("frames", int), ("log-every", int), ("ckpt-every", int), ("seed", int),
                      ("num-workers", int), ("margin", float)):
        ap.add_argument(f"--{name}", type=typ, help="override the preset's TrainConfig value")
    ap.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    ap.add_argument("--views", type=int, help="number of view classes of PIEG (14 for OU-MVLP; default: the preset's)")
    return ap


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    overrides = {}
    for name in ("lr", "weight_decay", "total_iters", "p", "k", "frames", "log_every", "ckpt_every", "seed",
                 "num_workers", "margin"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.ablation:
        overrides["ablations"] = tuple(dict.fromkeys(args.ablation))
    if args.no_amp:
        overrides["amp"] = False
    if args.views is not None:
        overrides["model_overrides"] = {"views": args.views}
    try:
        result = train(args.preset, args.data, args.out, steps=args.steps, resume=args.resume,
                       overwrite=args.overwrite, device=args.device, progress=not args.no_progress, **overrides)
    except (ValueError, FileExistsError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if result.history and int(os.environ.get("RANK", "0")) == 0:
        last = result.history[-1]
        print(f"iteration {result.iteration}: loss {last['loss']:.4f} (triplet {last['triplet']:.4f}, "
              f"view CE {last['ce']:.4f}); checkpoint {result.checkpoint}")
    return 0
