"""Speed of one GaitGS training step on the CPU, this tree against an older revision, side by side.

One step is what the trainer does per iteration: forward in train mode on P x K sequences
of `--frames` binary silhouettes, the GaitGS loss (batch-all triplet + view cross-entropy,
`gaitgs_lib.losses.GaitGSLoss`), backward. Each measurement runs in its own subprocess
(so that peak memory does not mix), and with `--compare-to REV` the two trees alternate
(old, new, old, new, ...) so that a busy machine slows both alike.

    python -m benchmarks.bench_train_step --presets tiny,small                  # this tree only
    python -m benchmarks.bench_train_step --compare-to HEAD~3 --presets tiny,small --rounds 3
    python -m benchmarks.bench_train_step --presets tiny --profile             # where the time goes
    python -m benchmarks.bench_train_step --presets tiny --threads 1,2         # thread settings

`--compare-to` checks REV out into a temporary `git worktree` (removed afterwards) and runs
its `gaitgs_lib` there. Per (tree, preset, threads) it reports the median over rounds of the
per-step medians: CPU seconds per step (process time, the steadier figure on a shared
machine), wall seconds per step, and the peak memory of the steps (growth of the process's
peak resident set over the resident set before the first step). It also prints the loss and
the gradient norm of the first step of each tree (same seed, same batch) so that one run
shows the two trees compute the same function.

`--json PATH` writes every number; with `--json benchmarks/results/NAME.json` it is the results
file a README table is rendered from (`python scripts/render_tables.py`; the schema is in
benchmarks/README.md).

`--profile` runs the PyTorch profiler over one step (of this tree, and of `--compare-to` first) with
one `record_function` range per block and attributes every backward op to the block whose
forward op created it (autograd sequence numbers): a per-block forward / backward table,
then the top operators. With `--json` it writes the per-block results file
(`benchmarks/results/train-step-profile.json`: kind `bench_train_step_profile`).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Blocks timed by --profile, in forward order (module names of gaitgs_lib's GaitGS).
BLOCKS = ("mgfe.input_conv", "mgfe.uta0", "mgfe.stem_f0", "mgfe.stem_c0", "mgfe.uta1", "mgfe.stem_f1a",
          "mgfe.stem_f1b", "mgfe.stem_c1a", "mgfe.stem_c1b", "mgfe.uta2", "mgfe", "pieg", "hp",
          "msfe_f.mcm", "msfe_f.gcm", "msfe_f", "msfe_c.mcm", "msfe_c.gcm", "msfe_c")
REST = "(loss and the rest)"  # operators outside every block: the loss, and the backward nodes of no block
# The rows of the results file of --profile --json: (label, blocks summed), in forward order.
PROFILE_ROWS = (("input_conv", ("mgfe.input_conv",)), ("uta0, uta1, uta2", ("mgfe.uta0", "mgfe.uta1", "mgfe.uta2")),
                ("stem_f0", ("mgfe.stem_f0",)), ("stem_c0", ("mgfe.stem_c0",)), ("stem_f1a", ("mgfe.stem_f1a",)),
                ("stem_f1b", ("mgfe.stem_f1b",)), ("stem_c1a, stem_c1b", ("mgfe.stem_c1a", "mgfe.stem_c1b")),
                ("mgfe (pooling, sums)", ("mgfe",)), ("pieg", ("pieg",)), ("hp", ("hp",)),
                ("msfe_f (mcm, gcm)", ("msfe_f", "msfe_f.mcm", "msfe_f.gcm")),
                ("msfe_c (mcm, gcm)", ("msfe_c", "msfe_c.mcm", "msfe_c.gcm")), ("loss and the rest", (REST,)))


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _setup(args):
    """(model, step function, loss of the first step, gradient norm of the first step)."""
    import torch

    from gaitgs_lib import GaitGS, get_config
    from gaitgs_lib.losses import GaitGSLoss

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = get_config(args.preset)
    model = GaitGS(cfg).train()
    n = args.p * args.k
    gen = torch.Generator().manual_seed(1)
    sils = (torch.rand(n, args.frames, *cfg.input_hw, generator=gen) > 0.5).float()
    labels = torch.arange(args.p).repeat_interleave(args.k)
    views = torch.randint(0, cfg.views, (n,), generator=gen)
    criterion = GaitGSLoss()

    def step():
        model.zero_grad(set_to_none=True)
        loss, _ = criterion(model(sils), labels, views)
        loss.backward()
        return loss

    torch.manual_seed(2)  # dropout masks of the first step
    loss = float(step().detach())
    grad_norm = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters() if p.grad is not None)))
    return model, step, loss, grad_norm


def worker(args) -> dict:
    """Time `args.repeats` training steps of one preset in this process; return the numbers."""
    import torch

    rss0 = _rss_mb()
    _, step, loss, grad_norm = _setup(args)
    for _ in range(args.warmup):
        step()
    walls, cpus = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"preset": args.preset, "threads": torch.get_num_threads(), "wall_s": statistics.median(walls),
            "cpu_s": statistics.median(cpus), "peak_mb": max(0.0, _maxrss_mb() - rss0),
            "first_loss": loss, "first_grad_norm": grad_norm}


# --------------------------------------------------------------------------------------
# --profile: per-block forward / backward times
# --------------------------------------------------------------------------------------
def profile(args) -> dict:
    """One profiled step: per-block forward / backward operator CPU ms, the top operators, the step's CPU time."""
    import torch
    from torch.autograd.profiler import record_function
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    model, step, _, _ = _setup(args)
    modules = dict(model.named_modules())
    ranges = []

    def enter(name):
        def hook(module, inputs):
            ranges.append(record_function("block::" + name))
            ranges[-1].__enter__()
        return hook

    def leave(module, inputs, output):
        ranges.pop().__exit__(None, None, None)

    for name in BLOCKS:
        if name in modules:
            modules[name].register_forward_pre_hook(enter(name))
            modules[name].register_forward_hook(leave)
    step()
    c0 = time.process_time()
    step()
    unprofiled = time.process_time() - c0
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        step()
        wall = time.perf_counter() - t0
    events = prof.events()

    def block_of(event):
        while event is not None:
            if event.name.startswith("block::"):
                return event.name[len("block::"):]
            event = event.cpu_parent
        return None

    def backward_node(event):
        while event is not None:
            if event.name.startswith("autograd::engine::evaluate_function"):
                return event
            event = event.cpu_parent
        return None

    # A backward node carries the sequence number of the forward op that recorded it.
    seq_block = {}
    for e in events:
        b = block_of(e)
        if b is not None and e.sequence_nr >= 0:
            seq_block.setdefault(e.sequence_nr, b)
    fwd, bwd = {}, {}
    for e in events:
        b = block_of(e)
        if b is not None:
            fwd[b] = fwd.get(b, 0) + e.self_cpu_time_total
            continue
        node = backward_node(e)
        if node is not None:
            b = seq_block.get(node.sequence_nr, REST)
            bwd[b] = bwd.get(b, 0) + e.self_cpu_time_total
        else:
            fwd[REST] = fwd.get(REST, 0) + e.self_cpu_time_total
    total = sum(fwd.values()) + sum(bwd.values())
    averages = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    conv = sum(e.self_cpu_time_total for e in averages if e.key in ("aten::mkldnn_convolution",
                                                                     "aten::convolution_backward"))
    return {"preset": args.preset, "p": args.p, "k": args.k, "frames": args.frames,
            "threads": torch.get_num_threads(), "step_cpu_s": unprofiled, "wall_s": wall, "total_ms": total / 1e3,
            "forward_ms": {b: v / 1e3 for b, v in fwd.items()}, "backward_ms": {b: v / 1e3 for b, v in bwd.items()},
            "conv_share_pct": 100 * conv / total,
            "top": [{"op": e.key, "self_ms": e.self_cpu_time_total / 1e3, "calls": e.count}
                    for e in averages[:args.top]]}


