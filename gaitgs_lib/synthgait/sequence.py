"""SynthGait subjects and sequences: body parts, covariates, silhouette noise, one rendered walk.

docs/synthgait-generator.md, "Body and motion model", "Covariates" and "Structure". Every random choice
is drawn from a generator seeded by (seed, subject) or (seed, subject, type, view), so any
sequence can be made alone, in any order, in any process, with identical bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .body import Body, sample_body
from .covariates import Bag, Coat, Outfit, coat_parts, sample_bag, sample_coat, sample_outfit, sample_wear
from .motion import Carry, Gait, J, phases, pose, sample_gait, twin_gait
from .render import Camera, Part, make_projection, rasterise

FPS = 25.0
TYPES = [f"nm-0{i}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"]
VIEWS = [f"{v:03d}" for v in range(0, 181, 18)]
LIMB_PARTS = ("upper_arm", "forearm", "hand", "shank", "foot", "thigh")


@dataclass(frozen=True)
class Subject:
    """A SynthGait subject: body, gait, one bag per BG session, a coat and how it is worn per CL session, its twin if any."""

    sid: str
    body: Body
    gait: Gait
    bags: tuple          # (Bag for bg-01, Bag for bg-02)
    coat: Coat
    outfit: Outfit
    twin: str | None = None
    wear: tuple = ()     # (CoatWear for cl-01, CoatWear for cl-02)

    def traits(self) -> dict:
        return {"sex": self.body.sex, "build": self.body.build, "twin": self.twin,
                "body": self.body.to_dict(), "gait": self.gait.summary(),
                "bags": {"bg-01": self.bags[0].to_dict(), "bg-02": self.bags[1].to_dict()},
                "coat": self.coat.to_dict(), "outfit": self.outfit.to_dict(),
                "coat_wear": {f"cl-0{i + 1}": w.to_dict() for i, w in enumerate(self.wear)}}


def rng_for(*keys) -> np.random.Generator:
    """The generator of one random choice, seeded by its keys alone (`rng_for(seed, sid, 2)`).

    Each choice (a subject's body, gait, coat wear, a walk) draws from its own stream, so
    adding or reordering choices never changes the others: the dataset stays the same bytes.
    """
    return np.random.default_rng([int(k) for k in keys])


_rng = rng_for  # the former private name, kept so that older imports still work


def _appearance(seed: int, owner: int):
    """Body and covariate items of a subject (shared by twins): seeded by (seed, owner, 1).

    The coat has its own stream (seed, owner, 3) so that changing coats changes nothing
    else; the six draws of the coat of version 1.1 are still taken from the main stream,
    which keeps every body, bag and outfit that of version 1.1 (docs/synthgait-generator.md, "Versions").
    """
    rng = rng_for(seed, owner, 1)
    body = sample_body(rng)
    bag1 = sample_bag(rng)
    bag2 = bag1 if rng.random() < 0.7 else sample_bag(rng, kind=None)
    rng.uniform(size=5), rng.integers(1, 4)            # the 1.1 coat's draws (see above)
    outfit = sample_outfit(rng, body.sex)
    coat = sample_coat(rng_for(seed, owner, 3))
    return body, (bag1, bag2), coat, outfit


def make_subject(seed: int, sid: str, twin_of: str | None = None) -> Subject:
    """Subject `sid` of the dataset with this seed; `twin_of` borrows that subject's body and items."""
    owner = int(twin_of) if twin_of else int(sid)
    body, bags, coat, outfit = _appearance(seed, owner)
    if twin_of:
        base = make_subject(seed, twin_of)
        gait = twin_gait(rng_for(seed, int(sid), 2), base.gait)
    else:
        gait = sample_gait(rng_for(seed, int(sid), 2), body)
    wear_rng = rng_for(seed, int(sid), 4)               # how the coat is worn: per subject and session
    wear = tuple(sample_wear(wear_rng, coat) for _ in range(2))
    return Subject(sid=sid, body=body, gait=gait, bags=bags, coat=coat, outfit=outfit, twin=twin_of, wear=wear)


# --------------------------------------------------------------------------- 3-D parts
def body_parts(body: Body, posed: dict, coat: Coat | None = None, outfit: Outfit | None = None) -> list[Part]:
    """The body parts (pelvis, trunk, shoulders, neck, head, arms, hands, legs, feet, long hair).

    With a coat the trunk is padded by its bulk and hangs straight from the chest (the waist
    disappears) and the sleeves thicken the whole arm; the coat's own parts (skirt, cuffs,
    hood) come from `covariates.coat_parts`.
    """
    j = posed["joints"]
    th = posed["thorax_R"]
    up = th[:, :, 2]                                                  # trunk axis [T, 3]
    o = outfit or Outfit(*([0.0] * 11))
    c = o.top + (coat.bulk if coat else 0.0)                           # a coat goes over the top
    sl = o.top * 0.6 + (coat.sleeve if coat else 0.0)
    fs = sl * 0.4 if coat is None else o.top * 0.24 + 0.8 * coat.sleeve   # forearm: a coat's sleeve is wide
    waist = (body.waist_width / 2, body.pelvis_depth / 2 * 0.95)
    if coat is not None:                                               # a coat hangs straight from the chest
        waist = (max(waist[0], body.shoulder_width / 2 * 0.80, body.hip_width / 2),
                 max(waist[1], body.chest_depth / 2))
    tr, fl, sh = o.trousers, o.flare, o.shoes
    pelvis = j[:, J["pelvis"]]
    hip_l, hip_r = j[:, J["hip_l"]], j[:, J["hip_r"]]
    pr = body.pelvis_depth / 2 + c + o.top_length
    lat = (hip_l - hip_r) / np.linalg.norm(hip_l - hip_r, axis=1, keepdims=True)
    pe = max(body.hip_width / 2 - pr + c, 0.01)
    chest = j[:, J["chest"]]
    parts = [
        Part("pelvis", pelvis + pe * lat, pelvis - pe * lat, pr, pr),
        Part("trunk", pelvis + 0.03 * up, chest - 0.10 * up, (waist[0] + c, waist[1] + c),
             (body.shoulder_width / 2 * 0.80 + c, body.chest_depth / 2 + c), frame=th),
    ]
    sh_l, sh_r = j[:, J["shoulder_l"]], j[:, J["shoulder_r"]]
    bar_r = body.chest_depth / 2 * 0.85 + c * 0.7
    mid = (sh_l + sh_r) / 2 - 0.03 * up
    half = max(body.shoulder_width / 2 - bar_r + c, 0.01)
    slat = (sh_l - sh_r) / np.linalg.norm(sh_l - sh_r, axis=1, keepdims=True)
    parts.append(Part("shoulders", mid + half * slat, mid - half * slat, bar_r, bar_r))
    neck, top = j[:, J["neck"]], j[:, J["head_top"]]
    collar = 0.5 * coat.bulk if coat else 0.0
    parts.append(Part("neck", chest, neck, body.neck_radius + collar, body.neck_radius + 0.5 * collar))
    hd = (top - neck) / np.linalg.norm(top - neck, axis=1, keepdims=True)
    hr = (body.head_width / 2 + o.hair, body.head_depth / 2 + o.hair)
    parts.append(Part("head", neck + 0.045 * hd, top - 0.047 * hd + 0.5 * o.hair * hd, hr, hr, frame=th))
    if o.cap:
        fwd = th[:, :, 0]
        crown = top - 0.035 * hd
        parts.append(Part("cap", crown - 0.03 * fwd, crown + (body.head_depth / 2 + 0.05) * fwd, 0.012, 0.01))
    if o.hair_length > 0:
        back = th[:, :, 0]
        hc = neck + 0.065 * hd - 0.025 * back
        hr2 = (body.head_width / 2 * 0.9 + o.hair * 0.5, 0.03)
        parts.append(Part("hair", hc, hc - 0.03 * back - o.hair_length * up, hr2,
                          (hr2[0] * 0.85, 0.025), frame=th))
    for L in ("_l", "_r"):
        parts += [
            Part("upper_arm" + L, j[:, J["shoulder" + L]], j[:, J["elbow" + L]],
                 body.upper_arm_radius + sl, body.upper_arm_radius * 0.85 + sl),
            Part("forearm" + L, j[:, J["elbow" + L]], j[:, J["wrist" + L]],
                 body.forearm_radius + fs, body.forearm_radius * 0.75 + fs),
            Part("hand" + L, j[:, J["wrist" + L]], j[:, J["hand" + L]], body.hand_radius * 0.85,
                 body.hand_radius * 0.7),
            Part("thigh" + L, j[:, J["hip" + L]], j[:, J["knee" + L]], body.thigh_radius + tr,
                 body.knee_radius + tr),
            Part("shank" + L, j[:, J["knee" + L]], j[:, J["ankle" + L]],
                 body.calf_radius + tr * (1 - o.shorts), body.ankle_radius + (tr * 0.8 + fl) * (1 - o.shorts)),
            Part("foot" + L, j[:, J["heel" + L]], j[:, J["toe" + L]] + sh * (j[:, J["toe" + L]] - j[:, J["heel" + L]]) / body.foot,
                 body.foot_radius + sh * 0.5, body.foot_radius * 0.8 + sh * 0.5),
        ]
    if o.skirt > 0:
        parts += skirt_parts(body, posed, hem=o.skirt, flare=o.skirt_flare)
    return parts


def skirt_parts(body: Body, posed: dict, hem: float, flare: float, swing: float = 0.3, lag: int = 1) -> list[Part]:
    """An outfit's skirt: a flat-capped slab from the waist to the hem, swinging a little behind the knees."""
    j = posed["joints"]
    pelvis = j[:, J["pelvis"]]
    pel = posed["pelvis_R"]
    knees = (j[:, J["knee_l"]] + j[:, J["knee_r"]]) / 2 - pelvis       # [T, 3]
    lagged = np.concatenate([np.repeat(knees[:1], lag, 0), knees[:-lag]], 0)
    drop = pelvis[:, 2] - hem
    end = pelvis.copy()
    end[:, 2] = hem
    end[:, :2] += swing * lagged[:, :2] * (drop / np.maximum(-knees[:, 2], 1e-3))[:, None] * 0.6
    top = pelvis + np.array([0.0, 0.0, 0.06])
    legs_half = body.hip_width / 2 + 0.01
    return [Part("skirt", top, end, (body.hip_width / 2, body.pelvis_depth / 2),
                 (legs_half + flare, body.pelvis_depth / 2 + 0.02 + flare), frame=pel, round_caps=False)]


def bag_parts(body: Body, posed: dict, bag: Bag) -> list[Part]:
    """A backpack behind the trunk, a shoulder bag at the hip with its strap, or a bag in one hand."""
    j = posed["joints"]
    th = posed["thorax_R"]
    fwd, lat, up = th[:, :, 0], th[:, :, 1], th[:, :, 2]
    chest = j[:, J["chest"]]
    if bag.kind == "backpack":
        centre = chest - (body.chest_depth / 2 + bag.depth / 2 - 0.01) * fwd
        a = centre - 0.03 * up
        b = centre - (0.03 + bag.length) * up
        r = (bag.width / 2, bag.depth / 2)
        return [Part("backpack", a, b, r, r, frame=th, round_caps=False),
                Part("backpack_top", a, a - 0.01 * up, (bag.width / 2 * 0.8, bag.depth / 2 * 0.8),
                     (bag.width / 2 * 0.8, bag.depth / 2 * 0.8), frame=th)]
    s = bag.side
    L = "_l" if s > 0 else "_r"
    if bag.kind == "shoulder":
        pelvis = j[:, J["pelvis"]]
        pel = posed["pelvis_R"]
        phase_swing = 0.015 * np.sin(2 * np.pi * (posed["phase"] - 0.15))     # the bag swings behind
        centre = (pelvis + s * (body.hip_width / 2 + bag.width / 2 + 0.035) * pel[:, :, 1]
                  + 0.03 * pel[:, :, 2] + phase_swing[:, None] * pel[:, :, 0])
        half = max(bag.length / 2 - bag.width / 2, 0.0)
        r = (bag.width / 2, bag.depth / 2)
        strap_top = j[:, J["shoulder" + ("_r" if s > 0 else "_l")]] + 0.03 * up
        return [Part("shoulder_bag", centre + half * up, centre - half * up, r, r, frame=th),
                Part("strap", strap_top, centre + half * up, 0.006, 0.006)]
    hand = j[:, J["hand" + L]]
    a = hand - np.array([0.0, 0.0, 0.02])
    b = hand - np.array([0.0, 0.0, 0.02 + bag.length])
    r = (bag.width / 2, bag.depth / 2)
    return [Part("hand_bag", a, b, r, r, frame=th, round_caps=False),
            Part("handle", hand, a, 0.008, 0.008)]


# --------------------------------------------------------------------------- one sequence
@dataclass
class Rendered:
    """One rendered walk: raw window frames and where the window sits in the 320x240 field."""

    frames: np.ndarray     # uint8 [T, Hn, Wn], 0/255
    origin: np.ndarray     # int64 [T, 2] field (column, row) of the window's top-left pixel
    posed: dict            # the skeleton (body frame) the frames were drawn from
    scale: np.ndarray      # [T] pixels per height
    joints2d: np.ndarray   # [T, 22, 2] the skeleton's joints in window pixels (column, row)


def sequence_length(rng: np.random.Generator, gait: Gait, cycles: tuple) -> int:
    """Frames for U(cycles) gait cycles at this cadence, at 25 fps."""
    frames_per_cycle = FPS * 120.0 / gait.cadence
    return int(round(rng.uniform(*cycles) * frames_per_cycle))


def render_walk(subject: Subject, type_: str, view: str, seed: int, cycles=(2.5, 4.0),
                frame_range=(60, 110), noise: bool = True, n_frames: int | None = None,
                events=None) -> Rendered:
    """Render one sequence `subject/type_/view` (docs/synthgait-generator.md) -> raw 0/255 frames in a person window.

    `events(phase, rng)`, when given, returns joint-angle offsets [T, 2, 9] (degrees) added to the
    gait curves at each frame: the brief or stride-to-stride events of the cue data sets
    (`synthgait.cues`); `rng` is this sequence's generator, drawn from after everything else.
    """
    if type_ not in TYPES:
        raise ValueError(f"render_walk: type must be one of {TYPES}, got {type_!r}")
    rng = rng_for(seed, int(subject.sid), TYPES.index(type_) + 10, int(view))
    # the sequence's own speed, start phase, heading and length
    speed = 1.0 + rng.normal(0, 0.025)
    gait = replace(subject.gait, cadence=subject.gait.cadence * speed)
    T = n_frames or int(np.clip(sequence_length(rng, gait, cycles), *frame_range))
    start = rng.random()
    heading = rng.normal(0, 3.0)
    carry = Carry()
    coat = subject.coat if type_.startswith("cl") else None
    wear = subject.wear[int(type_[-1]) - 1] if coat is not None else None
    bag = subject.bags[int(type_[-1]) - 1] if type_.startswith("bg") else None
    if bag is not None:
        carry = bag.carry()
    if coat is not None:
        carry = wear.carry(coat)
    ph = phases(gait, T, FPS, start, rng=rng)
    posed = pose(subject.body, gait, ph, carry, None if events is None else events(ph, rng))
    parts = body_parts(subject.body, posed, coat, subject.outfit)
    if coat is not None:
        parts += coat_parts(subject.body, posed, coat, wear, subject.outfit)
    if bag is not None:
        parts += bag_parts(subject.body, posed, bag)
    cam = Camera(view_deg=float(view) + heading)
    proj = make_projection(cam, posed["joints"][:, J["pelvis"]])
    hmax = float(proj.scale.max())
    Wn, Hn = int(np.ceil(1.05 * float(proj.hscale.max()))), int(np.ceil(1.2 * hmax))
    origin = np.stack([np.floor(proj.root_u).astype(np.int64) - Wn // 2,
                       np.floor(proj.ground_v + 0.1 * proj.scale).astype(np.int64) - Hn], -1)  # [T, 2]
    segs_a, segs_b, radii_a, radii_b, caps, signs = [], [], [], [], [], []
    for p in parts:
        ra, rb = proj.radius(p)
        segs_a.append(proj(p.a) - origin)
        segs_b.append(proj(p.b) - origin)
        radii_a.append(ra.copy())
        radii_b.append(rb.copy())
        caps.append(p.round_caps)
        signs.append(p.sign)
    empty = np.zeros(T, bool)
    if noise:
        _silhouette_noise(rng, parts, segs_a, segs_b, radii_a, radii_b, caps, signs,
                          proj, origin, (T, Hn, Wn), empty)
    frames = rasterise(segs_a, segs_b, radii_a, radii_b, caps, signs, (T, Hn, Wn))
    frames[empty] = False
    return Rendered(frames=frames.astype(np.uint8) * np.uint8(255), origin=origin, posed=posed,
                    scale=proj.scale, joints2d=proj(posed["joints"]) - origin[:, None, :])


def _silhouette_noise(rng, parts, segs_a, segs_b, radii_a, radii_b, caps, signs, proj, origin, shape, empty):
    """Background-subtraction noise (docs/synthgait-generator.md, "Covariates"), appended to the part lists in place.

    Boundary jitter (every part's radii wobble from frame to frame), holes, missing limb
    segments, a shadow at the feet, stray blobs, occasional empty frames (flagged in `empty`).
    """
    T, Hn, Wn = shape
    level = rng.uniform(0.2, 0.8)                       # how noisy this sequence is
    scale = proj.scale
    names = [p.name for p in parts]
    for k in range(len(parts)):                         # boundary jitter (pixels)
        radii_a[k] += rng.normal(0, 0.45 * level, T)
        radii_b[k] += rng.normal(0, 0.45 * level, T)
    # missing limb segment: runs of 1-4 frames where one limb part vanishes
    n_runs = rng.poisson(level * T / 40)
    for _ in range(n_runs):
        limb = LIMB_PARTS[int(rng.integers(len(LIMB_PARTS)))] + ("_l" if rng.random() < 0.5 else "_r")
        k = names.index(limb)
        t0 = int(rng.integers(T))
        t1 = min(T, t0 + int(rng.integers(1, 5)))
        radii_a[k][t0:t1] = -1.0
        radii_b[k][t0:t1] = -1.0
    # holes inside the trunk / thighs
    hole_p = level * 0.2
    for t_src in ("trunk", "thigh_l", "thigh_r"):
        k = names.index(t_src)
        on = rng.random(T) < hole_p / 3
        u = rng.uniform(0.15, 0.85, T)[:, None]
        centre = segs_a[k] + u * (segs_b[k] - segs_a[k]) + rng.normal(0, 1.5, (T, 2))
        r = np.where(on, rng.uniform(1.2, 3.5, T), -1.0)
        segs_a.append(centre)
        segs_b.append(centre + 0.01)
        radii_a.append(r)
        radii_b.append(r)
        caps.append(True)
        signs.append(-1.0)
    # shadow at the feet
    if rng.random() < 0.4:
        on = rng.random(T) < rng.uniform(0.3, 1.0)
        ang = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(0.12, 0.35)
        feet = (parts[names.index("foot_l")].a + parts[names.index("foot_r")].a) / 2
        feet[:, 2] = 0.0
        end = feet + length * np.array([np.cos(ang), np.sin(ang), 0.0])
        r = np.where(on, rng.uniform(0.008, 0.02) * scale, -1.0)
        segs_a.append(proj(feet) - origin)
        segs_b.append(proj(end) - origin)
        radii_a.append(r)
        radii_b.append(r * 0.6)
        caps.append(True)
        signs.append(1.0)
    # stray blobs near the person
    on = rng.random(T) < level * 0.06
    pos = np.stack([rng.uniform(0.1, 0.9, T) * Wn, rng.uniform(0.25, 0.95, T) * Hn], -1)
    r = np.where(on, rng.uniform(1.5, 4.0, T), -1.0)
    segs_a.append(pos)
    segs_b.append(pos + rng.normal(0, 2.0, (T, 2)))
    radii_a.append(r)
    radii_b.append(r)
    caps.append(True)
    signs.append(1.0)
    # occasional empty frames
    empty |= rng.random(T) < 0.012 * level
