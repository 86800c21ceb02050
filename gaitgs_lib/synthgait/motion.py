"""SynthGait motion: joint-angle Fourier curves and the posed 3-D skeleton
(docs/synthgait-generator.md, "Body and motion model").

A gait cycle `t in [0, 1)` starts at a heel strike of the left leg; each joint angle is
`a0 + sum_k ak cos(2 pi k t) + bk sin(2 pi k t)` (degrees). The right leg and arm run half
a cycle later (plus a small personal asymmetry). The pelvis height comes from keeping the
lowest foot on the ground, which produces the vertical bob twice per stride by itself.
Coordinates: x forward (walking direction), y to the subject's left, z up; unit = height.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .body import Body

# name: (a0, [(a1, b1), (a2, b2), (a3, b3)], inter-subject SD) -- docs/synthgait-generator.md's table.
ANGLE_TABLE = {
    "hip_flexion": (20.2, [(19.2, -4.9), (-3.2, -0.2), (-0.4, 2.0)], 6.1),
    "knee_flexion": (26.1, [(-4.6, -19.9), (-13.8, 8.7), (-0.9, 5.3)], 5.0),
    "ankle_dorsiflexion": (3.6, [(-1.7, 5.5), (0.7, -6.3), (-3.8, 0.9)], 3.6),
    "pelvic_obliquity": (0.0, [(0.5, 5.0), (0.0, 0.0), (-1.9, 0.8)], 2.1),
    "pelvic_rotation": (0.0, [(5.9, 1.8), (0.0, 0.0), (0.2, -0.5)], 3.0),
    "hip_adduction": (-0.4, [(-0.2, 8.7), (-0.4, -0.7), (-2.2, 1.1)], 3.0),
    "thorax_rotation": (0.0, [(-2.0, 1.1), (0.0, 0.0), (0.4, -0.6)], 2.6),
    "shoulder_flexion": (-9.3, [(-14.4, -0.3), (0.2, -1.3), (0.0, 0.0)], 8.7),
    "elbow_flexion": (36.2, [(-12.2, -1.8), (2.5, 0.3), (0.0, 0.0)], 9.0),
}
ANGLES = list(ANGLE_TABLE)
A = {name: i for i, name in enumerate(ANGLES)}
N_HARMONICS = 3
SPEED_SCALED = ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "pelvic_rotation", "pelvic_obliquity")
ARM = ("shoulder_flexion", "elbow_flexion")

JOINTS = [
    "pelvis", "hip_l", "hip_r", "knee_l", "knee_r", "ankle_l", "ankle_r", "heel_l", "heel_r",
    "toe_l", "toe_r", "chest", "shoulder_l", "shoulder_r", "elbow_l", "elbow_r", "wrist_l",
    "wrist_r", "hand_l", "hand_r", "neck", "head_top",
]
J = {name: i for i, name in enumerate(JOINTS)}
BONES = [
    ("pelvis", "hip_l"), ("pelvis", "hip_r"), ("hip_l", "knee_l"), ("hip_r", "knee_r"),
    ("knee_l", "ankle_l"), ("knee_r", "ankle_r"), ("heel_l", "toe_l"), ("heel_r", "toe_r"),
    ("ankle_l", "heel_l"), ("ankle_r", "heel_r"), ("pelvis", "chest"),
    ("chest", "shoulder_l"), ("chest", "shoulder_r"), ("shoulder_l", "elbow_l"),
    ("shoulder_r", "elbow_r"), ("elbow_l", "wrist_l"), ("elbow_r", "wrist_r"),
    ("wrist_l", "hand_l"), ("wrist_r", "hand_r"), ("chest", "neck"), ("neck", "head_top"),
]


def population_coefficients() -> np.ndarray:
    """The table's mean curves as float64 [9 angles, 7] = (a0, a1, b1, a2, b2, a3, b3)."""
    out = np.zeros((len(ANGLES), 1 + 2 * N_HARMONICS))
    for i, (a0, harmonics, _) in enumerate(ANGLE_TABLE.values()):
        out[i, 0] = a0
        for k, (a, b) in enumerate(harmonics):
            out[i, 1 + 2 * k], out[i, 2 + 2 * k] = a, b
    return out


