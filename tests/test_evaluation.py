"""Evaluation protocols on hand-made embeddings whose answers are known by hand, the
embedding extraction (batched = one at a time) and the `evaluate` command's errors."""
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from gaitgs_lib.evaluation import (
    NonFiniteEmbeddingsError,
    casia_b_protocol,
    cmc_curve,
    format_casia_b_table,
    format_retrieval,
    ou_mvlp_protocol,
    part_distance,
    retrieval_metrics,
    retrieval_protocol,
    save_result_json,
    twins_protocol,
)


def scalar_set(rows):
    """rows: (sid, type, view, value) -> embeddings [N, 1, 1] and the label lists."""
    emb = torch.tensor([[[float(r[3])]] for r in rows])
    sids, types, views = ([r[i] for r in rows] for i in range(3))
    return emb, sids, types, views


def test_part_distance_is_mean_of_per_part_euclidean():
    a, b = torch.randn(5, 3, 4), torch.randn(6, 3, 4)
    ref = torch.stack([torch.stack([(a[i] - b[j]).norm(dim=0).mean() for j in range(6)]) for i in range(5)])
    torch.testing.assert_close(part_distance(a, b), ref, atol=1e-5, rtol=1e-5)
    # not the distance of the flattened vectors
    assert not torch.allclose(part_distance(a, b), torch.cdist(a.flatten(1), b.flatten(1)))
    # numpy in -> numpy out
    d = part_distance(a.numpy(), b.numpy())
    assert isinstance(d, np.ndarray) and d.shape == (5, 6)
    # cosine: 1 - mean over parts of the cosine similarity
    cos = torch.nn.functional.cosine_similarity(a[:, None], b[None], dim=2).mean(-1)
    torch.testing.assert_close(part_distance(a, b, "cosine"), 1 - cos, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown metric"):
        part_distance(a, b, "manhattan")
    with pytest.raises(ValueError, match=r"C and P must agree"):
        part_distance(a, torch.randn(2, 3, 5))


def casia_rows():
    # Gallery A@v0=0, B@v0=10, A@v1=100, B@v1=110 (see the comments in the test).
    rows = [("075", "nm-01", "000", 0), ("076", "nm-01", "000", 10),
            ("075", "nm-01", "018", 100), ("076", "nm-01", "018", 110)]
    rows += [("075", "nm-05", "000", 1), ("076", "nm-05", "000", 9),
             ("075", "nm-05", "018", 101), ("076", "nm-05", "018", 109)]
    rows += [("075", "bg-01", "000", 0), ("076", "bg-01", "000", 10),
             ("075", "bg-01", "018", 100), ("076", "bg-01", "018", 110)]
    rows += [("075", "cl-01", v, 1000) for v in ("000", "018")]
    rows += [("076", "cl-01", v, 1000) for v in ("000", "018")]
    return rows


def test_casia_b_identical_views_excluded():
    res = casia_b_protocol(*scalar_set(casia_rows()))
    assert res["views"] == ["000", "018"] and res["conditions"] == ["NM", "BG", "CL"]
    # NM: probe 9 (B@000) vs gallery 018 {100 A, 110 B} -> A (wrong); probe 101 (A@018) vs
    # gallery 000 {0 A, 10 B} -> B (wrong); same-view pairs all right.
    np.testing.assert_allclose(res["matrices"]["NM"], [[100, 50], [50, 100]])
    np.testing.assert_allclose(res["per_view"]["NM"], [50, 50])  # 75 if the diagonal were kept
    assert res["mean"]["NM"] == 50
    np.testing.assert_allclose(res["matrices"]["BG"], [[100, 50], [50, 100]])
    # CL: every probe is nearest to the largest gallery value, always subject 076 -> 50 %.
    np.testing.assert_allclose(res["matrices"]["CL"], [[50, 50], [50, 50]])
    assert res["num_gallery"] == 4 and res["num_probes"] == {"NM": 4, "BG": 4, "CL": 4}
    table = format_casia_b_table(res)
    lines = table.splitlines()
    assert lines[0].split() == ["000", "018", "mean"]
    assert lines[1].split() == ["NM", "50.0", "50.0", "50.0"]
    assert lines[3].split()[0] == "CL"
    assert "identical views excluded" in table


def test_casia_b_missing_gallery_is_a_clear_error():
    rows = [r for r in casia_rows() if not r[1].startswith("nm-0") or r[1] == "nm-05"]
    with pytest.raises(ValueError, match=r"no gallery sequences of types \['nm-01', 'nm-02'"):
        casia_b_protocol(*scalar_set(rows))
    rows = [r for r in casia_rows() if r[1] != "cl-01"]
    with pytest.raises(ValueError, match=r"no probe sequences .* CL"):
        casia_b_protocol(*scalar_set(rows))
    emb, s, t, v = scalar_set(casia_rows())
    with pytest.raises(ValueError, match="views has 3 entries"):
        casia_b_protocol(emb, s, t, v[:3])


def test_ou_mvlp_both_conventions():
    # Subject 2 has no gallery sequence at view 000 (subject 3, far away, makes that gallery rankable).
    rows = [("1", "01", "000", 0), ("3", "01", "000", -1000), ("1", "01", "015", 100), ("2", "01", "015", 110),
            ("1", "00", "000", 1), ("2", "00", "000", 9), ("1", "00", "015", 101), ("2", "00", "015", 109)]
    opengait = ou_mvlp_protocol(*scalar_set(rows))
    excl = ou_mvlp_protocol(*scalar_set(rows), exclude_invalid=True)
    # probe 000 vs gallery 015: 1 -> 100 (A, right), 9 -> 100 (A, wrong) = 50 in both.
    # probe views x gallery 000 (subjects 1 and 3): subject 2 is a failure, or dropped.
    np.testing.assert_allclose(opengait["matrices"]["OU-MVLP"], [[50, 50], [50, 100]])
    np.testing.assert_allclose(excl["matrices"]["OU-MVLP"], [[100, 50], [100, 100]])
    assert opengait["mean"]["OU-MVLP"] == 50 and excl["mean"]["OU-MVLP"] == 75
    assert opengait["protocol"] == "ou-mvlp" and excl["protocol"] == "ou-mvlp-excl"
    assert "counted as failures" in format_casia_b_table(opengait)
    assert "invalid probes excluded" in format_casia_b_table(excl)


def test_a_gallery_of_one_subject_is_not_rankable():
    """Landed main: `evaluate` on a test split of one subject printed rank-1 100.0 in every
    cell (casia-b and retrieval alike): the nearest sequence is that subject by construction."""
    one = [r for r in casia_rows() if r[0] == "075"]
    with pytest.raises(ValueError, match=r"casia-b: not rankable: the gallery .* fewer than 2 subjects at every "
                                         r"view \(1 subject\(s\) in all: \['075'\]\)"):
        casia_b_protocol(*scalar_set(one))
    emb, sids, _, _ = scalar_set(one)
    with pytest.raises(ValueError, match=r"retrieval: not rankable: the 8 sequences belong to 1 subject"):
        retrieval_protocol(emb, sids)
    # one gallery view of a single subject: its cells are left out and named, the rest still ranks
    rows = [r for r in casia_rows() if not (r[0] == "076" and r[1] == "nm-01" and r[2] == "018")]
    res = casia_b_protocol(*scalar_set(rows))
    assert res["not_rankable_views"] == ["018"]
    assert np.isnan(res["matrices"]["NM"][:, 1]).all() and res["matrices"]["NM"][1, 0] == 50
    assert res["per_view"]["NM"][1] == 50 and np.isnan(res["per_view"]["NM"][0])
    table = format_casia_b_table(res)
    assert "not rankable, left out of the means: gallery view(s) 018 (fewer than 2 gallery subjects)" in table
    assert "100.0" not in table


def test_retrieval_metrics_by_hand_both_conventions():
    dist = np.array([[0.3, 0.1, 0.5, 0.2, 0.9],   # probe a: matches at ranks 3, 4
                     [0.1, 0.2, 0.3, 0.4, 0.5],   # probe b: matches at ranks 2, 4, 5
                     [0.0, 0.0, 0.0, 0.0, 0.0]])  # probe c: not in the gallery (invalid)
    gallery = ["a", "b", "a", "b", "b"]
    ap_a, ap_b = (1 / 3 + 2 / 4) / 2, (1 / 2 + 2 / 4 + 3 / 5) / 3
    # Default, OpenGait's published convention: c is a failure at every rank (rank-k over 3 probes).
    res = retrieval_metrics(dist, ["a", "b", "c"], gallery, ranks=(1, 2, 3, 5))
    assert res["rank-1"] == 0 and res["rank-2"] == pytest.approx(100 / 3)
    assert res["rank-3"] == pytest.approx(200 / 3) and res["rank-5"] == pytest.approx(200 / 3)
    # mAP and mINP exist only for probes with a match: the same in both conventions
    assert res["mAP"] == pytest.approx(100 * (ap_a + ap_b) / 2)
    assert res["mINP"] == pytest.approx(100 * (2 / 4 + 3 / 5) / 2)
    assert res["num_valid_probes"] == 2 and res["num_probes"] == 3
    assert res["exclude_invalid"] is False and "counted as failures" in res["convention"]
    np.testing.assert_allclose(cmc_curve(dist, ["a", "b", "c"], gallery, max_rank=5),
                               [0, 100 / 3, 200 / 3, 200 / 3, 200 / 3])
    # Named option: c is left out (rank-k over the 2 valid probes).
    ex = retrieval_metrics(dist, ["a", "b", "c"], gallery, ranks=(1, 2, 3, 5), exclude_invalid=True)
    assert ex["rank-1"] == 0 and ex["rank-2"] == 50 and ex["rank-3"] == 100 and ex["rank-5"] == 100
    assert ex["mAP"] == res["mAP"] and ex["mINP"] == res["mINP"]
    assert ex["exclude_invalid"] is True and "invalid probes excluded" in ex["convention"]
    np.testing.assert_allclose(cmc_curve(dist, ["a", "b", "c"], gallery, max_rank=5, exclude_invalid=True),
                               [0, 50, 100, 100, 100])
    with pytest.raises(ValueError, match=r"expected \[probes, gallery\]"):
        retrieval_metrics(dist, ["a", "b"], gallery)
    with pytest.raises(ValueError, match="no probe identity appears in the gallery"):
        retrieval_metrics(dist, ["x", "y", "z"], gallery)


def test_retrieval_protocol_convention_is_named_everywhere(tmp_path):
    # z has a single sequence: as a probe it has no match among the others (invalid).
    emb, sids, _, _ = scalar_set([("x", "", "", 0), ("x", "", "", 1), ("y", "", "", 5), ("y", "", "", 7),
                                  ("z", "", "", 100)])
    res = retrieval_protocol(emb, sids, ranks=(1,))
    assert res["rank-1"] == 80 and res["num_probes"] == 5 and res["num_valid_probes"] == 4
    ex = retrieval_protocol(emb, sids, ranks=(1,), exclude_invalid=True)
    assert ex["rank-1"] == 100 and ex["protocol"] == "retrieval-excl"
    for result, words in ((res, "counted as failures"), (ex, "invalid probes excluded")):
        assert words in result["convention"] and words in format_retrieval(result)
        back = json.loads(save_result_json(result, tmp_path / "r.json").read_text())
        assert words in back["convention"] and back["exclude_invalid"] == result["exclude_invalid"]


def test_retrieval_protocol_leaves_self_out():
    # 2 subjects x 2 sequences, 1-D: each sequence's nearest *other* sequence is its twin.
    emb, sids, _, _ = scalar_set([("x", "", "", 0), ("x", "", "", 1), ("y", "", "", 5), ("y", "", "", 7)])
    res = retrieval_protocol(emb, sids, ranks=(1,))
    assert res["rank-1"] == 100 and res["mAP"] == 100 and res["num_probes"] == 4


def test_save_result_json_roundtrip(tmp_path):
    res = casia_b_protocol(*scalar_set(casia_rows()))
    path = save_result_json(res, tmp_path / "sub" / "result.json")
    back = json.loads(path.read_text())
    assert back["mean"]["NM"] == 50 and back["matrices"]["CL"] == [[50, 50], [50, 50]]
    assert back["views"] == ["000", "018"]
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]  # no temp file left


