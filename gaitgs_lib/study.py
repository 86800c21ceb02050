"""The controlled-cue study: which GaitGS block each kind of temporal cue needs (docs/cue-study.md).

One *cell* trains GaitGS `tiny` with one ablation on one cue data set (`synthgait.cues`)
with one seed, then scores it on the set's held-out subjects. The study is every cell of
`DESIGN`: cues x variants x seeds, all with the same recipe and budget.

    python -m gaitgs_lib cue-study                       # the whole study, one run per core, resumable
    python -m gaitgs_lib cue-study --cues long-span --variants full no-global-span --seeds 0

Finished cells are kept in the results file (`data/studies/cue-ablation.json`, a list of
records) and never run again; a cell that was stopped resumes from its last checkpoint
under `runs/cue-ablation/`. `run_cell` is what notebook 08 calls to rerun one cell.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DESIGN", "StudyDesign", "VARIANTS", "cell_key", "cue_data", "evaluate_cue_model", "load_records", "main",
           "cost_table", "markdown_table", "run_cell", "run_study", "shipped_checkpoint"]

VARIANTS = ("full", "no-coarse", "no-mcm", "no-global-span", "no-pieg")
GALLERY = ("nm-01", "nm-02", "nm-03", "nm-04")
PROBES = {"NM": ("nm-05", "nm-06")}


@dataclass(frozen=True)
class StudyDesign:
    """What every cell of the study shares (docs/cue-study.md, "Design"); fixed before the runs."""

    cues: tuple = ("shape", "cycle", "micro", "long-span")
    variants: tuple = VARIANTS
    seeds: tuple = (0, 1, 2)
    preset: str = "tiny"              # model and training preset
    iterations: int = 150             # the whole schedule (lr x 0.1 at 80 %)
    frames: int = 40                  # training clip: ~1.5 strides at 25 fps, so two strides' movements meet
    p: int = 8                        # subjects per batch
    k: int = 2                        # sequences per subject
    data_preset: str = "cue"          # SynthGait preset of the cue sets (40 subjects, 24 train / 16 test)
    data_seed: int = 0
    # calibrated on the full model alone before the study (docs/cue-study.md, "Calibration")
    cue_strength: dict = field(default_factory=lambda: {"shape": 0.25, "cycle": 0.2, "micro": 1.0,
                                                         "long-span": 1.0})

    def train_overrides(self, variant: str, seed: int) -> dict:
        ablations = () if variant == "full" else (variant,)
        return dict(steps=self.iterations, total_iters=self.iterations, frames=self.frames, p=self.p, k=self.k,
                    seed=seed, ablations=ablations, ckpt_every=max(1, self.iterations // 3))


DESIGN = StudyDesign()


def cell_key(record: dict) -> tuple:
    return record["cue"], record["variant"], int(record["seed"])


def _check_cell(cue: str, variant: str, design: StudyDesign) -> None:
    from .synthgait.cues import CUES

    if cue not in CUES:
        raise ValueError(f"cue study: unknown cue {cue!r}; choose from {', '.join(CUES)}")
    if variant not in VARIANTS:
        raise ValueError(f"cue study: unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")


def cue_data(cue: str, design: StudyDesign = DESIGN, root="data", progress: bool = False) -> Path:
    """The cue set of `cue` at the design's size and strength, generated first when missing."""
    from .synthgait.generator import ensure_synthgait

    return ensure_synthgait(design.data_preset, root=root, seed=design.data_seed, progress=progress, cue=cue,
                            cue_strength=design.cue_strength[cue])


def evaluate_cue_model(model, data, batch_size: int = 32, num_workers: int | None = None) -> dict:
    """Rank-1 (%) of held-out subjects: probes nm-05/06 against gallery nm-01..04, other views only.

    num_workers: the embedding's loader processes (None: the evaluator's default; the study's
    cells use 0, one process per cell)."""
    from .data.dataset import GaitDataset
    from .evaluation import extract_embeddings
    from .evaluation.protocols import cross_view_protocol

    ds = GaitDataset(data, split="test", cache=True, size=tuple(model.cfg.input_hw))
    emb = extract_embeddings(model, ds, batch_size=batch_size, progress=False, num_workers=num_workers)
    res = cross_view_protocol(emb["embeddings"], emb["sids"], emb["types"], emb["views"], GALLERY, PROBES,
                              protocol="cue-study")
    return {"rank1": round(float(res["mean"]["NM"]), 2),
            "per_view": [round(float(x), 2) for x in res["per_view"]["NM"]], "views": res["views"],
            "num_probes": res["num_probes"]["NM"], "num_subjects": res["num_subjects"]}


def cell_dir(runs: Path, cue: str, variant: str, seed: int) -> Path:
    return Path(runs) / cue / variant / f"seed-{seed}"


