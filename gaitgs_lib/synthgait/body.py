"""SynthGait body: anthropometry as fractions of height (docs/synthgait-generator.md, "Body and motion model").

Lengths vary little between people (CV 1-4 %); widths and depths come from a separate
"build" factor (CV 6-15 %) plus independent per-measure noise; women have relatively
wider hips and narrower shoulders. Every quantity is in units of body height (H = 1).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# Population means (fractions of height) of the lengths; knee 0.28 = ankle + shank,
# hip 0.52 = knee + thigh, shoulder 0.82 = hip + trunk, top of head 1.0 = shoulder + neck + head.
LENGTHS = {
    "ankle": 0.04, "shank": 0.24, "thigh": 0.24, "trunk": 0.30, "neck": 0.05, "head": 0.13,
    "upper_arm": 0.19, "forearm": 0.15, "hand": 0.11, "foot": 0.15,
}
LENGTH_CV = 0.04

# Widths/depths: (male mean, female mean, build loading (CV explained by the build factor),
# independent CV). Radii are half-thicknesses of the body segments.
WIDTHS = {
    "shoulder_width": (0.270, 0.250, 0.06, 0.04),
    "hip_width": (0.195, 0.212, 0.07, 0.04),
    "waist_width": (0.170, 0.160, 0.14, 0.06),
    "chest_depth": (0.150, 0.140, 0.13, 0.06),
    "pelvis_depth": (0.115, 0.120, 0.13, 0.06),
    "thigh_radius": (0.046, 0.048, 0.12, 0.06),
    "knee_radius": (0.030, 0.030, 0.09, 0.06),
    "calf_radius": (0.033, 0.032, 0.11, 0.06),
    "ankle_radius": (0.020, 0.019, 0.06, 0.06),
    "upper_arm_radius": (0.029, 0.026, 0.13, 0.06),
    "forearm_radius": (0.023, 0.020, 0.11, 0.06),
    "hand_radius": (0.022, 0.020, 0.06, 0.06),
    "neck_radius": (0.030, 0.026, 0.11, 0.06),
    "head_width": (0.088, 0.084, 0.05, 0.05),
    "head_depth": (0.110, 0.106, 0.05, 0.05),
    "foot_radius": (0.021, 0.019, 0.05, 0.06),
}


@dataclass(frozen=True)
class Body:
    """One subject's body (docs/synthgait-generator.md, "Body and motion model"); all values in body heights."""

    sex: str          # "F" or "M"
    build: float      # the build factor (a z-score): > 0 broader, < 0 slimmer
    ankle: float
    shank: float
    thigh: float
    trunk: float
    neck: float
    head: float
    upper_arm: float
    forearm: float
    hand: float
    foot: float
    shoulder_width: float
    hip_width: float
    waist_width: float
    chest_depth: float
    pelvis_depth: float
    thigh_radius: float
    knee_radius: float
    calf_radius: float
    ankle_radius: float
    upper_arm_radius: float
    forearm_radius: float
    hand_radius: float
    neck_radius: float
    head_width: float
    head_depth: float
    foot_radius: float

    @property
    def hip_height(self) -> float:
        return self.ankle + self.shank + self.thigh

    @property
    def shoulder_height(self) -> float:
        return self.hip_height + self.trunk

    @property
    def height(self) -> float:
        return self.shoulder_height + self.neck + self.head

    def to_dict(self) -> dict:
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def sample_body(rng: np.random.Generator) -> Body:
    """Draw a body: sex, a build factor shared by all widths, lengths with CV 2.5 %."""
    sex = "F" if rng.random() < 0.5 else "M"
    build = float(np.clip(rng.normal(), -2.5, 2.5))
    values = {}
    for name, mean in LENGTHS.items():
        values[name] = float(mean * (1.0 + LENGTH_CV * np.clip(rng.normal(), -3, 3)))
    for name, (male, female, loading, cv) in WIDTHS.items():
        mean = female if sex == "F" else male
        values[name] = float(mean * (1.0 + loading * build + cv * np.clip(rng.normal(), -3, 3)))
    return Body(sex=sex, build=round(build, 4), **values)
