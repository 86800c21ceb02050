"""DistributedDataParallel on 2 CPU processes (Gloo): identical weights, disjoint samples,
exact gradients of the gathered batch-all triplet loss, and the `train` command under torchrun."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gaitgs_lib.data.samplers import PKBatchSampler

pytestmark = pytest.mark.slow  # DistributedDataParallel: processes, a process group, torchrun

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, port, root, out, results):
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                      LOCAL_RANK=str(rank))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    from torch.nn.parallel import DistributedDataParallel as DDP

    from gaitgs_lib.losses import TripletLoss
    from gaitgs_lib.training import train
    from gaitgs_lib.training.distributed import GatherWithGrad

    # 1. the gathered triplet loss gives each rank exactly the full-batch gradient
    torch.manual_seed(0)
    lin = torch.nn.Linear(5, 6)
    x, y = torch.randn(8, 5), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    ref = torch.nn.Linear(5, 6)
    ref.load_state_dict(lin.state_dict())
    net = DDP(lin)
    y_all = torch.cat([y[0::2], y[1::2]])  # gathered order: rank 0's slice, then rank 1's
    loss, _ = TripletLoss(0.5)(GatherWithGrad.apply(net(x[rank::2]).view(4, 3, 2)), y_all)
    loss.backward()
    full, _ = TripletLoss(0.5)(ref(torch.cat([x[0::2], x[1::2]])).view(8, 3, 2), y_all)
    full.backward()
    grad_error = float((lin.weight.grad - ref.weight.grad).abs().max())

    # 2. a few training steps of the tiny preset
    seen = []
    res = train("tiny", root, out, steps=3, p=2, k=2, frames=8, log_every=1, ckpt_every=100, progress=False,
                batch_hook=lambda it, idx: seen.append((it, idx.tolist())))
    torch.save({"model": res.model.state_dict(), "seen": seen, "grad_error": grad_error,
                "history": res.history}, Path(results) / f"rank{rank}.pt")
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory, make_fake_dataset):
    return make_fake_dataset(tmp_path_factory.mktemp("ddp"), types=("nm-01", "nm-02", "bg-01"))


def test_two_cpu_ranks(fake_root, tmp_path):
    mp.spawn(_worker, args=(free_port(), str(fake_root), str(tmp_path / "run"), str(tmp_path)), nprocs=2)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["grad_error"] < 1e-6 and r1["grad_error"] < 1e-6
    for key in r0["model"]:
        assert torch.equal(r0["model"][key], r1["model"][key]), key
    # each rank saw its half of the common batch plan, and the halves are disjoint
    from gaitgs_lib.data.dataset import GaitDataset

    sampler = PKBatchSampler(GaitDataset(fake_root, split="train").labels, 2, 2, seed=0)
    assert [it for it, _ in r0["seen"]] == [it for it, _ in r1["seen"]] == [1, 2, 3]
    for (it, a), (_, b) in zip(r0["seen"], r1["seen"]):
        plan = sampler.batch_plan(it - 1)
        assert a == plan[0::2] and b == plan[1::2]
        assert len(set(plan)) == len(plan) and not set(a) & set(b)
    # only rank 0 writes: one metrics record per iteration, one checkpoint
    lines = (tmp_path / "run/metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 and len(r0["history"]) == 3 and r1["history"] == []
    ckpt = torch.load(tmp_path / "run/checkpoints/latest.pt", weights_only=True)
    assert ckpt["world_size"] == 2 and ckpt["iteration"] == 3


def test_train_command_under_torchrun(fake_root, tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port", str(free_port()),
           "-m", "gaitgs_lib", "train", "--preset", "tiny", "--data", str(fake_root), "--out", str(tmp_path / "run"),
           "--steps", "2", "--p", "2", "--k", "2", "--frames", "8", "--log-every", "1", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("iteration 2: loss") == 1  # printed by rank 0 only
    ckpt = torch.load(tmp_path / "run/checkpoints/latest.pt", weights_only=True)
    assert ckpt["world_size"] == 2 and ckpt["iteration"] == 2
