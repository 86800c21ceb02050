"""How realistic is SynthGait? Silhouette statistics next to published facts, and the GEI baseline.

    python -m benchmarks.synthgait_realism --data data/synthgait-b [--generate] [--noise-free] [--json out.json]

Every figure of benchmarks/README.md's SynthGait section (except the learned model's, see
synthgait_difficulty.py) is printed by this script:
0. with --generate: (re)creates the dataset (preset --preset, default b) and reports its wall
   and CPU time (this process and its workers); always: the dataset's size on disk, and the
   CPU milliseconds per sequence of rendering (`render_walk`) and of the protocol's
   preprocessing (`preprocess_sequence`), timed one at a time on a sample of sequences;
1. raw-frame statistics of a sample of re-rendered sequences (bounding-box aspect ratio
   height/width per view), the stride length in frames measured from the stored 090
   silhouettes (the width of the lower body peaks twice per stride), and sequence lengths;
2. GEI + nearest neighbour, CASIA-B protocol (test subjects, gallery nm-01..04, identical
   views excluded), per condition and view, and by the angle between probe and gallery view
   (same view, 18, 36, 54 degrees or more);
3. the same baseline on twins only (`gaitgs_lib.evaluation.twins_protocol`: each twin probe
   against a gallery holding only the pair, chance = 50 %);
4. with --noise-free: the GEI baseline on the test subjects re-rendered without any
   silhouette noise (how much of the baseline's difficulty the noise makes).
A learned temporal model should beat (2) by far and (3) clearly; see docs/synthgait-generator.md.

`--results benchmarks/results/synthgait-generation.json` (with --generate) writes the generation
time as a row of the results file that benchmarks/README.md's "Generation time" table is
rendered from (`python scripts/render_tables.py`); run it once per preset, the rows of the
other presets stay.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gaitgs_lib.baselines import gei_embeddings
from gaitgs_lib.data.dataset import GaitDataset
from gaitgs_lib.data.io import write_sequence
from gaitgs_lib.data.pretreat import preprocess_sequence
from gaitgs_lib.evaluation import casia_b_protocol, format_casia_b_table, twins_protocol
from gaitgs_lib.fileio import atomic_open
from gaitgs_lib.synthgait import generate, load_meta, make_subject, render_walk
from gaitgs_lib.synthgait.generator import SYNTHGAIT_PRESETS

CONDITIONS = ("NM", "BG", "CL")


def dumps(obj) -> str:
    """JSON with one line per list of numbers."""
    text = json.dumps(obj, indent=1)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished children (the generator's workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def disk_bytes(root: Path) -> int:
    """Total size of the files under `root` (bytes)."""
    return sum(e.stat().st_size for e in Path(root).rglob("*") if e.is_file())


def _subjects(meta: dict, sids, seed: int | None = None):
    seed = meta["seed"] if seed is None else seed
    twin_of = {b: a for a, b in meta["twins"]}
    return [make_subject(seed, sid, twin_of.get(sid)) for sid in sids]


def per_sequence_ms(meta: dict, n: int = 40) -> dict:
    """CPU ms per sequence of rendering and of preprocessing, one sequence at a time (median over n)."""
    spec = SYNTHGAIT_PRESETS[meta["preset"]]
    rng = np.random.default_rng(0)
    sids = sorted(meta["subjects"])
    render, prep, frames = [], [], []
    for _ in range(n):
        sid = sids[int(rng.integers(len(sids)))]
        typ, view = meta["types"][int(rng.integers(len(meta["types"])))], meta["views"][int(rng.integers(len(meta["views"])))]
        subject = _subjects(meta, [sid])[0]
        t0 = time.process_time()
        r = render_walk(subject, typ, view, meta["seed"], cycles=spec.cycles, frame_range=spec.frame_range)
        t1 = time.process_time()
        preprocess_sequence(r.frames)
        t2 = time.process_time()
        render.append(1e3 * (t1 - t0))
        prep.append(1e3 * (t2 - t1))
        frames.append(len(r.frames))
    return {"render_ms": round(float(np.median(render)), 1), "preprocess_ms": round(float(np.median(prep)), 1),
            "frames_median": float(np.median(frames)), "n": n}


def raw_statistics(meta: dict, n_subjects: int = 12) -> dict:
    """Bounding-box aspect ratio (height / width) of raw silhouettes per view, re-rendered exactly."""
    spec = SYNTHGAIT_PRESETS[meta["preset"]]
    subjects = _subjects(meta, sorted(meta["subjects"])[:n_subjects])
    per_view = {}
    for view in meta["views"]:
        ratios = []
        for s in subjects:
            r = render_walk(s, "nm-01", view, meta["seed"], cycles=spec.cycles, frame_range=spec.frame_range)
            for f in r.frames:
                rows, cols = np.flatnonzero(f.any(1)), np.flatnonzero(f.any(0))
                if len(rows) > 10:
                    ratios.append((rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1))
        per_view[view] = [round(float(np.percentile(ratios, q)), 2) for q in (10, 50, 90)] if ratios else None
    return per_view


def stride_frames(ds: GaitDataset, view: str = "090", max_seqs: int = 300) -> list[float]:
    """Stride length in frames from silhouettes: lower-body width peaks twice per stride."""
    out = []
    idx = [i for i, (v, t) in enumerate(zip(ds.views, ds.types)) if v == view and t.startswith("nm")][:max_seqs]
    for i in idx:
        frames, _ = ds[i]
        x = np.asarray(frames)
        lower = x[:, x.shape[1] * 2 // 3:, :] > 0.5
        width = lower.any(1).sum(1).astype(float)                      # [T]
        w = width - width.mean()
        if len(w) < 40 or not w.any():
            continue
        ac = np.correlate(w, w, "full")[len(w) - 1:]
        ac /= ac[0]
        lags = np.arange(8, min(22, len(w) // 2))                      # a step: 8..21 frames
        step = lags[np.argmax(ac[lags])]
        out.append(2.0 * step)
    return out


def by_view_separation(res: dict) -> dict:
    """Mean rank-1 over probe/gallery view pairs grouped by their angle: 0 (excluded by the protocol), 18, 36, >= 54."""
    views = np.array([int(v) for v in res["views"]])
    sep = np.abs(views[:, None] - views[None, :])
    groups = {"same": sep == 0, "18": sep == 18, "36": sep == 36, ">=54": sep >= 54}
    return {c: {g: round(float(np.nanmean(res["matrices"][c][m])), 1) for g, m in groups.items()}
            for c in res["conditions"]}


def gei_report(root, twins) -> dict:
    """GEI + nearest neighbour on the test split of `root`: CASIA-B table, view separation, twins."""
    ds = GaitDataset(root, split="test", cache=False)
    emb, sids, types, views = gei_embeddings(ds)
    res = casia_b_protocol(emb, sids, types, views)
    out = {"result": res, "rank1": {c: round(res["mean"][c], 1) for c in CONDITIONS},
           "per_view": {c: [round(float(x), 1) for x in res["per_view"][c]] for c in CONDITIONS},
           "by_view_separation": by_view_separation(res)}
    test = set(ds.subjects)
    pairs = [p for p in twins if p[0] in test and p[1] in test]
    if pairs:
        tw = twins_protocol(emb, sids, types, views, pairs)
        out["twins"] = {c: round(tw["mean"][c], 1) for c in CONDITIONS} | {"pairs": len(pairs)}
    return out


def noise_free_copy(root: Path, meta: dict, out: Path) -> Path:
    """The test split of `root` re-rendered without silhouette noise, written in the same layout to `out`."""
    spec = SYNTHGAIT_PRESETS[meta["preset"]]
    test = json.loads((root / "partition.json").read_text())["TEST_SET"]
    for s in _subjects(meta, test):
        for typ in meta["types"]:
            for view in meta["views"]:
                r = render_walk(s, typ, view, meta["seed"], cycles=spec.cycles, frame_range=spec.frame_range,
                                noise=False)
                seq, _ = preprocess_sequence(r.frames)
                write_sequence(out / s.sid / typ / view / f"{view}.pkl", seq)
    shutil.copy(root / "partition.json", out / "partition.json")
    return out


def generation_record(header: dict, meta: dict, generation: dict, disk_gb: float, workers: int,
                      previous: dict | None = None) -> dict:
    """The results file of --results (kind `synthgait_generation`): this run's row, after the rows of
    `previous` (an earlier such file) of other presets. A file typed in from an older table (`source`)
    is not merged into; rows of several runs keep each run's `command`, and the header is this run's."""
    row = {"preset": meta["preset"], "subjects": meta["n_subjects"], "sequences": meta["n_sequences"],
           "frames": meta["frames_kept_total"], "wall_s": generation["wall_s"], "cpu_s": generation["cpu_s"],
           "disk_gb": disk_gb, "command": header["command"]}
    kept = [] if previous is None or previous.get("source") else \
        [r for r in previous["rows"] if r["preset"] != row["preset"] and r.get("command")]
    rows = kept + [row]
    commands = [r["command"] for r in rows]
    return dict(header, command=commands if len(commands) > 1 else commands[0],
                machine=f"{header['machine']}; {workers} worker process{'es' if workers > 1 else ''}",
                generator_version=meta["version"], rows=rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/synthgait-b")
    p.add_argument("--preset", default="b", help="preset for --generate")
    p.add_argument("--generate", action="store_true", help="(re)generate the dataset first and time it")
    p.add_argument("--workers", type=int, default=None, help="generator processes (default: up to 2)")
    p.add_argument("--noise-free", action="store_true", help="also run GEI on a noise-free re-render of the test split")
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    p.add_argument("--results", default=None, metavar="PATH",
                   help="with --generate: put this preset's generation time into this results file "
                        "(benchmarks/results/synthgait-generation.json), keeping the rows of other presets")
    args = p.parse_args(argv)
    if args.results and not args.generate:
        p.error("--results needs --generate (it records the generation time)")
    torch.set_num_threads(1)
    root = Path(args.data)
    report = {}
    if args.generate:
        t0, c0 = time.time(), cpu_seconds()
        generate(args.preset, root, overwrite=True, progress=False, workers=args.workers)
        report["generation"] = {"wall_s": round(time.time() - t0, 1), "cpu_s": round(cpu_seconds() - c0, 1)}
    meta = load_meta(root)
    report.update(preset=meta["preset"], seed=meta["seed"], version=meta["version"],
                  subjects=meta["n_subjects"], sequences=meta["n_sequences"], frames_kept=meta["frames_kept_total"],
                  disk_gb=round(disk_bytes(root) / 1e9, 2))
    if args.results:
        from benchmarks.common import results_header, write_results

        previous = json.loads(Path(args.results).read_text()) if Path(args.results).exists() else None
        header = results_header("synthgait_generation", "benchmarks.synthgait_realism", argv)
        workers = args.workers or min(2, os.cpu_count() or 1)  # generate()'s default
        write_results(args.results, generation_record(header, meta, report["generation"], report["disk_gb"],
                                                      workers, previous))
    report["per_sequence_cpu"] = per_sequence_ms(meta)

    gei = gei_report(root, meta["twins"])
    report["gei_rank1"], report["gei_per_view"] = gei["rank1"], gei["per_view"]
    report["gei_by_view_separation"] = gei["by_view_separation"]
    if "twins" in gei:
        report["gei_twins_rank1"] = gei["twins"]
    if args.noise_free:
        with tempfile.TemporaryDirectory(prefix="synthgait-noise-free-") as tmp:
            clean = gei_report(noise_free_copy(root, meta, Path(tmp)), meta["twins"])
        report["gei_rank1_noise_free"] = clean["rank1"]

    ds = GaitDataset(root, split="test", cache=False)
    lengths = [len(ds[i][0]) for i in range(0, len(ds), 7)]
    strides = stride_frames(ds)
    if strides:
        report["stride_frames"] = {"median": float(np.median(strides)), "p10": float(np.percentile(strides, 10)),
                                   "p90": float(np.percentile(strides, 90)), "n": len(strides)}
    cad = [s["gait"]["cadence"] for s in meta["subjects"].values()]
    report["cadence_steps_per_min"] = {"mean": round(float(np.mean(cad)), 1), "sd": round(float(np.std(cad)), 1)}
    report["stride_frames_from_cadence"] = float(np.median([25 * 120 / c for c in cad]))
    report["sequence_frames_kept"] = {"min": int(np.min(lengths)), "median": float(np.median(lengths)),
                                      "max": int(np.max(lengths)), "range_meta": meta["frames_kept_range"]}
    report["bbox_aspect_h_over_w_p10_median_p90"] = raw_statistics(meta)

    print(format_casia_b_table(gei["result"]))
    print(dumps(report))
    if args.json:
        with atomic_open(args.json, "w") as f:
            f.write(dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
