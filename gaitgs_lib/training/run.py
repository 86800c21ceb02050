"""One training run: the loop first, then what prepares it.

`Run.loop` is the training loop. For each P x K batch of the plan, `train_step` runs the
model forward, the GaitGS loss (`losses.GaitGSLoss`: batch-all triplet + view cross-entropy)
and one guarded optimiser step (backward, NaN/inf check, step); every `log_every` iterations
`log` writes a metrics record, every `ckpt_every` `checkpoint` saves what `--resume` needs.
If anything stops the loop, `fail` keeps what was learnt (the rule: training/failure.py).

Below the loop, the steps that prepare it, in the order `train` (at the end) calls them:

1. `configure`: the recipe (a preset, or the checkpoint being resumed: training/config.py),
   refusals that need no data (run folder, resume checkpoint, device);
2. `load_data`: the train split, checked file by file before iteration 1
   (`data.validate`), and on resume compared with the data the run was trained on
   (training/run_dir.py);
3. `build`: model, optimiser, schedule, GradScaler, P x K sampler, loss, loader; on resume
   every state is restored, so the run continues bit for bit; under torchrun the model is
   wrapped in DistributedDataParallel (training/distributed.py);
4. `open_folder`: config.json (with the run's history), metrics.jsonl (training/run_dir.py).
"""
from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..data.dataset import GaitDataset
from ..data.samplers import PKBatchSampler
from ..data.validate import DataValidationError, validate_dataset
from ..data.views import view_index_map
from ..losses import GaitGSLoss
from ..modeling.gaitgs import GaitGS
from .batches import PlannedBatches, WindowCollate, make_loader
from .checkpoints import CHECKPOINT_FORMAT, read_training_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import (DEFAULT_PRESET, check_steps, get_train_config, model_config, nothing_to_resume, resolve_device,
                     resume_config)
from .distributed import Dist, all_ranks_agree, gather_batch, process_group, rank0_decides, wrap_model
from .errors import CheckpointWriteError, NonFiniteError
from .failure import Stopped, saves_on_stop, stop_error
from .metrics import MetricsLog, RunningMeans
from .nonfinite import GuardedStep
from .run_dir import (RunFolder, check_out, check_out_path, check_same_data, data_identity, lock_run_folder,
                      open_run_folder, recover_aside)

__all__ = ["train", "TrainResult", "Run"]


