"""SynthGait rendering: 3-D parts -> camera of a CASIA-B view -> anti-aliased raster -> 0/255 frames.

docs/synthgait-generator.md, "Body and motion model" and "Covariates". A part is a tapered capsule (round
caps) or a tapered slab (flat caps) between two 3-D points; its radius is circular or
elliptical (lateral x depth semi-axes in a body frame, so a trunk looks wide from the front
and deep from the side). The camera is a pinhole camera linearised around the subject in
every frame: a person walking towards it grows, one crossing the field is seen from a
drifting angle. The rasteriser computes each part's signed distance over its bounding box
for all frames at once (a loop over the ~20 parts only), sums the analytic pixel
coverages, and thresholds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIELD_W, FIELD_H = 320, 240        # CASIA-B's raw frame size
CAMERA_DISTANCE = 5.0              # heights, from the camera to the middle of the walk
CAMERA_HEIGHT = 0.5                # heights above the ground (optical axis horizontal)
PIXELS_PER_HEIGHT = 72.0           # person height in pixels at the middle of the walk


@dataclass
class Part:
    """One body part (docs/synthgait-generator.md, "Body and motion model"): a segment a->b with radii.

    a, b: [T, 3] points; ra, rb: [T] or scalar circular radii, or for an elliptical part
    (lateral, depth) semi-axes at each end in `frame` [T, 3, 3] (columns: forward, lateral, up).
    """

    name: str
    a: np.ndarray
    b: np.ndarray
    ra: object
    rb: object
    frame: np.ndarray | None = None
    round_caps: bool = True
    sign: float = 1.0                 # -1: a hole, carved out after the union


@dataclass(frozen=True)
class Camera:
    """A CASIA-B view (docs/synthgait-generator.md, "Structure"): 0 deg = walking towards the camera, 90 = side."""

    view_deg: float
    distance: float = CAMERA_DISTANCE
    height: float = CAMERA_HEIGHT
    pixels_per_height: float = PIXELS_PER_HEIGHT

    @property
    def axes(self):
        """(right, toward-scene) unit vectors in the body-heading frame (x forward, y left, z up)."""
        th = np.deg2rad(self.view_deg)
        d = np.array([-np.cos(th), -np.sin(th), 0.0])      # from the camera into the scene
        right = np.array([-np.sin(th), np.cos(th), 0.0])   # d x up
        return right, d


@dataclass
class Projection:
    """Per-frame projection of body coordinates to field pixels (a pinhole camera, locally linear).

    The subject is small next to its distance to the camera, so each frame is an
    orthographic view along the ray from the camera to the subject (the view angle drifts
    as the subject crosses the field, by up to ~15 deg at 090), scaled by `f / depth`, and
    stretched horizontally by `1 / cos(off-axis angle)` as a pinhole image is.
    """

    scale: np.ndarray      # [T] pixels per height (vertical)
    hscale: np.ndarray     # [T] pixels per height (horizontal)
    root_u: np.ndarray     # [T] field column of the subject's root
    ground_v: np.ndarray   # [T] field row of the ground
    right: np.ndarray      # [T, 3] the screen's right axis for this frame's ray
    root: np.ndarray       # [T, 3] the root (pelvis over the ground) in body coordinates
    view_deg: np.ndarray   # [T] the effective view angle of each frame

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """Body-frame points [T, ..., 3] -> field pixels [T, ..., 2] (column, row)."""
        shape = (-1,) + (1,) * (p.ndim - 2)
        rel = p - self.root.reshape(shape[:1] + (1,) * (p.ndim - 2) + (3,))
        lateral = np.einsum("t...k,tk->t...", rel, self.right)
        u = self.root_u.reshape(shape) + self.hscale.reshape(shape) * lateral
        v = self.ground_v.reshape(shape) - self.scale.reshape(shape) * p[..., 2]
        return np.stack([u, v], axis=-1)

    def radius(self, part: Part) -> tuple[np.ndarray, np.ndarray]:
        """Projected radii (pixels) of a part at its two ends -> ([T], [T])."""
        out = []
        for r in (part.ra, part.rb):
            if part.frame is None:
                out.append(self.hscale * np.broadcast_to(np.asarray(r, dtype=np.float64), self.scale.shape))
            else:
                lat, dep = r
                c_fwd = np.einsum("tk,tk->t", part.frame[:, :, 0], self.right)
                c_lat = np.einsum("tk,tk->t", part.frame[:, :, 1], self.right)
                out.append(self.hscale * np.sqrt((lat * c_lat) ** 2 + (dep * c_fwd) ** 2))
        return out[0], out[1]


def make_projection(camera: Camera, root: np.ndarray) -> Projection:
    """Camera for a walk whose pelvis track is root [T, 3] (body frame); the walk is centred on the optical axis."""
    th = np.deg2rad(camera.view_deg)
    right_c, d_c = camera.axes
    root_h = root * np.array([1.0, 1.0, 0.0])
    centre = np.array([(root[0, 0] + root[-1, 0]) / 2, 0.0, 0.0])
    cam = centre + camera.distance * np.array([np.cos(th), np.sin(th), 0.0])
    rel = root_h - cam                                                  # [T, 3] camera -> subject
    depth = rel @ d_c                                                   # [T]
    dist = np.linalg.norm(rel, axis=1)
    f = camera.pixels_per_height * camera.distance
    scale = f / depth
    hscale = scale * dist / depth                                       # 1 / cos(off-axis angle)
    to_cam = -rel / dist[:, None]
    view = np.arctan2(to_cam[:, 1], to_cam[:, 0])                       # [T] effective view angle
    right = np.stack([-np.sin(view), np.cos(view), np.zeros_like(view)], -1)
    root_u = FIELD_W / 2 + f * (rel @ right_c) / depth
    ground_v = FIELD_H / 2 + scale * camera.height
    return Projection(scale=scale, hscale=hscale, root_u=root_u, ground_v=ground_v, right=right,
                      root=root_h, view_deg=np.rad2deg(view))


def rasterise(segs_a, segs_b, radii_a, radii_b, round_caps, signs, shape) -> np.ndarray:
    """Union of 2-D tapered capsules/slabs -> bool [T, H, W] (anti-aliased coverage, then threshold).

    segs_a, segs_b: lists of [T, 2] pixel coordinates (column, row) in the window;
    radii_*: lists of [T] radii in pixels (a negative radius hides the part in that frame);
    signs: +1 body, -1 hole. A pixel's coverage by a part is `clip(0.5 - sd, 0, 1)` with
    `sd` the signed distance of its centre to the part's outline (the analytic area of a
    pixel cut by a straight edge); body coverages are summed (so parts closer than a pixel
    merge, as in a blurred camera image), holes subtracted, and the result thresholded at
    0.5. Each part is evaluated over its own bounding box for all frames at once.
    """
    T, H, W = shape
    M = 4                                                      # margin so boxes never leave the canvas
    Hp, Wp = H + 2 * M, W + 2 * M
    body = np.zeros((T, Hp, Wp), np.float32)
    flat_body = body.reshape(-1)                               # a view: scatter through flat indices
    frame_base = np.arange(T, dtype=np.int64) * (Hp * Wp)
    f32 = np.float32
    order = [i for i, s in enumerate(signs) if s > 0] + [i for i, s in enumerate(signs) if s <= 0]
    clipped = False
    for i in order:
        a, b, ra, rb, rc, sign = segs_a[i], segs_b[i], radii_a[i], radii_b[i], round_caps[i], signs[i]
        if sign <= 0 and not clipped:                                          # union done: clip, then carve
            np.minimum(body, f32(1), out=body)
            clipped = True
        if max(ra.max(), rb.max()) <= 0:
            continue
        rmax = np.maximum(np.maximum(ra, rb), 0.0) + 1.0
        lo = np.floor(np.minimum(a, b) - rmax[:, None]).astype(np.int64)       # [T, 2]
        hi = np.ceil(np.maximum(a, b) + rmax[:, None]).astype(np.int64)
        lo = np.clip(lo, -M, [W + M - 1, H + M - 1])
        hi = np.clip(hi, lo + 1, [W + M, H + M])
        bw, bh = (hi - lo).max(axis=0)
        bw, bh = int(min(bw, W + 2 * M)), int(min(bh, H + 2 * M))
        lo = np.minimum(lo, [W + M - bw, H + M - bh])
        xs = lo[:, 0:1] + np.arange(bw)                                        # [T, bw]
        ys = lo[:, 1:2] + np.arange(bh)                                        # [T, bh]
        px = (xs + 0.5 - a[:, 0:1]).astype(f32)[:, None, :]                    # [T, 1, bw]
        py = (ys + 0.5 - a[:, 1:2]).astype(f32)[:, :, None]                    # [T, bh, 1]
        d = (b - a).astype(np.float64)
        l2 = (d * d).sum(1) + 1e-6                                             # [T]
        ux = (d[:, 0] / l2).astype(f32)[:, None, None]
        uy = (d[:, 1] / l2).astype(f32)[:, None, None]
        t = px * ux + py * uy                                                  # [T, bh, bw] along-axis
        tc = np.clip(t, f32(0), f32(1))
        # squared distance to the axis point at tc: |p|^2 + l2 * tc * (tc - 2 t)
        l2f = l2.astype(f32)[:, None, None]
        dist2 = tc - 2 * t
        dist2 *= tc
        dist2 *= l2f
        dist2 += px * px + py * py
        np.maximum(dist2, f32(0), out=dist2)
        r0 = ra.astype(f32)[:, None, None]
        dr = (rb - ra).astype(f32)[:, None, None]
        cov = f32(0.5) + r0 - np.sqrt(dist2)                                   # 0.5 - signed distance
        cov += tc * dr
        if not rc:                                                             # flat caps
            length = np.sqrt(l2f)
            cov = np.minimum(cov, f32(0.5) + np.minimum(t, f32(1) - t) * length)
        np.clip(cov, f32(0), f32(1), out=cov)
        base = frame_base + (lo[:, 1] + M) * Wp + (lo[:, 0] + M)               # [T]
        idx = base[:, None, None] + (np.arange(bh)[:, None] * Wp + np.arange(bw))[None]
        if sign > 0:
            flat_body[idx] += cov
        else:
            flat_body[idx] -= cov
    if not clipped:
        np.minimum(body, f32(1), out=body)
    return body[:, M:M + H, M:M + W] > 0.5
