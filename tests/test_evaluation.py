"""Evaluation protocols on hand-made embeddings whose answers are known by hand."""
import json

import numpy as np
import pytest
import torch

from gaitgs_lib.evaluation import (
    casia_b_protocol,
    cmc_curve,
    format_casia_b_table,
    ou_mvlp_protocol,
    part_distance,
    retrieval_metrics,
    retrieval_protocol,
    save_result_json,
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
    # Subject 2 has no gallery sequence at view 000.
    rows = [("1", "01", "000", 0), ("1", "01", "015", 100), ("2", "01", "015", 110),
            ("1", "00", "000", 1), ("2", "00", "000", 9), ("1", "00", "015", 101), ("2", "00", "015", 109)]
    opengait = ou_mvlp_protocol(*scalar_set(rows))
    excl = ou_mvlp_protocol(*scalar_set(rows), exclude_invalid=True)
    # probe 000 vs gallery 015: 1 -> 100 (A, right), 9 -> 100 (A, wrong) = 50 in both.
    # probe views x gallery 000 (only subject 1): subject 2 is a failure, or dropped.
    np.testing.assert_allclose(opengait["matrices"]["OU-MVLP"], [[50, 50], [50, 100]])
    np.testing.assert_allclose(excl["matrices"]["OU-MVLP"], [[100, 50], [100, 100]])
    assert opengait["mean"]["OU-MVLP"] == 50 and excl["mean"]["OU-MVLP"] == 75
    assert opengait["protocol"] == "ou-mvlp" and excl["protocol"] == "ou-mvlp-excl"
    assert "counted as failures" in format_casia_b_table(opengait)
    assert "invalid probes excluded" in format_casia_b_table(excl)


def test_retrieval_metrics_by_hand():
    dist = np.array([[0.3, 0.1, 0.5, 0.2, 0.9],   # probe a: matches at ranks 3, 4
                     [0.1, 0.2, 0.3, 0.4, 0.5],   # probe b: matches at ranks 2, 4, 5
                     [0.0, 0.0, 0.0, 0.0, 0.0]])  # probe c: not in the gallery -> left out
    gallery = ["a", "b", "a", "b", "b"]
    res = retrieval_metrics(dist, ["a", "b", "c"], gallery, ranks=(1, 2, 3, 5))
    assert res["rank-1"] == 0 and res["rank-2"] == 50 and res["rank-3"] == 100 and res["rank-5"] == 100
    ap_a, ap_b = (1 / 3 + 2 / 4) / 2, (1 / 2 + 2 / 4 + 3 / 5) / 3
    assert res["mAP"] == pytest.approx(100 * (ap_a + ap_b) / 2)
    assert res["mINP"] == pytest.approx(100 * (2 / 4 + 3 / 5) / 2)
    assert res["num_valid_probes"] == 2 and res["num_probes"] == 3
    np.testing.assert_allclose(cmc_curve(dist, ["a", "b", "c"], gallery, max_rank=5), [0, 50, 100, 100, 100])
    with pytest.raises(ValueError, match=r"expected \[probes, gallery\]"):
        retrieval_metrics(dist, ["a", "b"], gallery)


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

@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A fake dataset (2 test subjects x 10 types x 3 views) and an untrained tiny checkpoint."""
    from conftest import write_fake_dataset as make_fake_dataset

    from gaitgs_lib.config import get_config
    from gaitgs_lib.modeling.gaitgs import GaitGS

    tmp = tmp_path_factory.mktemp("evalcli")
    root = make_fake_dataset(tmp / "data")
    torch.manual_seed(0)
    cfg = get_config("tiny")
    path = tmp / "tiny.pt"
    torch.save({"model": GaitGS(cfg).state_dict(), "config": cfg.to_dict(), "preset": "tiny", "iteration": 0}, path)
    return root, path


def test_extract_embeddings_order_batching_and_eval_mode(tiny_checkpoint):
    from gaitgs_lib.data.dataset import GaitDataset
    from gaitgs_lib.evaluation import extract_embeddings
    from gaitgs_lib.modeling import load_trained_model

    root, path = tiny_checkpoint
    model, _ = load_trained_model(path)
    model.train()  # extract_embeddings switches to eval and back
    ds = GaitDataset(root, split="test", size=(32, 22), subjects=["005"])
    one = extract_embeddings(model, ds, progress=False)
    assert model.training
    assert one["embeddings"].shape == (len(ds), 64, 32) and one["embeddings"].dtype == torch.float32
    assert one["sids"] == ds.sids and one["types"] == ds.types and one["views"] == ds.views
    batched = extract_embeddings(model, ds, batch_size=4, progress=False)
    torch.testing.assert_close(batched["embeddings"], one["embeddings"], atol=1e-4, rtol=1e-4)
    assert batched["sids"] == ds.sids and batched["types"] == ds.types and batched["views"] == ds.views
    assert len({ds[i][0].shape[0] for i in range(len(ds))}) > 1  # lengths differ: batching had to regroup
    # one sequence alone, every frame (no dropout in eval mode: the same numbers again)
    frames, _ = ds[3]
    with torch.no_grad():
        alone = model.eval()(frames[None])["embeddings"][0]
    torch.testing.assert_close(one["embeddings"][3], alone, atol=1e-5, rtol=1e-5)


def test_evaluate_cli(tiny_checkpoint, tmp_path, capsys):
    from gaitgs_lib.evaluation import main

    root, path = tiny_checkpoint
    out = tmp_path / "result.json"
    argv = ["--checkpoint", str(path), "--data", str(root), "--no-progress"]
    assert main(argv + ["--protocol", "casia-b", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["000", "090", "180", "mean"]
    assert [line.split()[0] for line in printed.splitlines()[1:4]] == ["NM", "BG", "CL"]
    result = json.loads(out.read_text())
    assert result["preset"] == "tiny" and np.asarray(result["matrices"]["NM"]).shape == (3, 3)
    assert main(argv + ["--protocol", "retrieval"]) == 0
    assert "mAP" in capsys.readouterr().out
    assert main(argv + ["--protocol", "gait3d"]) == 2
    assert "valid protocols: casia-b, ou-mvlp, ou-mvlp-excl, retrieval" in capsys.readouterr().err
    assert main(argv + ["--protocol", "casia-b", "--preset", "paper"]) == 2
    assert "trained with preset 'tiny'" in capsys.readouterr().err
    # OU-MVLP on CASIA-B-style data: no gallery of type 01
    assert main(argv + ["--protocol", "ou-mvlp"]) == 2
    err = capsys.readouterr().err
    assert "test split" in err and "no gallery sequences of types ['01']" in err
    assert main(["--checkpoint", str(tmp_path / "none.pt"), "--data", str(root), "--protocol", "casia-b"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_twins_protocol():
    from gaitgs_lib.evaluation import twins_protocol

    emb, sids, types, views = scalar_set(casia_rows())
    res = twins_protocol(emb, sids, types, views, [("075", "076"), ("001", "002")])
    assert list(res["pairs"]) == ["075-076"]  # pairs absent from the data are skipped
    assert res["mean"] == casia_b_protocol(emb, sids, types, views)["mean"] and res["chance"] == 50.0
    with pytest.raises(ValueError, match="none of the twin pairs"):
        twins_protocol(emb, sids, types, views, [("001", "002")])


def test_evaluate_cli_authors_checkpoint(tiny_checkpoint, authors_fixture, tmp_path, capsys):
    from gaitgs_lib.evaluation import main

    root, _ = tiny_checkpoint
    path = tmp_path / "opengait.pt"
    torch.save({"model": authors_fixture["state_dict"], "optimizer": None, "scheduler": None, "iteration": 0}, path)
    argv = ["--checkpoint", str(path), "--data", str(root), "--protocol", "casia-b", "--no-progress"]
    assert main(argv) == 2
    assert "carries no config; pass --preset" in capsys.readouterr().err
    assert main(argv + ["--format", "opengait", "--preset", "tiny"]) == 2
    assert "does not fit GaitGS config 'tiny'" in capsys.readouterr().err
    assert main(argv + ["--preset", "authors-small"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[0] == "NM"
