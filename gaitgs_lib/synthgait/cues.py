"""SynthGait cue data sets: identity carried by exactly one kind of temporal cue (docs/synthgait-generator.md, "Cue data sets").

GaitGS's claims are about time: frames against units (granularity, the paper's MGFE) and
local against global span (its MSFE). Real gait data mixes every cue at once. These data
sets put a subject's identity into one kind of cue and make everything else the same for
every subject (or draw it afresh for every sequence):

- ``shape``: subjects differ only in body and clothes; everyone walks with one gait.
- ``cycle``: one body and outfit; subjects differ only in the timing of their
  within-stride joint-angle curves (the harmonics' phases; their amplitudes and the
  mean pose are shared, so a frame-averaged template barely changes).
- ``micro``: one body, outfit and stride; subjects differ only in two brief flicks per
  stride (a hand and a foot, two frames each) at subject-specific phases.
- ``long-span``: one body, outfit and stride; every stride carries one of six
  movements (an arm raised, an elbow bent, a knee bent, on either side), each equally
  often for everyone; a subject's identity is the *order* in which the six follow each
  other from stride to stride, so only a model that relates frames a stride or more
  apart can see it.

Every sequence still has its own speed, start phase, heading and silhouette noise, as in
the realistic presets. `CUE_STRENGTH` scales each cue (1.0 = the values below).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from .body import sample_body
from .covariates import Outfit, sample_outfit
from .motion import ANGLES, A, N_HARMONICS, Gait, population_coefficients
from .sequence import Subject, make_subject, rng_for

__all__ = ["CUES", "CUE_VERSION", "CueEvents", "cue_examples", "cue_subjects", "long_span_orders", "shared_gait"]

CUES = ("shape", "cycle", "micro", "long-span")
# 1: the first cue data sets (docs/synthgait-generator.md, "Cue data sets")
CUE_VERSION = "1"

# The cues' sizes at strength 1.0.
MICRO_FLICK = {"elbow_flexion": 70.0, "ankle_dorsiflexion": 35.0}   # degrees, for two frames
MICRO_FRAMES = 2
LONG_SPAN_EVENTS = (                                                 # (side, angle, degrees)
    (0, "shoulder_flexion", 45.0), (1, "shoulder_flexion", 45.0),
    (0, "elbow_flexion", 70.0), (1, "elbow_flexion", 70.0),
    (0, "knee_flexion", 30.0), (1, "knee_flexion", 30.0),
)
LONG_SPAN_PHASE = (0.25, 0.55)                                       # where in the stride each movement happens
CYCLE_ROTATION_SD = 0.6                                              # radians, per harmonic and angle

# Stream keys (seed, subject, key) of the cue draws, apart from the realistic presets' keys.
_KEY_SHARED, _KEY_SUBJECT, _KEY_ORDERS = 51, 52, 53


def shared_gait() -> Gait:
    """The one gait of the cue sets: the population's mean curves on both sides, average timing and posture."""
    base = population_coefficients()
    return Gait(cadence=112.5, stride=0.80, coeffs=np.stack([base, base]), right_phase=0.5,
                trunk_lean=3.0, head_pitch=0.0, head_forward=0.0, pelvic_tilt=8.0, arm_abduction=7.0,
                step_width=0.0, sway=0.012, stride_jitter=0.015, speed_z=0.0)


def _shared_appearance(seed: int):
    """The body, bags, coat and outfit every subject of a non-shape cue set shares."""
    rng = rng_for(seed, 0, _KEY_SHARED)
    body = sample_body(rng)
    outfit = Outfit(top=0.01, trousers=0.01, flare=0.0, hair=0.01, hair_length=0.0, shoes=0.005,
                    top_length=0.0, skirt=0.0, skirt_flare=0.0, shorts=0.0, cap=0.0)
    base = make_subject(seed, "001")                   # bags and coat are never worn (NM only)
    return body, base.bags, base.coat, outfit


def _cycle_coeffs(rng: np.random.Generator, strength: float) -> np.ndarray:
    """Re-timed curves [2, 9, 7]: each harmonic of each angle turned by a random phase; amplitudes and means kept."""
    coeffs = population_coefficients().copy()
    for i in range(len(ANGLES)):
        for k in range(N_HARMONICS):
            rot = strength * rng.normal(0, CYCLE_ROTATION_SD)
            c, s = math.cos(rot), math.sin(rot)
            a, b = coeffs[i, 1 + 2 * k], coeffs[i, 2 + 2 * k]
            coeffs[i, 1 + 2 * k], coeffs[i, 2 + 2 * k] = c * a - s * b, s * a + c * b
    return np.stack([coeffs, coeffs])


