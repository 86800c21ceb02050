"""SynthGait covariates: bags (BG) and coats (CL) (docs/synthgait-generator.md, "Covariates").

- backpack: a slab behind the trunk, the trunk leans further forward;
- shoulder bag: a blob at hip level on one side (strap over the other shoulder), that arm
  swings 30-60 % as much;
- hand-held bag: a blob below one hand, that arm barely swings and stays straight;
- coat (one per subject): a jacket, a coat or a long coat whose bulk makes the trunk boxy, with
  thick sleeves and cuffs that restrain the arm swing, a skirt whose hem the legs push and
  drag with a lag, a stiffness and a flare, and maybe a hood; how it is worn changes per
  session (`CoatWear`: open and flapping, hands in the pockets, hood up).

Besides the covariates every subject wears its own clothes and hair in all sessions
(`Outfit`: loose or tight trousers and top, hair volume and length, shoes), as the people
of CASIA-B do: a strong cue within NM that a coat (CL) hides.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .motion import Carry, J
from .render import Part

BAG_KINDS = ("backpack", "shoulder", "hand")


@dataclass(frozen=True)
class Bag:
    """One bag of one subject and session (docs/synthgait-generator.md, "Covariates", BG)."""

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


COAT_KINDS = ("jacket", "coat", "long")
COAT_HEMS = {"jacket": (0.40, 0.47), "coat": (0.27, 0.40), "long": (0.14, 0.27)}   # hem heights (heights)


@dataclass(frozen=True)
class Coat:
    """A subject's coat, worn in both CL sessions (docs/synthgait-generator.md, "Covariates", CL).

    The coat replaces the body's outline between the collar and the hem: a boxy trunk that
    hides the waist, thick sleeves down over the wrists, a skirt from the waist to the hem
    that the legs push forward and back and that trails behind them, and a hood.
    """

    kind: str            # jacket (hem at the hips) | coat (mid-thigh to knee) | long (below the knee)
    bulk: float          # padding and layers added to the trunk's radii (heights)
    sleeve: float        # added to the arm's radii down to the cuff (heights)
    hem: float           # hem height above the ground (heights)
    flare: float         # extra half-width of the skirt at the hem (A-line)
    stiffness: float     # 0: the skirt drapes over the legs and follows them; 1: it keeps its A-line
    lag: int             # frames by which the skirt follows the legs
    hood: float          # size of a hood lying on the upper back (0 = no hood)
    arm_gain: float      # arm swing inside the coat (bulk and sleeves restrain it; 1 = unchanged)

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def sample_coat(rng: np.random.Generator) -> Coat:
    """Draw a coat: a hip-length jacket (40 %), a coat to mid-thigh or knee (25 %) or a long coat (35 %)."""
    kind = COAT_KINDS[int(rng.choice(3, p=[0.4, 0.25, 0.35]))]
    bulk = rng.uniform(0.02, 0.05)                     # padding: puffer jackets and winter coats alike
    sleeve = rng.uniform(0.008, 0.02)
    hem = rng.uniform(*COAT_HEMS[kind])
    flare = rng.uniform(0.0, 0.015) if kind == "jacket" else rng.uniform(0.005, 0.05)
    stiffness, lag = rng.uniform(0.0, 1.0), int(rng.integers(1, 4))
    hood = rng.uniform(0.04, 0.06) if rng.random() < 0.6 else 0.0
    arm_gain = float(np.clip(1.05 - 8.0 * (bulk + sleeve) + rng.normal(0, 0.08), 0.5, 1.0))   # padding restrains
    return Coat(kind=kind, bulk=bulk, sleeve=sleeve, hem=hem, flare=flare, stiffness=stiffness, lag=lag, hood=hood,
                arm_gain=arm_gain)


@dataclass(frozen=True)
class CoatWear:
    """How the coat is worn in one CL session (docs/synthgait-generator.md, "Covariates", CL)."""

    open: bool           # unbuttoned: the skirt's front flaps with every step
    pockets: bool        # hands in the pockets: the arms barely swing, elbows bent
    hood_up: bool        # the hood is up over the head
    flap: float          # amplitude of the skirt's flapping (heights)

    def carry(self, coat: Coat) -> Carry:
        """What this coat, worn this way, does to the arms: less swing, arms held out by the bulk."""
        abduction = 0.6 * float(np.rad2deg(np.arctan((coat.bulk + coat.sleeve) / 0.19)))   # clear the padding
        if self.pockets:                                    # hands in the pockets: elbows bent, no swing
            return Carry(arm_gain=(0.12, 0.12), elbow=(30.0, 30.0), extra_abduction=(abduction, abduction))
        return Carry(arm_gain=(coat.arm_gain, coat.arm_gain), extra_abduction=(abduction, abduction))

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def sample_wear(rng: np.random.Generator, coat: Coat) -> CoatWear:
    """Draw how a coat is worn in one session: open (35 %), hands in pockets (30 %), hood up (50 % if it has one)."""
    opened = bool(rng.random() < 0.35)
    return CoatWear(open=opened, pockets=bool(rng.random() < 0.3),
                    hood_up=bool(coat.hood > 0 and rng.random() < 0.5),
                    flap=float(rng.uniform(0.02, 0.05) if opened else rng.uniform(0.0, 0.015)))


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


# --------------------------------------------------------------------------- the coat's parts
def _lagged(x: np.ndarray, lag: int) -> np.ndarray:
    """x [T, ...] delayed by `lag` frames (the first value held)."""
    if lag <= 0:
        return x
    return np.concatenate([np.repeat(x[:1], lag, 0), x[:-lag]], 0)


def _leg_at_height(joints: np.ndarray, side: str, z: np.ndarray) -> np.ndarray:
    """The point of a leg (hip -> knee -> ankle) at height z [T] -> [T, 3] (clamped to the leg)."""
    hip, knee, ankle = (joints[:, J[name + side]] for name in ("hip", "knee", "ankle"))
    u = np.clip((hip[:, 2] - z) / np.maximum(hip[:, 2] - knee[:, 2], 1e-6), 0.0, 1.0)[:, None]
    v = np.clip((knee[:, 2] - z) / np.maximum(knee[:, 2] - ankle[:, 2], 1e-6), 0.0, 1.0)[:, None]
    return np.where((z >= knee[:, 2])[:, None], hip + u * (knee - hip), knee + v * (ankle - knee))


def coat_parts(body, posed: dict, coat: Coat, wear: CoatWear, outfit: Outfit | None = None) -> list:
    """The coat's own parts (docs/synthgait-generator.md, "Covariates", CL): skirt, cuffs and hood.

    Skirt: a flat-capped slab from the waist to the hem whose front and back edges at the
    hem follow the legs: the leading leg pushes the fabric forward, the trailing leg drags it
    back, and the fabric follows `lag` frames late (it trails behind a leg swinging through).
    A stiff coat keeps at least its A-line width; an open coat's front flaps twice per
    stride. The hem rises and falls with the pelvis. Cuffs cover the wrists; a hood lies on
    the upper back, or covers the head when it is up.
    """
    j = posed["joints"]
    T = len(j)
    pelvis = j[:, J["pelvis"]]
    th = posed["thorax_R"]
    fwd, up = th[:, :, 0], th[:, :, 2]
    heading = np.broadcast_to(np.eye(3), (T, 3, 3))
    hem_z = coat.hem + pelvis[:, 2] - pelvis[:, 2].mean()                       # [T]
    trousers = outfit.trousers if outfit is not None else 0.0
    ease = body.knee_radius + trousers + 0.012                                  # the leg's radius and some air
    x = np.stack([_leg_at_height(j, L, hem_z)[:, 0] - pelvis[:, 0] for L in ("_l", "_r")], 1)   # [T, 2]
    legs_front, legs_back = x.max(1) + ease, x.min(1) - ease
    aline = body.pelvis_depth / 2 + coat.bulk + coat.flare
    front = (1 - coat.stiffness) * legs_front + coat.stiffness * np.maximum(legs_front, aline)
    back = (1 - coat.stiffness) * legs_back + coat.stiffness * np.minimum(legs_back, -aline)
    flap = wear.flap * np.sin(2 * np.pi * 2 * (posed["phase"] - 0.1))           # twice per stride
    front = np.maximum(_lagged(front, coat.lag) + flap, legs_front)             # the legs push the fabric
    back = np.minimum(_lagged(back, coat.lag) + 0.5 * flap, legs_back)
    hem = pelvis.copy()
    hem[:, 0] += (front + back) / 2
    hem[:, 2] = hem_z
    waist = pelvis + 0.06 * up
    top_r = (max(body.waist_width, body.hip_width) / 2 + coat.bulk, body.pelvis_depth / 2 + coat.bulk)
    hem_r = (body.hip_width / 2 + 0.01 + 0.5 * coat.bulk + coat.flare + 0.5 * np.abs(flap), (front - back) / 2)
    parts = [Part("coat", waist, hem, top_r, hem_r, frame=heading, round_caps=False)]
    for L in ("_l", "_r"):                                                      # cuffs over the wrists
        wrist, hand = j[:, J["wrist" + L]], j[:, J["hand" + L]]
        r = body.forearm_radius * 0.75 + 0.8 * coat.sleeve
        parts.append(Part("cuff" + L, wrist, wrist + 0.3 * (hand - wrist), r, r * 0.95))
    if coat.hood > 0:
        neck, top = j[:, J["neck"]], j[:, J["head_top"]]
        if wear.hood_up:                                                        # over the head, open at the face
            hd = (top - neck) / np.linalg.norm(top - neck, axis=1, keepdims=True)
            r = (body.head_width / 2 + 0.5 * coat.hood, body.head_depth / 2 + 0.4 * coat.hood)
            parts.append(Part("hood", neck + 0.03 * hd - 0.02 * fwd, top - 0.035 * hd - 0.02 * fwd, r, r, frame=th))
        else:                                                                   # lying on the upper back
            base = neck - (body.chest_depth / 2 + 0.3 * coat.hood) * fwd
            parts.append(Part("hood", base, base - 1.6 * coat.hood * up, (1.3 * coat.hood, 0.6 * coat.hood),
                              (1.0 * coat.hood, 0.4 * coat.hood), frame=th))
    return parts
