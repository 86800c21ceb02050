"""How realistic is SynthGait? Silhouette statistics next to published facts, and the GEI baseline.

    python benchmarks/synthgait_realism.py --data data/synthgait-b [--generate] [--json out.json]

--generate first (re)creates the dataset (preset from meta.json or --preset, default b) and
times it. Then it reports
1. raw-frame statistics of a sample of re-rendered sequences (bounding-box aspect ratio
   height/width per view), the stride length in frames measured from the stored 090
   silhouettes (the width of the lower body peaks twice per stride), and sequence lengths;
2. GEI + nearest neighbour, CASIA-B protocol (test subjects, gallery nm-01..04, identical
   views excluded), per condition;
3. the same baseline on twins only: each twin probe against a gallery holding only the
   pair (chance = 50 %).
A learned temporal model should beat (2) by far and (3) clearly; see docs/synthgait.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gaitgs_lib.baselines import gei_embeddings  # noqa: E402
from gaitgs_lib.data.dataset import GaitDataset  # noqa: E402
from gaitgs_lib.evaluation import casia_b_protocol, format_casia_b_table  # noqa: E402
from gaitgs_lib.synthgait import generate, load_meta, make_subject, render_walk  # noqa: E402
from gaitgs_lib.synthgait.generator import SYNTHGAIT_PRESETS  # noqa: E402


def raw_statistics(meta: dict, n_subjects: int = 12, seed: int | None = None) -> dict:
    """Bounding-box aspect ratio (height / width) of raw silhouettes per view, re-rendered exactly."""
    seed = meta["seed"] if seed is None else seed
    spec = SYNTHGAIT_PRESETS[meta["preset"]]
    twin_of = {b: a for a, b in meta["twins"]}
    sids = sorted(meta["subjects"])[:n_subjects]
    per_view = {}
    for view in meta["views"]:
        ratios = []
        for sid in sids:
            s = make_subject(seed, sid, twin_of.get(sid))
            r = render_walk(s, "nm-01", view, seed, cycles=spec.cycles, frame_range=spec.frame_range)
            for f in r.frames:
                rows, cols = np.flatnonzero(f.any(1)), np.flatnonzero(f.any(0))
                if len(rows) > 10:
                    ratios.append((rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1))
        per_view[view] = [float(np.percentile(ratios, 10)), float(np.median(ratios)), float(np.percentile(ratios, 90))]
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


def twins_rank1(emb, sids, types, views, pairs) -> dict:
    """CASIA-B protocol restricted to each twin pair (gallery = the two twins) -> mean per condition."""
    res = []
    for a, b in pairs:
        idx = [i for i, s in enumerate(sids) if s in (a, b)]
        if not idx:
            continue
        r = casia_b_protocol(emb[idx], [sids[i] for i in idx], [types[i] for i in idx], [views[i] for i in idx])
        res.append(r["mean"])
    return {c: float(np.mean([r[c] for r in res])) for c in ("NM", "BG", "CL")} | {"pairs": len(res)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/synthgait-b")
    p.add_argument("--preset", default="b")
    p.add_argument("--generate", action="store_true", help="(re)generate the dataset first and time it")
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    report = {}
    if args.generate:
        t0 = time.time()
        generate(args.preset, args.data, overwrite=True)
        report["generation_s"] = round(time.time() - t0, 1)
    meta = load_meta(args.data)
    report["preset"], report["seed"], report["version"] = meta["preset"], meta["seed"], meta["version"]
    t0 = time.time()
    ds = GaitDataset(args.data, split="test", cache=False)
    emb, sids, types, views = gei_embeddings(ds, progress=True)
    lengths = []
    for i in range(0, len(ds), 7):
        lengths.append(len(ds[i][0]))
    res = casia_b_protocol(emb, sids, types, views)
    report["gei_rank1"] = res["mean"]
    report["gei_per_view"] = {c: [round(float(x), 1) for x in res["per_view"][c]] for c in res["conditions"]}
    test = set(ds.subjects)
    pairs = [pr for pr in meta["twins"] if pr[0] in test]
    report["twins_rank1_pairwise"] = twins_rank1(emb, sids, types, views, pairs)
    report["gei_eval_s"] = round(time.time() - t0, 1)
    strides = stride_frames(ds)
    report["stride_frames"] = {"median": float(np.median(strides)), "p10": float(np.percentile(strides, 10)),
                               "p90": float(np.percentile(strides, 90)), "n": len(strides)}
    cad = [s["gait"]["cadence"] for s in meta["subjects"].values()]
    report["cadence_steps_per_min"] = {"mean": float(np.mean(cad)), "sd": float(np.std(cad))}
    report["stride_frames_from_cadence"] = float(np.median([25 * 120 / c for c in cad]))
    report["sequence_frames_kept"] = {"min": int(np.min(lengths)), "median": float(np.median(lengths)),
                                      "max": int(np.max(lengths)), "range_meta": meta["frames_kept_range"]}
    report["bbox_aspect_h_over_w_p10_median_p90"] = raw_statistics(meta)

    print(format_casia_b_table(res))
    print(json.dumps(report, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
