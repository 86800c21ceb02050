"""Silhouette pre-processing into the OpenGait layout (docs/protocols.md, "Preprocessing").

Per frame (grey uint8, 0 background / 255 person):

1. drop the frame if its pixel sum is <= 10,000;
2. crop the rows to the first...last row holding a non-zero pixel (full width kept);
3. resize bicubic to height `size` and width `int(size * (W / h_crop))`;
4. horizontal centre = first column whose cumulative column sum exceeds half the total
   (a mass median), the frame is dropped when there is none;
5. take the `size` columns `[x - size/2, x + size/2)`, zero-padded where they leave the
   image, giving a `uint8 [size, size]` frame.

Resize. OpenGait calls OpenCV's `INTER_CUBIC` (Keys' cubic convolution kernel with
a = -0.75, source coordinate `(dst + 0.5) * in / out - 0.5`, border pixels repeated,
no anti-aliasing when shrinking). We have no OpenCV, so `cubic_resize` computes the same
kernel with numpy (float64 weights, float32 sums); it equals `torch.nn.functional.interpolate(mode="bicubic",
align_corners=False)` up to float rounding (tested), and the result is rounded half up
and clipped to 0..255 as OpenCV does. OpenCV works with 11-bit fixed-point weights, so
an output pixel may differ from OpenCV's by 1 grey level on the silhouette edge: against
OpenCV 4.14 about 0.003-0.007 % of pixels differ, by 1, and 85-95 % of frames are
identical (`benchmarks/compare_pretreat_opencv.py`).

`preprocess_frame` is the plain one-frame definition; `preprocess_sequence` computes the
same thing for a whole sequence at once (same float operations per element, so the two
agree bit for bit; tested) and is what the SynthGait generator and `pretreat` use.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from .io import write_sequence

KEYS_A = -0.75          # OpenCV's (and torch's) bicubic kernel parameter
MIN_PIXEL_SUM = 10_000  # step 1: frames with a pixel sum <= this are dropped
MIN_FRAMES = 5          # fewer kept frames than this -> warning

# Reasons a frame is dropped, as they appear in `SequenceReport.dropped`.
EMPTY = "empty"            # step 1: pixel sum <= 10,000
NO_CENTRE = "no_centre"    # step 4: no column passes half the mass (or OpenGait's column-0 quirk)
TOO_NARROW = "too_narrow"  # step 3: the resized width would be 0 columns


# --------------------------------------------------------------------------- resize
def _cubic_taps(in_size, out_size, j):
    """Source indices and Keys weights of a 1-D bicubic resize (OpenCV INTER_CUBIC, a = -0.75).

    For output positions `j` (int array) of resizes `in_size -> out_size` (ints or int
    arrays broadcastable with `j`) returns `idx` int64 [..., 4] (source indices of the
    taps floor(src) - 1 ... floor(src) + 2, clamped to the border) and `w` float64 [..., 4].
    """
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

    The same element-wise float operations whatever the batch layout, so the batched
    and the one-frame paths agree bit for bit. w, idx: [..., 4]; src: [N, D] -> [..., D].
    """
    w = w.astype(np.float32)
    gathered = np.take(src, np.moveaxis(idx, -1, 0), axis=0)  # [4, ..., D], one contiguous gather
    out = w[..., 0, None] * gathered[0]
    for k in range(1, 4):
        out += w[..., k, None] * gathered[k]
    return out


