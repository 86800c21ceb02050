"""SynthGait 1.x's own preprocessing: docs/data-and-evaluation.md's five steps with a numpy bicubic resize.

The generator turns each rendered walk into 64x64 frames with the same five steps as
`gaitgs_lib.data.pretreat` (drop, crop rows, bicubic resize, mass-median centre, pad),
but computes step 3 with numpy instead of OpenCV: Keys' cubic convolution (a = -0.75,
source coordinate `(dst + 0.5) * in / out - 0.5`, border pixels repeated) in float64
weights and float32 sums, rounded half up. OpenCV's fixed-point arithmetic differs from it
by one grey level on some edge pixels (about 7 % of SynthGait frames are not byte-identical
to `data.pretreat.preprocess_sequence`; `benchmarks/compare_pretreat_opencv.py` measures it).

Why it stays: a SynthGait dataset is defined by (GENERATOR_VERSION, preset, seed), and
every dataset of version 1.1 must stay byte-identical; OpenCV is not needed to generate
one. When GENERATOR_VERSION next changes, the generator can switch to
`data.pretreat.preprocess_sequence` and this module can go.
"""
from __future__ import annotations

import numpy as np

from ..data.pretreat import MIN_PIXEL_SUM

KEYS_A = -0.75  # the bicubic kernel parameter of OpenCV (and torch)


def _cubic_taps(in_size, out_size, j):
    """Source indices int64 [..., 4] (clamped to the border) and Keys weights float64 [..., 4]
    of a 1-D bicubic resize `in_size -> out_size` at output positions `j` (broadcastable)."""
    in_size = np.asarray(in_size, dtype=np.float64)
    out_size = np.asarray(out_size, dtype=np.float64)
    j = np.asarray(j, dtype=np.float64)
    src = (j + 0.5) * (in_size / out_size) - 0.5          # [...]
    base = np.floor(src)
    t = src - base                                        # [...] in [0, 1)
    a = KEYS_A

    def near(x):  # |x| <= 1
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0

    def far(x):   # 1 < |x| < 2
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a

    w = np.stack([far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)], axis=-1)
    offsets = np.arange(-1, 3, dtype=np.float64)
    idx = np.clip(base[..., None] + offsets, 0.0, in_size[..., None] - 1.0).astype(np.int64)
    return idx, w


def _tap_sum(w, src, idx):
    """sum_k w[..., k] * src[idx[..., k]] (rows of `src`), float32, in a fixed order.
    w, idx: [..., 4]; src: [N, D] -> [..., D]."""
    w = w.astype(np.float32)
    gathered = np.take(src, np.moveaxis(idx, -1, 0), axis=0)  # [4, ..., D], one contiguous gather
    out = w[..., 0, None] * gathered[0]
    for k in range(1, 4):
        out += w[..., k, None] * gathered[k]
    return out


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """Round half up and clip to 0..255."""
    return np.clip(np.floor(x + 0.5), 0.0, 255.0).astype(np.uint8)


def preprocess_walk(frames: np.ndarray, size: int = 64) -> np.ndarray:
    """Steps 1-5 on a rendered walk, all frames at once: uint8 [T, H, W] -> uint8 [T', size, size].

    Frames dropped by steps 1, 3 or 4 are left out (T' <= T), in order. The resized frames
    of a walk are laid side by side as one ragged strip of columns, so one gather per axis
    resizes them all (this is what keeps generation fast).
    """
    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise ValueError(f"preprocess_walk: expected uint8 frames [T, H, W], got dtype {frames.dtype} "
                         f"shape {tuple(frames.shape)}")
    T, H, W = frames.shape
    sums = frames.reshape(T, -1).sum(axis=1, dtype=np.int64)
    f = frames[sums > MIN_PIXEL_SUM]                                   # step 1, [n, H, W]
    rows_any = f.any(axis=2)                                           # [n, H]
    top = rows_any.argmax(axis=1)                                      # step 2
    h = H - rows_any[:, ::-1].argmax(axis=1) - top                     # [n] crop heights
    width = (size * (W / h)).astype(np.int64)                          # step 3, [n]
    f, top, h, width = f[width >= 1], top[width >= 1], h[width >= 1], width[width >= 1]
    n = len(f)
    if n == 0:
        return np.zeros((0, size, size), np.uint8)
    # rows: gather whole image rows from the flattened stack, [n * H, W] -> [n, size, W]
    iy, wy = _cubic_taps(h[:, None], size, np.arange(size))           # [n, size, 4]
    iy = iy + (top + np.arange(n) * H)[:, None, None]
    rows = _tap_sum(wy, f.reshape(n * H, W), iy)                       # [n, size, W]
    rows_t = np.ascontiguousarray(rows.transpose(0, 2, 1)).reshape(n * W, size)
    # columns: all frames' output columns one after another (ragged, no padding)
    starts = np.concatenate([[0], np.cumsum(width)[:-1]])             # [n] first column of each frame
    frame_of = np.repeat(np.arange(n), width)                          # [C] frame of each column
    j = np.arange(frame_of.size) - starts[frame_of]                    # [C] column within its frame
    ix, wx = _cubic_taps(W, width[frame_of], j)                        # [C, 4]
    ix += (frame_of * W)[:, None]
    resized_t = _to_uint8(_tap_sum(wx, rows_t, ix))                    # [C, size] transposed frames
    # step 4 per frame: first column whose cumulative sum (within the frame) > total / 2
    col_sums = resized_t.sum(axis=1, dtype=np.int64)                   # [C]
    csum = np.cumsum(col_sums)
    before = np.concatenate([[0], csum])[starts]                       # [n] mass before each frame
    total = np.add.reduceat(col_sums, starts)                          # [n]
    above = np.flatnonzero(2 * (csum - before[frame_of]) > total[frame_of])
    x = np.full(n, -1, dtype=np.int64)
    has_frames, first = np.unique(frame_of[above], return_index=True)
    x[has_frames] = j[above[first]]
    x[x == 0] = -1                                                     # OpenGait's `if not x_center`
    has = x >= 0
    x, width, starts = x[has], width[has], starts[has]
    half = size // 2                                                   # step 5
    src = x[:, None] - half + np.arange(size)[None, :]                 # [n', size] source columns
    valid = (src >= 0) & (src < width[:, None])
    out_t = resized_t[starts[:, None] + np.clip(src, 0, width[:, None] - 1)]  # [n', size, size]
    out_t[~valid] = 0
    return np.ascontiguousarray(out_t.transpose(0, 2, 1))
