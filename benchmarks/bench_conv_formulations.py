"""Formulations of MGFE's 3-D convolutions on the CPU, timed one against the other (benchmarks/README.md, "Model speed").

For every convolution shape of a preset's MGFE (P x K = 32 sequences x 30 frames), one
convolution forward, its backward to the input, and its backward to the kernel, as:

- `cl`: conv3d on channels-last (NDHWC) tensors: what gaitgs_lib runs on a CPU;
- `ncdhw`: conv3d on NCDHW tensors;
- `frames-in-channels`: the 3 temporal taps folded into the channels (input [n s, 3a, h, w],
  one conv2d with a [b, 3a, 3, 3] kernel; "folding time into the batch");
- `global+local`: one conv3d producing both B3D outputs of a STEM (2b channels) instead of
  two convolutions of b channels (the strip handling of the local branch left out);
- `bf16-fpmath`: `cl` with oneDNN allowed to compute in bfloat16 internally
  (`torch.backends.mkldnn.conv.fp32_precision = "bf16"`): not exact, shown for scale.

Also the arithmetic rate (GFLOP/s, counting 2 x multiply-adds) of `cl`, and with
`--compile` the compile time and step time of `torch.compile(model.mgfe)` against eager.

    python -m benchmarks.bench_conv_formulations --preset tiny
    python -m benchmarks.bench_conv_formulations --preset small --compile

`--json PATH` writes the formulations' table (not the compile times) as a results file:
`--json benchmarks/results/conv-formulations-tiny.json` and `python scripts/render_tables.py`
replace the README's table (the schema is in benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time

import torch
import torch.nn.functional as F

CL = torch.channels_last_3d


def shapes(preset: str, n: int, s: int) -> list[tuple[str, tuple[int, int, int, int, int, int]]]:
    """(layer, (n, a, b, s, h, w)) for the 3x3x3 convolutions of MGFE (global B3D shapes; x2 with the local one)."""
    from gaitgs_lib import get_config

    cfg = get_config(preset)
    c0, c1, c2 = cfg.channels
    h, w = cfg.input_hw
    u = s // 3
    return [("stem_f0", (n, c0, c1, s, h, w)), ("stem_c0", (n, c0, c1, u, h, w)),
            ("stem_f1a", (n, c1, c2, s, h // 2, w // 2)), ("stem_f1b", (n, c2, c2, s, h // 2, w // 2)),
            ("stem_c1a", (n, c1, c2, u, h // 2, w // 2)), ("stem_c1b", (n, c2, c2, u, h // 2, w // 2))]


def _time(fn, repeats: int) -> float:
    fn()  # warm-up: oneDNN builds (JIT-compiles) each primitive on its first call
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _conv_costs(x, weight, grad, conv, repeats: int) -> tuple[float, float, float]:
    """CPU seconds (best of `repeats`) of forward, backward to the input, backward to the kernel."""
    x = x.detach().requires_grad_(True)
    weight = weight.detach().requires_grad_(True)
    fwd = _time(lambda: conv(x, weight), repeats)
    y = conv(x, weight)
    g = grad.reshape(y.shape) if grad.numel() == y.numel() else torch.randn_like(y)
    data = _time(lambda: torch.autograd.grad(y, x, g, retain_graph=True), repeats)
    kernel = _time(lambda: torch.autograd.grad(y, weight, g, retain_graph=True), repeats)
    return fwd, data, kernel


def frames_in_channels(x, weight):
    """conv3d(3x3x3, padding 1) as one conv2d: the frames t-1, t, t+1 stacked into the channels."""
    n, a, s, h, w = x.shape
    padded = F.pad(x, (0, 0, 0, 0, 1, 1))  # [n, a, s+2, h, w]
    stacked = torch.cat([padded[:, :, k:k + s] for k in range(3)], dim=1)  # [n, 3a, s, h, w], tap-major
    stacked = stacked.permute(0, 2, 1, 3, 4).reshape(n * s, 3 * a, h, w).contiguous(memory_format=torch.channels_last)
    kernel = weight.permute(0, 2, 1, 3, 4).reshape(weight.shape[0], 3 * a, 3, 3)  # [b, 3a, 3, 3]
    return F.conv2d(stacked, kernel, padding=1)  # [n s, b, h, w]


def formulations(args) -> list[dict]:
    """Time every formulation of every layer; print the markdown table; return one row per layer (CPU ms)."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"MGFE convolutions of `{args.preset}`, {args.batch} sequences x {args.frames} frames, "
          f"{torch.get_num_threads()} thread(s); CPU ms (best of {args.repeats}): forward / backward to the input / "
          f"backward to the kernel")
    print()
    print("| layer | a -> b | map | cl | ncdhw | frames-in-channels | global+local (2b) vs 2 x cl | "
          "bf16-fpmath | cl GFLOP/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | ---: |")
    rows = []
    for layer, (n, a, b, s, h, w) in shapes(args.preset, args.batch, args.frames):
        x = torch.rand(n, a, s, h, w)
        weight = torch.randn(b, a, 3, 3, 3)
        grad = torch.randn(n, b, s, h, w)
        conv = lambda x, k: F.conv3d(x, k, padding=1)  # noqa: E731
        cl = _conv_costs(x.contiguous(memory_format=CL), weight, grad.contiguous(memory_format=CL), conv,
                         args.repeats)
        nc = _conv_costs(x, weight, grad, conv, args.repeats)
        fr = _conv_costs(x, weight, grad, frames_in_channels, args.repeats)
        two = _conv_costs(x.contiguous(memory_format=CL), torch.randn(2 * b, a, 3, 3, 3),
                          torch.randn(n, 2 * b, s, h, w).contiguous(memory_format=CL), conv, args.repeats)
        torch.backends.mkldnn.conv.fp32_precision = "bf16"
        try:
            bf = _conv_costs(x.contiguous(memory_format=CL), weight, grad.contiguous(memory_format=CL), conv,
                             args.repeats)
        finally:
            torch.backends.mkldnn.conv.fp32_precision = "ieee"
        flops = 2 * n * a * b * s * h * w * 27
        ms = lambda c: [1000 * v for v in c]  # noqa: E731
        row = {"layer": layer, "a": a, "b": b, "map": f"{h}x{w}", "cl": ms(cl), "ncdhw": ms(nc), "frames": ms(fr),
               "one_2b": 1000 * sum(two), "two_ours": 2000 * sum(cl), "bf16": ms(bf),
               "gflop_per_s": 3 * flops / sum(cl) / 1e9}
        rows.append(row)
        fmt = lambda c: " / ".join(f"{v:.0f}" for v in c)  # noqa: E731
        print(f"| {layer} | {a} -> {b} | {h}x{w} | {fmt(row['cl'])} | {fmt(row['ncdhw'])} | {fmt(row['frames'])} | "
              f"{row['one_2b']:.0f} vs {row['two_ours']:.0f} | {fmt(row['bf16'])} | {row['gflop_per_s']:.0f} |")
    totals = sums_ms(rows)
    print()
    print(f"sum over the layers, forward + both backward: cl {totals['cl']:.0f} ms, "
          f"ncdhw {totals['ncdhw']:.0f} ms ({totals['ncdhw'] / totals['cl']:.1f}x), "
          f"frames-in-channels {totals['frames']:.0f} ms ({totals['frames'] / totals['cl']:.1f}x)")
    return rows


