"""The training recipe as data: `TrainConfig`, its named presets and the ablation switches;
and the recipe a run resolves to: a preset's, or on `--resume` the checkpoint's (with the
changes that may differ), its `--steps`, and its device.

`TRAIN_PRESETS["paper"]` is the authors' released CASIA-B configuration
(https://github.com/Haijun-Xiong/GaitGS, `configs/gaitgs/gaitgs.yaml`; README.md,
"Training recipe"); the other presets are teaching-scale recipes for a CPU.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pathlib import Path

import torch

from ..config import GaitGSConfig, get_config
from ..runtime import default_device
from .distributed import Dist
from .errors import TrainingError

__all__ = ["TrainConfig", "TRAIN_PRESETS", "ABLATIONS", "RESUME_FREE", "DEFAULT_PRESET", "get_train_config",
           "model_config", "resume_config", "check_steps", "nothing_to_resume", "resolve_device"]

# Ablation name (CLI) -> GaitGSConfig switch turned off.
ABLATIONS = {
    "no-coarse": "use_coarse",
    "no-mcm": "use_mcm",
    "no-global-span": "use_global_span",
    "no-pieg": "use_pieg_prior",
}
# Fields that may differ when a run is resumed (they change nothing that is learnt).
RESUME_FREE = frozenset({"log_every", "ckpt_every", "num_workers"})


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation recipe (README.md, "Training recipe"): Adam, P x K batches of `frames` frames."""

    preset: str = "paper"  # model preset (gaitgs_lib.config.MODEL_PRESETS)
    lr: float = 1e-4
    weight_decay: float = 5e-4
    total_iters: int = 80_000
    milestones: tuple[int, ...] = (70_000,)  # lr x gamma at each
    gamma: float = 0.1
    p: int = 8  # subjects per batch
    k: int = 8  # sequences per subject
    frames: int = 30  # consecutive frames per training sequence (random start, tiled when shorter)
    amp: bool = True  # mixed precision (autocast fp16 + GradScaler); CUDA only
    margin: float = 0.25  # triplet margin
    triplet_weight: float = 1.0
    view_weight: float = 0.2  # PIEG view cross-entropy (no label smoothing)
    log_every: int = 100
    ckpt_every: int = 1_000
    seed: int = 0
    num_workers: int = 1
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
        if self.num_workers < 0:
            raise ValueError(f"TrainConfig.num_workers must be >= 0, got {self.num_workers}")
        # a negative margin makes every triplet's hinge zero: the triplet loss would silently be off
        for name in ("margin", "triplet_weight", "view_weight", "weight_decay"):
            if not getattr(self, name) >= 0:  # also refuses NaN
                raise ValueError(f"TrainConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not (self.lr > 0 and self.lr != float("inf")):
            raise ValueError(f"TrainConfig.lr must be a positive finite number, got {self.lr}")

    def replace(self, **overrides) -> "TrainConfig":
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


TRAIN_PRESETS: dict[str, TrainConfig] = {
    # The authors' CASIA-B recipe (configs/gaitgs/gaitgs.yaml, identical in gaitgs128.yaml):
    # Adam 1e-4, weight decay 5e-4, 80k iterations, lr x0.1 at 70k, P=8 x K=8 x 30 frames,
    # fp16 + GradScaler, triplet margin 0.25 (weight 1), view CE weight 0.2, a checkpoint
    # every 1,000 and a log line every 100 iterations, one loader worker.
    "paper": TrainConfig(preset="paper"),
    "paper-128": TrainConfig(preset="paper-128"),
    # CPU teaching presets: fewer iterations, a higher learning rate (measured, see
    # benchmarks/README.md "Training"), P x K that fits synthgait-mini's train subjects.
    "small": TrainConfig(preset="small", lr=1e-3, weight_decay=0.0, total_iters=3000, milestones=(2500,),
                         p=8, k=4, frames=30, log_every=20, ckpt_every=500, num_workers=0),
    # small-32 on SynthGait-B's 74 training subjects: the recipe of the shipped
    # data/checkpoints/small-32-synthgait-b.pt (its .json says the iterations and times).
    "small-32": TrainConfig(preset="small-32", lr=3e-3, weight_decay=0.0, total_iters=1500, milestones=(1200,),
                            p=8, k=4, frames=30, log_every=20, ckpt_every=100, num_workers=0),
    # tiny: 300 iterations, few enough for one CPU core (how long they take: benchmarks/README.md,
    # "Training"); lr 3e-3 beat 1e-3 after 100 iterations (CASIA-B NM/BG/CL 79.9/71.4/75.5 vs
    # 79.1/67.1/74.1).
    "tiny": TrainConfig(preset="tiny", lr=3e-3, weight_decay=0.0, total_iters=300, milestones=(240,),
                        p=8, k=4, frames=30, log_every=10, ckpt_every=100, num_workers=0),
}
DEFAULT_PRESET = "tiny"  # what a new run trains when no preset is named


def get_train_config(preset: str = "paper", **overrides) -> TrainConfig:
    """The training preset `preset` with field overrides; `total_iters` alone rescales milestones.

    A model preset without a training preset of its name gets the paper's recipe.
    """
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


def resume_config(ckpt: dict, preset: str | None, overrides: dict, out: Path, world: int) -> tuple[TrainConfig, dict]:
    """The resumed run's TrainConfig (+ the harmless changes asked for, which it returns too), or a refusal."""
    tc = TrainConfig(**ckpt["train_config"])
    if preset is not None and preset != tc.preset:
        raise ValueError(f"cannot resume {out} with --preset {preset}: the run was started with "
                         f"--preset {tc.preset}; leave --preset out (or start afresh with --overwrite)")
    changed = {k: v for k, v in overrides.items() if k not in RESUME_FREE and getattr(tc, k, None) != v}
    if changed:
        raise ValueError(f"cannot change {sorted(changed)} when resuming {out}: the run was started with "
                         + ", ".join(f"{k}={getattr(tc, k, None)!r}" for k in changed))
    if int(ckpt.get("world_size", 1)) != world:
        raise ValueError(f"{out} was trained on {ckpt.get('world_size', 1)} process(es); resume it on as many "
                         f"(this run has {world}): the batch plan is split per rank")
    free = {k: v for k, v in overrides.items() if k in RESUME_FREE and getattr(tc, k) != v}
    return tc.replace(**free), free


def check_steps(steps: int | None, total_iters: int | None = None) -> None:
    """`--steps` is the iteration to stop after: at least 1 and within the schedule."""
    if steps is None:
        return
    if int(steps) < 1:
        raise ValueError(f"--steps must be at least 1 (the iteration to stop after), got {steps}")
    if total_iters is not None and int(steps) > total_iters:
        raise ValueError(f"--steps {steps} is past the end of the schedule ({total_iters} iterations, "
                         f"--total-iters); pass --total-iters {steps} to train that long (the learning-rate "
                         f"milestones scale with it)")


def nothing_to_resume(out: Path, saved: int, steps: int | None, total_iters: int) -> str | None:
    """Why resuming `out` would train no iteration (a finished run, a --steps already reached), or None.

    Not an error: rerunning the same `train --resume` after it finished is what a job script
    or `study.run_cell` does. The caller says so and changes nothing (no "resume" event).
    """
    check_steps(steps, total_iters)
    if steps is None and saved >= total_iters:
        return (f"{out} is finished (iteration {saved} of {total_iters}); its checkpoint is unchanged and no "
                f"resume was recorded (--total-iters cannot change on resume: start a longer run with --overwrite)")
    if steps is not None and int(steps) <= saved:
        return (f"{out} is already at iteration {saved}, at or past --steps {steps}; its checkpoint is unchanged "
                f"and no resume was recorded (pass a --steps above {saved}, at most {total_iters}, to train on)")
    return None


def resolve_device(device, where: Dist) -> torch.device:
    """The device to train on; a clear TrainingError for a name that is not a device here."""
    if device is None:
        if where.distributed:
            return torch.device(f"cuda:{where.local_rank}") if torch.cuda.is_available() else torch.device("cpu")
        return default_device()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise TrainingError(f"--device {device!r} is not a device name; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch is a CPU-only build" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise TrainingError(f"--device {device}: CUDA is not available here ({why}, torch {torch.__version__}); "
                                f"use --device cpu, or leave --device out to use CUDA only when present")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise TrainingError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                                f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    elif dev.type != "cpu":
        raise TrainingError(f"--device {device}: training runs on cpu or cuda")
    return dev
