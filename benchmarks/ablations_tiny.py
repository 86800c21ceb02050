"""The paper's ablation study at teaching scale: `tiny`, one run per variant, on one dataset.

    python -m benchmarks.ablations_tiny --steps 300                 # everything, one after another
    python -m benchmarks.ablations_tiny --steps 300 --variants full no-coarse   # a share (run two in parallel)
    python -m benchmarks.ablations_tiny --collect                   # merge finished variants into the JSON
    python -m benchmarks.ablations_tiny --data data/synthgait-b --steps 500 --total-iters 500   # the study on B

Every variant is trained with the same `tiny` training preset, the same seed, the same batch
plan and the same number of iterations (`--steps`); only the switched-off block differs
("full" switches nothing off, so the comparison never mixes budgets). Each run lives in
`runs/ablations-tiny/<variant>/` (resumable: an interrupted variant continues from its last
checkpoint), is exported without optimizer state to `data/checkpoints/tiny-<variant>.pt`,
evaluated with the CASIA-B protocol on the test subjects (and on the twin pairs alone), and
its result is written to `runs/ablations-tiny/<variant>/result.json`. `--collect` (run
automatically after the last variant of an invocation) gathers every finished variant into
`data/checkpoints/ablations-tiny.json`, which notebook 08 reads in quick mode.

Those are the names of the study on `synthgait-mini`. A study on any other dataset folder
`<name>` keeps its own: `runs/ablations-tiny-<name>/<variant>/`,
`data/checkpoints/ablations-tiny-<name>/tiny-<variant>.pt` and
`data/checkpoints/ablations-tiny-<name>.json` (`--study` names it otherwise). Notebook 08
reads the `synthgait-b` study in full mode.

`--data data/synthgait-mini` (the default) is generated first when missing (any
`.../synthgait-<preset>` folder likewise). CI runs it on a tiny budget (tests/test_benchmarks.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]

from gaitgs_lib.fileio import atomic_open  # noqa: E402
from gaitgs_lib.evaluation import casia_b_protocol, extract_embeddings, twins_protocol  # noqa: E402
from gaitgs_lib.modeling import load_trained_model  # noqa: E402
from benchmarks.common import dataset_root  # noqa: E402
from gaitgs_lib.training import ABLATIONS, export_checkpoint, read_metrics, train  # noqa: E402

VARIANTS = ("full",) + tuple(ABLATIONS)  # full, no-coarse, no-mcm, no-global-span, no-pieg
CONDITIONS = ("NM", "BG", "CL")


def _atomic_json(obj, path: Path) -> None:
    with atomic_open(path, "w") as f:
        json.dump(obj, f, indent=2)


def embed_test_split(model, data: Path, batch_size: int = 64, subjects=None, progress: bool = False) -> dict:
    """Test-split embeddings (sequences of equal length share a batch)."""
    from gaitgs_lib.data.dataset import GaitDataset

    ds = GaitDataset(data, split="test", cache=True, size=tuple(model.cfg.input_hw), subjects=subjects)
    return extract_embeddings(model, ds, batch_size=batch_size, progress=progress)


def twins_rank1(emb: dict, twins) -> dict:
    """`evaluation.twins_protocol`: the CASIA-B protocol on each twin pair alone (chance 50 %),
    averaged over the pairs present in the test split."""
    present = [p for p in twins if set(p) <= set(emb["sids"])]
    if not present:
        return {c: None for c in CONDITIONS} | {"pairs": []}
    res = twins_protocol(emb["embeddings"], emb["sids"], emb["types"], emb["views"], present)
    return {**res["mean"], "pairs": [{"pair": k.split("-"), **v} for k, v in res["pairs"].items()]}


def evaluate_variant(ckpt: Path, data: Path, twins) -> dict:
    model, info = load_trained_model(ckpt, device="cpu")
    t0 = time.perf_counter()
    emb = embed_test_split(model, data)
    res = casia_b_protocol(emb["embeddings"], emb["sids"], emb["types"], emb["views"])
    return {
        "rank1": {c: res["mean"][c] for c in CONDITIONS},
        "per_view": {c: [None if np.isnan(x) else float(x) for x in res["per_view"][c]] for c in CONDITIONS},
        "views": res["views"],
        "twins_rank1": twins_rank1(emb, twins),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "embedding_shape": list(emb["embeddings"].shape[1:]),
        "iteration": int(info.get("iteration", -1)),
        "eval_seconds": round(time.perf_counter() - t0, 1),
        "num_test_sequences": len(emb["sids"]),
    }


QUICK_STUDY = "ablations-tiny"  # the study on synthgait-mini: flat names in data/checkpoints/


def study_name(data) -> str:
    """`ablations-tiny` for synthgait-mini (the quick-mode study), `ablations-tiny-<folder>` otherwise."""
    name = Path(data).name
    return QUICK_STUDY if name == "synthgait-mini" else f"{QUICK_STUDY}-{name}"


def run_folder(args, variant: str) -> Path:
    return args.workdir / "runs" / args.study / variant


def checkpoint_path(args, variant: str, relative: bool = False) -> Path:
    """Where the study exports `variant`: data/checkpoints/[<study>/]tiny-<variant>.pt."""
    sub = () if args.study == QUICK_STUDY else (args.study,)
    rel = Path("data", "checkpoints", *sub, f"tiny-{variant}.pt")
    return rel if relative else args.workdir / rel


def run_variant(variant: str, args, twins) -> dict:
    run_dir = run_folder(args, variant)
    ablations = () if variant == "full" else (variant,)
    resume = (run_dir / "checkpoints" / "latest.pt").exists()
    t0 = time.perf_counter()
    result = train("tiny", args.data, run_dir, steps=args.steps, resume=resume, overwrite=not resume and run_dir.exists(),
                   device="cpu", progress=not args.no_progress, seed=args.seed, ablations=ablations,
                   ckpt_every=args.ckpt_every, **({"total_iters": args.total_iters} if args.total_iters and not resume else {}),
                   **({"p": args.p, "k": args.k} if args.p and not resume else {}))
    train_seconds = time.perf_counter() - t0
    ckpt = export_checkpoint(result.checkpoint, checkpoint_path(args, variant))
    res = evaluate_variant(ckpt, Path(args.data), twins)
    history = read_metrics(run_dir)
    res.update(variant=variant, ablations=list(ablations), steps=int(result.iteration),
               train_seconds_this_invocation=round(train_seconds, 1), resumed=resume,
               final_loss=history[-1]["loss"] if history else None,
               train_config=json.loads((run_dir / "config.json").read_text())["train_config"],
               checkpoint=checkpoint_path(args, variant, relative=True).as_posix())
    _atomic_json(res, run_dir / "result.json")
    # the loss curve travels with the results (a few KB): notebook 08 plots it
    _atomic_json(history, run_dir / "metrics.json")
    return res


def data_summary(root: Path) -> dict:
    """What identifies a generated dataset: the generator's own description in meta.json."""
    meta_path = Path(root) / "meta.json"
    if not meta_path.exists():
        return {"root": str(root)}
    meta = json.loads(meta_path.read_text())
    keys = ("generator", "version", "preset", "seed", "cycles_per_sequence", "frames_kept_range", "n_sequences",
            "frames_kept_total")
    return {k: meta[k] for k in keys if k in meta}


