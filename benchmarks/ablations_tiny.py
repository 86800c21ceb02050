"""The paper's ablation study at teaching scale: `tiny` on synthgait-mini, one run per variant.

    python benchmarks/ablations_tiny.py --steps 300                 # everything, one after another
    python benchmarks/ablations_tiny.py --steps 300 --variants full no-coarse   # a share (run two in parallel)
    python benchmarks/ablations_tiny.py --collect                   # merge finished variants into the JSON

Every variant is trained with the same `tiny` training preset, the same seed, the same batch
plan and the same number of iterations (`--steps`); only the switched-off block differs
("full" switches nothing off, so the comparison never mixes budgets). Each run lives in
`runs/ablations-tiny/<variant>/` (resumable: an interrupted variant continues from its last
checkpoint), is exported without optimizer state to `data/checkpoints/tiny-<variant>.pt`,
evaluated with the CASIA-B protocol on the test subjects (and on the twin pairs alone), and
its result is written to `runs/ablations-tiny/<variant>/result.json`. `--collect` (run
automatically after the last variant of an invocation) gathers every finished variant into
`data/checkpoints/ablations-tiny.json`, which notebook 08 reads.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gaitgs_lib.evaluation import casia_b_protocol, extract_embeddings  # noqa: E402
from gaitgs_lib.training import ABLATIONS, export_checkpoint, load_trained_model, train  # noqa: E402

VARIANTS = ("full",) + tuple(ABLATIONS)  # full, no-coarse, no-mcm, no-global-span, no-pieg
CONDITIONS = ("NM", "BG", "CL")


def _atomic_json(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def embed_test_split(model, data: Path, batch_size: int = 64, subjects=None, progress: bool = False) -> dict:
    """Test-split embeddings, sequences grouped by length (batched only when lengths are equal)."""
    from torch.utils.data import Subset

    from gaitgs_lib.data.dataset import GaitDataset

    ds = GaitDataset(data, split="test", cache=True, size=tuple(model.cfg.input_hw), subjects=subjects)
    order = sorted(range(len(ds)), key=lambda i: ds[i][0].shape[0])  # equal lengths become neighbours
    emb = extract_embeddings(model, Subset(ds, order), batch_size=batch_size, progress=progress)
    back = np.argsort(order)  # dataset order again
    return {"embeddings": emb["embeddings"][torch.from_numpy(back)],
            "sids": [emb["sids"][i] for i in back], "types": [emb["types"][i] for i in back],
            "views": [emb["views"][i] for i in back]}


def twins_rank1(emb: dict, twins) -> dict:
    """CASIA-B rank-1 restricted to each twin pair (gallery and probes of the two twins only; chance 50 %),
    averaged over the pairs present in the test split."""
    sids = np.asarray(emb["sids"])
    per_pair = []
    for a, b in twins:
        keep = np.flatnonzero(np.isin(sids, [a, b]))
        if len(set(sids[keep])) < 2:
            continue
        res = casia_b_protocol(emb["embeddings"][torch.from_numpy(keep)], sids[keep],
                               np.asarray(emb["types"])[keep], np.asarray(emb["views"])[keep])
        per_pair.append({"pair": [a, b], **{c: res["mean"][c] for c in CONDITIONS}})
    out = {c: float(np.mean([p[c] for p in per_pair])) if per_pair else None for c in CONDITIONS}
    out["pairs"] = per_pair
    return out


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


def run_variant(variant: str, args, twins) -> dict:
    run_dir = args.workdir / "runs" / "ablations-tiny" / variant
    ablations = () if variant == "full" else (variant,)
    resume = (run_dir / "checkpoints" / "latest.pt").exists()
    t0 = time.perf_counter()
    result = train("tiny", args.data, run_dir, steps=args.steps, resume=resume, overwrite=not resume and run_dir.exists(),
                   device="cpu", progress=not args.no_progress, seed=args.seed, ablations=ablations,
                   ckpt_every=args.ckpt_every, **({"total_iters": args.total_iters} if args.total_iters and not resume else {}),
                   **({"p": args.p, "k": args.k} if args.p and not resume else {}))
    train_seconds = time.perf_counter() - t0
    ckpt = export_checkpoint(result.checkpoint, args.workdir / "data" / "checkpoints" / f"tiny-{variant}.pt")
    res = evaluate_variant(ckpt, Path(args.data), twins)
    history = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x.strip()]
    res.update(variant=variant, ablations=list(ablations), steps=int(result.iteration),
               train_seconds_this_invocation=round(train_seconds, 1), resumed=resume,
               final_loss=history[-1]["loss"] if history else None,
               train_config=json.loads((run_dir / "config.json").read_text())["train_config"],
               checkpoint=f"data/checkpoints/tiny-{variant}.pt")
    _atomic_json(res, run_dir / "result.json")
    # the loss curve travels with the results (a few KB): notebook 08 plots it
    _atomic_json(history, run_dir / "metrics.json")
    return res


def collect(args) -> dict:
    variants = {}
    for v in VARIANTS:
        path = args.workdir / "runs" / "ablations-tiny" / v / "result.json"
        if path.exists():
            res = json.loads(path.read_text())
            res["metrics"] = json.loads((path.parent / "metrics.json").read_text())
            variants[v] = res
    steps = sorted({r["steps"] for r in variants.values()})
    out = {
        "description": "GaitGS tiny on synthgait-mini, one run per ablation variant, same seed/plan/steps; "
                       "rank-1 (%) by the CASIA-B protocol on the test subjects (identical views excluded); "
                       "twins_rank1: protocol restricted to each twin pair (chance 50 %).",
        "command": args.command_line,
        "data": str(Path(args.data).relative_to(REPO)) if Path(args.data).resolve().is_relative_to(REPO) else str(args.data),
        "steps": steps,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores (shared), torch {torch.__version__.split('+')[0]}",
        "variants": variants,
    }
    _atomic_json(out, args.workdir / "data" / "checkpoints" / "ablations-tiny.json")
    print(f"collected {list(variants)} -> data/checkpoints/ablations-tiny.json")
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
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    args.command_line = "python benchmarks/ablations_tiny.py " + " ".join(argv if argv is not None else sys.argv[1:])
    torch.set_num_threads(args.threads)
    if not args.collect:
        if not Path(args.data).exists():
            from gaitgs_lib.synthgait.generate import ensure_synthgait

            ensure_synthgait("mini", root=Path(args.data).parent)
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
