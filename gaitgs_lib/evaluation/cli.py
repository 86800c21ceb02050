"""The `evaluate` command: a checkpoint + a dataset's test split + a protocol -> a table (and a JSON).

    python -m gaitgs_lib evaluate --checkpoint data/checkpoints/tiny-synthgait-mini.pt \\
        --data data/synthgait-b --protocol casia-b --out results/tiny-b.json

User errors (a missing or unreadable file, a wrong option, an unwritable `--out`) print
one line starting with `error:` and exit with status 2; arguments are checked before the
model reads a single sequence.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from ..data.dataset import GaitDataset
from ..distance import METRICS
from ..fileio import unwritable
from ..modeling.checkpoint import load_trained_model
from ..runtime import default_device
from .extract import extract_embeddings
from .protocols import PROTOCOLS, run_protocol
from .results import format_result, save_result_json


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a wrong option is one line (no usage block), like every other user error."""

    def error(self, message):
        self.exit(2, f"error: {message} (python -m gaitgs_lib evaluate --help lists the options)\n")


def _parser() -> argparse.ArgumentParser:
    ap = _OneLineParser(prog="python -m gaitgs_lib evaluate",
                        description="Evaluate a checkpoint on the test split of a dataset.")
    ap.add_argument("--checkpoint", required=True, help="a gaitgs training checkpoint, or the authors' (--format opengait)")
    ap.add_argument("--data", required=True, help="dataset root (OpenGait layout + partition.json)")
    ap.add_argument("--protocol", required=True,
                    help=f"one of: {', '.join(PROTOCOLS)} (-excl: probes whose subject is absent from the "
                         f"gallery are excluded instead of counted as failures)")
    ap.add_argument("--preset", help="model preset (needed for --format opengait; checked against ours)")
    ap.add_argument("--format", default="auto", choices=("auto", "gaitgs", "opengait"), help="checkpoint format")
    ap.add_argument("--metric", default="euclidean", choices=METRICS)
    ap.add_argument("--out", help="write the result as JSON to this file")
    ap.add_argument("--device", help="cpu, cuda, ... (default: CUDA when present)")
    ap.add_argument("--batch-size", type=int, default=32,
                    help="sequences of identical length per forward pass (1: one at a time; same results)")
    ap.add_argument("--workers", type=int, default=None, help="DataLoader worker processes (default: one per spare core)")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads of the model (default: PyTorch's; 1 is fastest on a busy machine)")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def check_output_path(out) -> Path:
    """`--out` must name a file we can create: not a folder, under a folder we may write into.

    Checked before evaluating, so a typo does not cost a whole evaluation. Missing parent
    folders are fine (they are created when the result is written).
    """
    path = Path(out)
    if path.is_dir() or str(out).endswith(("/", os.sep)):
        raise ValueError(f"--out {out} is a folder; give a file name, e.g. --out {path / 'result.json'}")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"--out {out}: {parent} is a file, not a folder")
    problem = unwritable(parent)
    if problem:
        raise ValueError(f"--out {out}: {problem}; choose another place")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"--out {out}: the file exists and is read-only")
    return path


def evaluate_checkpoint(checkpoint, data, protocol: str, preset=None, fmt: str = "auto", metric: str = "euclidean",
                        device=None, batch_size: int = 32, progress: bool = True, num_workers=None) -> dict:
    """Load a checkpoint, embed the test split of `data`, run `protocol` -> result dict.

    The result also records the checkpoint, data, preset, the number of test sequences,
    and `extract_seconds` / `sequences_per_second` of the embedding step.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid protocols: {', '.join(PROTOCOLS)}")
    device = torch.device(device) if device is not None else default_device()
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
    model, _ = load_trained_model(checkpoint, device=device, preset=preset, fmt=fmt)
    ds = GaitDataset(data, split="test", cache=False, size=tuple(model.cfg.input_hw))
    if len(ds) == 0:
        raise ValueError(f"{data}: the test split has no sequences (check partition.json's TEST_SET)")
    start = time.perf_counter()
    emb = extract_embeddings(model, ds, device=device, batch_size=batch_size, progress=progress,
                             num_workers=num_workers)
    seconds = time.perf_counter() - start
    if device.type != "cpu":  # distances on the accelerator (OU-MVLP has ~10^5 sequences)
        emb = {**emb, "embeddings": emb["embeddings"].to(device)}
    try:
        result = run_protocol(protocol, emb, metric)
    except ValueError as err:
        raise ValueError(f"{data} (test split: {len(ds)} sequences of {len(ds.subjects)} subjects) "
                         f"cannot be evaluated with {protocol}: {err}") from err
    result.update(checkpoint=str(checkpoint), data=str(data), preset=model.cfg.name, num_sequences=len(ds),
                  extract_seconds=round(seconds, 3), sequences_per_second=round(len(ds) / seconds, 2))
    return result


def _check_not_an_input(out: Path, checkpoint, data) -> None:
    """`--out` must not replace the checkpoint or land inside the dataset it evaluates."""
    target = out.resolve()
    if Path(checkpoint).exists() and target == Path(checkpoint).resolve():
        raise ValueError(f"--out {out} is the --checkpoint: the result would replace the model; choose another file")
    root = Path(data).resolve()
    if Path(data).is_dir() and root in target.parents:
        raise ValueError(f"--out {out} is inside --data {data}: keep results out of the dataset; choose another place")


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _check_args(args) -> None:
    if args.protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {args.protocol!r}; valid protocols: {', '.join(PROTOCOLS)}")
    for name, value, least in (("--batch-size", args.batch_size, 1), ("--workers", args.workers, 0),
                               ("--threads", args.threads, 1)):
        if value is not None and value < least:
            raise ValueError(f"{name} must be at least {least}, got {value}")


def main(argv=None) -> int:
    """`python -m gaitgs_lib evaluate ...`: print the result table; 0 on success, 2 on a user error."""
    args = _parser().parse_args(argv)
    threads = torch.get_num_threads()
    try:
        _check_args(args)
        out = check_output_path(args.out) if args.out else None
        if out is not None:
            _check_not_an_input(out, args.checkpoint, args.data)
        if args.threads:
            torch.set_num_threads(args.threads)
        result = evaluate_checkpoint(args.checkpoint, args.data, args.protocol, preset=args.preset, fmt=args.format,
                                     metric=args.metric, device=args.device, batch_size=args.batch_size,
                                     progress=not args.no_progress, num_workers=args.workers)
        print(format_result(result))
        if out is not None:
            print(f"result written to {save_result_json(result, out)}")
    except (ValueError, OSError) as err:  # FileNotFoundError, PermissionError, ... name the file
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130
    finally:
        torch.set_num_threads(threads)
    return 0
