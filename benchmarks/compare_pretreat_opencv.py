"""How far SynthGait 1.x's numpy preprocessing is from OpenGait's (OpenCV), on SynthGait walks.

    python -m benchmarks.compare_pretreat_opencv [--walks 40]

`python -m gaitgs_lib pretreat` gives OpenGait's bytes: its resize is OpenCV's
`INTER_CUBIC`, as in OpenGait's `datasets/pretreatment.py`. The SynthGait generator keeps
its own numpy bicubic resize (`synthgait/preprocess.py`) so that datasets of a generator
version stay byte-identical; this script measures the difference between the two on
rendered walks (random subjects, conditions and views of SynthGait's `mini` preset):
frames kept, frames identical, the largest and the mean pixel difference.
"""
import argparse
import warnings

import cv2
import numpy as np

from gaitgs_lib.data.pretreat import preprocess_sequence
from gaitgs_lib.synthgait import SYNTHGAIT_PRESETS, TYPES, VIEWS, make_subject, render_walk
from gaitgs_lib.synthgait.preprocess import preprocess_walk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--walks", type=int, default=40, help="walks to compare")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"OpenCV {cv2.__version__}, {args.walks} SynthGait walks (mini preset, seed {args.seed})")
    spec, rng = SYNTHGAIT_PRESETS["mini"], np.random.default_rng(args.seed)
    kept_same = frames = identical = diff_px = total_px = worst = 0
    for _ in range(args.walks):
        sid = f"{rng.integers(1, spec.n_subjects + 1):03d}"
        type_, view = TYPES[rng.integers(len(TYPES))], VIEWS[rng.integers(len(VIEWS))]
        walk = render_walk(make_subject(args.seed, sid), type_, view, args.seed,
                           cycles=spec.cycles, frame_range=spec.frame_range).frames
        ours = preprocess_walk(walk)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opencv, _ = preprocess_sequence(walk)
        if ours.shape != opencv.shape:
            continue
        kept_same += 1
        d = np.abs(ours.astype(int) - opencv.astype(int))
        frames += len(d)
        identical += int((d.reshape(len(d), -1).max(1) == 0).sum())
        diff_px, total_px, worst = diff_px + int((d > 0).sum()), total_px + d.size, max(worst, int(d.max()))
    print(f"walks keeping the same frames: {kept_same}/{args.walks}")
    print(f"frames identical: {identical}/{frames} ({100 * identical / max(frames, 1):.1f}%), "
          f"max |diff| {worst} grey level(s), {100 * diff_px / max(total_px, 1):.4f}% of pixels differ")


if __name__ == "__main__":
    main()