def cubic_resize(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bicubic resize of one 2-D image as OpenCV INTER_CUBIC computes it, unrounded.

    img: [H, W] (uint8 or float32) -> float32 [out_h, out_w]. Rows first, then columns.
    """
    if img.ndim != 2 or out_h < 1 or out_w < 1:
        raise ValueError(f"cubic_resize: expected a 2-D image and positive sizes, got "
                         f"shape {img.shape} -> ({out_h}, {out_w})")
    H, W = img.shape
    iy, wy = _cubic_taps(H, out_h, np.arange(out_h))       # [out_h, 4]
    rows = _tap_sum(wy, img, iy)                           # [out_h, W]
    rows_t = np.ascontiguousarray(rows.T)                  # [W, out_h]
    ix, wx = _cubic_taps(W, out_w, np.arange(out_w))       # [out_w, 4]
    cols = _tap_sum(wx, rows_t, ix)                        # [out_w, out_h]
    return np.ascontiguousarray(cols.T)                    # [out_h, out_w]


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """Round half up and clip to 0..255, as OpenCV's fixed-point saturating cast does."""
    return np.clip(np.floor(x + 0.5), 0.0, 255.0).astype(np.uint8)


def _mass_centre(col_sums: np.ndarray) -> np.ndarray:
    """Step 4 on int64 [..., W] column sums: first column whose cumulative sum > total / 2.

    Returns int64 [...]; -1 where there is none. Column 0 also counts as none: OpenGait
    tests `if not x_center`, which skips a centre at 0, and we keep its behaviour.
    """
    csum = np.cumsum(col_sums, axis=-1)
    above = 2 * csum > csum[..., -1:]                      # exact integer form of csum > total / 2
    x = np.where(above.any(axis=-1), above.argmax(axis=-1), -1)
    return np.where(x == 0, -1, x)


# --------------------------------------------------------------------------- one frame
def _check_frame(img, where: str = "frame") -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 2 or img.dtype != np.uint8:
        raise ValueError(f"{where}: expected a grey uint8 frame [H, W], got dtype {img.dtype} "
                         f"shape {tuple(img.shape)}")
    return img


def _frame_with_reason(img: np.ndarray, size: int):
    if int(img.sum(dtype=np.int64)) <= MIN_PIXEL_SUM:                  # step 1
        return None, EMPTY
    rows = np.flatnonzero(img.any(axis=1))                             # step 2
    crop = img[rows[0]: rows[-1] + 1]                                  # [h, W]
    h, W = crop.shape
    width = int(size * (W / h))                                        # step 3
    if width < 1:
        return None, TOO_NARROW
    resized = _to_uint8(cubic_resize(crop, size, width))               # [size, width]
    x = int(_mass_centre(resized.sum(axis=0, dtype=np.int64)))         # step 4
    if x < 0:
        return None, NO_CENTRE
    half = size // 2                                                   # step 5
    padded = np.pad(resized, ((0, 0), (half, half)))                   # [size, width + size]
    return np.ascontiguousarray(padded[:, x: x + size]), None         # cols [x - half, x + half)


def preprocess_frame(img: np.ndarray, size: int = 64) -> np.ndarray | None:
    """Steps 1-5 of docs/protocols.md on one frame: uint8 [H, W] -> uint8 [size, size], or None if dropped."""
    return _frame_with_reason(_check_frame(img), size)[0]


# --------------------------------------------------------------------------- one sequence
@dataclass(frozen=True)
class SequenceReport:
    """What `preprocess_sequence` did: frames in, frames kept, and which were dropped why."""

    frames_in: int
    frames_kept: int
    dropped: dict = field(default_factory=dict)  # reason -> tuple of input frame indices

    @property
    def frames_dropped(self) -> int:
        return self.frames_in - self.frames_kept

    @property
    def short(self) -> bool:
        """True when fewer than `MIN_FRAMES` frames are left (OpenGait warns then)."""
        return self.frames_kept < MIN_FRAMES

    def __str__(self) -> str:
        why = ", ".join(f"{len(v)} {k}" for k, v in self.dropped.items() if v) or "none"
        return f"{self.frames_kept}/{self.frames_in} frames kept (dropped: {why})"


def _as_stack(frames) -> np.ndarray | list:
    """uint8 [T, H, W] when all frames share one shape, else the list of frames."""
    if not isinstance(frames, np.ndarray) and getattr(frames, "ndim", None) == 3 and hasattr(frames, "__array__"):
        frames = np.asarray(frames)  # e.g. a CPU torch tensor [T, H, W]
    if isinstance(frames, np.ndarray):
        if frames.ndim != 3 or frames.dtype != np.uint8:
            raise ValueError(f"preprocess_sequence: expected uint8 frames [T, H, W], got dtype "
                             f"{frames.dtype} shape {tuple(frames.shape)}")
        return frames
    frames = [_check_frame(f, f"preprocess_sequence: frame {i}") for i, f in enumerate(frames)]
    if frames and len({f.shape for f in frames}) == 1:
        return np.stack(frames)
    return frames


def _batch(frames: np.ndarray, size: int):
    """Steps 1-5 on uint8 [T, H, W] frames of one shape -> (uint8 [T', size, size], kept idx, reasons)."""
    T, H, W = frames.shape
    reasons = np.full(T, None, dtype=object)
    sums = frames.reshape(T, -1).sum(axis=1, dtype=np.int64)
    reasons[sums <= MIN_PIXEL_SUM] = EMPTY                             # step 1
    keep = np.flatnonzero(sums > MIN_PIXEL_SUM)
    f = frames[keep]                                                   # [n, H, W]
    rows_any = f.any(axis=2)                                           # [n, H]
    top = rows_any.argmax(axis=1)                                      # step 2
    h = H - rows_any[:, ::-1].argmax(axis=1) - top                     # [n] crop heights
    width = (size * (W / h)).astype(np.int64)                          # step 3, [n]
    ok = width >= 1
    reasons[keep[~ok]] = TOO_NARROW
    keep, f, top, h, width = keep[ok], f[ok], top[ok], h[ok], width[ok]
    n = len(keep)
    if n == 0:
        return np.zeros((0, size, size), np.uint8), keep, reasons
    # rows: gather whole image rows from the flattened stack, [n * H, W] -> [n, size, W]
    iy, wy = _cubic_taps(h[:, None], size, np.arange(size))                  # [n, size, 4]
    iy = iy + (top + np.arange(n) * H)[:, None, None]
    f_rows = f.reshape(n * H, W)
    rows = _tap_sum(wy, f_rows, iy)                                    # [n, size, W]
    rows_t = np.ascontiguousarray(rows.transpose(0, 2, 1)).reshape(n * W, size)
    # columns: all frames' output columns one after another (ragged, no padding)
    starts = np.concatenate([[0], np.cumsum(width)[:-1]])             # [n] first column of each frame
    frame_of = np.repeat(np.arange(n), width)                          # [C] frame of each column
    j = np.arange(frame_of.size) - starts[frame_of]                    # [C] column within its frame
    ix, wx = _cubic_taps(W, width[frame_of], j)                        # [C, 4]
    ix += (frame_of * W)[:, None]
    cols = _tap_sum(wx, rows_t, ix)                                    # [C, size]
    resized_t = _to_uint8(cols)                                        # [C, size] transposed frames
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
    reasons[keep[~has]] = NO_CENTRE
    keep, x, width, starts = keep[has], x[has], width[has], starts[has]
    half = size // 2                                                   # step 5
    src = x[:, None] - half + np.arange(size)[None, :]                 # [n', size] source columns
    valid = (src >= 0) & (src < width[:, None])
    out_t = resized_t[starts[:, None] + np.clip(src, 0, width[:, None] - 1)]  # [n', size, size]
    out_t[~valid] = 0
    return np.ascontiguousarray(out_t.transpose(0, 2, 1)), keep, reasons


def preprocess_sequence(frames: np.ndarray | Iterable[np.ndarray], size: int = 64):
    """Steps 1-5 of docs/protocols.md on a sequence, vectorised: frames uint8 [T, H, W] (or an
    iterable of uint8 [H, W]) -> (uint8 [T', size, size], SequenceReport).

    Frames are processed together (frames of different shapes in groups), giving exactly
    what `preprocess_frame` gives frame by frame. Warns (does not fail) when fewer than
    5 frames are left; with none left the array is `[0, size, size]`.
    """
    stack = _as_stack(frames)
    if isinstance(stack, np.ndarray):
        T = stack.shape[0]
        out, kept, reasons = _batch(stack, size) if T else (np.zeros((0, size, size), np.uint8), np.arange(0), np.array([], dtype=object))
    else:  # frames of different shapes: group by shape, keep the input order
        T = len(stack)
        reasons = np.full(T, None, dtype=object)
        parts, kept_parts = [], []
        for shape in sorted({f.shape for f in stack}):
            ids = np.array([i for i, f in enumerate(stack) if f.shape == shape])
            o, k, r = _batch(np.stack([stack[i] for i in ids]), size)
            reasons[ids] = r
            parts.append(o)
            kept_parts.append(ids[k])
        kept = np.concatenate(kept_parts) if kept_parts else np.arange(0)
        order = np.argsort(kept, kind="stable")
        out = np.concatenate(parts)[order] if parts else np.zeros((0, size, size), np.uint8)
        kept = kept[order]
    dropped = {r: tuple(int(i) for i in np.flatnonzero(reasons == r)) for r in (EMPTY, NO_CENTRE, TOO_NARROW)}
    report = SequenceReport(frames_in=T, frames_kept=int(len(kept)), dropped={k: v for k, v in dropped.items() if v})
    if report.short:
        warnings.warn(f"preprocess_sequence: only {report.frames_kept} frame(s) left "
                      f"(fewer than {MIN_FRAMES}); {report}", stacklevel=2)
    return out, report


# --------------------------------------------------------------------------- a raw tree
@dataclass
class PretreatReport:
    """What `pretreat` did: sequences written, already present, and skipped with the reason."""

    written: list = field(default_factory=list)     # output .pkl paths
    existing: list = field(default_factory=list)    # outputs left alone (overwrite=False)
    skipped: dict = field(default_factory=dict)     # "sid/type/view" -> reason
    short: list = field(default_factory=list)       # "sid/type/view" written with < 5 frames
    frames_in: int = 0
    frames_kept: int = 0

    def __str__(self) -> str:
        lines = [f"pretreat: {len(self.written)} sequence(s) written, {len(self.existing)} already "
                 f"present, {len(self.skipped)} skipped; {self.frames_kept}/{self.frames_in} frames kept"]
        if self.short:
            lines.append(f"  fewer than {MIN_FRAMES} frames: {', '.join(self.short)}")
        lines += [f"  skipped {k}: {v}" for k, v in sorted(self.skipped.items())]
        return "\n".join(lines)


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.uint8)


