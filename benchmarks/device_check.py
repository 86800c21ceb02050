"""The GPU path in one command: CUDA tests, fused-vs-reference speed, a timed training run, its evaluation.

Run it through `bash benchmarks/device_check.sh` (which sets PYTHONPATH and picks the
Python); `--smoke` runs the same stages on a CPU on a tiny budget, so that CI can check the
script does not rot. Stages, each with its own time limit inside one overall deadline
(default 8 minutes), each recorded even when it fails:

1. environment: torch, CUDA device, driver; the Python packages the stages import.
2. cuda_tests: `pytest -m cuda tests` (the tests marked `@pytest.mark.cuda`).
3. benchmark: `python -m benchmarks.bench_model`, fused model vs the plain reference, training step
   and inference, with and without AMP (float16) on CUDA: sequences/s, peak memory, ratio.
4. dataset: SynthGait-b (`python -m gaitgs_lib synth --preset b`, with workers) unless present.
5. training: `python -m gaitgs_lib train --preset paper` on it for a fixed wall budget (the run
   is interrupted with SIGINT at the budget; the trainer saves `latest.pt` on interrupt):
   throughput and the loss curve from its `metrics.jsonl`.
6. evaluation: `python -m gaitgs_lib evaluate --checkpoint ... --protocol casia-b`.

Writes `device_check.json` (every number) and `device_check.md` (the tables) plus one log per
stage into `--out` (default `runs/device-check-<time>`), copies the report files into `$OUT`
when that variable names a folder (the device machine's return folder), and prints the
markdown table last. Exit status 0 only when every stage passed.

Environment knobs: DEVICE_CHECK_DEADLINE (seconds, default 480; smoke 170),
DEVICE_CHECK_TRAIN_SECONDS (default 150), DEVICE_CHECK_DATA (dataset folder, default
data/synthgait-b), DEVICE_CHECK_WORKERS (synth and loader processes, default 8).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "numpy", "einops", "tqdm", "matplotlib", "pytest", "gaitgs_lib.training",
            "gaitgs_lib.evaluation", "gaitgs_lib.synthgait")


class Check:
    """Runs the stages against one deadline and records what each did."""

    def __init__(self, out: Path, deadline_s: float, smoke: bool):
        self.out, self.smoke = out, smoke
        self.t0 = time.monotonic()
        self.deadline = self.t0 + deadline_s
        self.stages: dict[str, dict] = {}
        self.env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        if smoke:  # a shared CPU: one intra-op thread is several times faster than two spinning ones
            self.env.setdefault("OMP_NUM_THREADS", "1")

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def run(self, name: str, cmd: list[str], limit_s: float, log: str | None = None,
            interrupt_after_s: float | None = None) -> dict:
        """Run `cmd` with a time limit (SIGINT at `interrupt_after_s` if given); record and return the outcome."""
        log_path = self.out / (log or f"{name}.log")
        limit = min(limit_s, self.left())
        record = {"command": " ".join(map(str, cmd)), "log": log_path.name}
        if limit < 5:
            record.update(status="skipped", reason=f"overall deadline reached ({self.left():.0f} s left)")
            return record
        t0 = time.monotonic()
        with open(log_path, "w") as fh:
            proc = subprocess.Popen([str(c) for c in cmd], cwd=REPO, env=self.env, stdout=fh,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            interrupted = timed_out = False
            while proc.poll() is None:
                now = time.monotonic() - t0
                if interrupt_after_s is not None and not interrupted and now >= min(interrupt_after_s, limit - 60):
                    os.killpg(proc.pid, signal.SIGINT)  # the trainer saves its checkpoint and stops
                    interrupted = True
                if now >= limit:
                    os.killpg(proc.pid, signal.SIGKILL)
                    timed_out = True
                    proc.wait()
                    break
                time.sleep(0.5)
        record.update(seconds=round(time.monotonic() - t0, 1), returncode=proc.returncode,
                      interrupted=interrupted, timed_out=timed_out)
        ok = proc.returncode == 0 or (interrupted and not timed_out)
        record["status"] = "ok" if ok and not timed_out else "failed"
        if timed_out:
            record["reason"] = f"killed at its {limit:.0f} s limit"
        elif not ok:
            record["reason"] = f"exit status {proc.returncode}; last lines: " + _tail(log_path, 5)
        return record


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def environment(check: Check) -> dict:
    """torch and device facts, and which of the stages' imports are missing."""
    import torch

    info = {"status": "ok", "python": sys.version.split()[0], "torch": torch.__version__,
            "cuda_available": torch.cuda.is_available(), "cpu_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(device=props.name, capability=f"{props.major}.{props.minor}",
                    memory_gib=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
        smi = shutil.which("nvidia-smi")
        if smi:
            q = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem",
                                "--format=csv,noheader"], capture_output=True, text=True)
            info["nvidia_smi"] = q.stdout.strip()
    else:
        info["device"] = "CPU (no CUDA GPU visible to torch)"
    missing = []
    for name in PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError as err:
            missing.append(f"{name} ({err})")
    if missing:
        info.update(status="failed", reason="missing Python packages: " + "; ".join(missing)
                    + " (install them, or on a machine without network carry their wheels)")
    return info


