"""Speed and memory of GaitGS: our fused model vs the plain reference (gaitgs_lib/modeling/reference.py).

Times a training step (forward + backward, train mode) and inference (eval, inference
mode) of a preset (default `paper`, 4 sequences x 30 frames) on CPU and, when CUDA is
present, on CUDA with and without AMP (float16). Every (device, AMP, implementation)
and mode (train / infer) runs in its own subprocess so that peak-memory numbers do not mix.

    python -m benchmarks.bench_model                       # paper, CPU (+ CUDA if present)
    python -m benchmarks.bench_model --repeats 2 --threads 2 --device cpu
    python -m benchmarks.bench_model --preset tiny --batch 32

Reported per row: sequences/s and ms per step (wall clock, median of the repeats), CPU
seconds per step (process time: robust on a shared machine), the peak memory of one
step (on CUDA `torch.cuda.max_memory_allocated`, on CPU the growth of the process's peak
resident set (ru_maxrss) over the resident set before the first step), and the arithmetic
rate: the step's floating-point operations (counted once with
`torch.utils.flop_counter.FlopCounterMode` on the 'meta' device: convolutions, matrix
products, attention) over its median wall time. `--json PATH` writes every number: with
`--json benchmarks/results/NAME.json` it is the results file a README table is rendered from
(`python scripts/render_tables.py`; the schema is in benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import describe, results_header, write_results

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    """Current resident set size in MiB (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def count_flops(preset: str, batch: int, frames: int, train: bool) -> float:
    """Floating-point operations of one step (forward, plus backward when `train`), on the meta device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from gaitgs_lib import GaitGS, get_config

    cfg = get_config(preset)
    with torch.device("meta"):
        model = GaitGS(cfg).train(train)
    x = torch.empty(batch, frames, *cfg.input_hw, device="meta")
    counter = FlopCounterMode(display=False)
    with counter:
        out = model(x)
        if train:
            (out["embeddings"].float().square().mean() + out["view_logits"].float().logsumexp(-1).mean()).backward()
    return float(counter.get_total_flops())


def worker(args) -> dict:
    """One (device, amp, impl): time train steps and inference; return a dict of numbers."""
    import torch
    import torch.nn.functional as F

    from gaitgs_lib import GaitGS, get_config

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = get_config(args.preset)
    device = torch.device(args.device)
    if args.impl == "fused":
        model = GaitGS(cfg)
    else:
        from gaitgs_lib.modeling.reference import ReferenceGaitGS

        model = ReferenceGaitGS(cfg, channels_last=args.impl == "reference-cl")
    model.to(device)
    x = (torch.rand(args.batch, args.frames, *cfg.input_hw, device=device) > 0.5).float()
    labels = torch.randint(0, cfg.views, (args.batch,), device=device)
    amp = torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16,
                         enabled=args.amp)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def train_step():
        model.train()
        model.zero_grad(set_to_none=True)
        with amp:
            out = model(x)
            loss = out["embeddings"].float().square().mean() + F.cross_entropy(out["view_logits"].float(), labels)
        loss.backward()

    def infer_step():
        model.eval()
        with torch.inference_mode(), amp:
            model(x)

    result = {"device": args.device, "amp": args.amp, "impl": args.impl, "threads": torch.get_num_threads()}
    for mode, step in (("train", train_step), ("infer", infer_step)):
        if mode not in args.modes:
            continue
        rss0 = _rss_mb()
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
        for _ in range(args.warmup):
            step()
        sync()
        walls, cpus = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            sync()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        if device.type == "cuda":
            peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
        else:
            peak = max(0.0, _maxrss_mb() - rss0)
        wall = statistics.median(walls)
        flops = count_flops(args.preset, args.batch, args.frames, train=mode == "train")
        result[mode] = {"wall_s": wall, "wall_min_s": min(walls), "cpu_s": statistics.median(cpus),
                        "seq_per_s": args.batch / wall, "peak_mb": peak, "flops": flops,
                        "tflop_per_s": flops / wall / 1e12}
    return result


def _run_worker(args, device: str, amp: bool, impl: str, mode: str) -> dict | None:
    # The worker runs as a module from the repository root, so that it imports this tree's gaitgs_lib.
    cmd = [sys.executable, "-m", "benchmarks.bench_model", "--worker", "--device", device, "--impl", impl, "--preset", args.preset,
           "--batch", str(args.batch), "--frames", str(args.frames), "--repeats", str(args.repeats),
           "--warmup", str(args.warmup), "--threads", str(args.threads), "--modes", mode]
    if amp:
        cmd.append("--amp")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        print(f"[{device} amp={amp} {impl} {mode}] failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _machine() -> str:
    return describe(with_gpu=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--batch", type=int, default=4, help="sequences per step (default 4)")
    parser.add_argument("--frames", type=int, default=30, help="frames per sequence (default 30)")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps (median reported)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--device", default="all", help="cpu, cuda or all (cpu + cuda when present)")
    parser.add_argument("--impl", default="fused,reference", help="comma list of fused, reference, reference-cl (the reference with channels-last feature maps)")
    parser.add_argument("--modes", nargs="+", default=["train", "infer"], choices=["train", "infer"])
    parser.add_argument("--json", help="write every number here")
    parser.add_argument("--amp", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    import torch

    runs = []
    if args.device in ("cpu", "all"):
        runs.append(("cpu", False))
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        runs += [("cuda", False), ("cuda", True)]
    elif args.device == "cuda":
        print("no CUDA device: nothing to run", file=sys.stderr)
        return 1
    impls = [i.strip() for i in args.impl.split(",") if i.strip()]

    print(f"GaitGS {args.preset}: batch {args.batch} x {args.frames} frames, {args.repeats} timed repeats "
          f"after {args.warmup} warm-up")
    print(f"machine: {_machine()}")
    header = (f"{'device':<6} {'amp':<5} {'impl':<12} {'mode':<6} {'seq/s':>8} {'ms/step':>9} {'cpu s':>7} "
              f"{'peak MiB':>9} {'TFLOP/s':>8}")
    print(header)
    print("-" * len(header))
    results = {}
    for device, amp in runs:
        for impl in impls:
            for mode in args.modes:
                res = _run_worker(args, device, amp, impl, mode)
                if res is None:
                    continue
                r = res[mode]
                results[(device, amp, impl, mode)] = r
                print(f"{device:<6} {str(amp):<5} {impl:<12} {mode:<6} {r['seq_per_s']:>8.2f} "
                      f"{1000 * r['wall_s']:>9.0f} {r['cpu_s']:>7.2f} {r['peak_mb']:>9.0f} "
                      f"{r['tflop_per_s']:>8.3f}", flush=True)
    print()
    ratios = []
    for device, amp in runs:
        for mode in args.modes:
            fused = results.get((device, amp, "fused", mode))
            for other in ("reference", "reference-cl"):
                ref = results.get((device, amp, other, mode))
                if fused and ref:
                    ratios.append({"device": device, "amp": amp, "mode": mode, "against": other,
                                   "wall": ref["wall_s"] / fused["wall_s"], "cpu": ref["cpu_s"] / fused["cpu_s"],
                                   "peak_mb_fused": fused["peak_mb"], "peak_mb_other": ref["peak_mb"]})
                    print(f"{device} amp={amp} {mode}: fused is {ref['wall_s'] / fused['wall_s']:.2f}x {other} "
                          f"(wall), {ref['cpu_s'] / fused['cpu_s']:.2f}x (CPU time); peak memory "
                          f"{fused['peak_mb']:.0f} vs {ref['peak_mb']:.0f} MiB")
    if args.json:
        rows = [{"device": d, "amp": a, "impl": i, "mode": m, **r} for (d, a, i, m), r in results.items()]
        record = results_header("bench_model", "benchmarks.bench_model", argv, with_gpu=True)
        record.update(preset=args.preset, batch=args.batch, frames=args.frames, repeats=args.repeats,
                      warmup=args.warmup, threads=args.threads, rows=rows, ratios=ratios)
        write_results(args.json, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
