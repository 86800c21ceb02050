"""Frames per second of the two preprocessing paths (docs/data-and-evaluation.md steps 1-5), on SynthGait walks.

    python -m benchmarks.bench_preprocess_sequence [--frames 100] [--seconds 3] [--json PATH]

- `data.pretreat.preprocess_sequence`: OpenGait's steps with OpenCV's resize, frame by
  frame; what `python -m gaitgs_lib pretreat` runs on real silhouettes.
- `synthgait.preprocess.preprocess_walk`: SynthGait 1.x's numpy path, all frames of a
  walk at once; what the generator runs.

Input: one rendered walk (subject 001, nm-01, 090, with background-subtraction noise) as
the generator sees it (the person window) and pasted into CASIA-B's 240 x 320 field, as
`pretreat` sees real frames. Single thread, CPU time of this process
(`time.process_time`, so other jobs on a shared machine inflate the numbers less than
wall time would). `--json benchmarks/results/preprocess-rates.json` writes the results file that
benchmarks/README.md's table is rendered from (`python scripts/render_tables.py`).
"""
import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from gaitgs_lib.data.pretreat import preprocess_sequence  # noqa: E402
from gaitgs_lib.synthgait import make_subject, render_walk  # noqa: E402
from gaitgs_lib.synthgait.generator import field_frames  # noqa: E402
from gaitgs_lib.synthgait.preprocess import preprocess_walk  # noqa: E402


def rate(fn, n_frames, seconds):
    """Frames per CPU second of `fn()` (one warm-up call, then repeated for `seconds`)."""
    fn()
    t0, n = time.process_time(), 0
    while True:
        fn()
        n += n_frames
        if time.process_time() - t0 >= seconds:
            return n / (time.process_time() - t0)


INPUTS = (("person window", "what the generator sees"), ("CASIA-B field", "what `pretreat` sees"))


def preprocess_record(header: dict, n_frames: int, rates: list[tuple[str, tuple, float, float]]) -> dict:
    """The results file of --json (kind `bench_preprocess_sequence`): `rates` holds
    (input, frame shape, OpenCV frames/s, numpy frames/s) per input."""
    labels = dict(INPUTS)
    rows = [{"input": f"{name}, {shape[0]}x{shape[1]} ({labels[name]})", "opencv_frames_per_s": opencv,
             "numpy_frames_per_s": numpy_} for name, shape, opencv, numpy_ in rates]
    return dict(header, machine=f"{header['machine']}; one CPU thread; OpenCV {cv2.__version__}",
                input_header=f"input (one SynthGait walk, {n_frames} frames)", rows=rows)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100, help="frames of the walk")
    ap.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per measurement")
    ap.add_argument("--json", help="write the rates here (a results file, see benchmarks/README.md)")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    walk = render_walk(make_subject(0, "001"), "nm-01", "090", 0, n_frames=args.frames)
    warnings.simplefilter("ignore")  # a short smoke-test walk may keep < 5 frames
    rates = []
    for (name, _), frames in zip(INPUTS, [walk.frames, field_frames(walk)]):
        opencv = rate(lambda: preprocess_sequence(frames), len(frames), args.seconds)
        numpy_ = rate(lambda: preprocess_walk(frames), len(frames), args.seconds)
        rates.append((name, frames.shape[1:], opencv, numpy_))
        print(f"{name} {frames.shape[1]}x{frames.shape[2]}, {len(frames)} frames: "
              f"preprocess_sequence (OpenCV) {opencv:8.0f} frames/s, "
              f"preprocess_walk (SynthGait, numpy) {numpy_:8.0f} frames/s")
    if args.json:
        from benchmarks.common import results_header, write_results

        header = results_header("bench_preprocess_sequence", "benchmarks.bench_preprocess_sequence", argv)
        write_results(args.json, preprocess_record(header, len(walk.frames), rates))


if __name__ == "__main__":
    main()
