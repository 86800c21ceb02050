"""The training recipe as data: `TrainConfig`, its named presets and the ablation switches.

`TRAIN_PRESETS["paper"]` is the authors' released CASIA-B configuration
(https://github.com/Haijun-Xiong/GaitGS, `configs/gaitgs/gaitgs.yaml`; README.md,
"Training recipe"); the other presets are teaching-scale recipes for a CPU.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..config import GaitGSConfig, get_config

__all__ = ["TrainConfig", "TRAIN_PRESETS", "ABLATIONS", "RESUME_FREE", "get_train_config", "model_config"]

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
