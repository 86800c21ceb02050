"""Ship a trained run as a small checkpoint with its result file beside it.

    python -m benchmarks.ship_model --run runs/small-32-b --data data/synthgait-b \
        --name small-32-synthgait-b --command "python -m gaitgs_lib train --preset small-32 ..."

1. Export `<run>/checkpoints/latest.pt` without optimizer state to
   `data/checkpoints/<name>.pt` (`training.export_checkpoint`).
2. Embed the test split once and compute, from the same embeddings, the CASIA-B table
   (rank-1, identical views excluded), retrieval (rank-k, mAP, mINP: every test sequence
   against the rest) and, on SynthGait, the twins (CASIA-B restricted to each twin pair,
   chance 50 %); the GEI + nearest-neighbour baseline at the model's input size beside it.
3. Write `data/checkpoints/<name>.json`: the data it was trained and tested on (name,
   generator version and seed), the command that trained it, iterations, wall and CPU time
   of the training (from `--train-cpu-seconds` / `--train-wall-seconds` when measured outside
   the run, else from the run's metrics), the machine, and every number above.

`NotebookSetup.checkpoint()` picks up a shipped `*-synthgait-b.pt` for full mode.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from benchmarks.common import describe

REPO = Path(__file__).resolve().parents[1]

from gaitgs_lib.baselines import gei_embeddings  # noqa: E402
from gaitgs_lib.data.dataset import GaitDataset  # noqa: E402
from gaitgs_lib.evaluation import (  # noqa: E402
    casia_b_protocol,
    extract_embeddings,
    format_casia_b_table,
    format_retrieval,
    retrieval_protocol,
    save_result_json,
    twins_protocol,
)
from gaitgs_lib.modeling import load_trained_model  # noqa: E402
from gaitgs_lib.training import export_checkpoint  # noqa: E402
from gaitgs_lib.training.metrics import read_metrics  # noqa: E402


def protocols(embeddings, sids, types, views, twins) -> dict:
    """CASIA-B, retrieval and (when there are twins) the twins protocol on one set of embeddings."""
    out = {"casia_b": casia_b_protocol(embeddings, sids, types, views),
           "retrieval": retrieval_protocol(embeddings, sids)}
    if twins:
        out["twins"] = twins_protocol(embeddings, sids, types, views, twins)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="a training run folder (checkpoints/latest.pt)")
    ap.add_argument("--data", required=True, help="the dataset it was trained on (its test split is used)")
    ap.add_argument("--name", required=True, help="file name in data/checkpoints/, e.g. small-32-synthgait-b")
    ap.add_argument("--command", required=True, help="the one command that trained the run")
    ap.add_argument("--train-cpu-seconds", type=float, help="CPU seconds of the training process")
    ap.add_argument("--train-wall-seconds", type=float, help="wall seconds of the training process")
    ap.add_argument("--out-dir", default=str(REPO / "data" / "checkpoints"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    run, data = Path(args.run), Path(args.data)
    latest = run / "checkpoints" / "latest.pt"
    if not latest.is_file():
        raise SystemExit(f"error: {latest} does not exist; --run must be a training run folder")
    if not (data / "partition.json").is_file():
        raise SystemExit(f"error: --data {data} holds no dataset (no partition.json)")
    config = json.loads((run / "config.json").read_text())
    meta_path = data / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    twins = meta.get("twins", [])

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ship = export_checkpoint(latest, out_dir / f"{args.name}.pt")
    model, info = load_trained_model(ship, device="cpu")
    iteration = info.get("iteration")  # the checkpoint dict: training checkpoints record it

    ds = GaitDataset(data, split="test", size=tuple(model.cfg.input_hw))
    t0 = time.perf_counter()
    emb = extract_embeddings(model, ds, progress=False)
    embed_seconds = time.perf_counter() - t0
    args4 = (emb["embeddings"], emb["sids"], emb["types"], emb["views"])
    learned = protocols(*args4, twins)
    gei = protocols(*gei_embeddings(ds), twins)  # the same test split, at the model's input size

    metrics = read_metrics(run)
    wall = args.train_wall_seconds
    summary = {
        "checkpoint": f"data/checkpoints/{ship.name}",
        "data": {"name": data.name, "generator": meta.get("generator"), "version": meta.get("version"),
                 "seed": meta.get("seed"), "train_subjects": config.get("num_train_subjects"),
                 "test_subjects": len(set(map(str, emb["sids"]))), "test_sequences": len(ds)},
        "command": args.command,
        "preset": model.cfg.name,
        "parameters": sum(p.numel() for p in model.parameters()),
        "iterations": iteration,
        "train_wall_minutes": None if wall is None else wall / 60,
        "train_cpu_minutes": None if args.train_cpu_seconds is None else args.train_cpu_seconds / 60,
        "train_config": config.get("train_config"),
        "final_metrics": metrics[-1] if metrics else None,
        "machine": describe(),
        "embed_seconds": embed_seconds,
        "learned": learned,
        "gei": gei,
    }
    save_result_json(summary, ship.with_suffix(".json"))
    print(format_casia_b_table(learned["casia_b"]))
    print(format_retrieval(learned["retrieval"]))
    if twins:
        print("twins (chance 50):", {k: round(v, 1) for k, v in learned["twins"]["mean"].items()})
    print("GEI:", {k: round(v, 1) for k, v in gei["casia_b"]["mean"].items()})
    print(f"shipped {ship} ({ship.stat().st_size / 1e6:.2f} MB) and {ship.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
