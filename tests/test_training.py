"""Trainer: recipe presets, checkpoint/resume equality, run-directory safety, metrics, CLI.

The fault cases run as subprocesses in tests/test_faults.py; here the library calls.
"""
import json
import math
import warnings

import pytest
import torch

from gaitgs_lib.data.dataset import GaitDataset
from gaitgs_lib.data.samplers import PKBatchSampler, collate_windows
from gaitgs_lib.data.views import view_index_map
from gaitgs_lib.losses import GaitGSLoss
from gaitgs_lib.modeling import load_trained_model
from gaitgs_lib.modeling.gaitgs import GaitGS
from gaitgs_lib.training import (
    TRAIN_PRESETS,
    NonFiniteError,
    TrainingError,
    TrainingInterrupted,
    export_checkpoint,
    get_train_config,
    main,
    model_config,
    read_metrics,
    train,
)
from gaitgs_lib.training.checkpoints import save_checkpoint
from gaitgs_lib.training.metrics import METRIC_RENAMES, MetricsLog, RunningMeans
from gaitgs_lib.training.nonfinite import MAX_SKIPPED_IN_A_ROW, GuardedStep


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory, make_fake_dataset):
    return make_fake_dataset(tmp_path_factory.mktemp("fake"))


FAST = dict(p=2, k=2, frames=8, log_every=1, ckpt_every=2, total_iters=10, progress=False)


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


class Crash(Exception):
    pass


def stop_at(iteration, exc=Crash):
    def callback(record):
        if record["iteration"] == iteration:
            raise exc()
    return callback


def test_paper_preset_is_the_authors_recipe():
    # https://github.com/Haijun-Xiong/GaitGS configs/gaitgs/gaitgs.yaml (README.md, "Training recipe")
    tc = TRAIN_PRESETS["paper"]
    assert (tc.lr, tc.weight_decay, tc.total_iters, tc.milestones, tc.gamma) == (1e-4, 5e-4, 80_000, (70_000,), 0.1)
    assert (tc.p, tc.k, tc.frames, tc.amp, tc.margin, tc.triplet_weight, tc.view_weight) == (
        8, 8, 30, True, 0.25, 1.0, 0.2)
    assert (tc.log_every, tc.ckpt_every, tc.num_workers) == (100, 1000, 1)  # log_iter, save_iter, num_workers
    assert TRAIN_PRESETS["paper-128"].replace(preset="paper") == tc  # gaitgs128.yaml: the same recipe
    assert get_train_config("tiny", total_iters=500).milestones == (400,)  # rescaled with total_iters
    assert get_train_config("paper", total_iters=800, milestones=(100, 200)).milestones == (100, 200)
    assert model_config(get_train_config("tiny", ablations=("no-mcm", "no-coarse"))).use_mcm is False
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        get_train_config("tiny", learning_rate=1)
    with pytest.raises(ValueError, match="unknown ablation"):
        get_train_config("tiny", ablations=("no-legs",))


@pytest.mark.slow
def test_crash_saves_and_resume_equals_a_straight_run(fake_root, tmp_path):
    straight = train("tiny", fake_root, tmp_path / "a", steps=5, **FAST)
    # an error at iteration 3 (here in the callback): the finished iteration 3 is saved first
    with pytest.raises(Crash) as info:
        train("tiny", fake_root, tmp_path / "b", steps=5, callback=stop_at(3), **FAST)
    assert "after iteration 3: checkpoint of iteration 3 saved" in "".join(info.value.__notes__)
    assert weights(tmp_path / "b/checkpoints/latest.pt")["iteration"] == 3
    resumed = train("tiny", fake_root, tmp_path / "b", steps=5, resume=True, **FAST)
    assert resumed.iteration == straight.iteration == 5
    a, b = weights(straight.checkpoint), weights(resumed.checkpoint)
    assert_same_state(a["model"], b["model"])
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert_same_state(sa, sb)
    assert a["sampler"] == b["sampler"] and a["scheduler"] == b["scheduler"]
    drop_speed = [{k: v for k, v in r.items() if k != "seq_per_s"} for r in read_metrics(tmp_path / "a")]
    assert drop_speed == [{k: v for k, v in r.items() if k != "seq_per_s"} for r in read_metrics(tmp_path / "b")]
    # Ctrl-C also saves the last completed iteration; resuming from it matches too
    with pytest.raises(TrainingInterrupted, match="interrupted after iteration 3: checkpoint of iteration 3 saved"):
        train("tiny", fake_root, tmp_path / "c", steps=5, callback=stop_at(3, KeyboardInterrupt), **FAST)
    resumed = train("tiny", fake_root, tmp_path / "c", steps=5, resume=True, **FAST)
    assert_same_state(a["model"], weights(resumed.checkpoint)["model"])


