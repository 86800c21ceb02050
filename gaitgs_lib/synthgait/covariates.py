"""SynthGait covariates: bags (BG) and coats (CL) (docs/synthgait.md, "Covariates").

- backpack: a slab behind the trunk, the trunk leans further forward;
- shoulder bag: a blob at hip level on one side (strap over the other shoulder), that arm
  swings 30-60 % as much;
- hand-held bag: a blob below one hand, that arm barely swings and stays straight;
- coat: wider trunk, collar and upper arms, a skirt down to a hem between mid-thigh and knee that
  hides the thigh gap and swings a little behind the legs.

Besides the covariates every subject wears its own clothes and hair in all sessions
(`Outfit`: loose or tight trousers and top, hair volume and length, shoes), as the people
of CASIA-B do: a strong cue within NM that a coat (CL) hides.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .motion import Carry

BAG_KINDS = ("backpack", "shoulder", "hand")


@dataclass(frozen=True)
class Bag:
    """One bag of one subject and session (docs/synthgait.md, "Covariates", BG)."""

    kind: str            # backpack | shoulder | hand
    side: float          # +1 left, -1 right (the carrying side; for a backpack unused)
    width: float         # lateral size (heights)
    depth: float         # front-back size (heights)
    length: float        # vertical size (heights)
    arm_gain: float      # swing of the carrying arm (1 = unchanged)
    lean: float          # extra trunk lean (deg)

    def carry(self) -> Carry:
        if self.kind == "backpack":
            return Carry(extra_lean=self.lean)
        s = 0 if self.side > 0 else 1
        gain = [1.0, 1.0]
        gain[s] = self.arm_gain
        if self.kind == "shoulder":
            return Carry(arm_gain=tuple(gain), extra_lean=self.lean)
        elbow = [None, None]
        elbow[s] = 8.0
        abd = [0.0, 0.0]
        abd[s] = 5.0
        return Carry(arm_gain=tuple(gain), elbow=tuple(elbow), extra_abduction=tuple(abd),
                     extra_lean=self.lean)

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def sample_bag(rng: np.random.Generator, kind: str | None = None) -> Bag:
    """Draw a bag (kind uniformly among backpack / shoulder bag / hand-held bag unless given)."""
    kind = kind or BAG_KINDS[int(rng.integers(len(BAG_KINDS)))]
    side = 1.0 if rng.random() < 0.5 else -1.0
    if kind == "backpack":
        return Bag(kind, side, width=rng.uniform(0.15, 0.19), depth=rng.uniform(0.08, 0.12),
                   length=rng.uniform(0.20, 0.26), arm_gain=1.0, lean=rng.uniform(3.0, 7.0))
    if kind == "shoulder":
        return Bag(kind, side, width=rng.uniform(0.05, 0.08), depth=rng.uniform(0.16, 0.22),
                   length=rng.uniform(0.13, 0.18), arm_gain=rng.uniform(0.3, 0.6), lean=rng.uniform(0, 2))
    return Bag(kind, side, width=rng.uniform(0.05, 0.08), depth=rng.uniform(0.17, 0.25),
               length=rng.uniform(0.12, 0.18), arm_gain=rng.uniform(0.08, 0.2), lean=rng.uniform(0, 1.5))


@dataclass(frozen=True)
class Coat:
    """A subject's coat (docs/synthgait.md, "Covariates", CL)."""

    thickness: float     # added to trunk radii (heights)
    sleeve: float        # added to upper-arm radius
    hem: float           # hem height above the ground (between knee 0.28 and mid-thigh 0.40)
    flare: float         # extra half-width at the hem
    swing: float         # how much the hem follows the legs
    lag: int             # frames the hem lags behind the legs

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def sample_coat(rng: np.random.Generator) -> Coat:
    return Coat(thickness=rng.uniform(0.025, 0.05), sleeve=rng.uniform(0.012, 0.025),
                hem=rng.uniform(0.28, 0.40), flare=rng.uniform(0.02, 0.06),
                swing=rng.uniform(0.15, 0.4), lag=int(rng.integers(1, 4)))


@dataclass(frozen=True)
class Outfit:
    """A subject's own clothes and hair, worn in every session (heights)."""

    top: float           # looseness of the top: added to trunk and upper-arm radii
    trousers: float      # looseness of the trousers: added to thigh and shank radii
    flare: float         # extra width of the trousers at the ankle
    hair: float          # hair volume around the head
    hair_length: float   # long hair below the head (0 = short)
    shoes: float         # added to the foot's radius and length
    top_length: float    # a loose top hanging over the hips (0 = tucked in)
    skirt: float         # hem height of a skirt or dress (0 = none)
    skirt_flare: float   # extra half-width of the skirt at its hem
    shorts: float        # 1 = bare shanks (shorts), 0 = trousers
    cap: float           # 1 = a peaked cap, 0 = none

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def sample_outfit(rng: np.random.Generator, sex: str) -> Outfit:
    female = sex == "F"
    long_hair = rng.random() < (0.55 if female else 0.08)
    skirt = rng.random() < (0.3 if female else 0.0)
    shorts = (not skirt) and rng.random() < 0.15
    return Outfit(top=rng.uniform(0.0, 0.025), trousers=rng.uniform(0.0, 0.022),
                  flare=rng.uniform(0.0, 0.018) if rng.random() < 0.4 else 0.0,
                  hair=rng.uniform(0.0, 0.02), hair_length=rng.uniform(0.04, 0.16) if long_hair else 0.0,
                  shoes=rng.uniform(0.0, 0.014), top_length=rng.uniform(0.0, 0.03) if rng.random() < 0.5 else 0.0,
                  skirt=rng.uniform(0.26, 0.42) if skirt else 0.0, skirt_flare=rng.uniform(0.0, 0.05),
                  shorts=1.0 if shorts else 0.0, cap=1.0 if rng.random() < 0.12 else 0.0)
