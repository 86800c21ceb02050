"""SynthGait: walking people in CASIA-B's structure, generated (docs/synthgait-generator.md).

Quick use::

    from gaitgs_lib.synthgait import ensure_synthgait, generate
    root = ensure_synthgait("mini")            # data/synthgait-mini, generated when missing
    generate("b", "data/synthgait-b")          # 124 subjects x 110 sequences

For notebook 01 (the model behind the data)::

    from gaitgs_lib.synthgait import make_subject, skeleton, render_frame, joint_angle_curves
"""
from __future__ import annotations

import numpy as np

from .body import Body, sample_body
from .covariates import Bag, Coat
from .generator import GENERATOR_VERSION, SYNTHGAIT_PRESETS, ensure_synthgait, generate, load_meta, twin_pairs
from .motion import ANGLE_TABLE, ANGLES, BONES, JOINTS, Gait, fourier
from .sequence import FPS, TYPES, VIEWS, Subject, make_subject, render_walk

__all__ = [
    "ANGLE_TABLE", "ANGLES", "BONES", "Bag", "Body", "Coat", "FPS", "GENERATOR_VERSION", "Gait",
    "JOINTS", "SYNTHGAIT_PRESETS", "Subject", "TYPES", "VIEWS", "ensure_synthgait", "generate",
    "joint_angle_curves", "load_meta", "make_subject", "render_frame", "render_walk", "skeleton",
    "twin_pairs",
]


def joint_angle_curves(subject: Subject | None = None, n: int = 101) -> dict:
    """Joint-angle curves over one gait cycle (degrees) -> {"t": [n], angle: [n] (left side)}.

    Without a subject: the population means of docs/synthgait-generator.md's table.
    """
    from .motion import population_coefficients

    coeffs = population_coefficients() if subject is None else subject.gait.coeffs[0]
    t = np.linspace(0.0, 1.0, n)
    curves = fourier(coeffs, t)                                   # [n, 9]
    out = {"t": t}
    out.update({name: curves[:, i] for i, name in enumerate(ANGLES)})
    return out


def skeleton(subject: Subject, view: str = "090", type_: str = "nm-01", seed: int = 0,
             n_frames: int = 40) -> dict:
    """The 3-D skeleton behind `render_frame` (same walk, same frames).

    Returns {"joints": [T, 22, 3] (body heights; x forward, y left, z up), "joints2d":
    [T, 22, 2] (pixels of the raw frame, column/row), "names", "bones", "phase" [T],
    "angles" [T, 2 sides, 9] (degrees)}.
    """
    r = render_walk(subject, type_, view, seed, noise=False, n_frames=n_frames)
    return {"joints": r.posed["joints"], "joints2d": r.joints2d, "names": list(JOINTS),
            "bones": list(BONES), "phase": r.posed["phase"], "angles": r.posed["angles"]}


def render_frame(subject: Subject, view: str = "090", type_: str = "nm-01", frame: int = 0,
                 seed: int = 0, noise: bool = False, n_frames: int = 40) -> np.ndarray:
    """One raw silhouette frame (uint8 [H, W], 0/255) of `subject` walking, seen from `view`.

    With the same arguments `skeleton(...)["joints2d"][frame]` gives its joints.
    """
    r = render_walk(subject, type_, view, seed, noise=noise, n_frames=max(n_frames, frame + 1))
    return r.frames[frame]