def fourier(coeffs: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Evaluate Fourier curves: coeffs [..., A, 7], phase [T] (cycles) -> degrees [T, ..., A]."""
    k = np.arange(1, N_HARMONICS + 1)                                     # [3]
    arg = 2 * np.pi * phase[:, None] * k                                  # [T, 3]
    cos, sin = np.cos(arg), np.sin(arg)
    a, b = coeffs[..., 1::2], coeffs[..., 2::2]                           # [..., A, 3]
    return coeffs[..., 0] + np.einsum("tk,...k->t...", cos, a) + np.einsum("tk,...k->t...", sin, b)


@dataclass(frozen=True)
class Gait:
    """One subject's walk (docs/synthgait-generator.md, "Body and motion model").

    Angles in degrees, lengths in body heights.
    """

    cadence: float               # steps per minute
    stride: float                # stride length / height
    coeffs: np.ndarray = field(repr=False)   # [2 sides (left, right), 9 angles, 7]
    right_phase: float = 0.5     # phase lag of the right side (cycles)
    trunk_lean: float = 3.0      # forward pitch of the trunk (deg)
    head_pitch: float = 0.0      # head carriage (deg, + = forward)
    head_forward: float = 0.0    # head carriage offset (heights)
    pelvic_tilt: float = 8.0     # anterior pelvic tilt subtracted from hip flexion (deg)
    arm_abduction: float = 6.0   # arms held away from the trunk (deg)
    step_width: float = 0.0      # extra hip adduction (deg, - = wider base)
    sway: float = 0.012          # lateral sway amplitude (heights)
    stride_jitter: float = 0.015 # stride-to-stride variation of the cycle time (CV)
    speed_z: float = 0.0         # the speed factor (z-score) that drives cadence/stride/ranges

    def summary(self) -> dict:
        hip = self.range_of("hip_flexion")
        knee = self.range_of("knee_flexion")
        return {
            "cadence": round(self.cadence, 3), "stride": round(self.stride, 4),
            "speed_hps": round(self.stride * self.cadence / 120, 4),
            "hip_range": round(hip, 2), "knee_range": round(knee, 2),
            "arm_range": round(self.range_of("shoulder_flexion"), 2),
            "right_phase": round(self.right_phase, 4), "trunk_lean": round(self.trunk_lean, 3),
            "head_pitch": round(self.head_pitch, 3), "step_width": round(self.step_width, 3),
        }

    def range_of(self, angle: str, side: int = 0) -> float:
        curve = fourier(self.coeffs[side, A[angle]], np.linspace(0, 1, 101))
        return float(curve.max() - curve.min())


def _perturb_harmonics(rng, coeffs, sd, gain, scale=1.0):
    """Per-subject perturbation of one curve: offset, amplitude and phase of every harmonic."""
    out = coeffs.copy()
    out[0] += rng.normal(0, 0.45 * sd * scale)
    for k in range(N_HARMONICS):
        a, b = out[1 + 2 * k], out[2 + 2 * k]
        amp = gain * (1 + rng.normal(0, 0.10 * scale))
        rot = rng.normal(0, 0.10 * scale)                                   # radians
        c, s = np.cos(rot), np.sin(rot)
        a, b = amp * (c * a - s * b), amp * (s * a + c * b)
        out[1 + 2 * k] = a + rng.normal(0, 0.20 * sd * scale / (k + 1))
        out[2 + 2 * k] = b + rng.normal(0, 0.20 * sd * scale / (k + 1))
    return out


def sample_gait(rng: np.random.Generator, body: Body | None = None) -> Gait:
    """Draw a subject's gait: speed factor -> cadence/stride/joint ranges, perturbed curves, traits."""
    speed_z = float(np.clip(rng.normal(), -2.5, 2.5))
    cadence = 112.5 + 6.0 * (0.7 * speed_z + 0.71 * rng.normal())
    stride = float(np.clip(0.80 + 0.045 * (0.7 * speed_z + 0.71 * rng.normal()), 0.66, 0.94))
    range_gain = 1.0 + 0.11 * speed_z                     # hip range ~30 deg (slow) .. ~52 deg (fast)
    arm_gain = float(np.clip(1.0 + 0.3 * rng.normal(), 0.3, 1.9))
    base = population_coefficients()
    left = np.empty_like(base)
    for i, name in enumerate(ANGLES):
        sd = ANGLE_TABLE[name][2]
        gain = range_gain if name in SPEED_SCALED else (arm_gain if name in ARM else 1.0)
        left[i] = _perturb_harmonics(rng, base[i], sd, gain)
    asym = abs(rng.normal(0, 1.0))                        # how asymmetric this person is
    right = left.copy()
    for i in range(len(ANGLES)):
        right[i, 0] += rng.normal(0, 1.0 * asym)
        right[i, 1:] *= 1 + rng.normal(0, 0.04 * asym)
    return Gait(
        cadence=float(cadence), stride=stride, coeffs=np.stack([left, right]),
        right_phase=float(0.5 + rng.normal(0, 0.008 * asym)),
        trunk_lean=float(rng.normal(3.0, 3.5)), head_pitch=float(rng.normal(0.0, 7.0)),
        head_forward=float(rng.normal(0.0, 0.012)), pelvic_tilt=float(rng.normal(8.0, 3.5)),
        arm_abduction=float(np.clip(rng.normal(7.0, 3.5), 0.0, 18.0)),
        step_width=float(rng.normal(0.0, 2.5)), sway=float(rng.uniform(0.009, 0.015)),
        stride_jitter=float(rng.uniform(0.01, 0.02)), speed_z=speed_z,
    )


def twin_gait(rng: np.random.Generator, gait: Gait) -> Gait:
    """A twin's gait: same posture traits and ranges, different cadence and phase relations."""
    sign = 1.0 if rng.random() < 0.5 else -1.0
    coeffs = gait.coeffs.copy()
    for i, name in enumerate(ANGLES):
        for k in range(1, N_HARMONICS):                   # re-time the 2nd/3rd harmonics
            rot = rng.normal(0, 0.35)
            c, s = np.cos(rot), np.sin(rot)
            a, b = coeffs[:, i, 1 + 2 * k].copy(), coeffs[:, i, 2 + 2 * k].copy()
            coeffs[:, i, 1 + 2 * k], coeffs[:, i, 2 + 2 * k] = c * a - s * b, s * a + c * b
        rot = rng.normal(0, 0.12) if name in ARM or name == "knee_flexion" else 0.0
        c, s = np.cos(rot), np.sin(rot)                   # shift the arm/knee vs hip timing
        a, b = coeffs[:, i, 1].copy(), coeffs[:, i, 2].copy()
        coeffs[:, i, 1], coeffs[:, i, 2] = c * a - s * b, s * a + c * b
        coeffs[:, i, 1:] *= 1 + rng.normal(0, 0.02)
    return replace(
        gait, coeffs=coeffs, cadence=float(gait.cadence * (1 + sign * rng.uniform(0.07, 0.13))),
        right_phase=float(0.5 + rng.normal(0, 0.012)), stride_jitter=float(rng.uniform(0.01, 0.02)),
    )


@dataclass(frozen=True)
class Carry:
    """What a covariate does to the motion (docs/synthgait-generator.md, "Covariates")."""

    arm_gain: tuple = (1.0, 1.0)        # arm-swing multiplier (left, right)
    elbow: tuple = (None, None)         # fixed elbow flexion (deg) or None
    extra_abduction: tuple = (0.0, 0.0)  # arm held out (deg)
    extra_lean: float = 0.0             # trunk lean added (deg)


def _rot_z(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _rot_x(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def phases(gait: Gait, n_frames: int, fps: float = 25.0, start_phase: float = 0.0,
           speed: float = 1.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """Left-leg gait phase (cycles) at each frame, with stride-to-stride time variation -> [T]."""
    f0 = gait.cadence / 120.0 * speed                     # strides per second
    t = np.arange(n_frames) / fps
    if rng is not None and gait.stride_jitter > 0:
        knots = np.arange(int(t[-1] * f0) + 3) / f0       # one knot per stride
        eps = rng.normal(0, gait.stride_jitter, size=len(knots))
        f = f0 * (1 + np.interp(t, knots, eps))
    else:
        f = np.full(n_frames, f0)
    return start_phase + np.concatenate([[0.0], np.cumsum(f[:-1]) / fps])


def pose(body: Body, gait: Gait, phase: np.ndarray, carry: Carry = Carry(),
         angle_offsets: np.ndarray | None = None) -> dict:
    """Pose the skeleton along a phase track [T] -> joints [T, 22, 3] plus segment frames.

    Returns {"joints": [T, J, 3], "pelvis_R": [T, 3, 3], "thorax_R": [T, 3, 3],
    "angles": [T, 2, 9] (degrees, sides left/right), "phase": [T]}. The pelvis moves forward by
    `stride` per cycle, so feet barely slide.
    """
    T = len(phase)
    ph = np.stack([phase, phase + gait.right_phase], axis=1)               # [T, 2]
    ang = np.stack([fourier(gait.coeffs[s], ph[:, s]) for s in range(2)], axis=1)  # [T, 2, 9]
    if angle_offsets is not None:                      # brief events on top of the curves (synthgait.cues)
        ang = ang + angle_offsets
    rad = np.deg2rad(ang)
    joints = np.zeros((T, len(JOINTS), 3))
    # pelvis frame: rotation (yaw) and obliquity (roll) from the left-leg cycle
    pelvis_R = _rot_z(rad[:, 0, A["pelvic_rotation"]]) @ _rot_x(rad[:, 0, A["pelvic_obliquity"]])
    hip_half = body.hip_width / 2 - 0.8 * body.thigh_radius
    for s, side in enumerate((1.0, -1.0)):                                 # left (+y), right (-y)
        L, R_ = ("_l", "_r")[s], None
        flex = rad[:, s, A["hip_flexion"]] - np.deg2rad(gait.pelvic_tilt)
        knee = np.maximum(rad[:, s, A["knee_flexion"]], 0.0)
        add = rad[:, s, A["hip_adduction"]] + np.deg2rad(gait.step_width)
        dors = rad[:, s, A["ankle_dorsiflexion"]]
        hip = (pelvis_R @ np.array([0.0, side * hip_half, 0.0]))          # [T, 3]
        ca = np.cos(add)
        thigh_dir = np.stack([np.sin(flex) * ca, -side * np.sin(add), -np.cos(flex) * ca], -1)
        beta = flex - knee
        shank_dir = np.stack([np.sin(beta) * ca, -side * np.sin(add), -np.cos(beta) * ca], -1)
        foot_dir = np.stack([np.cos(beta + dors), np.zeros(T), np.sin(beta + dors)], -1)
        foot_up = np.stack([-np.sin(beta + dors), np.zeros(T), np.cos(beta + dors)], -1)
        yaw = _rot_z(rad[:, 0, A["pelvic_rotation"]])
        thigh_dir = np.einsum("tij,tj->ti", yaw, thigh_dir)
        shank_dir = np.einsum("tij,tj->ti", yaw, shank_dir)
        foot_dir = np.einsum("tij,tj->ti", yaw, foot_dir)
        foot_up = np.einsum("tij,tj->ti", yaw, foot_up)
        k = hip + body.thigh * thigh_dir
        a = k + body.shank * shank_dir
        heel = a - 0.5 * body.ankle * foot_up - 0.2 * body.foot * foot_dir
        toe = heel + (body.foot - body.foot_radius) * foot_dir
        joints[:, J["hip" + L]], joints[:, J["knee" + L]], joints[:, J["ankle" + L]] = hip, k, a
        joints[:, J["heel" + L]], joints[:, J["toe" + L]] = heel, toe
    # trunk: lean forward, thorax rotation about the vertical axis
    lean = np.deg2rad(gait.trunk_lean + carry.extra_lean)
    thorax_R = _rot_z(rad[:, 0, A["thorax_rotation"]]) @ _rot_y(np.full(T, lean)) @ _rot_x(
        0.4 * rad[:, 0, A["pelvic_obliquity"]])
    chest = thorax_R @ np.array([0.0, 0.0, body.trunk])                   # [T, 3]
    joints[:, J["chest"]] = chest
    sh_half = body.shoulder_width / 2 - body.upper_arm_radius
    for s, side in enumerate((1.0, -1.0)):
        L = ("_l", "_r")[s]
        sh = chest + thorax_R @ np.array([0.0, side * sh_half, -0.02])
        mean_sh = gait.coeffs[s, A["shoulder_flexion"], 0]
        flex = np.deg2rad(mean_sh + carry.arm_gain[s] * (ang[:, s, A["shoulder_flexion"]] - mean_sh))
        if carry.elbow[s] is None:
            elbow = rad[:, s, A["elbow_flexion"]]
            mean_el = np.deg2rad(gait.coeffs[s, A["elbow_flexion"], 0])
            elbow = mean_el + max(carry.arm_gain[s], 0.3) * (elbow - mean_el)
        else:
            elbow = np.full(T, np.deg2rad(carry.elbow[s]))
        elbow = np.maximum(elbow, 0.0)
        abd = np.deg2rad(gait.arm_abduction + carry.extra_abduction[s])
        ua = np.stack([np.sin(flex) * np.cos(abd), np.full(T, side * np.sin(abd)), -np.cos(flex) * np.cos(abd)], -1)
        fa = np.stack([np.sin(flex + elbow) * np.cos(abd), np.full(T, side * np.sin(abd)),
                       -np.cos(flex + elbow) * np.cos(abd)], -1)
        yaw = _rot_z(rad[:, 0, A["thorax_rotation"]])
        ua = np.einsum("tij,tj->ti", yaw, ua)
        fa = np.einsum("tij,tj->ti", yaw, fa)
        el = sh + body.upper_arm * ua
        wr = el + body.forearm * fa
        joints[:, J["shoulder" + L]], joints[:, J["elbow" + L]] = sh, el
        joints[:, J["wrist" + L]], joints[:, J["hand" + L]] = wr, wr + 0.75 * body.hand * fa
    hp = np.deg2rad(gait.head_pitch)
    neck_dir = thorax_R @ np.array([np.sin(hp / 2), 0.0, np.cos(hp / 2)])
    neck = chest + body.neck * neck_dir + np.array([gait.head_forward, 0.0, 0.0])
    joints[:, J["neck"]] = neck
    joints[:, J["head_top"]] = neck + body.head * np.stack(
        [np.full(T, np.sin(hp)), np.zeros(T), np.full(T, np.cos(hp))], -1)
    # ground contact: the lowest heel/toe touches z = 0; forward progress by `stride` per cycle
    lowest = np.minimum(joints[:, [J["heel_l"], J["heel_r"], J["toe_l"], J["toe_r"]], 2].min(1),
                        np.inf) - body.foot_radius
    offset = np.stack([gait.stride * (phase - phase[0]), gait.sway * np.sin(2 * np.pi * phase), -lowest], -1)
    joints += offset[:, None, :]
    return {"joints": joints, "pelvis_R": pelvis_R, "thorax_R": thorax_R, "angles": ang, "phase": phase}