def sums_ms(rows: list[dict]) -> dict:
    """Forward + both backward, summed over the layers, per formulation that the sum line compares."""
    return {key: sum(sum(r[key]) for r in rows) for key in ("cl", "ncdhw", "frames")}


def conv_record(header: dict, args, rows: list[dict]) -> dict:
    """The results file of --json (kind `bench_conv_formulations`, rendered by scripts/render_tables.py)."""
    return dict(header, preset=args.preset, batch=args.batch, frames=args.frames, repeats=args.repeats,
                threads=args.threads, unit=f"ms of CPU time, best of {args.repeats}: forward / backward to the input / "
                                           f"backward to the kernel", rows=rows, sums_ms=sums_ms(rows))


def compile_mgfe(args) -> None:
    """Compile time (with an empty compile cache) and MGFE forward + backward CPU time of torch.compile against eager."""
    import os
    import tempfile

    # A fresh cache folder, so that the first step pays the whole compilation (inductor reads
    # this variable when it is first imported, which torch.compile does on its first call).
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="gaitgs-inductor-")
    from gaitgs_lib import GaitGS, get_config

    torch.set_num_threads(args.threads)
    cfg = get_config(args.preset)
    eager = GaitGS(cfg).mgfe.train()
    twin = GaitGS(cfg).mgfe.train()
    twin.load_state_dict(eager.state_dict())
    compiled = torch.compile(twin)
    x = (torch.rand(args.batch, 1, args.frames, *cfg.input_hw) > 0.5).float()

    def step(m):
        fine, coarse = m(x)
        (fine.sum() + coarse.sum()).backward()
        return fine.detach()

    t0, c0 = time.perf_counter(), time.process_time()
    fine = step(compiled)
    print(f"torch.compile(mgfe) on `{args.preset}`: first step (compiling) {time.perf_counter() - t0:.0f} s wall, "
          f"{time.process_time() - c0:.0f} s CPU in this process; largest difference from eager "
          f"{(fine - step(eager)).abs().max().item():.1e}")
    times = {"eager": [], "compiled": []}
    for _ in range(args.repeats):
        for name, m in (("eager", eager), ("compiled", compiled)):
            c0 = time.process_time()
            step(m)
            times[name].append(time.process_time() - c0)
    print(f"MGFE forward + backward, CPU s (best of {args.repeats}): eager {min(times['eager']):.3f}, "
          f"compiled {min(times['compiled']):.3f}")
    shutil.rmtree(os.environ["TORCHINDUCTOR_CACHE_DIR"], ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--batch", type=int, default=32, help="sequences (default 32 = P x K 8 x 4)")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile(model.mgfe) (minutes)")
    ap.add_argument("--json", help="write the formulations' table here (a results file, see benchmarks/README.md)")
    args = ap.parse_args(argv)
    rows = formulations(args)
    if args.json:
        from benchmarks.common import results_header, write_results

        header = results_header("bench_conv_formulations", "benchmarks.bench_conv_formulations", argv)
        write_results(args.json, conv_record(header, args, rows))
    if args.compile:
        print()
        compile_mgfe(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