def cuda_tests(check: Check) -> dict:
    targets = ["tests/test_model_cuda.py"] if check.smoke else ["tests"]
    junit = check.out / "cuda_tests.xml"
    rec = check.run("cuda_tests", [sys.executable, "-m", "pytest", "-q", "-m", "cuda", *targets,
                                   "-p", "no:cacheprovider", "-rs", f"--junitxml={junit}"], limit_s=150)
    if junit.exists():
        import xml.etree.ElementTree as ET

        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
        counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
        rec.update(counts)
        junit.unlink()
    return rec


def benchmark(check: Check, preset: str, cuda: bool) -> dict:
    out_json = check.out / "benchmark.json"
    if check.smoke:
        args = ["--preset", preset, "--batch", "2", "--repeats", "1", "--warmup", "0", "--device", "cpu",
                "--impl", "fused", "--modes", "train"]
    else:
        args = ["--preset", preset, "--batch", "16", "--repeats", "5", "--warmup", "2",
                "--device", "cuda" if cuda else "cpu", "--impl", "fused,reference"]
    rec = check.run("benchmark", [sys.executable, "-m", "benchmarks.bench_model", *args, "--json", out_json],
                    limit_s=200)
    if out_json.exists():
        rec.update(json.loads(out_json.read_text()))
        out_json.unlink()
    return rec


def dataset(check: Check, data: Path, preset: str) -> dict:
    if (data / "meta.json").exists():
        return {"status": "ok", "path": str(data), "generated": False}
    workers = os.environ.get("DEVICE_CHECK_WORKERS", "1" if check.smoke else "8")
    rec = check.run("dataset", [sys.executable, "-m", "gaitgs_lib", "synth", "--preset", preset, "--out", data,
                                "--workers", workers, "--no-progress"], limit_s=240)
    rec.update(path=str(data), generated=True)
    return rec


def _metrics(run: Path) -> list[dict]:
    rows = []
    path = run / "metrics.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by the interrupt
    return rows


