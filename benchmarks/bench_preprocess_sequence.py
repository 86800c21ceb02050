"""Frames per second of `preprocess_sequence` (batched) and `preprocess_frame` (one by one).

    python benchmarks/bench_preprocess_sequence.py [--frames 100] [--seconds 3]

Single thread, CPU time of this process (`time.process_time`, so other jobs on a shared
machine inflate the numbers less than wall time would). Frames are person-like blobs at
the SynthGait raw size (100 x 70) and at CASIA-B's 240 x 320.
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gaitgs_lib.data.pretreat import preprocess_frame, preprocess_sequence  # noqa: E402

# the same person-like test frames as the unit tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_data_pretreat import _blobby as blobby  # noqa: E402


def rate(fn, n_frames, seconds):
    fn()  # warm-up
    t0, n = time.process_time(), 0
    while time.process_time() - t0 < seconds:
        fn()
        n += n_frames
    return n / (time.process_time() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    for H, W in [(100, 70), (240, 320)]:
        seq = np.stack([blobby(rng, H, W) for _ in range(args.frames)])
        seq[rng.integers(0, len(seq), 3)] = 0  # a few empty frames, as in real data
        batched = rate(lambda: preprocess_sequence(seq), len(seq), args.seconds)
        single = rate(lambda: [preprocess_frame(f) for f in seq], len(seq), args.seconds)
        print(f"{H}x{W}, {len(seq)} frames/sequence: preprocess_sequence {batched:8.0f} frames/s, "
              f"preprocess_frame {single:8.0f} frames/s")


if __name__ == "__main__":
    main()