class Run:
    """A training run; see the module docstring for the order of its steps.

    The loop uses what `build` made: `net` (the model; DistributedDataParallel under
    torchrun), `loader` (the planned batches), `loss_fn`, `step` (the guarded optimiser
    step), `scheduler` and `means` (the running averages `log` reports).
    """

    def __init__(self, out: Path, where: Dist, progress: bool = True,
                 callback: Callable[[dict], object] | None = None,
                 batch_hook: Callable[[int, torch.Tensor], None] | None = None):
        self.out, self.where = Path(out), where
        self.progress, self.callback, self.batch_hook = progress, callback, batch_hook
        self.ckpt_dir = self.out / "checkpoints"
        self.ckpt: dict | None = None  # the checkpoint being resumed
        self.folder: RunFolder | None = None  # rank 0 only
        self.history: list[dict] = []  # metrics records (rank 0)
        self.start = self.done = 0  # iteration resumed from / last completed
        self.saved_iteration: int | None = None  # of the newest checkpoint in the folder
        self.rng_done: dict | None = None  # RNG states right after iteration `done`
        self.resume_changes: dict = {}
        self.nothing_to_do: str | None = None  # set by `configure` when a resume has no iteration left

    # ---------------------------------------------------------------- the loop
    def loop(self) -> TrainResult:
        """Train from `start` to `stop`, logging and checkpointing; returns the TrainResult."""
        tc = self.tc
        bar = self._progress_bar()
        it = self.start
        self.net.train()
        try:
            if self.start < self.stop:
                self.t_last = time.perf_counter()
                for batch in self.loader:
                    it = batch["iteration"]
                    self.train_step(batch)
                    if bar is not None:
                        bar.update(1)
                    halt = self.log(it, bar) if it % tc.log_every == 0 or it == self.stop else False
                    if it >= self.stop or halt:
                        break
                    if it % tc.ckpt_every == 0:
                        self.checkpoint(it, periodic=True)
            # the run's end (--steps, the schedule, or a callback's stop) is a scheduled checkpoint too
            path = (self.checkpoint(it, periodic=it % tc.ckpt_every == 0) if it > self.start
                    else self.ckpt_dir / "latest.pt")
        except BaseException as exc:  # noqa: BLE001 - every way out keeps what was learnt (see `fail`)
            if bar is not None:
                bar.close()
            replacement = self.fail(exc)
            if replacement is None:
                raise
            raise replacement from None
        finally:
            if bar is not None:
                bar.close()
        self.where.barrier()
        return TrainResult(run_dir=self.out, metrics_path=self.metrics.path, checkpoint=path, iteration=it,
                           history=self.history, model=self.model)

    def train_step(self, batch: dict) -> None:
        """Forward, the GaitGS loss over the whole P x K batch, one guarded optimiser step."""
        it = batch["iteration"]
        if self.batch_hook is not None:
            self.batch_hook(it, batch["index"])
        sils = batch["sils"].to(self.device, non_blocking=True)  # [n, frames, h, w]
        labels = batch["labels"].to(self.device)  # [n]
        views = batch["views"].to(self.device)  # [n]
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
            output = self.net(sils)
        emb = output["embeddings"].float()  # [n, c, p]
        emb, labels = gather_batch(self.where, emb, labels)  # under torchrun: every rank's, [world * n, c, p]
        loss, info = self.loss_fn({"embeddings": emb, "view_logits": output["view_logits"].float()}, labels, views)
        stepped = self.step(it, loss)  # backward, NaN/inf check, optimiser step (training/nonfinite.py)
        self.scheduler.step()
        finite = math.isfinite(self.step.last_loss)
        self.means.add(info if finite else None, len(sils) * self.where.world, stepped)
        self.done = it
        self.rng_done = rng_state()

    def log(self, it: int, bar=None) -> bool:
        """One metrics record; returns True when the callback asked to stop (rank 0 decides)."""
        now = time.perf_counter()
        record = self.means.record(it, self.optimizer.param_groups[0]["lr"], now - self.t_last)
        self.t_last = now
        halt = False
        if self.where.rank == 0:
            self.history.append(record)
            self.metrics.append(record)
            if bar is not None and record.get("loss") is not None:
                bar.set_postfix(loss=f"{record['loss']:.3f}", seq_s=f"{record['seq_per_s'] or 0:.1f}")
            if self.callback is not None:
                halt = self.callback(record) is False
        return rank0_decides(self.where, halt, self.device)

    def checkpoint(self, it: int, periodic: bool) -> Path:
        """Everything needed to continue bit for bit after iteration `it` (== `done`); rank 0 writes."""
        latest = self.ckpt_dir / "latest.pt"
        if self.where.rank != 0:
            return latest
        state = {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.use_amp else None,
            "iteration": it,
            "config": self.cfg.to_dict(),
            "preset": self.cfg.name,
            "train_config": self.tc.to_dict(),
            "sampler": self.plan.state_after(it),
            "rng": self.rng_done,
            "view_names": self.view_names,
            "world_size": self.where.world,
            "data_identity": self.data_identity,
            "metrics_window": self.means.state_dict(),
        }
        save_checkpoint(state, self.ckpt_dir, periodic)
        self.saved_iteration = it
        self.folder.commit()
        return latest

    def fail(self, exc: BaseException) -> BaseException | None:
        """The run stops on `exc`: save a checkpoint of the last completed iteration where the
        rule allows it, roll back a folder that holds none (training/failure.py); returns the
        exception to raise instead of `exc` (None: re-raise `exc`)."""
        folder = self.folder
        replacing = folder is not None and not folder.committed and folder.aside is not None
        saved = save_error = None
        if saves_on_stop(exc, self.done, self.start, replacing):
            try:
                saved = self.checkpoint(self.done, periodic=False)
            except NonFiniteError:
                saved = None
            except CheckpointWriteError as err:
                save_error = err
        if folder is not None and not folder.committed:
            folder.rollback()
        return stop_error(exc, Stopped(
            out=self.out, mode=self.mode, start=self.start, done=self.done,
            first_scheduled=min(self.tc.ckpt_every, self.stop), saved_iteration=self.saved_iteration,
            saved=saved, save_error=save_error, restored=replacing, lr=self.optimizer.param_groups[0]["lr"]))

    def _progress_bar(self):
        if not (self.progress and self.where.rank == 0):
            return None
        from tqdm.auto import tqdm  # imported here: tqdm.auto pulls in the notebook widgets (start-up time)

        return tqdm(total=self.stop, initial=min(self.start, self.stop), desc=f"train {self.cfg.name}", unit="it")

    # ---------------------------------------------------------------- 1. configure
    def configure(self, preset: str | None, resume: bool, overwrite: bool, steps: int | None, overrides: dict,
                  device=None) -> None:
        """The recipe, the iteration to stop after and the device; every refusal that needs no data."""
        check_out(self.out, resume, overwrite)
        self.mode = "resume" if resume else "overwrite" if overwrite else "new"
        if resume:
            self.ckpt = read_training_checkpoint(self.ckpt_dir / "latest.pt")
            self.tc, changed = resume_config(self.ckpt, preset, overrides, self.out, self.where.world)
            if changed:
                self.resume_changes["changed"] = changed
            self.start = self.done = self.saved_iteration = int(self.ckpt["iteration"])
            self.nothing_to_do = nothing_to_resume(self.out, self.start, steps, self.tc.total_iters)
        else:
            self.tc = get_train_config(preset or DEFAULT_PRESET, **overrides)
            check_steps(steps, self.tc.total_iters)
        self.cfg = model_config(self.tc)
        self.stop = self.tc.total_iters if steps is None else int(steps)
        self.device = resolve_device(device, self.where)
        self.use_amp = bool(self.tc.amp and self.device.type == "cuda")

    # ---------------------------------------------------------------- 2. data
    def load_data(self, data, dataset, allow_data_change: bool = False) -> None:
        """The train split (labels = subject indices, views = class indices), every file checked."""
        tc, cfg = self.tc, self.cfg
        ds = dataset if dataset is not None else GaitDataset(data, split="train", cache=True, size=tuple(cfg.input_hw))
        self.dataset, self.data = ds, data
        self.data_identity = data_identity(data, ds)
        if self.ckpt is not None:
            self.resume_changes.update(check_same_data(self.out, self.ckpt, self.data_identity, data,
                                                       allow_data_change))
        sids = [str(s) for s in ds.sids]
        subjects = sorted(set(sids))
        if len(subjects) < tc.p:
            raise ValueError(f"P x K = {tc.p} x {tc.k} needs {tc.p} subjects per batch but the train split of "
                             f"{data} has only {len(subjects)} subject(s); lower p (--p) or use more data")
        if (tc.p * tc.k) % self.where.world:
            raise ValueError(f"the batch P x K = {tc.p * tc.k} must split evenly over {self.where.world} processes")
        label_of = {s: i for i, s in enumerate(subjects)}
        self.labels = torch.tensor([label_of[s] for s in sids])
        self.view_names, view_of = view_index_map(ds.views)
        if len(self.view_names) > cfg.views:
            raise ValueError(f"the data has {len(self.view_names)} views ({self.view_names[:14]}) but preset "
                             f"{cfg.name!r} classifies {cfg.views}; pass --views {len(self.view_names)} "
                             f"(model_overrides={{'views': {len(self.view_names)}}})")
        self.views = torch.tensor([view_of[str(v)] for v in ds.views])
        self._validate(ds)  # last: the cheap refusals above come first

    def _validate(self, ds) -> None:
        """Every sequence file of the split, read once before iteration 1 (rank 0 reads)."""
        if not hasattr(ds, "infos"):  # a dataset object of the caller's: nothing to scan
            return
        report = validate_dataset(ds, progress=self.progress) if self.where.rank == 0 else None
        if not rank0_decides(self.where, report is None or report.ok, self.device):
            if report is not None:
                report.raise_if_bad()
            raise DataValidationError("rank 0 found unusable sequence files in the train split (see its message)")

    # ---------------------------------------------------------------- 3. build
    def build(self) -> None:
        """Model, optimiser, schedule, scaler, sampler, loss and loader (seeded; restored on resume)."""
        tc, device = self.tc, self.device
        torch.manual_seed(tc.seed)
        np.random.seed(tc.seed)
        random.seed(tc.seed)
        self.model = GaitGS(self.cfg).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, milestones=list(tc.milestones),
                                                              gamma=tc.gamma)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.sampler = PKBatchSampler(self.labels.tolist(), tc.p, tc.k, seed=tc.seed, rank=self.where.rank,
                                      world_size=self.where.world)
        self.means = RunningMeans()
        if self.ckpt is not None:
            self._restore(self.ckpt)
        self.rng_done = rng_state()
        self.net = wrap_model(self.model, self.where, device)
        self.loss_fn = GaitGSLoss(tc.margin, tc.triplet_weight, tc.view_weight)
        self.step = GuardedStep(self.model, self.optimizer, self.scaler, self.use_amp,
                                agree=lambda ok: all_ranks_agree(self.where, ok, device))
        self.plan = PlannedBatches(self.sampler, self.start)
        self.loader = make_loader(self.dataset, self.plan,
                                  WindowCollate(tc.frames, tc.seed, self.where.rank, self.labels, self.views),
                                  tc.num_workers, pin_memory=device.type == "cuda")

    def _restore(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.sampler.load_state_dict(ckpt["sampler"])
        set_rng_state(ckpt["rng"])
        if ckpt.get("metrics_window"):
            self.means.load_state_dict(ckpt["metrics_window"])

    # ---------------------------------------------------------------- 4. the run folder
    def open_folder(self) -> None:
        """config.json (recipe, data, history) and metrics.jsonl; rank 0 writes, the others wait."""
        self.metrics = MetricsLog(self.out)
        if self.where.rank == 0:
            self.folder, note = open_run_folder(self.out, self.mode, self.start, self.resume_changes,
                                                self._run_info(), self.metrics)
            if note:
                print(f"warning: {note}", file=sys.stderr)
        self.where.barrier()

    def _run_info(self) -> dict:
        """config.json but its history: the recipe, the model, the data and where the run trains."""
        return {"train_config": self.tc.to_dict(), "model_config": self.cfg.to_dict(), "data": str(self.data),
                "data_identity": self.data_identity, "world_size": self.where.world, "device": str(self.device),
                "amp": self.use_amp, "view_names": self.view_names,
                "num_train_sequences": self.data_identity["train_sequences"],
                "num_train_subjects": self.data_identity["train_subjects"]}


@dataclass
class TrainResult:
    """What `train` returns: where the run lives, its metrics and the trained model."""

    run_dir: Path
    metrics_path: Path
    checkpoint: Path
    iteration: int
    history: list = field(default_factory=list)
    model: torch.nn.Module | None = None


def train(
    preset: str | None = None,
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
    allow_data_change: bool = False,
    **overrides,
) -> TrainResult:
    """Train GaitGS with the training preset `preset` on the train split of `data`.

    `preset`: default "tiny" for a new run; on `resume` the run's own (another is refused).
    `out` is the run directory (refused when it exists, unless `resume` or `overwrite`;
    locked while training: a second `train` into it is refused).
    `steps`: stop after this iteration (absolute; default `total_iters`) without changing
    the schedule. `overrides`: TrainConfig fields (`lr=...`, `ablations=("no-mcm",)`).
    `callback(record)` gets every metrics record (rank 0) and may return False to stop
    after this iteration (a checkpoint is written; `resume` continues); `batch_hook(iteration, indices)`
    is called on every rank with the dataset indices it trains on. `dataset` may replace
    `GaitDataset(data, split="train")` (any object with `__getitem__ -> (frames, info)`,
    `sids`, `views`). `allow_data_change`: resume on data that differs from the run's
    (recorded in config.json's history). Under torchrun (WORLD_SIZE > 1) the model is
    wrapped in DistributedDataParallel (NCCL on CUDA, Gloo on CPU) and rank 0 writes the files.

    Every sequence file is read once before iteration 1; a NaN/inf loss or gradient
    raises NonFiniteError (nothing non-finite is saved); any other stop after iteration 1
    saves a checkpoint first. docs/guarantees.md lists what holds under which fault.
    """
    if out is None:
        raise ValueError("train: `out` (the run directory) is required")
    if data is None and dataset is None:
        raise ValueError("train: `data` (a dataset root) is required")
    check_steps(steps)
    if not resume:  # refusals of the recipe come before the lock creates anything
        check_steps(steps, get_train_config(preset or DEFAULT_PRESET, **overrides).total_iters)
    run = Run(Path(out), Dist.detect(), progress=progress, callback=callback, batch_hook=batch_hook)
    check_out_path(run.out, data if dataset is None else None)
    with lock_run_folder(run.out, active=run.where.rank == 0):
        if run.where.rank == 0:
            for note in recover_aside(run.out):
                print(f"warning: {note}", file=sys.stderr)
        run.configure(preset, resume, overwrite, steps, overrides, device=device)
        if run.nothing_to_do is not None:  # nothing is loaded, trained, written or recorded
            if run.where.rank == 0:
                print(f"nothing to train: {run.nothing_to_do}", file=sys.stderr)
            return TrainResult(run_dir=run.out, metrics_path=run.out / "metrics.jsonl",
                               checkpoint=run.ckpt_dir / "latest.pt", iteration=run.start)
        with process_group(run.where, run.device):
            run.where.barrier()  # every rank has checked the run folder before rank 0 writes to it
            run.load_data(data, dataset, allow_data_change=allow_data_change)
            run.build()
            run.open_folder()
            return run.loop()