def training(check: Check, data: Path, run: Path, preset: str, device: str) -> dict:
    cmd = [sys.executable, "-m", "gaitgs_lib", "train", "--preset", preset, "--data", data, "--out", run,
           "--device", device, "--overwrite", "--no-progress"]
    if check.smoke:  # two iterations on the `test` SynthGait preset (2 training subjects)
        cmd += ["--steps", "2", "--p", "2", "--k", "2", "--log-every", "1"]
        rec = check.run("training", cmd, limit_s=90)
        budget = None
    else:
        budget = float(os.environ.get("DEVICE_CHECK_TRAIN_SECONDS", 150))
        cmd += ["--steps", "1000000", "--log-every", "10",
                "--num-workers", os.environ.get("DEVICE_CHECK_WORKERS", "8")]
        rec = check.run("training", cmd, limit_s=budget + 90, interrupt_after_s=budget)
    rows = _metrics(run)
    ckpt = run / "checkpoints" / "latest.pt"
    rec.update(budget_s=budget, checkpoint=str(ckpt) if ckpt.exists() else None,
               loss_curve=[[r.get("iteration"), r.get("loss")] for r in rows])
    if rows:
        rec.update(iterations=rows[-1].get("iteration"), last_loss=rows[-1].get("loss"),
                   seq_per_s=[r.get("seq_per_s") for r in rows if r.get("seq_per_s") is not None])
        speeds = rec["seq_per_s"][1:] or rec["seq_per_s"]  # the first window includes start-up
        rec["seq_per_s_median"] = sorted(speeds)[len(speeds) // 2] if speeds else None
    if not ckpt.exists():
        rec.update(status="failed", reason=rec.get("reason", "") + " no checkpoints/latest.pt was written")
    return rec


def evaluation(check: Check, data: Path, ckpt: str | None, device: str) -> dict:
    if not ckpt:
        return {"status": "skipped", "reason": "no checkpoint from the training stage"}
    out_json = check.out / "evaluation.json"
    rec = check.run("evaluation", [sys.executable, "-m", "gaitgs_lib", "evaluate", "--checkpoint", ckpt,
                                   "--data", data, "--protocol", "casia-b", "--device", device,
                                   "--out", out_json, "--no-progress"], limit_s=240)
    lines = (check.out / "evaluation.log").read_text(errors="replace").splitlines() if rec.get("log") else []
    rec["table"] = [line for line in lines if not line.startswith("result written")][-5:]
    if out_json.exists():
        rec["result"] = json.loads(out_json.read_text())
        out_json.unlink()
    return rec


def markdown(report: dict) -> str:
    st = report["stages"]
    env = st.get("environment", {})
    lines = [f"# Device check ({report['mode']}), {report['started']}", "",
             f"Device: {env.get('device')}; torch {env.get('torch')}"
             + (f", CUDA {env.get('cuda')}, driver/clocks: {env.get('nvidia_smi')}" if env.get("cuda") else "")
             + f"; total {report['seconds']:.0f} s.", "",
             "| stage | status | seconds | details |", "| --- | --- | ---: | --- |"]
    for name, rec in st.items():
        detail = rec.get("reason", "")
        if name == "cuda_tests" and "tests" in rec:
            detail = f"{rec['passed']} passed, {rec['failures'] + rec['errors']} failed, {rec['skipped']} skipped"
        if name == "training" and rec.get("iterations") is not None:
            detail = (f"{rec['iterations']} iterations, {rec.get('seq_per_s_median') or 0:.1f} sequences/s, "
                      f"loss {rec['loss_curve'][0][1]:.3f} -> {rec['last_loss']:.3f}")
        if name == "dataset":
            detail = f"{rec.get('path')} ({'generated' if rec.get('generated') else 'present'})"
        lines.append(f"| {name} | {rec.get('status')} | {rec.get('seconds', 0)} | {detail} |")
    bench = st.get("benchmark", {})
    if bench.get("rows"):
        lines += ["", f"Benchmark, preset `{bench['preset']}`, {bench['batch']} sequences x {bench['frames']} frames:",
                  "", "| device | AMP | implementation | mode | sequences/s | ms/step | peak MiB | TFLOP/s |",
                  "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
        for r in bench["rows"]:
            lines.append(f"| {r['device']} | {r['amp']} | {r['impl']} | {r['mode']} | {r['seq_per_s']:.2f} | "
                         f"{1000 * r['wall_s']:.1f} | {r['peak_mb']:.0f} | {r['tflop_per_s']:.2f} |")
        for q in bench.get("ratios", []):
            lines.append(f"\n{q['device']} AMP={q['amp']} {q['mode']}: fused is {q['wall']:.2f}x the {q['against']} "
                         f"(wall); peak memory {q['peak_mb_fused']:.0f} vs {q['peak_mb_other']:.0f} MiB")
    train = st.get("training", {})
    if train.get("loss_curve"):
        curve = train["loss_curve"]
        step = max(1, len(curve) // 12)
        lines += ["", "Loss curve (iteration: loss): " + ", ".join(f"{i}: {l:.3f}" for i, l in curve[::step])]
    ev = st.get("evaluation", {})
    if ev.get("table"):
        lines += ["", "Evaluation (CASIA-B protocol, rank-1 %):", "", "```", *ev["table"], "```"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="CPU, `test` SynthGait preset, `tiny` model, 2 iterations")
    ap.add_argument("--out", help="work and report folder (default runs/device-check-<time>)")
    args = ap.parse_args(argv)
    smoke = args.smoke or os.environ.get("DEVICE_CHECK_SMOKE") == "1"
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = Path(args.out or REPO / "runs" / f"device-check-{started.replace(':', '')}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    check = Check(out, float(os.environ.get("DEVICE_CHECK_DEADLINE", 170 if smoke else 480)), smoke)

    import torch

    cuda = torch.cuda.is_available() and not smoke
    device = "cuda" if cuda else "cpu"
    model_preset, synth_preset = ("tiny", "test") if smoke else ("paper", "b")
    data = Path(os.environ.get("DEVICE_CHECK_DATA", out / "synthgait-test" if smoke else REPO / "data" / "synthgait-b"))
    st = check.stages
    st["environment"] = environment(check)
    if not smoke and not cuda:
        st["environment"].update(status="failed", reason="no CUDA GPU visible to torch; "
                                 "`bash benchmarks/device_check.sh --smoke` is the CPU check")
    if st["environment"]["status"] == "ok":
        st["cuda_tests"] = cuda_tests(check)
        st["benchmark"] = benchmark(check, model_preset, cuda)
        st["dataset"] = dataset(check, data, synth_preset)
        if st["dataset"]["status"] == "ok":
            st["training"] = training(check, data, out / "run", model_preset, device)
            st["evaluation"] = evaluation(check, data, st["training"].get("checkpoint"), device)
    report = {"mode": "smoke (CPU)" if smoke else "GPU", "started": started, "out": str(out),
              "seconds": round(time.monotonic() - check.t0, 1), "stages": st,
              "ok": all(s.get("status") == "ok" for s in st.values()) and "evaluation" in st}
    (out / "device_check.json").write_text(json.dumps(report, indent=2, default=str))
    table = markdown(report)
    (out / "device_check.md").write_text(table)
    ret = os.environ.get("OUT")
    if ret and Path(ret).is_dir() and Path(ret).resolve() != out:
        for name in ("device_check.json", "device_check.md", *(f"{s}.log" for s in st)):
            if (out / name).exists():
                shutil.copy(out / name, Path(ret) / name)
    print(table)
    print(f"report: {out / 'device_check.json'}; {'all stages passed' if report['ok'] else 'SOME STAGES FAILED'}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