def long_span_orders(seed: int, n: int) -> list[tuple[int, ...]]:
    """`n` distinct cyclic orders of the six long-span movements (each written starting from movement 0).

    A cyclic order and its rotations are the same walk seen from another start, so orders
    are compared in that form; there are 5! = 120 of them.
    """
    if n > math.factorial(len(LONG_SPAN_EVENTS) - 1):
        raise ValueError(f"long-span: at most {math.factorial(len(LONG_SPAN_EVENTS) - 1)} subjects "
                         f"(distinct orders of {len(LONG_SPAN_EVENTS)} movements), got {n}")
    rng = rng_for(seed, 0, _KEY_ORDERS)
    seen, out = set(), []
    while len(out) < n:
        rest = tuple(int(v) + 1 for v in rng.permutation(len(LONG_SPAN_EVENTS) - 1))
        order = (0,) + rest
        if order not in seen:
            seen.add(order)
            out.append(order)
    return out


@dataclass(frozen=True)
class CueEvents:
    """Joint-angle offsets of one subject's cue, as `render_walk(events=...)` takes them (picklable).

    kind "micro": `phases` = (hand, foot) phases of the two flicks in the stride;
    kind "long-span": `order` = the cyclic order of the six movements.
    """

    kind: str
    strength: float = 1.0
    phases: tuple = ()
    order: tuple = ()

    def __call__(self, phase: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # phase: [T] left-leg gait phase in cycles -> offsets [T, 2 sides, 9 angles] (degrees)
        out = np.zeros((len(phase), 2, len(ANGLES)))
        if self.kind == "micro":
            for (angle, size), side, at in zip(MICRO_FLICK.items(), (0, 1), self.phases):
                for t in _crossings(phase, at):
                    out[t:t + MICRO_FRAMES, side, A[angle]] += self.strength * size
        elif self.kind == "long-span":
            shift = int(rng.integers(len(self.order)))            # where in its cycle of six the walk starts
            stride = np.floor(phase).astype(int)                   # [T] which stride each frame is in
            within = phase - stride
            lo, hi = LONG_SPAN_PHASE
            bump = np.where((within > lo) & (within < hi),
                            np.sin(np.pi * (within - lo) / (hi - lo)) ** 2, 0.0)   # [T] raised cosine
            which = np.asarray(self.order)[(stride + shift) % len(self.order)]     # [T] movement per stride
            for e, (side, angle, size) in enumerate(LONG_SPAN_EVENTS):
                out[:, side, A[angle]] += np.where(which == e, self.strength * size * bump, 0.0)
        else:
            raise ValueError(f"CueEvents: unknown kind {self.kind!r}")
        return out


def _towards(shared, own, strength: float):
    """`shared + strength * (own - shared)` field by field (a body or an outfit): how far a subject's shape
    is from everyone's; on/off fields (skirt, shorts, cap) are the subject's own when strength >= 0.5."""
    fields = {}
    for name, value in asdict(own).items():
        base = getattr(shared, name)
        if isinstance(value, float) and name not in ("shorts", "cap") and not (name == "skirt" and base == 0.0):
            fields[name] = base + strength * (value - base)
        else:
            fields[name] = value if strength >= 0.5 else base
    return type(own)(**fields)


def _crossings(phase: np.ndarray, at: float) -> list[int]:
    """Frames at which the stride phase first reaches `at` (one per stride) -> frame indices."""
    shifted = np.floor(phase - at)                             # increases by one at each crossing
    return [int(t) for t in np.flatnonzero(np.diff(shifted) > 0) + 1]


def cue_subjects(cue: str, seed: int, n: int, strength: float = 1.0) -> list[tuple[Subject, CueEvents | None]]:
    """The `n` subjects of a cue set, each with its events (None when the cue has none)."""
    if cue not in CUES:
        raise ValueError(f"cue data set: unknown cue {cue!r}; choose one of {', '.join(CUES)}")
    if not strength > 0:
        raise ValueError(f"cue data set: the cue strength must be > 0, got {strength!r}")
    gait = shared_gait()
    body, bags, coat, outfit = _shared_appearance(seed)
    orders = long_span_orders(seed, n) if cue == "long-span" else None
    out = []
    for i in range(n):
        sid = f"{i + 1:03d}"
        rng = rng_for(seed, i + 1, _KEY_SUBJECT)
        sub_body, sub_outfit, sub_gait, events = body, outfit, gait, None
        if cue == "shape":
            sub_body = _towards(body, sample_body(rng), strength)
            sub_outfit = _towards(outfit, sample_outfit(rng, sub_body.sex), strength)
        elif cue == "cycle":
            sub_gait = replace(gait, coeffs=_cycle_coeffs(rng, strength))
        elif cue == "micro":
            events = CueEvents("micro", strength, phases=tuple(float(v) for v in rng.uniform(0, 1, 2)))
        else:
            events = CueEvents("long-span", strength, order=orders[i])
        out.append((Subject(sid=sid, body=sub_body, gait=sub_gait, bags=bags, coat=coat, outfit=sub_outfit,
                            wear=()), events))
    return out


LONG_SPAN_NAMES = ("left arm up", "right arm up", "left elbow", "right elbow", "left knee", "right knee")


def cue_examples(cue: str, n_subjects: int = 3, seed: int = 0, strength: float = 1.0, view: str = "090") -> dict:
    """What a picture of a cue shows: preprocessed frames (noise off) of a few subjects, chosen per cue.

    shape / cycle: six frames at the same stride phases for every subject (one stride);
    micro: the seven frames around each subject's hand flick (flick frames flagged);
    long-span: the frame at the peak of each of six successive strides' movement (its name as label).
    Returns {"frames": uint8 [n_subjects, columns, 64, 64], "rows": subject labels,
    "columns": column labels, "labels": per-panel labels [n_subjects][columns], "flagged": bool
    [n_subjects, columns]}.
    """
    from .preprocess import preprocess_walk
    from .sequence import render_walk

    subs = cue_subjects(cue, seed, max(n_subjects, 2), strength)[:n_subjects]
    frames, labels, flagged, rows = [], [], [], []
    for sub, events in subs:
        n = 190 if cue == "long-span" else 60
        walk = render_walk(sub, "nm-01", view, seed, noise=False, n_frames=n, events=events)
        seq, ph = preprocess_walk(walk.frames), walk.posed["phase"]
        if len(seq) != len(ph):
            raise RuntimeError(f"cue_examples: {cue} subject {sub.sid} lost frames in preprocessing")
        if cue in ("shape", "cycle"):
            start = int(np.flatnonzero(np.diff(np.floor(ph)) > 0)[0]) + 1          # the first heel strike
            idx = [int(np.argmin(np.abs(ph - (ph[start] + k / 6)))) for k in range(6)]
            columns = [f"phase {k}/6" for k in range(6)]
            lab, flag = ["" for _ in idx], [False] * 6
        elif cue == "micro":
            hand = _crossings(ph, events.phases[0])[0]
            idx = list(range(max(hand - 3, 0), max(hand - 3, 0) + 7))
            columns = [f"t{d:+d}" for d in range(-3, 4)]
            off = events(ph, None)
            flag = [bool(np.abs(off[t]).sum() > 0) for t in idx]
            lab = [("hand flick" if off[t, 0, A["elbow_flexion"]] else "foot flick") if f else "" for t, f in zip(idx, flag)]
        else:
            lo, hi = LONG_SPAN_PHASE
            rng = rng_for(0)                                                        # which movement comes first
            off = events(ph, rng)
            idx, lab = [], []
            for k in range(int(np.floor(ph[0])) + 1, int(np.floor(ph[0])) + 7):
                peak = int(np.argmin(np.abs(ph - (k + (lo + hi) / 2))))
                idx.append(peak)
                active = [e for e, (side, angle, _) in enumerate(LONG_SPAN_EVENTS) if abs(off[peak, side, A[angle]]) > 0]
                lab.append(LONG_SPAN_NAMES[active[0]] if active else "")
            columns = [f"stride {k + 1}" for k in range(6)]
            flag = [False] * 6
        frames.append(seq[idx])
        labels.append(lab)
        flagged.append(flag)
        rows.append(f"subject {sub.sid}")
    return {"frames": np.stack(frames), "rows": rows, "columns": columns, "labels": labels,
            "flagged": np.array(flagged)}