@pytest.mark.slow
def test_metrics_records_resume_exactly_between_log_steps(fake_root, tmp_path):
    """A checkpoint between two records carries the running means: the next record is the same."""
    opts = {**FAST, "log_every": 3, "ckpt_every": 100}
    straight = train("tiny", fake_root, tmp_path / "a", steps=6, **opts)

    def crash_at_5(iteration, indices):
        if iteration == 5:
            raise Crash()

    with pytest.raises(Crash):  # iteration 4 is saved: one iteration into the window of record 6
        train("tiny", fake_root, tmp_path / "b", steps=6, batch_hook=crash_at_5, **opts)
    assert weights(tmp_path / "b/checkpoints/latest.pt")["iteration"] == 4
    resumed = train("tiny", fake_root, tmp_path / "b", steps=6, resume=True, **opts)
    assert [r["iteration"] for r in read_metrics(resumed.run_dir)] == [3, 6]
    assert read_metrics(resumed.run_dir)[-1]["loss"] == straight.history[-1]["loss"]


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
    assert config["data_identity"]["train_subjects"] == 4 and config["data_identity"]["train_sequences"] == 120
    assert [e["event"] for e in config["history"]] == ["start"]
    record = res.history[-1]
    # every number the loss reports (whatever its keys), plus the trainer's own
    _, info = GaitGSLoss()({"embeddings": torch.randn(4, 3, 2), "view_logits": torch.randn(4, 5)},
                           torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 2, 3]))
    numeric = {METRIC_RENAMES.get(k, k) for k, v in info.items() if isinstance(v, (int, float))}
    assert set(record) == numeric | {"iteration", "lr", "seq_per_s"}
    assert {"loss", "triplet", "ce"} <= set(record)
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
    assert not (tmp_path / "big").exists()  # a run that could not start leaves nothing behind


def test_resume_on_other_data_is_refused_unless_allowed(fake_root, tmp_path, make_fake_dataset):
    """`--resume --data OTHER` must not train on the other data and rewrite config.json silently."""
    other = make_fake_dataset(tmp_path / "other", subjects=7, train=5, seed=1)
    train("tiny", fake_root, tmp_path / "run", steps=2, **FAST)
    with pytest.raises(TrainingError, match=r"not the data .* trained on \(root .* train subjects 4 -> 5.*"
                                            r"--allow-data-change"):
        train("tiny", other, tmp_path / "run", steps=3, resume=True, **FAST)
    assert weights(tmp_path / "run/checkpoints/latest.pt")["iteration"] == 2  # untouched
    train("tiny", other, tmp_path / "run", steps=3, resume=True, allow_data_change=True, **FAST)
    config = json.loads((tmp_path / "run/config.json").read_text())
    assert [e["event"] for e in config["history"]] == ["start", "resume"]
    change = config["history"][1]["data_changes"]
    assert change["train subjects"] == [4, 5] and change["root"][1] == str(other.resolve())
    assert config["data_identity"]["train_subjects"] == 5


def test_overwrite_keeps_the_old_run_until_the_new_one_has_a_checkpoint(fake_root, tmp_path):
    old = train("tiny", fake_root, tmp_path / "run", steps=2, **FAST)
    before = weights(old.checkpoint)
    # the new run diverges at once (before its first checkpoint): the old run is put back
    with pytest.raises(NonFiniteError, match="previous run was put back"):
        train("tiny", fake_root, tmp_path / "run", steps=4, overwrite=True, **{**FAST, "lr": 1e6})
    assert_same_state(before["model"], weights(tmp_path / "run/checkpoints/latest.pt")["model"])
    assert [r["iteration"] for r in read_metrics(tmp_path / "run")] == [1, 2]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoints", "config.json", "metrics.jsonl"]
    # a new run that works replaces it
    new = train("tiny", fake_root, tmp_path / "run", steps=1, overwrite=True, **{**FAST, "seed": 3})
    assert weights(new.checkpoint)["iteration"] == 1
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoints", "config.json", "metrics.jsonl"]


