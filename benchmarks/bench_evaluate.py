"""Speed of `python -m gaitgs_lib evaluate`: sequences per second and wall time, end to end.

    python -m benchmarks.bench_evaluate                                # shipped tiny, synthgait-b test split
    python -m benchmarks.bench_evaluate --subjects 5 --compare-to GITREV --batch-size 1 --old-batch-size 1

Each run is the real command in a fresh subprocess (start-up, checkpoint, every test
sequence read and embedded, the protocol, the JSON), timed from the outside: wall time,
sequences/s (test sequences / wall time) and CPU seconds (the process and its DataLoader
workers: robust on a shared machine, where wall time depends on the neighbours).

`--json PATH` writes the table's rows (with `benchmarks/results/NAME.json`, a file a README
table is rendered from; benchmarks/README.md has the schema).

`--compare-to GITREV` also runs the command of that git revision (checked out in a
temporary `git worktree`, removed afterwards) on the same data, alternating old and new
runs, and checks that both print the same result table. `--subjects N` evaluates only the
first N test subjects (a temporary folder of links with its own partition.json), to keep
a slow "before" run short. `--data` may be any dataset in the OpenGait layout.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def subset_dataset(data: Path, subjects: int, folder: Path) -> tuple[Path, int]:
    """A folder of links to the first `subjects` test subjects of `data`, with a partition.json."""
    partition = json.loads((data / "partition.json").read_text())
    test = [str(s) for s in partition["TEST_SET"] if (data / str(s)).is_dir()][:subjects]
    folder.mkdir(parents=True, exist_ok=True)
    for sid in test:
        (folder / sid).symlink_to((data / sid).resolve(), target_is_directory=True)
    (folder / "partition.json").write_text(json.dumps({"TRAIN_SET": [], "TEST_SET": test}))
    return folder, len(test)


def count_sequences(data: Path) -> int:
    test = json.loads((data / "partition.json").read_text())["TEST_SET"]
    return sum(1 for sid in test for _ in (data / str(sid)).glob("*/*/*.pkl"))


def run_evaluate(tree: Path, args, data: Path, out: Path, batch_size: int, workers: int | None) -> dict:
    """Time one `python -m gaitgs_lib evaluate` of the library in `tree`; returns its numbers."""
    cmd = [sys.executable, "-m", "gaitgs_lib", "evaluate", "--checkpoint", str(args.checkpoint),
           "--data", str(data), "--protocol", args.protocol, "--out", str(out), "--no-progress",
           "--batch-size", str(batch_size)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if args.threads:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"error: evaluate failed in {tree} (exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
    table = proc.stdout.split("result written to")[0].strip()
    return {"wall_s": wall, "cpu_s": cpu, "table": table, "result": json.loads(out.read_text())}


def _add_worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(where), rev],
                   check=True, capture_output=True, text=True)
    return where


def _remove_worktree(where: Path) -> None:
    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(where)], capture_output=True)


def _record(name: str, checkpoint: str, runs: list[dict], n: int) -> dict:
    """One row of the table (the fastest run), as the results file holds it."""
    wall = min(r["wall_s"] for r in runs)
    cpu = min(r["cpu_s"] for r in runs)
    return {"command": name, "checkpoint": checkpoint, "sequences": n, "wall_s": wall, "seq_per_s": n / wall,
            "cpu_s": cpu, "seq_per_cpu_s": n / cpu}


def _row(r: dict) -> str:
    return (f"| {r['command']} | {r['sequences']:,} | {r['wall_s']:,.1f} | {r['seq_per_s']:,.1f} | {r['cpu_s']:,.1f} | "
            f"{r['seq_per_cpu_s']:,.1f} |")


def _same_numbers(a: dict, b: dict, keys=("mean", "matrices", "per_view")) -> bool:
    return all(json.dumps(a.get(k), sort_keys=True) == json.dumps(b.get(k), sort_keys=True) for k in keys)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", type=Path, default=REPO / "data/checkpoints/tiny-synthgait-mini.pt")
    ap.add_argument("--data", type=Path, default=REPO / "data/synthgait-b")
    ap.add_argument("--protocol", default="casia-b")
    ap.add_argument("--subjects", type=int, help="evaluate only the first N test subjects")
    ap.add_argument("--batch-size", type=int, default=32, help="--batch-size of the new command")
    ap.add_argument("--workers", type=int, help="--workers of the new command (default: its own)")
    ap.add_argument("--compare-to", metavar="GITREV", help="also time the command of this git revision")
    ap.add_argument("--old-batch-size", type=int, default=1, help="--batch-size of the old command")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each (the fastest is reported)")
    ap.add_argument("--threads", type=int, help="OMP/MKL threads of the evaluate processes")
    ap.add_argument("--json", type=Path, help="write the table's rows here (a results file: benchmarks/README.md)")
    return ap


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    args.checkpoint = args.checkpoint.resolve()
    for path, what in ((args.checkpoint, "--checkpoint"), (args.data / "partition.json", "--data")):
        if not path.exists():
            print(f"error: {what}: {path} does not exist", file=sys.stderr)
            return 2
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        tmp = Path(tmp)
        data = args.data.resolve()
        if args.subjects:
            data, _ = subset_dataset(data, args.subjects, tmp / "data")
        n = count_sequences(data)
        old_tree = _add_worktree(args.compare_to, tmp / "old") if args.compare_to else None
        try:
            new_runs, old_runs = [], []
            for r in range(args.repeats):
                if old_tree is not None:
                    old_runs.append(run_evaluate(old_tree, args, data, tmp / f"old-{r}.json", args.old_batch_size, None))
                new_runs.append(run_evaluate(REPO, args, data, tmp / f"new-{r}.json", args.batch_size, args.workers))
        finally:
            if old_tree is not None:
                _remove_worktree(old_tree)
    print(f"evaluate {args.checkpoint.name} on {args.data} ({n:,} test sequences"
          + (f", first {args.subjects} test subjects" if args.subjects else "") + f"), protocol {args.protocol}, "
          f"fastest of {args.repeats} run(s); load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print("| command | sequences | wall s | sequences/s | CPU s | sequences per CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    if old_runs:
        rows.append(_record(f"{args.compare_to} (--batch-size {args.old_batch_size})", args.checkpoint.name, old_runs, n))
    rows.append(_record(f"this tree (--batch-size {args.batch_size})", args.checkpoint.name, new_runs, n))
    for r in rows:
        print(_row(r))
    if old_runs:
        ratio = min(r["wall_s"] for r in old_runs) / min(r["wall_s"] for r in new_runs)
        cpu_ratio = min(r["cpu_s"] for r in old_runs) / min(r["cpu_s"] for r in new_runs)
        same = _same_numbers(old_runs[0]["result"], new_runs[0]["result"])
        print(f"speed-up: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU; same rank-1 numbers: {same}")
    print(new_runs[0]["table"])
    if args.json:
        from benchmarks.common import results_header, write_results

        record = results_header("bench_evaluate", "benchmarks.bench_evaluate", argv)
        record["machine"] = (record["machine"].rpartition("; load average")[0]
                             + f"; load average {load_before:.1f} before the runs, {os.getloadavg()[0]:.1f} after")
        record.update(rows=rows, same_rank1=_same_numbers(old_runs[0]["result"], new_runs[0]["result"]) if old_runs else None)
        write_results(args.json, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
