"""How close `preprocess_frame` comes to the same steps computed with OpenCV's resize.

    pip install opencv-python-headless   # only for this script; not a dependency
    python benchmarks/compare_pretreat_opencv.py [--frames 200]

OpenGait's pre-processing resizes with `cv2.resize(..., interpolation=cv2.INTER_CUBIC)`.
This script runs docs/protocols.md's five steps once with OpenCV's resize and once with ours,
on person-like blob frames at SynthGait's raw size and CASIA-B's, and prints how many
output frames are identical and the largest / how frequent the pixel differences are.
"""
import argparse
import sys

import numpy as np

from gaitgs_lib.data.pretreat import MIN_PIXEL_SUM, preprocess_frame

try:
    import cv2
except ImportError:  # pragma: no cover
    sys.exit("this comparison needs OpenCV: pip install opencv-python-headless")

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_preprocess_sequence import blobby  # noqa: E402


def with_opencv(img, size=64):
    """docs/protocols.md steps 1-5 with cv2.resize (INTER_CUBIC) for step 3."""
    if int(img.sum(dtype=np.int64)) <= MIN_PIXEL_SUM:
        return None
    rows = np.flatnonzero(img.any(axis=1))
    crop = img[rows[0]: rows[-1] + 1]
    width = int(size * (crop.shape[1] / crop.shape[0]))
    resized = cv2.resize(crop, (width, size), interpolation=cv2.INTER_CUBIC)
    csum = resized.sum(axis=0, dtype=np.int64).cumsum()
    above = np.flatnonzero(2 * csum > csum[-1])
    if above.size == 0 or above[0] == 0:
        return None
    x, half = int(above[0]), size // 2
    return np.pad(resized, ((0, 0), (half, half)))[:, x: x + size]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    print(f"OpenCV {cv2.__version__}")
    for H, W in [(100, 70), (240, 320)]:
        for size in (64, 128):
            n = same = diff_px = total_px = worst = 0
            for _ in range(args.frames):
                img = blobby(rng, H, W)
                ours, ref = preprocess_frame(img, size), with_opencv(img, size)
                assert (ours is None) == (ref is None)
                if ours is None:
                    continue
                d = np.abs(ours.astype(int) - ref.astype(int))
                n, same = n + 1, same + int(d.max() == 0)
                diff_px, total_px, worst = diff_px + int((d > 0).sum()), total_px + d.size, max(worst, int(d.max()))
            print(f"{H}x{W} -> {size}: {same}/{n} frames identical, max |diff| {worst} grey level(s), "
                  f"{100 * diff_px / total_px:.4f}% of pixels differ")


if __name__ == "__main__":
    main()