# ---------------------------------------------------------------------- embeddings + CLI

def twins_rows():
    """Subjects 001/002 (twins, easy), 003/004 (twins, confusable) and 005, a distractor
    whose gallery sits between 003's and 004's probes. Value per (type, view): gallery nm-01,
    probes nm-05 (NM), bg-01 (BG), cl-01 (CL); the same at views 000 and 090."""
    values = {  # sid: (gallery, NM probe, BG probe, CL probe)
        "001": (0.0, 1.0, 1.0, 1.0), "002": (10.0, 9.0, 9.0, 9.0),
        "003": (20.0, 20.4, 20.1, 20.0), "004": (20.5, 20.4, 20.1, 20.5),
        "005": (20.45, None, None, None),
    }
    rows = []
    for sid, (g, nm, bg, cl) in values.items():
        for view in ("000", "090"):
            rows.append((sid, "nm-01", view, g))
            rows += [(sid, t, view, v) for t, v in (("nm-05", nm), ("bg-01", bg), ("cl-01", cl)) if v is not None]
    return rows


def test_twins_protocol_restricts_the_gallery_to_each_pair():
    emb, sids, types, views = scalar_set(twins_rows())
    res = twins_protocol(emb, sids, types, views, [("001", "002"), ("003", "004"), ("010", "011")])
    assert list(res["pairs"]) == ["001-002", "003-004"] and res["num_pairs"] == 2  # absent pair skipped
    # 001/002: each probe is nearest its own gallery value -> 100 everywhere.
    assert res["pairs"]["001-002"] == {"NM": 100, "BG": 100, "CL": 100}
    # 003/004 NM: both probes (20.4) are nearest 004's gallery (20.5): 003 wrong, 004 right -> 50.
    # BG: both probes (20.1) nearest 003's gallery (20.0) -> 50. CL: both right -> 100.
    assert res["pairs"]["003-004"] == {"NM": 50, "BG": 50, "CL": 100}
    assert res["mean"] == {"NM": 75, "BG": 75, "CL": 100} and res["chance"] == 50.0
    # The full protocol compares with every subject: 005's gallery (20.45) takes the NM probes
    # of 003 and 004, so NM drops to 50; the twins protocol never sees 005.
    full = casia_b_protocol(emb, sids, types, views)
    assert full["mean"]["NM"] == 50 and res["mean"]["NM"] == 75
    with pytest.raises(ValueError, match="none of the twin pairs"):
        twins_protocol(emb, sids, types, views, [("010", "011")])


