"""Silhouette pre-processing into the OpenGait layout (docs/data-and-evaluation.md, "Preprocessing").

Per frame (grey uint8, 0 background / 255 person), as OpenGait's `datasets/pretreatment.py`
(https://github.com/ShiqiYu/OpenGait) does it:

1. drop the frame if its pixel sum is <= 10,000;
2. crop the rows to the first...last row holding a non-zero pixel (full width kept);
3. resize with OpenCV's bicubic `INTER_CUBIC` to height `size` and width `int(size * (W / h_crop))`;
4. horizontal centre = first column whose cumulative column sum exceeds half the total
   (a mass median), the frame is dropped when there is none;
5. take the `size` columns `[x - size/2, x + size/2)`, zero-padded where they leave the
   image, giving a `uint8 [size, size]` frame.

PNG frames are read with OpenCV as grey images, like OpenGait, so real CASIA-B / OU-MVLP
silhouettes give OpenGait's bytes. OpenCV (`opencv-python-headless`) is an optional
dependency: `pip install "gaitgs-lib[real-data]"` (the `notebooks` and `dev` extras
include it). SynthGait generates its datasets without it (`gaitgs_lib.synthgait.preprocess`).
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from ..fileio import unwritable
from .io import write_sequence
from .partition import STANDARD_PARTITIONS, write_partition

MIN_PIXEL_SUM = 10_000  # step 1: frames with a pixel sum <= this are dropped
MIN_FRAMES = 5          # fewer kept frames than this -> warning

# Reasons a frame is dropped, as they appear in `SequenceReport.dropped`.
EMPTY = "empty"            # step 1: pixel sum <= 10,000
NO_CENTRE = "no_centre"    # step 4: no column passes half the mass (or OpenGait's column-0 quirk)
TOO_NARROW = "too_narrow"  # step 3: the resized width would be 0 columns

INSTALL_HINT = 'pip install "gaitgs-lib[real-data]" (or: pip install opencv-python-headless)'


def _cv2():
    """OpenCV, imported on first use: an optional dependency (the `real-data` extra)."""
    try:
        import cv2
    except ImportError as exc:
        raise ImportError(f"preprocessing silhouettes needs OpenCV, OpenGait's resize: {INSTALL_HINT}") from exc
    return cv2


# --------------------------------------------------------------------------- one frame
def cubic_resize(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Step 3's resize: OpenCV `INTER_CUBIC`, as OpenGait calls it. uint8 [H, W] -> uint8 [out_h, out_w]."""
    if img.ndim != 2 or out_h < 1 or out_w < 1:
        raise ValueError(f"cubic_resize: expected a 2-D image and positive sizes, got "
                         f"shape {img.shape} -> ({out_h}, {out_w})")
    cv2 = _cv2()
    return cv2.resize(img, (int(out_w), int(out_h)), interpolation=cv2.INTER_CUBIC)


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
    resized = cubic_resize(crop, size, width)                          # [size, width]
    csum = np.cumsum(resized.sum(axis=0, dtype=np.int64))              # step 4
    above = np.flatnonzero(2 * csum > csum[-1])                        # exact form of csum > total / 2
    if above.size == 0 or above[0] == 0:                               # OpenGait's `if not x_center`
        return None, NO_CENTRE
    x, half = int(above[0]), size // 2                                 # step 5
    padded = np.pad(resized, ((0, 0), (half, half)))                   # [size, width + size]
    return np.ascontiguousarray(padded[:, x: x + size]), None         # cols [x - half, x + half)


def preprocess_frame(img: np.ndarray, size: int = 64) -> np.ndarray | None:
    """Steps 1-5 of docs/data-and-evaluation.md on one frame: uint8 [H, W] -> uint8 [size, size], or None if dropped."""
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


def _frames(frames) -> list[np.ndarray] | np.ndarray:
    if not isinstance(frames, np.ndarray) and getattr(frames, "ndim", None) == 3 and hasattr(frames, "__array__"):
        frames = np.asarray(frames)  # e.g. a CPU torch tensor [T, H, W]
    if isinstance(frames, np.ndarray):
        if frames.ndim != 3 or frames.dtype != np.uint8:
            raise ValueError(f"preprocess_sequence: expected uint8 frames [T, H, W], got dtype "
                             f"{frames.dtype} shape {tuple(frames.shape)}")
        return frames
    return [_check_frame(f, f"preprocess_sequence: frame {i}") for i, f in enumerate(frames)]


