"""Train the `tiny` preset on synthgait-mini on a CPU within a time budget, then compare it
with the GEI baseline on the CASIA-B protocol (NM / BG / CL) and on the twin pairs alone.

    python -m benchmarks.train_tiny_cpu                      # 15 minutes, the shipped checkpoint
    python -m benchmarks.train_tiny_cpu --minutes 5 --out runs/try --no-ship

1. Calibrate: time a few training steps, then size `total_iters` so that the whole
   schedule (lr x 0.1 at 80 %) fits the budget (`--iters N` skips this).
2. Train (`gaitgs_lib.training.train`, preset `tiny`); a guard stops at 1.1 x the budget
   (also with `--iters`: on a busy machine the schedule may then stop before its lr drop).
3. Evaluate the test subjects: CASIA-B rank-1 (identical views excluded) and the same
   protocol per twin pair (chance 50 %), next to GEI + nearest neighbour at 64x44 and 32x22.
4. Unless `--no-ship`: export the checkpoint without optimizer state to
   `data/checkpoints/tiny-synthgait-mini.pt` and the numbers to `...-mini.json`.

`--data data/synthgait-mini` (the default) is generated first when missing (any
`.../synthgait-<preset>` folder likewise). Exit status 1 when the learned model does not
beat GEI on every condition. CI runs it on a tiny budget (tests/test_benchmarks.py).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]

from gaitgs_lib.baselines import gei_embeddings  # noqa: E402
from gaitgs_lib.data.dataset import GaitDataset  # noqa: E402
from gaitgs_lib.evaluation import (  # noqa: E402
    casia_b_protocol,
    extract_embeddings,
    format_casia_b_table,
    save_result_json,
    twins_protocol,
)
from gaitgs_lib.modeling import load_trained_model  # noqa: E402
from benchmarks.common import dataset_root  # noqa: E402
from gaitgs_lib.training import export_checkpoint, get_train_config, train  # noqa: E402

CONDITIONS = ("NM", "BG", "CL")


def calibrate(data, overrides: dict, steps: int = 6) -> float:
    """Seconds per training step of this recipe on this machine (first step excluded)."""
    times = []
    last = [None]

    def tick(record):
        now = time.perf_counter()
        if last[0] is not None:
            times.append(now - last[0])
        last[0] = now

    with tempfile.TemporaryDirectory() as tmp:
        train("tiny", data, Path(tmp) / "calib", steps=steps, progress=False, callback=tick,
              **{**overrides, "log_every": 1, "ckpt_every": 10_000})
    return sum(times) / len(times)


def evaluate(model, data, twins) -> dict:
    ds = GaitDataset(data, split="test", size=tuple(model.cfg.input_hw))
    t0 = time.perf_counter()
    emb = extract_embeddings(model, ds, progress=False)
    seconds = time.perf_counter() - t0
    args = (emb["embeddings"], emb["sids"], emb["types"], emb["views"])
    return {"casia_b": casia_b_protocol(*args), "twins": twins_protocol(*args, twins),
            "embed_seconds": seconds, "num_sequences": len(ds)}


def gei_baseline(data, twins, size) -> dict:
    ds = GaitDataset(data, split="test", size=size)
    emb = gei_embeddings(ds)
    return {"casia_b": casia_b_protocol(*emb), "twins": twins_protocol(*emb, twins)}


def row(name, res) -> str:
    c, t = res["casia_b"]["mean"], res["twins"]["mean"]
    return (f"| {name} | " + " | ".join(f"{c[k]:.1f}" for k in CONDITIONS) + " | "
            + " | ".join(f"{t[k]:.1f}" for k in CONDITIONS) + " |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO / "data" / "synthgait-mini"))
    ap.add_argument("--out", default=str(REPO / "runs" / "train-tiny-cpu"))
    ap.add_argument("--minutes", type=float, default=15.0, help="training budget (calibrated)")
    ap.add_argument("--iters", type=int, help="total iterations (skips the calibration)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)")
    ap.add_argument("--lr", type=float)
    ap.add_argument("--p", type=int)
    ap.add_argument("--k", type=int)
    ap.add_argument("--frames", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--no-ship", action="store_true", help="do not write data/checkpoints/")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    data = dataset_root(Path(args.data))
    twins = json.loads((data / "meta.json").read_text()).get("twins", [])
    overrides = {k: getattr(args, k) for k in ("lr", "p", "k", "frames", "seed") if getattr(args, k) is not None}

    budget = args.minutes * 60
    if args.iters is None:
        sec = calibrate(data, overrides)
        iters = max(20, int(0.95 * budget / sec))
        print(f"calibration: {sec:.2f} s/step -> {iters} iterations for {args.minutes:g} min")
    else:
        iters = args.iters
    tc = get_train_config("tiny", total_iters=iters, **overrides)
    started = time.perf_counter()

    def guard(record):
        return time.perf_counter() - started < 1.1 * budget  # False stops (checkpoint written)

    result = train("tiny", data, args.out, overwrite=True, callback=guard, log_every=max(1, iters // 100),
                   ckpt_every=max(1, iters // 4), total_iters=iters, milestones=tc.milestones, **overrides)
    train_seconds = time.perf_counter() - started
    print(f"trained {result.iteration} iterations in {train_seconds / 60:.1f} min")

    model, _ = load_trained_model(result.checkpoint, device="cpu")
    learned = evaluate(model, data, twins)
    gei64 = gei_baseline(data, twins, None)
    gei32 = gei_baseline(data, twins, (32, 22))
    print(format_casia_b_table(learned["casia_b"]))
    table = ["| method | NM | BG | CL | twins NM | twins BG | twins CL |", "| --- | --- | --- | --- | --- | --- | --- |",
             row(f"GaitGS tiny ({result.iteration} it)", learned), row("GEI 64x44 + NN", gei64),
             row("GEI 32x22 + NN", gei32)]
    print("\n".join(table))
    beats = {c: learned["casia_b"]["mean"][c] > max(gei64["casia_b"]["mean"][c], gei32["casia_b"]["mean"][c])
             for c in CONDITIONS}
    print("learned model beats GEI on", {c: bool(v) for c, v in beats.items()})

    summary = {
        "command": "python -m benchmarks.train_tiny_cpu " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
                   f"{args.threads} thread(s)",
        "train_config": result.history and json.loads((Path(args.out) / "config.json").read_text())["train_config"],
        "iterations": result.iteration, "train_minutes": train_seconds / 60,
        "final_metrics": result.history[-1] if result.history else None,
        "gaitgs_tiny": learned, "gei_64x44": gei64, "gei_32x22": gei32, "beats_gei": beats,
    }
    save_result_json(summary, Path(args.out) / "result.json")
    if not args.no_ship:
        ship = REPO / "data" / "checkpoints" / "tiny-synthgait-mini.pt"
        export_checkpoint(result.checkpoint, ship)
        save_result_json(summary, ship.with_suffix(".json"))
        print(f"shipped {ship} ({ship.stat().st_size / 1e6:.2f} MB)")
    return 0 if all(beats.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