def reevaluate(args) -> None:
    """Evaluate the exported checkpoints again on `args.reeval` (e.g. a regenerated dataset)."""
    meta = json.loads((Path(args.reeval) / "meta.json").read_text())
    for v in args.variants:
        run_dir = run_folder(args, v)
        ckpt = checkpoint_path(args, v)
        if not (run_dir / "result.json").exists() or not ckpt.exists():
            print(f"{v}: not trained yet, skipped")
            continue
        res = json.loads((run_dir / "result.json").read_text())
        other = evaluate_variant(ckpt, Path(args.reeval), meta.get("twins", []))
        res["reevaluated"] = {"data": data_summary(Path(args.reeval)), "rank1": other["rank1"],
                              "twins_rank1": other["twins_rank1"], "per_view": other["per_view"]}
        _atomic_json(res, run_dir / "result.json")
        print(f"{v} on {args.reeval}: rank-1 NM/BG/CL " + " / ".join(f"{other['rank1'][c]:.1f}" for c in CONDITIONS),
              flush=True)


def collect(args) -> dict:
    variants = {}
    for v in VARIANTS:
        path = run_folder(args, v) / "result.json"
        if path.exists():
            res = json.loads(path.read_text())
            res["metrics"] = json.loads((path.parent / "metrics.json").read_text())
            variants[v] = res
    steps = sorted({r["steps"] for r in variants.values()})
    totals = sorted({r["train_config"]["total_iters"] for r in variants.values()})
    data_flag = "" if args.study == QUICK_STUDY else f"--data data/{Path(args.data).name} "
    command = (f"python -m benchmarks.ablations_tiny {data_flag}--steps {steps[0]} --total-iters {totals[0]}"
               if len(steps) == 1 and len(totals) == 1 else args.command_line)
    out = {
        "description": f"GaitGS tiny on {Path(args.data).name}, one run per ablation variant, same seed/plan/steps; "
                       "rank-1 (%) by the CASIA-B protocol on the test subjects (identical views excluded); "
                       "twins_rank1: protocol restricted to each twin pair (chance 50 %).",
        "command": command,
        "data": data_summary(Path(args.data)),
        "steps": steps,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores (shared), torch {torch.__version__.split('+')[0]}",
        "variants": variants,
    }
    _atomic_json(out, args.workdir / "data" / "checkpoints" / f"{args.study}.json")
    print(f"collected {list(variants)} -> data/checkpoints/{args.study}.json")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(REPO / "data" / "synthgait-mini"))
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--steps", type=int, default=None, help="iterations per variant (default: the tiny preset's)")
    ap.add_argument("--total-iters", type=int, default=None,
                    help="schedule length (lr milestones scale with it); default: the tiny preset's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--p", type=int, help="subjects per batch (default: the tiny preset's)")
    ap.add_argument("--k", type=int, help="sequences per subject (default: the tiny preset's)")
    ap.add_argument("--workdir", type=Path, default=REPO, help="where runs/ and data/checkpoints/ go (tests)")
    ap.add_argument("--collect", action="store_true", help="only merge finished variants into the JSON")
    ap.add_argument("--reeval", help="evaluate the finished variants' checkpoints again on this dataset root "
                                     "(stored as 'reevaluated' in each result), then collect")
    ap.add_argument("--study", help="name of the study's folders and results file "
                                    "(default: ablations-tiny on synthgait-mini, ablations-tiny-<data folder> otherwise)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    args.study = args.study or study_name(args.data)
    args.command_line = "python -m benchmarks.ablations_tiny " + " ".join(argv if argv is not None else sys.argv[1:])
    torch.set_num_threads(args.threads)
    if args.reeval:
        reevaluate(args)
    elif not args.collect:
        args.data = dataset_root(Path(args.data))
        meta = json.loads((Path(args.data) / "meta.json").read_text())
        for v in args.variants:
            t0 = time.perf_counter()
            res = run_variant(v, args, meta.get("twins", []))
            print(f"{v}: steps {res['steps']} rank-1 NM/BG/CL " + " / ".join(f"{res['rank1'][c]:.1f}" for c in CONDITIONS)
                  + f" | twins " + " / ".join(f"{res['twins_rank1'][c]:.1f}" for c in CONDITIONS if res['twins_rank1'][c] is not None)
                  + f" | {time.perf_counter() - t0:.0f} s", flush=True)
    collect(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
