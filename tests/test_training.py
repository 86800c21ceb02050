"""Trainer: recipe presets, checkpoint/resume equality, run-directory safety, CLI."""
import json

import numpy as np
import pytest
import torch

from gaitgs_lib.data.io import write_sequence
from gaitgs_lib.modeling import load_trained_model
from gaitgs_lib.training import (
    TRAIN_PRESETS,
    export_checkpoint,
    get_train_config,
    main,
    model_config,
    read_metrics,
    train,
)

CASIA_TYPES = ("nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "nm-06", "bg-01", "bg-02", "cl-01", "cl-02")


def make_fake_dataset(root, subjects=6, train=4, types=CASIA_TYPES, views=("000", "090", "180"), seed=0):
    """A tiny dataset in the OpenGait layout: random blobs, 8-15 frames of 64x64 uint8."""
    rng = np.random.default_rng(seed)
    sids = [f"{i:03d}" for i in range(1, subjects + 1)]
    for sid in sids:
        for typ in types:
            for view in views:
                frames = (rng.random((int(rng.integers(8, 16)), 64, 64)) < 0.3).astype(np.uint8) * 255
                write_sequence(root / sid / typ / view / f"{view}.pkl", frames)
    (root / "partition.json").write_text(json.dumps({"TRAIN_SET": sids[:train], "TEST_SET": sids[train:]}))
    return root



@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    return make_fake_dataset(tmp_path_factory.mktemp("fake"))


FAST = dict(p=2, k=2, frames=8, log_every=1, ckpt_every=2, total_iters=10, progress=False)


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


class Killed(Exception):
    pass


def kill_at(iteration, exc=Killed):
    def callback(record):
        if record["iteration"] == iteration:
            raise exc()
    return callback


def test_paper_preset_is_the_spec_recipe():
    tc = TRAIN_PRESETS["paper"]
    assert (tc.lr, tc.weight_decay, tc.total_iters, tc.milestones, tc.gamma) == (1e-4, 5e-4, 80_000, (70_000,), 0.1)
    assert (tc.p, tc.k, tc.frames, tc.amp, tc.margin, tc.view_weight) == (8, 8, 30, True, 0.25, 0.2)
    assert get_train_config("tiny", total_iters=500).milestones == (400,)  # rescaled with total_iters
    assert get_train_config("paper", total_iters=800, milestones=(100, 200)).milestones == (100, 200)
    assert model_config(get_train_config("tiny", ablations=("no-mcm", "no-coarse"))).use_mcm is False
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        get_train_config("tiny", learning_rate=1)
    with pytest.raises(ValueError, match="unknown ablation"):
        get_train_config("tiny", ablations=("no-legs",))


def test_kill_and_resume_equals_a_straight_run(fake_root, tmp_path):
    straight = train("tiny", fake_root, tmp_path / "a", steps=5, **FAST)
    # a hard kill at iteration 3: nothing saved after the periodic checkpoint of iteration 2
    with pytest.raises(Killed):
        train("tiny", fake_root, tmp_path / "b", steps=5, callback=kill_at(3), **FAST)
    assert weights(tmp_path / "b/checkpoints/latest.pt")["iteration"] == 2
    resumed = train("tiny", fake_root, tmp_path / "b", steps=5, resume=True, **FAST)
    assert resumed.iteration == straight.iteration == 5
    a, b = weights(straight.checkpoint), weights(resumed.checkpoint)
    assert_same_state(a["model"], b["model"])
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert_same_state(sa, sb)
    assert a["sampler"] == b["sampler"] and a["scheduler"] == b["scheduler"]
    # the metrics of the lost iteration 3 were dropped and written again, once
    assert [r["iteration"] for r in read_metrics(tmp_path / "b")] == [1, 2, 3, 4, 5]
    assert read_metrics(tmp_path / "a")[-1] == pytest.approx(
        {**read_metrics(tmp_path / "b")[-1], "seq_per_s": read_metrics(tmp_path / "a")[-1]["seq_per_s"]})
    # Ctrl-C saves the last completed iteration; resuming from it also matches
    with pytest.raises(KeyboardInterrupt):
        train("tiny", fake_root, tmp_path / "c", steps=5, callback=kill_at(3, KeyboardInterrupt), **FAST)
    assert weights(tmp_path / "c/checkpoints/latest.pt")["iteration"] == 3
    resumed = train("tiny", fake_root, tmp_path / "c", steps=5, resume=True, **FAST)
    assert_same_state(a["model"], weights(resumed.checkpoint)["model"])


def test_callback_returning_false_stops_with_a_checkpoint(fake_root, tmp_path):
    res = train("tiny", fake_root, tmp_path / "run", steps=6, callback=lambda r: r["iteration"] < 3, **FAST)
    assert res.iteration == 3 and [r["iteration"] for r in res.history] == [1, 2, 3]
    assert weights(res.checkpoint)["iteration"] == 3


def test_run_directory_contents(fake_root, tmp_path):
    res = train("tiny", fake_root, tmp_path / "run", steps=4, **FAST)
    files = sorted(p.relative_to(res.run_dir).as_posix() for p in res.run_dir.rglob("*"))
    assert files == ["checkpoints", "checkpoints/iter-0000002.pt", "checkpoints/iter-0000004.pt",
                     "checkpoints/latest.pt", "config.json", "metrics.jsonl"]
    config = json.loads((res.run_dir / "config.json").read_text())
    assert config["model_config"]["name"] == "tiny" and config["train_config"]["p"] == 2
    record = res.history[-1]
    assert set(record) == {"iteration", "loss", "triplet", "ce", "nonzero_frac", "mean_dist", "lr", "seq_per_s"}
    assert record["loss"] == pytest.approx(record["triplet"] + record["ce"], rel=1e-5)
    ckpt = weights(res.checkpoint)
    assert ckpt["preset"] == "tiny" and ckpt["iteration"] == 4 and ckpt["sampler"]["next_batch"] == 4
    assert set(ckpt["rng"]) >= {"torch", "numpy", "python"}
    # the shipped copy: weights + config only, loads without the optimizer
    small = export_checkpoint(res.checkpoint, tmp_path / "ship.pt")
    assert "optimizer" not in weights(small) and small.stat().st_size < res.checkpoint.stat().st_size
    model, _ = load_trained_model(small)
    assert not model.training and model.cfg.input_hw == (32, 22)
    assert_same_state(model.state_dict(), res.model.state_dict())
    with pytest.raises(ValueError, match="trained with preset 'tiny'.*preset 'small' was asked"):
        load_trained_model(small, preset="small")


def test_refusals(fake_root, tmp_path):
    train("tiny", fake_root, tmp_path / "run", steps=1, **FAST)
    with pytest.raises(FileExistsError, match="--resume .* --overwrite"):
        train("tiny", fake_root, tmp_path / "run", steps=1, **FAST)
    res = train("tiny", fake_root, tmp_path / "run", steps=1, overwrite=True, **FAST)
    assert [r["iteration"] for r in read_metrics(res.run_dir)] == [1]
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train("tiny", fake_root, tmp_path / "empty", steps=1, resume=True, **FAST)
    with pytest.raises(ValueError, match=r"cannot change \['lr'\]"):
        train("tiny", fake_root, tmp_path / "run", steps=2, resume=True, **{**FAST, "lr": 0.5})
    with pytest.raises(ValueError, match="needs 5 subjects per batch but the train split .* has only 4"):
        train("tiny", fake_root, tmp_path / "big", steps=1, **{**FAST, "p": 5})


def test_cli(fake_root, tmp_path, capsys):
    common = ["--preset", "tiny", "--data", str(fake_root), "--out", str(tmp_path / "cli"),
              "--p", "2", "--k", "2", "--frames", "8", "--no-progress", "--ablation", "no-global-span"]
    argv = common + ["--steps", "2"]
    assert main(argv) == 0
    assert "iteration 2: loss" in capsys.readouterr().out
    ckpt = weights(tmp_path / "cli/checkpoints/latest.pt")
    assert ckpt["config"]["use_global_span"] is False
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(common + ["--steps", "3", "--resume"]) == 0
    assert weights(tmp_path / "cli/checkpoints/latest.pt")["iteration"] == 3