def preprocess_sequence(frames: np.ndarray | Iterable[np.ndarray], size: int = 64):
    """Steps 1-5 of docs/data-and-evaluation.md on a sequence: frames uint8 [T, H, W] (or an iterable of
    uint8 [H, W], shapes may differ) -> (uint8 [T', size, size], SequenceReport).

    Exactly `preprocess_frame` frame by frame. Warns (does not fail) when fewer than
    5 frames are left; with none left the array is `[0, size, size]`.
    """
    frames = _frames(frames)
    kept, dropped = [], {}
    for i, img in enumerate(frames):
        out, reason = _frame_with_reason(img, size)
        if out is None:
            dropped.setdefault(reason, []).append(i)
        else:
            kept.append(out)
    report = SequenceReport(frames_in=len(frames), frames_kept=len(kept),
                            dropped={r: tuple(dropped[r]) for r in (EMPTY, NO_CENTRE, TOO_NARROW) if r in dropped})
    if report.short:
        warnings.warn(f"preprocess_sequence: only {report.frames_kept} frame(s) left "
                      f"(fewer than {MIN_FRAMES}); {report}", stacklevel=2)
    out = np.stack(kept) if kept else np.zeros((0, size, size), np.uint8)
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


def _read_png(path: Path) -> np.ndarray | None:
    """A PNG as a grey uint8 [H, W], read as OpenGait reads it; None when unreadable."""
    cv2 = _cv2()
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


def is_frame_png(rel: Path) -> bool:
    """Whether OpenGait's `datasets/pretreatment.py` reads this file (path relative to the raw root).

    It lists `input_path.rglob('*.png')`, which is case-sensitive on Linux and macOS
    (an upper-case `.PNG` is not read), and skips every path in which `gei` is followed by
    `.png` (GEI images stored beside the frames).
    """
    return rel.name.endswith(".png") and "gei.png" not in rel.as_posix()


def _worker_init() -> None:
    """In each worker process: Ctrl-C is the parent's to handle (it stops the pool), and the
    worker dies with its parent (Linux: PR_SET_PDEATHSIG), even when the parent is killed -9."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl: the pool's EOF still ends it
            pass
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


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
    pngs = sorted(p for p in seq_dir.iterdir() if is_frame_png(p.relative_to(raw_root)) and p.is_file())
    if not pngs:
        return key, "skipped", "no PNG frames", 0, 0
    frames = []
    for png in pngs:
        img = _read_png(png)
        if img is None:
            return key, "skipped", f"unreadable PNG {png.name}", 0, 0
        frames.append(img)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short sequences are listed in the report instead
        seq, rep = preprocess_sequence(frames, size=size)
    if rep.frames_kept == 0:
        return key, "skipped", f"no frames left ({rep})", rep.frames_in, 0
    write_sequence(dst, seq)
    return key, "written-short" if rep.short else "written", dst, rep.frames_in, rep.frames_kept


def _check_writable(folder: Path) -> None:
    """Create `folder` and prove a file can be written there, before any work (PermissionError otherwise)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".pretreat-probe-")
        os.close(fd)
        os.unlink(probe)
    except FileExistsError as exc:
        raise NotADirectoryError(f"output {folder} is a file, not a folder; choose another output folder") from exc
    except OSError as exc:
        # a read-only filesystem is named as such (root meets it too); otherwise the OS's reason
        why = (unwritable(folder) if exc.errno == errno.EROFS else None) or exc.strerror
        raise PermissionError(f"cannot write into the output folder {folder} ({why}); "
                              f"choose a folder you can write to") from exc