def test_non_finite_embeddings_are_an_error_that_counts_them():
    emb, sids, types, views = scalar_set(casia_rows())
    emb[[1, 4, 7]] = float("nan")
    emb[2] = float("inf")
    for protocol in (lambda: casia_b_protocol(emb, sids, types, views), lambda: retrieval_protocol(emb, sids),
                     lambda: twins_protocol(emb, sids, types, views, [("075", "076")])):
        with pytest.raises(NonFiniteEmbeddingsError, match=r"4 of 16 sequences have non-finite embeddings"):
            protocol()


# ---------------------------------------------------------------------- embeddings + CLI

@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A fake dataset (2 test subjects x 10 types x 3 views) and an untrained tiny checkpoint."""
    from conftest import write_fake_dataset

    from gaitgs_lib.config import get_config
    from gaitgs_lib.modeling.gaitgs import GaitGS

    tmp = tmp_path_factory.mktemp("evalcli")
    root = write_fake_dataset(tmp / "data")
    torch.manual_seed(0)
    cfg = get_config("tiny")
    path = tmp / "tiny.pt"
    torch.save({"model": GaitGS(cfg).state_dict(), "config": cfg.to_dict(), "preset": "tiny", "iteration": 0}, path)
    return root, path


@pytest.mark.slow
def test_extract_embeddings_batched_equals_one_at_a_time(tiny_checkpoint):
    from gaitgs_lib.data.dataset import GaitDataset
    from gaitgs_lib.evaluation import extract_embeddings
    from gaitgs_lib.modeling import load_trained_model

    root, path = tiny_checkpoint
    model, _ = load_trained_model(path)
    model.train()  # extract_embeddings switches to eval and back
    ds = GaitDataset(root, split="test", size=(32, 22))
    lengths = [ds[i][0].shape[0] for i in range(len(ds))]
    assert len(set(lengths)) > 1 and len(lengths) > len(set(lengths))  # mixed lengths, some shared
    one = extract_embeddings(model, ds, batch_size=1, progress=False, num_workers=0)
    assert model.training
    assert one["embeddings"].shape == (len(ds), 64, 32) and one["embeddings"].dtype == torch.float32
    assert one["sids"] == ds.sids and one["types"] == ds.types and one["views"] == ds.views
    # one sequence alone, every frame, no dropout in eval mode: the same numbers
    frames, _ = ds[3]
    with torch.no_grad():
        alone = model.eval()(frames[None])["embeddings"][0]
    torch.testing.assert_close(one["embeddings"][3], alone, atol=0, rtol=0)
    reference = casia_b_protocol(one["embeddings"], one["sids"], one["types"], one["views"])
    for batch_size, workers in ((4, 0), (64, 2)):
        batched = extract_embeddings(model, ds, batch_size=batch_size, progress=False, num_workers=workers)
        assert batched["sids"] == ds.sids and batched["types"] == ds.types and batched["views"] == ds.views
        # batches of equal length: no padding, so only float rounding of the batched kernels differs
        torch.testing.assert_close(batched["embeddings"], one["embeddings"], atol=1e-5, rtol=1e-5)
        result = casia_b_protocol(batched["embeddings"], batched["sids"], batched["types"], batched["views"])
        for cond in ("NM", "BG", "CL"):
            np.testing.assert_array_equal(result["matrices"][cond], reference["matrices"][cond])
    # the accelerator's path (workers only read, the model runs here), exercised on the CPU
    from gaitgs_lib.evaluation.extract import _batches_here

    seen = {}
    for indices, emb, infos in _batches_here(model.eval(), ds, 8, 1, torch.device("cpu")):
        assert len({ds[i][0].shape[0] for i in indices}) == 1 and len(indices) <= 8  # one length per batch
        seen.update({i: (e, info) for i, e, info in zip(indices, emb, infos)})
    assert sorted(seen) == list(range(len(ds))) and all(seen[i][1] == ds.infos[i] for i in seen)
    torch.testing.assert_close(torch.stack([seen[i][0] for i in range(len(ds))]), one["embeddings"],
                               atol=1e-5, rtol=1e-5)


def test_extract_embeddings_names_a_bad_file_and_counts_non_finite(tiny_checkpoint, tmp_path):
    import shutil

    from gaitgs_lib.data.dataset import GaitDataset
    from gaitgs_lib.evaluation import extract_embeddings
    from gaitgs_lib.modeling import load_trained_model

    root, path = tiny_checkpoint
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    bad = copy / "006" / "bg-02" / "090" / "090.pkl"
    bad.write_bytes(b"\x80\x04truncated")
    model, _ = load_trained_model(path)
    ds = GaitDataset(copy, split="test", size=(32, 22))
    with pytest.raises(ValueError, match=r"cannot embed sequence #\d+ .*006/bg-02/090/090.pkl.*not a readable pickle"):
        extract_embeddings(model, ds, progress=False, num_workers=1)
    # a model with NaN weights: every embedding is NaN -> an error with the count, not a table
    ds = GaitDataset(root, split="test", size=(32, 22))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    with pytest.raises(NonFiniteEmbeddingsError, match=f"{len(ds)} of {len(ds)} sequences have non-finite"):
        extract_embeddings(model, ds, progress=False, num_workers=0)


def run_cli(argv, capsys):
    """`evaluate` in-process -> (exit status, stdout, stderr)."""
    from gaitgs_lib.evaluation import main

    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.slow
def test_evaluate_cli(tiny_checkpoint, tmp_path, capsys):
    root, path = tiny_checkpoint
    out = tmp_path / "result.json"
    argv = ["--checkpoint", str(path), "--data", str(root), "--no-progress"]
    status, printed, _ = run_cli(argv + ["--protocol", "casia-b", "--out", str(out)], capsys)
    assert status == 0
    assert printed.splitlines()[0].split() == ["000", "090", "180", "mean"]
    assert [line.split()[0] for line in printed.splitlines()[1:4]] == ["NM", "BG", "CL"]
    assert "invalid probes counted as failures" in printed.splitlines()[4]
    result = json.loads(out.read_text())
    assert result["preset"] == "tiny" and np.asarray(result["matrices"]["NM"]).shape == (3, 3)
    assert result["exclude_invalid"] is False and result["num_sequences"] == 60
    for protocol, words in (("retrieval", "counted as failures"), ("retrieval-excl", "invalid probes excluded")):
        status, printed, _ = run_cli(argv + ["--protocol", protocol, "--batch-size", "1"], capsys)
        assert status == 0 and "mAP" in printed and words in printed


def test_evaluate_cli_user_errors_are_one_line(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    import gaitgs_lib.evaluation.cli as cli

    root, path = tiny_checkpoint
    argv = ["--checkpoint", str(path), "--data", str(root), "--no-progress"]
    text, empty = tmp_path / "notes.pt", tmp_path / "empty.pt"
    text.write_text("my checkpoint is on the other disk\n")
    empty.write_bytes(b"")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    nan = tmp_path / "nan.pt"
    state = torch.load(path, weights_only=True)
    state["model"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                      for k, v in state["model"].items()}
    torch.save(state, nan)
    cases = [
        (["--protocol", "gait3d"], "valid protocols: casia-b, ou-mvlp, ou-mvlp-excl, retrieval, retrieval-excl"),
        (["--protocol", "casia-b", "--preset", "paper"], "trained with preset 'tiny'"),
        (["--protocol", "casia-b", "--format", "opengait"], "is a gaitgs checkpoint .*drop --format opengait"),
        (["--protocol", "casia-b", "--out", str(tmp_path)], "is a folder; give a file name"),
        (["--protocol", "casia-b", "--out", str(a_file / "r.json")], "a-file is a file, not a folder"),
        (["--protocol", "casia-b", "--batch-size", "0"], "--batch-size must be at least 1"),
    ]
    with monkeypatch.context() as m:  # these must fail before a single sequence is embedded
        m.setattr(cli, "extract_embeddings", lambda *a, **k: pytest.fail("evaluated before checking"))
        for extra, message in cases:
            status, _, err = run_cli(argv + extra, capsys)
            assert status == 2 and err.count("\n") == 1 and err.startswith("error: "), (extra, err)
            assert re.search(message, err), (extra, err)
        for checkpoint, message in ((tmp_path / "none.pt", "checkpoint not found"),
                                    (text, "notes.pt: it is a text file, not a PyTorch checkpoint"),
                                    (empty, "empty.pt: the file is empty")):
            status, _, err = run_cli(["--checkpoint", str(checkpoint), "--data", str(root), "--protocol", "casia-b"],
                                     capsys)
            assert status == 2 and err.count("\n") == 1 and message in err, err
            assert "weights_only" not in err
    with pytest.raises(SystemExit) as exit_info:  # argparse's own errors: one line too
        run_cli(["--checkpoint", str(path), "--protocol", "casia-b"], capsys)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "--data" in err and "--help" in err
    status, _, err = run_cli(argv + ["--protocol", "ou-mvlp"], capsys)  # OU-MVLP on CASIA-B-style data
    assert status == 2 and err.count("\n") == 1 and "no gallery sequences of types ['01']" in err
    status, printed, err = run_cli(["--checkpoint", str(nan), "--data", str(root), "--protocol", "casia-b",
                                    "--no-progress"], capsys)
    assert status == 2 and printed == "" and err.count("\n") == 1
    assert "60 of 60 sequences have non-finite embeddings (NaN or inf)" in err


def test_evaluate_cli_read_only_out(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    import gaitgs_lib.evaluation.cli as cli

    root, path = tiny_checkpoint
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: let the check see what a user would
        real_access = os.access
        monkeypatch.setattr(cli.os, "access", lambda p, mode: real_access(p, mode) and Path(p) != locked)
    monkeypatch.setattr(cli, "extract_embeddings", lambda *a, **k: pytest.fail("evaluated before checking"))
    status, _, err = run_cli(["--checkpoint", str(path), "--data", str(root), "--protocol", "casia-b",
                              "--out", str(locked / "sub" / "r.json")], capsys)
    assert status == 2 and err.count("\n") == 1 and f"cannot write into {locked} (permission denied)" in err


def test_evaluate_cli_authors_checkpoint(tiny_checkpoint, authors_fixture, tmp_path, capsys):
    root, _ = tiny_checkpoint
    path = tmp_path / "opengait.pt"
    torch.save({"model": authors_fixture["state_dict"], "optimizer": None, "scheduler": None, "iteration": 0}, path)
    argv = ["--checkpoint", str(path), "--data", str(root), "--protocol", "casia-b", "--no-progress"]
    status, _, err = run_cli(argv, capsys)
    assert status == 2 and "carries no config; pass --preset" in err
    status, _, err = run_cli(argv + ["--format", "opengait", "--preset", "tiny"], capsys)
    assert status == 2 and "does not fit GaitGS config 'tiny'" in err and err.count("\n") == 1
    status, printed, _ = run_cli(argv + ["--preset", "authors-small"], capsys)
    assert status == 0 and printed.splitlines()[1].split()[0] == "NM"


@pytest.mark.slow
def test_bench_evaluate_smoke(tiny_checkpoint):
    """CI keeps `python -m benchmarks.bench_evaluate` from rotting: one run on the tiny fake dataset."""
    import subprocess
    import sys

    root, path = tiny_checkpoint
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_evaluate", "--checkpoint", str(path),
                           "--data", str(root), "--subjects", "2", "--batch-size", "8", "--threads", "1"],
                          capture_output=True, text=True, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert "| command | sequences | wall s | sequences/s | CPU s | sequences per CPU s |" in lines
    row = next(line for line in lines if line.startswith("| this tree"))
    # the two test subjects, 10 types x 3 views each (one subject alone is not rankable)
    assert row.split("|")[2].strip() == "60"
    assert float(row.split("|")[4].replace(",", "")) > 0
    assert any(line.split()[:1] == ["NM"] for line in lines)


@pytest.mark.slow
def test_evaluate_cli_refuses_to_score_a_test_split_of_one_subject(tiny_checkpoint, tmp_path, capsys):
    """Landed main: exit 0 and a table of 100.0 in every cell."""
    from conftest import write_fake_dataset

    _, path = tiny_checkpoint
    root = write_fake_dataset(tmp_path / "one", subjects=5, train=4)  # test split: subject 005 alone
    for protocol in ("casia-b", "retrieval"):
        status, printed, err = run_cli(["--checkpoint", str(path), "--data", str(root), "--protocol", protocol,
                                        "--no-progress", "--workers", "0", "--out", str(tmp_path / "r.json")], capsys)
        assert status == 2 and printed == "" and err.count("\n") == 1, err
        assert f"{protocol}: not rankable" in err and "1 subject" in err and "100.0" not in err
        assert not (tmp_path / "r.json").exists()