def _pretreat_one(job):
    """One raw sequence folder -> (key, outcome, detail, frames_in, frames_kept).

    outcome: "written" (detail: output path), "existing" (detail: output path),
    "skipped" (detail: the reason); "short" is added to "written" as "written-short".
    """
    seq_dir, raw_root, out_root, size, overwrite = job
    rel = seq_dir.relative_to(raw_root)
    key = "/".join(rel.parts)
    dst = out_root / rel / f"{seq_dir.name}.pkl"
    if dst.exists() and not overwrite:
        return key, "existing", dst, 0, 0
    pngs = sorted(p for p in seq_dir.iterdir() if p.suffix.lower() == ".png" and p.is_file())
    if not pngs:
        return key, "skipped", "no PNG frames", 0, 0
    frames = []
    for png in pngs:
        try:
            frames.append(_read_png(png))
        except Exception as exc:  # Pillow raises several types for broken files
            return key, "skipped", f"unreadable PNG {png.name}: {type(exc).__name__}: {exc}", 0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short sequences are listed in the report instead
        seq, rep = preprocess_sequence(frames, size=size)
    if rep.frames_kept == 0:
        return key, "skipped", f"no frames left ({rep})", rep.frames_in, 0
    write_sequence(dst, seq)
    return key, "written-short" if rep.short else "written", dst, rep.frames_in, rep.frames_kept


