"""How `pretreat` on `synth --raw-png` frames differs from the generator's own `.pkl` files.

    python scripts/compare_raw_png_pretreat.py [--preset test] [--seed 0] [--subjects N] [--work DIR]

(gaitgs_lib is the installed one: `pip install -e .` makes it this checkout's.)

Generates a SynthGait dataset with its raw PNGs, runs `pretreat` (OpenGait's preprocessing,
OpenCV) on the PNGs, and compares the result with the generator's `.pkl` files, frame by
frame. To say where the difference comes from it also preprocesses every rendered walk
two more ways (docs/synthgait-generator.md, "Raw frames and `pretreat`"):

- A: `pretreat` on the raw PNGs (the 320x240 field), OpenCV's resize;
- B: the generator's `.pkl`: `synthgait.preprocess.preprocess_walk` on the person window;
- C: `preprocess_walk` (numpy resize) on the same 320x240 field as A;
- D: `data.pretreat.preprocess_sequence` (OpenCV) on the person window, as B.

A vs C isolates OpenCV against the generator's numpy resize on the same input; C vs B
isolates the input (field or window) with the same resize. Prints one line per pair:
sequences of different length, frames not byte-identical, pixels different, pixels more
than one grey level apart, the largest difference, the mean difference per pixel.
"""
from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np


def compare(preset: str = "test", seed: int = 0, subjects: int | None = None, work=None) -> dict:
    """{pair: counts} for the pairs A-B, A-C, C-B, D-B (see the module docstring), plus `widths`."""
    from gaitgs_lib.data.io import read_sequence
    from gaitgs_lib.data.pretreat import MIN_PIXEL_SUM, preprocess_sequence, pretreat
    from gaitgs_lib.synthgait import generate
    from gaitgs_lib.synthgait.generator import FIELD_W, SYNTHGAIT_PRESETS, _subjects, field_frames
    from gaitgs_lib.synthgait.preprocess import preprocess_walk
    from gaitgs_lib.synthgait.sequence import render_walk

    with tempfile.TemporaryDirectory(prefix="raw-png-") as tmp:
        root = Path(work or tmp)
        out = generate(preset, root / "sg", seed=seed, subjects=subjects, progress=False, raw_png=True, workers=1)
        pretreat(root / "sg-raw", root / "pretreated", progress=False)
        spec = SYNTHGAIT_PRESETS[preset]
        n = subjects or spec.n_subjects
        pairs = {name: dict(sequences=0, other_length=0, frames=0, frames_differ=0, pixels=0, pixels_differ=0,
                            pixels_over_1=0, largest=0, abs_sum=0) for name in ("A-B", "A-C", "C-B", "D-B")}
        scale = []
        for subject, events in _subjects(spec, seed, n):
            for type_ in spec.types:
                for view in spec.views:
                    walk = render_walk(subject, type_, view, seed, cycles=spec.cycles, frame_range=spec.frame_range,
                                       events=events)
                    name = f"{subject.sid}/{type_}/{view}/{view}.pkl"
                    b = read_sequence(out / name)
                    a = read_sequence(root / "pretreated" / name)
                    c = preprocess_walk(field_frames(walk))
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        d, _ = preprocess_sequence(walk.frames)
                    for pair, (x, y) in {"A-B": (a, b), "A-C": (a, c), "C-B": (c, b), "D-B": (d, b)}.items():
                        row = pairs[pair]
                        row["sequences"] += 1
                        if x.shape != y.shape:
                            row["other_length"] += 1
                            continue
                        diff = np.abs(x.astype(np.int64) - y.astype(np.int64))  # [T, 64, 64]
                        row["frames"] += len(diff)
                        row["frames_differ"] += int((diff.reshape(len(diff), -1).max(1) > 0).sum())
                        row["pixels"] += diff.size
                        row["pixels_differ"] += int((diff > 0).sum())
                        row["pixels_over_1"] += int((diff > 1).sum())
                        row["largest"] = max(row["largest"], int(diff.max(initial=0)))
                        row["abs_sum"] += int(diff.sum())
                    # step 3's horizontal scale, int(64 W / h) / W, for the window's W and the field's
                    _, _, w = walk.frames.shape
                    for frame in walk.frames:
                        if int(frame.sum(dtype=np.int64)) <= MIN_PIXEL_SUM:
                            continue
                        rows = np.flatnonzero(frame.any(axis=1))
                        h = rows[-1] - rows[0] + 1
                        scale.append(abs((int(64 * w / h) / w) / (int(64 * FIELD_W / h) / FIELD_W) - 1))
        pairs["widths"] = {"frames": len(scale), "largest": float(max(scale)), "mean": float(np.mean(scale))}
        return pairs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--subjects", type=int, help="fewer subjects than the preset's (faster)")
    ap.add_argument("--work", help="keep the generated and pretreated folders here")
    args = ap.parse_args(argv)
    import cv2

    result = compare(args.preset, args.seed, args.subjects, args.work)
    widths = result.pop("widths")
    print(f"SynthGait {args.preset}, seed {args.seed}; OpenCV {cv2.__version__}, numpy {np.__version__}")
    print(f"step 3's horizontal scale, window vs field: {100 * widths['mean']:.2f} % apart on average, "
          f"{100 * widths['largest']:.2f} % at most ({widths['frames']} frames)")
    for pair, r in result.items():
        print(f"{pair}: {r['other_length']} of {r['sequences']} sequences of another length; "
              f"{r['frames_differ']} of {r['frames']} frames differ; "
              f"{100 * r['pixels_differ'] / max(r['pixels'], 1):.2f} % of pixels "
              f"({100 * r['pixels_over_1'] / max(r['pixels'], 1):.2f} % by more than 1), "
              f"largest {r['largest']}, mean {r['abs_sum'] / max(r['pixels'], 1):.2f} grey levels per pixel")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
