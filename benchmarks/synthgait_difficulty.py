"""Does SynthGait have CASIA-B's difficulty for a learned model? Train `tiny`, evaluate NM / BG / CL and twins.

    python -m benchmarks.synthgait_difficulty --data data/synthgait-b --iters 500 --out runs/difficulty-b

1. Train the `tiny` preset (`gaitgs_lib.training.train`, training preset `tiny` with
   `total_iters=--iters`, the lr drop rescaled to 80 %, seed `--seed`) on the train split,
   or load `--checkpoint` instead.
2. Embed every test sequence at the model's input size (`extract_embeddings`, batches of
   equal length, every frame).
3. CASIA-B protocol (gallery nm-01..04, identical views excluded) per condition, and the
   same protocol per twin pair (gallery = the pair, chance 50 %), for the learned model and
   for GEI + nearest neighbour (64x44).
4. Check the targets of docs/synthgait-generator.md ("Covariates"): learned NM > BG > CL with CL at least
   5 points below NM; GEI NM > BG > CL; GEI on twins near chance (within 10 points of 50).
   Exit status 1 when one fails (after printing everything).

The figures in benchmarks/README.md ("Coats that matter") were measured with a float64 GeM
(the flag `--gem-float64` of that day): float32's `clamp(x, 1e-6) ** p` underflowed for a
dead channel once the learned p passed ~7.3 and turned the run to NaN (tiny on
synthgait-b 1.2, iteration ~370). `modeling.pieg.GeM` now divides by each channel's maximum
first, which computes the same function without the underflow, so no flag is needed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from gaitgs_lib.baselines import gei_embeddings
from gaitgs_lib.data.dataset import GaitDataset
from gaitgs_lib.evaluation import casia_b_protocol, extract_embeddings, twins_protocol
from gaitgs_lib.fileio import atomic_open
from gaitgs_lib.modeling import load_trained_model
from gaitgs_lib.synthgait import load_meta
from gaitgs_lib.training import train

CONDITIONS = ("NM", "BG", "CL")


def evaluate(embeddings, sids, types, views, twins) -> dict:
    """CASIA-B rank-1 per condition and the twins protocol of one set of embeddings."""
    res = casia_b_protocol(embeddings, sids, types, views)
    out = {"casia_b": res["mean"], "per_view": {c: [round(float(x), 1) for x in res["per_view"][c]]
                                                for c in res["conditions"]}}
    if twins:
        out["twins"] = twins_protocol(embeddings, sids, types, views, twins)["mean"]
    return out


def targets(learned: dict, gei: dict) -> dict:
    """The checks of the docstring's step 4 -> {name: bool}."""
    lm, gm = learned["casia_b"], gei["casia_b"]
    out = {"learned NM > BG > CL": lm["NM"] > lm["BG"] > lm["CL"],
           "learned CL <= NM - 5": lm["CL"] <= lm["NM"] - 5,
           "GEI NM > BG > CL": gm["NM"] > gm["BG"] > gm["CL"]}
    if "twins" in gei:
        out["GEI twins within 10 of chance"] = all(abs(gei["twins"][c] - 50) <= 10 for c in CONDITIONS)
    return out


def row(name: str, res: dict) -> str:
    c, t = res["casia_b"], res.get("twins", {})
    return (f"| {name} | " + " | ".join(f"{c[k]:.1f}" for k in CONDITIONS) + " | "
            + " | ".join(f"{t[k]:.1f}" if k in t else "-" for k in CONDITIONS) + " |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/synthgait-b")
    ap.add_argument("--out", default="runs/difficulty", help="training run folder (replaced)")
    ap.add_argument("--iters", type=int, default=500, help="training iterations of `tiny`")
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--p", type=int, default=None, help="subjects per batch (default: the preset's 8)")
    ap.add_argument("--checkpoint", default=None, help="evaluate this checkpoint instead of training")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    meta = load_meta(args.data)
    twins = meta.get("twins", [])
    report = {"data": str(args.data), "version": meta["version"], "preset": meta["preset"],
              "data_seed": meta["seed"]}

    checkpoint, t0 = args.checkpoint, time.perf_counter()
    if checkpoint is None:
        result = train("tiny", args.data, args.out, overwrite=True, progress=False, total_iters=args.iters,
                       seed=args.seed, log_every=max(1, args.iters // 20), ckpt_every=args.iters,
                       **({"p": args.p} if args.p else {}))
        checkpoint = result.checkpoint
        report.update(iterations=result.iteration, train_seed=args.seed,
                      train_minutes=round((time.perf_counter() - t0) / 60, 1),
                      final_loss=result.history[-1]["loss"] if result.history else None)
        print(f"trained tiny {result.iteration} iterations in {report['train_minutes']} min, "
              f"final loss {report['final_loss']}")
    report["checkpoint"] = str(checkpoint)
    model, _ = load_trained_model(checkpoint, device="cpu")

    t0 = time.perf_counter()
    ds = GaitDataset(args.data, split="test", cache=False, size=tuple(model.cfg.input_hw))
    emb = extract_embeddings(model, ds, batch_size=64, progress=False)
    learned = evaluate(emb["embeddings"], emb["sids"], emb["types"], emb["views"], twins)
    report["embed_minutes"] = round((time.perf_counter() - t0) / 60, 1)
    gei = evaluate(*gei_embeddings(GaitDataset(args.data, split="test", cache=False)), twins)
    report.update(learned=learned, gei=gei, test_sequences=len(ds), test_subjects=len(set(ds.sids)))
    report["targets"] = targets(learned, gei)

    print(f"SynthGait {meta['version']} ({meta['preset']}, seed {meta['seed']}), {len(set(ds.sids))} test "
          f"subjects, {len(ds)} sequences; rank-1 %, CASIA-B protocol")
    print("| method | NM | BG | CL | twins NM | twins BG | twins CL |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    name = f"GaitGS tiny ({report.get('iterations', '?')} it, seed {args.seed})" if args.checkpoint is None \
        else f"GaitGS ({Path(checkpoint).name})"
    print(row(name, learned))
    print(row("GEI 64x44 + NN", gei))
    for k, ok in report["targets"].items():
        print(f"{'ok  ' if ok else 'FAIL'} {k}")
    if args.json:
        with atomic_open(args.json, "w") as f:
            f.write(json.dumps(report, indent=1) + "\n")
    return 0 if all(report["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