def test_nan_stops_without_writing_anything_non_finite(fake_root, tmp_path):
    """`train --lr 1e6` must not write NaN checkpoints or bare NaN into metrics.jsonl and exit 0."""
    with pytest.raises(NonFiniteError, match=r"diverged: the loss is nan at iteration 2 \(lr 1e\+06\).*"
                                             r"latest.pt \(iteration 1\) is the last finite checkpoint"):
        train("tiny", fake_root, tmp_path / "run", steps=6, **{**FAST, "lr": 1e6, "ckpt_every": 1})
    ckpt = weights(tmp_path / "run/checkpoints/latest.pt")
    assert ckpt["iteration"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    assert [json.loads(line)["iteration"] for line in (tmp_path / "run/metrics.jsonl").read_text().splitlines()] == [1]


@pytest.mark.slow
def test_training_lowers_the_loss(synthgait_test_root, tmp_path):
    """100 iterations of `tiny` (seed 0) on SynthGait's `test` preset lower the loss
    on six fixed P x K batches of its train split (eval mode, so dropout is off).

    So short a run on 2 subjects is chaotic: its path depends on the CPU's float rounding and
    the thread count. 60 iterations lowered the triplet part to 0.54x on an Intel Xeon but only
    to 0.73x on an AMD EPYC with one thread (0.56x with two), which failed CI there. With 100
    the EPYC gives 0.713 -> 0.599 (triplet 0.50x) with one thread, 0.618 (0.58x) with two, and
    seeds 1 and 2 give 0.57x and 0.64x: every case clears both bounds."""
    ds = GaitDataset(synthgait_test_root, split="train", size=(32, 22))
    _, view_of = view_index_map(ds.views)
    plan, windows = PKBatchSampler(ds.labels, 2, 4, seed=123), torch.Generator().manual_seed(0)
    batches = []
    for b in range(6):
        idx = plan.batch_plan(b)
        sils, _, _ = collate_windows([ds[i] for i in idx], 16, windows)
        labels, views = [ds.labels[i] for i in idx], [view_of[ds.views[i]] for i in idx]
        batches.append((sils, torch.tensor(labels), torch.tensor(views)))

    def held_loss(model):
        model.eval()
        with torch.no_grad():
            results = [GaitGSLoss()(model(sils), y, v) for sils, y, v in batches]
        return (sum(float(loss) for loss, _ in results) / len(results),
                sum(info["triplet_loss"] for _, info in results) / len(results))

    torch.manual_seed(0)  # `train` seeds the same way before it builds the model
    before = held_loss(GaitGS(model_config(get_train_config("tiny"))))
    res = train("tiny", synthgait_test_root, tmp_path / "run", steps=100, p=2, k=4, frames=16, total_iters=100,
                log_every=10, ckpt_every=200, progress=False)
    after = held_loss(res.model)
    assert after[0] < before[0] - 0.05, (before, after)  # measured (EPYC, 1 thread): 0.713 -> 0.599
    assert after[1] < 0.7 * before[1], (before, after)  # triplet part: 0.231 -> 0.115


# ----------------------------------------------------------------------------- metrics
def test_read_metrics_takes_a_run_folder_or_the_file_and_drops_a_half_written_line(tmp_path):
    log = MetricsLog(tmp_path)
    log.append({"iteration": 1, "loss": 0.5, "seq_per_s": float("nan")})
    log.append({"iteration": 2, "loss": float("inf")})
    text = (tmp_path / "metrics.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON: non-finite -> null
    expected = [{"iteration": 1, "loss": 0.5, "seq_per_s": None}, {"iteration": 2, "loss": None}]
    assert read_metrics(tmp_path) == read_metrics(tmp_path / "metrics.jsonl") == expected
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"iteration": 3, "lo')  # what a kill mid-write leaves
    with pytest.warns(UserWarning, match="metrics.jsonl: dropped a half-written last line"):
        assert read_metrics(tmp_path) == expected
    assert "half-written" in log.restart_at(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_metrics(tmp_path) == expected  # the resumed run rewrote the file without it


def test_running_means_log_every_number_the_loss_reports():
    means = RunningMeans()
    means.add({"loss": 1.0, "triplet_loss": 0.5, "ce_loss": 0.5, "num_nonzero": 4, "flag": True, "name": "x"}, 8)
    means.add({"loss": 3.0, "triplet_loss": 2.5, "ce_loss": 0.5, "num_nonzero": 6, "flag": True, "name": "x"}, 8)
    means.add(None, 8, stepped=False)  # an fp16 step skipped on a non-finite loss
    rec = means.record(3, lr=0.1, seconds=2.0)
    assert rec == {"iteration": 3, "loss": 2.0, "triplet": 1.5, "ce": 0.5, "num_nonzero": 5.0,
                   "skipped_steps": 1, "lr": 0.1, "seq_per_s": 12.0}
    loss, info = GaitGSLoss()({"embeddings": torch.randn(4, 3, 2), "view_logits": torch.randn(4, 5)},
                              torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 2, 3]))
    means.add(info, 4)
    assert set(means.record(4, 0.1, 1.0)) >= {"loss", "triplet", "ce"}


# ----------------------------------------------------------------------------- the guarded step
def _tiny_problem(amp: bool):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", enabled=amp)  # a real GradScaler, on the CPU
    return model, opt, scaler, GuardedStep(model, opt, scaler, amp=amp)


def _finite_loss_nan_gradient(model):
    """Value 1.0, but d sqrt(0 * w) / dw = 0 / 0: the weight's gradient is NaN."""
    return model(torch.ones(1, 3)).sum() * 0 + 1.0 + torch.sqrt((model.weight * 0).sum())


def test_full_precision_stops_at_a_non_finite_loss_or_gradient():
    model, opt, scaler, step = _tiny_problem(amp=False)
    assert step(1, model(torch.ones(1, 3)).sum()) is True
    with pytest.raises(NonFiniteError, match="the loss is nan at iteration 2"):
        step(2, model(torch.full((1, 3), float("nan"))).sum())
    before = model.weight.detach().clone()
    with pytest.raises(NonFiniteError, match=r"gradient of 1 parameter tensor\(s\) \(e.g. weight\) is not finite "
                                             r"at iteration 3 \(loss 1\)"):
        step(3, _finite_loss_nan_gradient(model))
    assert torch.equal(model.weight, before)  # the optimiser did not move


def test_fp16_gradscaler_skips_are_normal_until_too_many_in_a_row():
    """Under autocast fp16 the GradScaler skips a step when a gradient overflows; that must
    not stop the run (simulated on the CPU with a real GradScaler and a NaN gradient)."""
    model, opt, scaler, step = _tiny_problem(amp=True)
    before = model.weight.detach().clone()
    assert step(1, _finite_loss_nan_gradient(model)) is False  # skipped: scale halved, weights untouched
    assert torch.equal(model.weight, before) and scaler.get_scale() == 2.0 ** 15
    assert step(2, model(torch.ones(1, 3)).sum()) is True and step.skipped_in_a_row == 0
    assert not torch.equal(model.weight, before)
    assert step(3, model(torch.full((1, 3), float("nan"))).sum()) is False  # a NaN loss: skipped too
    assert scaler.get_scale() == 2.0 ** 14
    for it in range(4, 3 + MAX_SKIPPED_IN_A_ROW - 1):
        assert step(it, _finite_loss_nan_gradient(model)) is False
    with pytest.raises(NonFiniteError, match=f"skipped {MAX_SKIPPED_IN_A_ROW} steps in a row up to iteration 99"):
        step(99, _finite_loss_nan_gradient(model))
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_non_finite_checkpoint_is_never_written(tmp_path):
    state = {"iteration": 7, "model": {"w": torch.tensor([1.0, float("nan")])}, "optimizer": {"state": {}}}
    with pytest.raises(NonFiniteError, match="refusing to write a checkpoint of iteration 7 .* model.w"):
        save_checkpoint(state, tmp_path, periodic=True)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- the command
def test_cli(fake_root, tmp_path, capsys):
    common = ["--preset", "tiny", "--data", str(fake_root), "--out", str(tmp_path / "cli"),
              "--p", "2", "--k", "2", "--frames", "8", "--no-progress", "--ablation", "no-global-span"]
    argv = common + ["--steps", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "iteration 2: loss" in out and "triplet" in out
    ckpt = weights(tmp_path / "cli/checkpoints/latest.pt")
    assert ckpt["config"]["use_global_span"] is False
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(common + ["--steps", "3", "--resume"]) == 0
    assert weights(tmp_path / "cli/checkpoints/latest.pt")["iteration"] == 3
    assert math.isfinite(read_metrics(tmp_path / "cli")[-1]["loss"])