def _finished_iteration(run: Path) -> int:
    """The iteration of a run folder's latest checkpoint (-1: none)."""
    import torch

    latest = run / "checkpoints" / "latest.pt"
    if not latest.is_file():
        return -1
    return int(torch.load(latest, map_location="cpu", weights_only=True).get("iteration", -1))


def run_cell(cue: str, variant: str, seed: int, design: StudyDesign = DESIGN, data_root="data",
             runs="runs/cue-ablation", export: Path | None = None, progress: bool = False,
             num_workers: int | None = 0) -> dict:
    """Train and score one cell (resuming a stopped run) -> its record; `export` also saves the weights there.

    A run folder whose checkpoint already holds every iteration is scored without training again."""
    import torch

    from .modeling import load_trained_model
    from .synthgait import load_meta
    from .training import export_checkpoint, read_metrics, train

    _check_cell(cue, variant, design)
    data = cue_data(cue, design, data_root)
    out = cell_dir(Path(runs), cue, variant, seed)
    done = _finished_iteration(out)
    resume = done >= 0
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    if done >= design.iterations:
        checkpoint, iteration, history = out / "checkpoints" / "latest.pt", done, read_metrics(out)
    else:
        result = train(design.preset, data, out, resume=resume, overwrite=out.exists() and not resume,
                       device="cpu", progress=progress, **design.train_overrides(variant, seed))
        checkpoint, iteration, history = result.checkpoint, result.iteration, result.history or read_metrics(out)
    cpu1, wall1 = _cpu_seconds(), time.perf_counter()
    model, _ = load_trained_model(checkpoint, device="cpu")
    scores = evaluate_cue_model(model, data, num_workers=num_workers)
    meta = load_meta(data)
    if export is not None:
        export_checkpoint(checkpoint, export)
    return {
        "cue": cue, "variant": variant, "seed": int(seed), **scores,
        "chance": round(100.0 / scores["num_subjects"], 2),
        "iterations": int(iteration), "frames": design.frames, "batch": [design.p, design.k],
        "preset": design.preset, "final_loss": round(float(history[-1]["loss"]), 4) if history else None,
        "train_cpu_s": round(cpu1 - cpu0, 1), "train_wall_s": round(wall1 - wall0, 1),
        "eval_cpu_s": round(_cpu_seconds() - cpu1, 1), "resumed": resume, "threads": torch.get_num_threads(),
        "data": {k: meta.get(k) for k in ("preset", "seed", "version", "cue", "cue_version", "cue_strength",
                                          "n_subjects", "n_sequences")},
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the evaluation's loader processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def load_records(path) -> list[dict]:
    """The records of a results file (a JSON list); an absent file has none."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        records = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a readable study results file ({exc}); move it aside to start afresh") from exc
    if not isinstance(records, list) or not all(isinstance(r, dict) and {"cue", "variant", "seed", "rank1"} <= set(r)
                                                for r in records):
        raise ValueError(f"{path}: expected a JSON list of records with cue, variant, seed and rank1")
    return records


def markdown_table(records, design: StudyDesign = DESIGN) -> str:
    """The study's results as a markdown table (rows: cues; columns: variants; mean ± sd over seeds,
    Δ against `full`, and the decision rule's verdict), as the README shows it."""
    from .evaluation import summarise_cells

    summary = summarise_cells(records)
    head = "| cue | " + " | ".join(f"`{v}`" for v in design.variants) + " |"
    lines = [head, "| --- |" + " ---: |" * len(design.variants)]
    for cue in design.cues:
        cells = []
        for v in design.variants:
            s = summary.get((cue, v))
            if s is None:
                cells.append("not run")
                continue
            text = f"{s['mean']:.1f} ± {s['sd']:.1f}" if s["n"] > 1 else f"{s['mean']:.1f}"
            if v != "full" and s["verdict"] != "-":
                text += f" ({s['delta']:+.1f}{', **' + s['verdict'] + '**' if s['verdict'] != 'same' else ''})"
            cells.append(text)
        lines.append(f"| `{cue}` | " + " | ".join(cells) + " |")
    seeds = sorted({int(r["seed"]) for r in records})
    lines.append("")
    lines.append(f"Rank-1 % of 16 held-out subjects (chance 6.25 %), mean ± sd over seeds {seeds}; in brackets "
                 "the difference from `full`, in bold where it is a drop or a gain by the rule of docs/cue-study.md "
                 "(at least 5 points and 2 standard errors).")
    return "\n".join(lines)


def cost_table(records, design: StudyDesign = DESIGN) -> str:
    """CPU seconds per cell by variant (median and range; training and scoring, one thread each) as markdown."""
    import numpy as np

    lines = ["| variant | cells | training, CPU s (median, range) | scoring, CPU s (median) |", "| --- | ---: | --- | ---: |"]
    fresh = [r for r in records if not r.get("resumed")]
    for v in design.variants:
        rs = [r for r in fresh if r["variant"] == v]
        if not rs:
            continue
        t = np.array([r["train_cpu_s"] for r in rs])
        e = np.array([r["eval_cpu_s"] for r in rs])
        lines.append(f"| `{v}` | {len(rs)} | {np.median(t):.0f} ({t.min():.0f}-{t.max():.0f}) | {np.median(e):.0f} |")
    total = sum(r["train_cpu_s"] + r["eval_cpu_s"] for r in records)
    lines += ["", f"The whole study: {len(records)} cells, {total / 3600:.2f} CPU hours of training and scoring "
                  f"({', '.join(sorted({r['date'] for r in records}))}; torch {records[0]['torch'] if records else '-'})."]
    return "\n".join(lines)


def _save_records(path: Path, records: list[dict]) -> None:
    from .fileio import atomic_open

    order = {c: i for i, c in enumerate(DESIGN.cues)}, {v: i for i, v in enumerate(VARIANTS)}
    records = sorted(records, key=lambda r: (order[0].get(r["cue"], 99), order[1].get(r["variant"], 99), r["seed"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(r, sort_keys=True) for r in records) + "\n]\n")


def _worker(job) -> dict:
    """One cell in a process of its own, on one thread (the study runs one cell per core)."""
    import torch

    torch.set_num_threads(1)
    cue, variant, seed, design, data_root, runs, export = job
    return run_cell(cue, variant, seed, design, data_root, runs,
                    export=shipped_checkpoint(cue, variant, seed, design, data_root) if export else None)


def shipped_checkpoint(cue: str, variant: str = "full", seed: int = 0, design: StudyDesign = DESIGN,
                       data_root="data") -> Path | None:
    """Where the study keeps a cell's weights: only the full model's first seed, one per cue (~0.7 MB each)."""
    if variant != "full" or seed != design.seeds[0]:
        return None
    return Path(data_root) / "checkpoints" / "cue-study" / f"tiny-full-{cue}.pt"


def run_study(design: StudyDesign = DESIGN, cues=None, variants=None, seeds=None, workers: int = 2,
              out="data/studies/cue-ablation.json", data_root="data", runs="runs/cue-ablation",
              export: bool = True) -> list[dict]:
    """Run every cell not yet in `out` (one process per cell, `workers` at a time); returns all records.

    `export`: save the full model's seed-0 weights of each cue where the study ships them
    (`shipped_checkpoint`); a rerun beside the shipped study passes False.

    The results file is rewritten (atomically) after every finished cell, so stopping the
    study at any point keeps every finished cell.
    """
    import multiprocessing as mp

    cues, variants, seeds = cues or design.cues, variants or design.variants, seeds or design.seeds
    for cue in cues:
        for variant in variants:
            _check_cell(cue, variant, design)
        cue_data(cue, design, data_root, progress=True)            # made once, before the workers start
    out = Path(out)
    records = load_records(out)
    done = {cell_key(r) for r in records}
    jobs = [(c, v, int(s), design, data_root, runs, export) for s in seeds for c in cues for v in variants
            if (c, v, int(s)) not in done]
    shown = os.path.relpath(out) if out.is_absolute() else out        # no machine path in a notebook's output
    print(f"cue study: {len(done)} cells done, {len(jobs)} to run, {workers} at a time -> {shown}", flush=True)
    if not jobs:
        return records
    t0 = time.perf_counter()
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(workers, len(jobs)), maxtasksperchild=1) as pool:
        for i, rec in enumerate(pool.imap_unordered(_worker, jobs), 1):
            records.append(rec)
            _save_records(out, records)
            print(f"[{i}/{len(jobs)}] {rec['cue']:>9} {rec['variant']:<15} seed {rec['seed']}: rank-1 "
                  f"{rec['rank1']:5.1f} %  ({rec['train_cpu_s']:.0f} CPU s training, "
                  f"{time.perf_counter() - t0:.0f} s since start)", flush=True)
    return records


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gaitgs_lib cue-study",
                                 description="Controlled-cue ablation study (docs/cue-study.md).")
    ap.add_argument("--cues", nargs="+", default=None, help=f"default: all ({' '.join(DESIGN.cues)})")
    ap.add_argument("--variants", nargs="+", default=None, help=f"default: all ({' '.join(VARIANTS)})")
    ap.add_argument("--seeds", nargs="+", type=int, default=None, help="default: 0 1 2")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                    help="cells at a time, one thread each (default: up to 2)")
    ap.add_argument("--out", default="data/studies/cue-ablation.json")
    ap.add_argument("--runs", default="runs/cue-ablation", help="where the cells' training runs live")
    ap.add_argument("--data-root", default="data")
    args = ap.parse_args(argv)
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 1
    try:
        run_study(DESIGN, args.cues, args.variants, args.seeds, args.workers, args.out, args.data_root, args.runs)
    except KeyboardInterrupt:
        print(f"cue study: interrupted; finished cells are in {args.out}, the others resume next time",
              file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
