"""The `train` command: `python -m gaitgs_lib train --data ROOT --out RUN [options]`.

User errors print one line (`error: ...`) and exit 2, a diverged run exits 1, Ctrl-C or
SIGTERM exits 130 after saving a checkpoint; none of them prints a traceback.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from contextlib import contextmanager

from .config import ABLATIONS, TRAIN_PRESETS
from .errors import NonFiniteError, TrainingError, TrainingInterrupted
from .run import train

__all__ = ["main"]

_NUMERIC = (("lr", float), ("weight-decay", float), ("total-iters", int), ("p", int), ("k", int),
            ("frames", int), ("log-every", int), ("ckpt-every", int), ("seed", int), ("num-workers", int),
            ("margin", float))


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m gaitgs_lib train",
                                 description="Train GaitGS (CPU, one GPU, or `torchrun --nproc_per_node=K`).")
    ap.add_argument("--preset", help=f"training/model preset: {', '.join(TRAIN_PRESETS)} (default: tiny; "
                                     f"with --resume the run's own)")
    ap.add_argument("--data", required=True, help="dataset root (OpenGait layout + partition.json)")
    ap.add_argument("--out", required=True, help="run directory")
    ap.add_argument("--steps", type=int, help="stop after this iteration (the schedule is unchanged)")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoints/latest.pt")
    ap.add_argument("--overwrite", action="store_true",
                    help="start afresh in an existing run directory (the old run is kept until the new one "
                         "has written its first scheduled checkpoint, --ckpt-every or its last iteration; Ctrl-C or an "
                         "error before that puts the old run back)")
    ap.add_argument("--allow-data-change", action="store_true",
                    help="with --resume: continue on --data that differs from the run's (recorded in config.json)")
    ap.add_argument("--ablation", action="append", default=[], choices=sorted(ABLATIONS),
                    help="switch a block off (repeatable)")
    ap.add_argument("--device", help="cpu, cuda, cuda:1 (default: CUDA when present)")
    ap.add_argument("--no-progress", action="store_true")
    for name, typ in _NUMERIC:
        ap.add_argument(f"--{name}", type=typ, help="override the preset's TrainConfig value")
    ap.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    ap.add_argument("--views", type=int, help="number of view classes of PIEG (14 for OU-MVLP; default: the preset's)")
    return ap


def _overrides(args) -> dict:
    overrides = {}
    for name, _ in _NUMERIC:
        value = getattr(args, name.replace("-", "_"))
        if value is not None:
            overrides[name.replace("-", "_")] = value
    if args.ablation:
        overrides["ablations"] = tuple(dict.fromkeys(args.ablation))
    if args.no_amp:
        overrides["amp"] = False
    if args.views is not None:
        overrides["model_overrides"] = {"views": args.views}
    return overrides


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (`kill`, a scheduler, torchrun stopping its workers) stops like Ctrl-C: the
    last completed iteration is saved. Only in the main thread, where signals can be set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        with _sigterm_as_interrupt():
            result = train(args.preset, args.data, args.out, steps=args.steps, resume=args.resume,
                           overwrite=args.overwrite, device=args.device, progress=not args.no_progress,
                           allow_data_change=args.allow_data_change, **_overrides(args))
    except NonFiniteError as err:
        return _error(str(err), 1)
    except TrainingInterrupted as err:
        print(err.message, file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # before the first iteration (checking or loading the data)
        print("interrupted before training started: nothing was written", file=sys.stderr)
        return 130
    except (TrainingError, ValueError, FileExistsError, FileNotFoundError) as err:
        return _error(str(err), 2)
    except OSError as err:  # permissions, a full disk, a read-only folder: say which file
        return _error(f"{err.strerror or err}: {err.filename or args.out}", 2)
    if result.history and int(os.environ.get("RANK", "0")) == 0:
        last = result.history[-1]
        others = ", ".join(f"{k} {v:.4f}" for k, v in last.items()  # whatever the loss reported
                           if k not in ("iteration", "loss", "lr", "seq_per_s") and isinstance(v, float))
        loss = f"loss {last['loss']:.4f}" if isinstance(last.get("loss"), float) else "loss not finite"
        print(f"iteration {result.iteration}: {loss}" + (f" ({others})" if others else "")
              + f"; checkpoint {result.checkpoint}")
    return 0