def pretreat(raw_root, out_root, size: int = 64, overwrite: bool = False,
             progress: bool = True, workers: int = 0) -> PretreatReport:
    """Raw CASIA-B layout `<raw>/<sid>/<type>/<view>/*.png` -> `<out>/<sid>/<type>/<view>/<view>.pkl`.

    Frames are read in file-name order (OpenCV, grey), pre-processed with
    `preprocess_sequence` and written atomically. A sequence is skipped (and reported)
    when a PNG cannot be read or no frame survives; existing outputs are kept unless
    `overwrite`. `workers > 1` spreads the sequences over that many processes. Checks
    before any work that OpenCV is installed and `out_root` is writable.
    """
    from tqdm.auto import tqdm

    raw_root, out_root = Path(raw_root), Path(out_root)
    if not raw_root.is_dir():
        what = "is a file, not a folder" if raw_root.exists() else "does not exist"
        raise (FileNotFoundError if not raw_root.exists() else ValueError)(
            f"raw silhouette root {raw_root} {what} (expected <root>/<sid>/<type>/<view>/*.png)")
    raw_abs, out_abs = raw_root.resolve(), out_root.resolve()
    if out_abs == raw_abs or raw_abs in out_abs.parents:
        raise ValueError(f"output {out_root} is inside the raw root {raw_root}: its <sid>/<type>/<view> folders "
                         f"would be read as raw sequences on the next run; choose an output folder outside it")
    seq_dirs = sorted(p for p in raw_root.glob("*/*/*") if p.is_dir())
    if not seq_dirs:
        raise ValueError(f"no sequence folders under {raw_root} (expected <root>/<sid>/<type>/<view>/*.png)")
    _cv2()
    _check_writable(out_root)
    jobs = [(d, raw_root, out_root, size, overwrite) for d in seq_dirs]
    bar = tqdm(total=len(jobs), desc="pretreat", unit="seq", disable=not progress)
    results = []
    try:
        if workers > 1:
            import multiprocessing as mp

            # multiprocessing.Pool, not ProcessPoolExecutor: its workers close their end of the
            # task pipe, so they also see a dead parent as the end of the work
            pool = mp.get_context().Pool(workers, initializer=_worker_init)
            try:
                for result in pool.imap(_pretreat_one, jobs, chunksize=8):
                    results.append(result)
                    bar.update()
                pool.close()
                pool.join()
            except BaseException:  # Ctrl-C or a worker's error: stop the others at once
                pool.terminate()
                pool.join()
                raise
        else:
            for job in jobs:
                results.append(_pretreat_one(job))
                bar.update()
    finally:
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


def _nothing_written(report: PretreatReport, raw: str) -> str:
    """The one-line error when a run wrote no sequence and none was there before."""
    reasons = sorted(set(report.skipped.values()))
    why = "; ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else "")
    hint = (f" (is {raw} one level above <sid>/<type>/<view>/*.png?)" if reasons == ["no PNG frames"] else "")
    return f"pretreat wrote nothing: all {len(report.skipped)} sequence folder(s) were skipped ({why}){hint}"


def main(argv=None) -> int:
    """CLI: `pretreat RAW OUT [--size 64|128] [--overwrite] [--workers N] [--partition NAME]`,
    or `pretreat --partition NAME OUT` to write only the partition of an existing dataset."""
    parser = argparse.ArgumentParser(
        prog="python -m gaitgs_lib pretreat",
        usage="%(prog)s RAW OUT [--size {64,128}] [--overwrite] [--workers N] [--partition NAME]\n"
              "       %(prog)s --partition NAME OUT",
        description="Raw CASIA-B-style silhouettes <RAW>/<sid>/<type>/<view>/*.png -> "
                    "OpenGait layout <OUT>/<sid>/<type>/<view>/<view>.pkl (uint8 [T, size, size]), "
                    "with OpenGait's preprocessing (OpenCV). With only OUT and --partition: write "
                    "<OUT>/partition.json for a dataset already in the OpenGait layout.")
    parser.add_argument("paths", nargs="+", metavar="RAW OUT", help="root of the raw PNG tree, output root")
    parser.add_argument("--size", type=int, choices=(64, 128), default=64, help="output frame side (default 64)")
    parser.add_argument("--overwrite", action="store_true",
                        help="rewrite sequences (and a different partition.json) already in OUT")
    parser.add_argument("--workers", type=int, default=0, help="processes to use (default: this one)")
    parser.add_argument("--partition", choices=sorted(STANDARD_PARTITIONS),
                        help="also write OUT/partition.json: " + "; ".join(STANDARD_PARTITIONS.values()))
    args = parser.parse_args(argv)
    if len(args.paths) > 2 or (len(args.paths) == 1 and not args.partition):
        parser.error("give RAW and OUT, or only OUT together with --partition")
    out = args.paths[-1]
    try:
        if len(args.paths) == 2:
            report = pretreat(args.paths[0], out, size=args.size, overwrite=args.overwrite, workers=args.workers)
            print(report)
            if not report.written and not report.existing:
                print(f"error: {_nothing_written(report, args.paths[0])}", file=sys.stderr)
                return 1
        if args.partition:
            print(f"wrote {write_partition(out, args.partition, overwrite=args.overwrite)} "
                  f"({STANDARD_PARTITIONS[args.partition]})")
        elif not (Path(out) / "partition.json").is_file():
            print(f"note: {out} has no partition.json yet; add --partition casia-b (or ou-mvlp) to write "
                  f"the standard split, or write your own {{\"TRAIN_SET\": [...], \"TEST_SET\": [...]}}")
    except (OSError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted: every sequence in {out} is complete (each is written atomically); run the same "
              f"command again to continue where it stopped", file=sys.stderr)
        return 130
    return 0