def pretreat(raw_root, out_root, size: int = 64, overwrite: bool = False,
             progress: bool = True, workers: int = 0) -> PretreatReport:
    """Raw CASIA-B layout `<raw>/<sid>/<type>/<view>/*.png` -> `<out>/<sid>/<type>/<view>/<view>.pkl`.

    Frames are read in file-name order (Pillow, converted to grey), pre-processed with
    `preprocess_sequence` and written atomically. A sequence is skipped (and reported)
    when a PNG cannot be read or no frame survives; existing outputs are kept unless
    `overwrite`. `workers > 1` spreads the sequences over that many processes.
    """
    from tqdm.auto import tqdm

    raw_root, out_root = Path(raw_root), Path(out_root)
    if not raw_root.is_dir():
        raise FileNotFoundError(f"raw silhouette root {raw_root} does not exist "
                                f"(expected <root>/<sid>/<type>/<view>/*.png)")
    seq_dirs = sorted(p for p in raw_root.glob("*/*/*") if p.is_dir())
    if not seq_dirs:
        raise ValueError(f"no sequence folders under {raw_root} (expected <root>/<sid>/<type>/<view>/*.png)")
    jobs = [(d, raw_root, out_root, size, overwrite) for d in seq_dirs]
    bar = tqdm(total=len(jobs), desc="pretreat", unit="seq", disable=not progress)
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            results = []
            for result in pool.map(_pretreat_one, jobs, chunksize=8):
                results.append(result)
                bar.update()
    else:
        results = []
        for job in jobs:
            results.append(_pretreat_one(job))
            bar.update()
    bar.close()
    report = PretreatReport()
    for key, outcome, detail, n_in, n_kept in results:
        report.frames_in += n_in
        report.frames_kept += n_kept
        if outcome == "existing":
            report.existing.append(detail)
        elif outcome == "skipped":
            report.skipped[key] = detail
        else:
            report.written.append(detail)
            if outcome == "written-short":
                report.short.append(key)
    return report


def main(argv=None) -> int:
    """CLI: `python -m gaitgs_lib pretreat RAW OUT [--size 64|128] [--overwrite] [--workers N]`."""
    parser = argparse.ArgumentParser(
        prog="python -m gaitgs_lib pretreat",
        description="Raw CASIA-B-style silhouettes <RAW>/<sid>/<type>/<view>/*.png -> "
                    "OpenGait layout <OUT>/<sid>/<type>/<view>/<view>.pkl (uint8 [T, size, size]).")
    parser.add_argument("raw", help="root of the raw PNG tree")
    parser.add_argument("out", help="output root")
    parser.add_argument("--size", type=int, choices=(64, 128), default=64, help="output frame side (default 64)")
    parser.add_argument("--overwrite", action="store_true", help="rewrite sequences already present in OUT")
    parser.add_argument("--workers", type=int, default=0, help="processes to use (default: this one)")
    args = parser.parse_args(argv)
    try:
        report = pretreat(args.raw, args.out, size=args.size, overwrite=args.overwrite, workers=args.workers)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report)
    return 0
