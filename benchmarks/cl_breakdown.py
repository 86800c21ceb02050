"""Which coats cost a trained model its CL accuracy? CL rank-1 by coat kind and how it is worn.

    python -m benchmarks.cl_breakdown --checkpoint data/checkpoints/small-32-synthgait-b.pt --data data/synthgait-b

Embeds the test split of a SynthGait dataset once, then runs the CASIA-B protocol
(gallery nm-01..04, identical views excluded, the library's `cross_view_protocol`) with the
CL probes split into groups by what `meta.json` records of the subject's coat and of how it
was worn in that session: the coat's kind (jacket, coat, long), its padding, whether the hood
was up, the hands in the pockets, the coat open. Each group's figure is the protocol's mean
over probe views for those probes only, so the groups of one row average (weighted by their
probes) to about the CL figure of the whole table. `--embeddings FILE` caches the embeddings.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from gaitgs_lib.data.dataset import GaitDataset
from gaitgs_lib.evaluation import extract_embeddings
from gaitgs_lib.evaluation.protocols import cross_view_protocol
from gaitgs_lib.modeling import load_trained_model

GALLERY = ("nm-01", "nm-02", "nm-03", "nm-04")
CL = ("cl-01", "cl-02")

# name -> what the group of one CL sequence is, from the subject's coat and that session's wear
GROUPINGS = {
    "kind": lambda coat, wear: coat["kind"],
    "padding (body heights)": lambda coat, wear: "< 0.025" if coat["bulk"] < 0.025 else
                                                 ("0.025-0.035" if coat["bulk"] < 0.035 else ">= 0.035"),
    "hood up": lambda coat, wear: "yes" if wear["hood_up"] else "no",
    "hands in pockets": lambda coat, wear: "yes" if wear["pockets"] else "no",
    "open": lambda coat, wear: "yes" if wear["open"] else "no",
}
ORDER = ("jacket", "coat", "long", "< 0.025", "0.025-0.035", ">= 0.035", "no", "yes")   # row order of the table


def embed(checkpoint, data: Path, cache: Path | None) -> dict:
    if cache is not None and cache.is_file():
        return torch.load(cache, weights_only=False)
    model, _ = load_trained_model(checkpoint, device="cpu")
    emb = extract_embeddings(model, GaitDataset(data, split="test", size=tuple(model.cfg.input_hw)), progress=False)
    if cache is not None:
        torch.save(emb, cache)
    return emb


def breakdown(emb: dict, subjects: dict) -> dict:
    """{grouping: {group: (CL rank-1 %, number of probes)}}, plus "all" for every CL probe."""
    sids = [str(s) for s in emb["sids"]]
    types, views = list(emb["types"]), list(emb["views"])
    out = {}
    for name, group_of in GROUPINGS.items():
        labels = list(types)
        for i, (sid, t) in enumerate(zip(sids, types)):
            if t in CL:
                labels[i] = f"{t}|{group_of(subjects[sid]['coat'], subjects[sid]['coat_wear'][t])}"
        found = {lab.split("|", 1)[1] for lab in labels if "|" in lab}
        groups = sorted(found, key=lambda g: (ORDER.index(g) if g in ORDER else len(ORDER), g))
        probe_sets = {g: [f"{t}|{g}" for t in CL] for g in groups}
        res = cross_view_protocol(emb["embeddings"], sids, labels, views, GALLERY, probe_sets, protocol="cl-breakdown")
        out[name] = {g: (res["mean"][g], res["num_probes"][g]) for g in groups}
    res = cross_view_protocol(emb["embeddings"], sids, types, views, GALLERY, {"CL": list(CL)})
    out["all"] = {"CL": (res["mean"]["CL"], res["num_probes"]["CL"])}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True, type=Path, help="a SynthGait dataset (its meta.json describes the coats)")
    ap.add_argument("--embeddings", type=Path, help="cache file for the test split's embeddings")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    meta_path = args.data / "meta.json"
    if not meta_path.is_file():
        raise SystemExit(f"error: {meta_path} does not exist; --data must be a SynthGait dataset")
    meta = json.loads(meta_path.read_text())
    table = breakdown(embed(args.checkpoint, args.data, args.embeddings), meta["subjects"])
    print(f"CL rank-1 (%) by coat, CASIA-B protocol, SynthGait {meta.get('version')} ({meta.get('preset')}), "
          f"{Path(args.checkpoint).name}")
    print("| grouping | group | CL rank-1 | CL probes |\n| --- | --- | ---: | ---: |")
    for name, groups in table.items():
        for g, (acc, n) in groups.items():
            print(f"| {name} | {g} | {acc:.1f} | {n} |" if np.isfinite(acc) else f"| {name} | {g} | - | {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