def profile_markdown(prof: dict) -> str:
    """What --profile prints of one profiled step: the per-block table, then the top operators."""
    total = prof["total_ms"]
    lines = [f"Profile of one `{prof['preset']}` training step ({prof['p']}x{prof['k']} sequences x {prof['frames']} "
             f"frames, {prof['threads']} thread(s)): {prof['step_cpu_s']:.2f} CPU s without the profiler, "
             f"{total / 1e3:.2f} s of operator CPU time under it ({prof['wall_s']:.2f} s wall; read the shares). "
             f"A parent block's row counts only what its children do not.", "",
             "| block | forward ms | backward ms | backward / forward | share of step |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for b in list(BLOCKS) + [REST]:
        f, g = prof["forward_ms"].get(b, 0), prof["backward_ms"].get(b, 0)
        if f or g:
            ratio = f"{g / f:.1f}" if f > 0.05 else "-"
            lines.append(f"| {b} | {f:.1f} | {g:.1f} | {ratio} | {100 * (f + g) / total:.1f} % |")
    lines += ["", "| operator | CPU ms (self) | share | calls |", "| --- | ---: | ---: | ---: |"]
    for e in prof["top"]:
        lines.append(f"| `{e['op']}` | {e['self_ms']:.1f} | {100 * e['self_ms'] / total:.1f} % | {e['calls']} |")
    lines += ["", f"Convolutions (forward `mkldnn_convolution` + `convolution_backward`): "
                  f"{prof['conv_share_pct']:.0f} % of the step."]
    return "\n".join(lines)


def profile_record(header: dict, trees: dict, profiles: dict) -> dict:
    """The results file of --profile --json (kind `bench_train_step_profile`): `profiles` maps
    (tree, preset) to what `profile` returned, `trees` the tree ('old', 'new') to its label. A row
    per group of PROFILE_ROWS, [forward, backward] ms per preset and tree."""
    presets = list(dict.fromkeys(preset for _, preset in profiles))
    record = dict(header, presets=presets, trees=trees, unit="ms of operator CPU time, forward / backward", rows=[])
    for label, blocks in PROFILE_ROWS:
        row = {"block": label}
        for (tree, preset), prof in profiles.items():
            row.setdefault(preset, {})[tree] = [sum(prof[part].get(b, 0) for b in blocks)
                                                for part in ("forward_ms", "backward_ms")]
        record["rows"].append(row)
    for key in ("step_cpu_s", "conv_share_pct"):
        record[key] = {}
        for (tree, preset), prof in profiles.items():
            record[key].setdefault(preset, {})[tree] = prof[key]
    return record


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------
def _worker_env(tree: Path, **env_vars) -> dict:
    """The environment of a worker timing `tree`: that tree's gaitgs_lib comes first on the import path.

    A worker is this file run by its path, in `tree`, with `PYTHONPATH=tree`: the timing code is this
    tree's and the library the tree's under test. (`python -m benchmarks.bench_train_step` in `tree`
    would run that tree's copy of this file instead.) Its module level imports nothing but the
    standard library, so the other tree needs no `benchmarks/` of its own.
    """
    return dict(os.environ, PYTHONPATH=str(tree), **env_vars)


def _run_worker(tree: Path, args, preset: str, threads: int, env_vars: dict) -> dict | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--preset", preset, "--threads", str(threads),
           "--p", str(args.p), "--k", str(args.k), "--frames", str(args.frames),
           "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_worker_env(tree, **env_vars), cwd=tree)
    if proc.returncode != 0:
        print(f"[{tree} {preset} threads={threads}] failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _git(*cmd, cwd=REPO) -> str:
    return subprocess.run(["git", *cmd], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _machine() -> str:
    from benchmarks.common import describe  # the driver's import: a worker imports only gaitgs_lib

    return describe(with_gpu=False)


def _median(rows, key):
    return statistics.median(r[key] for r in rows)


def _settings(args) -> list[tuple[str, int, dict]]:
    """(label, threads, environment variables) for every thread count x environment variant."""
    out = []
    for variant in args.env_variants.split(";"):
        env = dict(item.split("=", 1) for item in variant.split() if item != "default")
        for threads in args.threads:
            label = f"{threads} thread{'s' if threads > 1 else ''}" + "".join(f", {k}={v}" for k, v in env.items())
            out.append((label, threads, env))
    return out


def compare(args, argv=None) -> dict:
    """Alternate the trees over `args.rounds` rounds; print markdown tables; return the numbers."""
    trees = {"new": REPO}
    tmp = None
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    names = {"new": f"this tree ({_git('rev-parse', '--short', 'HEAD')}{', with uncommitted changes' if dirty else ''})"}
    if args.compare_to:
        rev = _git("rev-parse", "--short", args.compare_to)
        tmp = Path(tempfile.mkdtemp(prefix="gaitgs-bench-"))
        _git("worktree", "add", "--detach", str(tmp / "old"), rev)
        trees = {"old": tmp / "old", "new": REPO}
        names["old"] = f"{args.compare_to} ({rev})"
    settings = _settings(args)
    results = {}
    try:
        for rnd in range(args.rounds):
            for preset in args.presets:
                for label, threads, env in settings:
                    for tree in trees:
                        res = _run_worker(trees[tree], args, preset, threads, env)
                        if res is not None:
                            results.setdefault((tree, preset, label), []).append(res)
                            print(f"round {rnd + 1}/{args.rounds} {tree:>3} {preset:<6} {label}: "
                                  f"cpu {res['cpu_s']:.3f} s, wall {res['wall_s']:.3f} s, "
                                  f"peak {res['peak_mb']:.0f} MiB", flush=True)
    finally:
        if tmp is not None:
            _git("worktree", "remove", "--force", str(tmp / "old"))
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"P x K = {args.p} x {args.k} sequences x {args.frames} frames; median of {args.rounds} round(s), "
          f"each the median of {args.repeats} step(s) after {args.warmup} warm-up")
    print(f"machine: {_machine()}")
    for tree, label in names.items():
        print(f"{tree}: {label}")
    print()
    print("| preset | setting | tree | CPU s/step | wall s/step | peak MiB | first-step loss | first-step grad norm |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    from benchmarks.common import results_header

    summary = results_header("bench_train_step", "benchmarks.bench_train_step", argv)
    summary.update(p=args.p, k=args.k, frames=args.frames, repeats=args.repeats, warmup=args.warmup,
                   rounds=args.rounds, trees=names, rows=[], ratios=[])
    for preset in args.presets:
        for label, threads, env in settings:
            for tree in trees:
                rows = results.get((tree, preset, label))
                if not rows:
                    continue
                row = {"preset": preset, "setting": label, "threads": threads, "env": env, "tree": tree,
                       "cpu_s": _median(rows, "cpu_s"), "wall_s": _median(rows, "wall_s"),
                       "peak_mb": _median(rows, "peak_mb"), "first_loss": rows[0]["first_loss"],
                       "first_grad_norm": rows[0]["first_grad_norm"]}
                summary["rows"].append(row)
                print(f"| {preset} | {label} | {tree} | {row['cpu_s']:.3f} | {row['wall_s']:.3f} | "
                      f"{row['peak_mb']:.0f} | {row['first_loss']:.6f} | {row['first_grad_norm']:.6f} |")
    if args.compare_to:
        print()
        print("| preset | setting | CPU time old / new | wall old / new | peak memory new / old | "
              "first-step loss rel. diff | grad norm rel. diff |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for preset in args.presets:
            for label, _, _ in settings:
                pick = {r["tree"]: r for r in summary["rows"] if r["preset"] == preset and r["setting"] == label}
                if "old" not in pick or "new" not in pick:
                    continue
                old, new = pick["old"], pick["new"]
                ratio = {"preset": preset, "setting": label, "cpu": old["cpu_s"] / new["cpu_s"],
                         "wall": old["wall_s"] / new["wall_s"],
                         "memory": new["peak_mb"] / old["peak_mb"] if old["peak_mb"] else float("nan"),
                         "loss_diff": abs(new["first_loss"] - old["first_loss"]) / abs(old["first_loss"]),
                         "grad_diff": abs(new["first_grad_norm"] - old["first_grad_norm"]) / old["first_grad_norm"]}
                summary["ratios"].append(ratio)
                print(f"| {preset} | {label} | **{ratio['cpu']:.2f}x** | **{ratio['wall']:.2f}x** | "
                      f"{ratio['memory']:.2f} | {ratio['loss_diff']:.1e} | {ratio['grad_diff']:.1e} |")
    return summary


def print_profiles(args, argv=None) -> dict | None:
    """--profile: one profiled step per preset and thread count, of this tree (and of --compare-to first).
    Returns the results file of --json (one thread count), or None when a step failed."""
    trees = [("new", "this tree", REPO)]
    tmp = None
    profiles, failed = {}, False
    try:
        if args.compare_to:
            rev = _git("rev-parse", "--short", args.compare_to)
            tmp = Path(tempfile.mkdtemp(prefix="gaitgs-bench-"))
            _git("worktree", "add", "--detach", str(tmp / "old"), rev)
            trees.insert(0, ("old", f"{args.compare_to} ({rev})", tmp / "old"))
        for tree, label, path in trees:
            for preset in args.presets:
                for threads in args.threads:
                    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--profile", "--preset", preset,
                           "--threads", str(threads), "--p", str(args.p), "--k", str(args.k),
                           "--frames", str(args.frames), "--top", str(args.top)]
                    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=path,
                                          env=_worker_env(path))
                    print(f"### {label}\n")
                    if proc.returncode == 0:
                        prof = json.loads(proc.stdout.strip().splitlines()[-1])
                        profiles[(tree, preset)] = prof
                        print(profile_markdown(prof))
                    else:
                        failed = True
                        print(f"failed:\n{proc.stderr[-3000:]}")
                    print()
    finally:
        if tmp is not None:
            _git("worktree", "remove", "--force", str(tmp / "old"))
            shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        return None
    from benchmarks.common import results_header

    header = results_header("bench_train_step_profile", "benchmarks.bench_train_step", argv)
    return profile_record(header, {tree: label for tree, label, _ in trees}, profiles)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,small", help="comma list of model presets (default tiny,small)")
    parser.add_argument("--threads", default="1", help="comma list of torch intra-op thread counts (default 1)")
    parser.add_argument("--env-variants", default="default",
                        help="';'-separated environment settings to time, each 'KEY=VAL ...' or 'default' "
                             "(e.g. 'default;OMP_WAIT_POLICY=PASSIVE;THP_MEM_ALLOC_ENABLE=1')")
    parser.add_argument("--p", type=int, default=8, help="subjects per batch (default 8)")
    parser.add_argument("--k", type=int, default=4, help="sequences per subject (default 4)")
    parser.add_argument("--frames", type=int, default=30, help="frames per sequence (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per subprocess (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--rounds", type=int, default=2, help="subprocesses per tree, alternating the trees")
    parser.add_argument("--compare-to", metavar="GITREV", help="also time this revision (git worktree)")
    parser.add_argument("--profile", action="store_true", help="per-block profile of one step instead (of --compare-to first, if given)")
    parser.add_argument("--top", type=int, default=12, help="operators listed by --profile")
    parser.add_argument("--json", help="write the numbers here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--preset", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.presets = [p.strip() for p in args.presets.split(",") if p.strip()]

    if args.worker:
        args.threads = int(args.threads)
        print(json.dumps(profile(args) if args.profile else worker(args)))
        return 0
    args.threads = [int(t) for t in str(args.threads).split(",") if t.strip()]
    if args.profile:
        if args.json and len(args.threads) > 1:
            parser.error("--profile --json takes one --threads value (the table has a column per preset and tree)")
        record = print_profiles(args, argv)
        if record is None:
            return 1
        summary = record
    else:
        summary = compare(args, argv)
    if args.json:
        from benchmarks.common import write_results

        write_results(args.json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
