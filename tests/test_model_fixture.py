"""GaitGS reproduces the authors' implementation (tests/fixtures/gaitgs-authors-small.pt)."""
import pytest
import torch

from gaitgs_lib import GaitGS
from gaitgs_lib.modeling.checkpoint import load_opengait, to_opengait_state_dict



@pytest.fixture(scope="module")
def authors_model(authors_fixture):
    model = GaitGS("authors-small").eval()
    return load_opengait(model, authors_fixture["state_dict"])


def test_fixture_config_is_the_authors_small_preset(authors_fixture):
    cfg = GaitGS("authors-small").cfg
    fx = authors_fixture["config"]
    assert list(cfg.channels) == fx["channels"]
    assert (cfg.views, cfg.parts, cfg.depth, cfg.cape_kernel, cfg.heads, cfg.embed_dim) == (
        fx["view_num"], fx["parts_num"], fx["depth"], fx["kernel_size"], fx["num_head"], fx["out_dim"])
    assert list(cfg.input_hw) == list(authors_fixture["input_hw"])


def test_every_authors_key_is_mapped(authors_fixture, authors_model):
    ours = to_opengait_state_dict(authors_model)
    assert set(ours) == set(authors_fixture["state_dict"])
    assert len(ours) == 228
    for key, value in authors_fixture["state_dict"].items():
        assert torch.equal(ours[key], value), key


@pytest.mark.parametrize("case", range(4))
def test_reproduces_authors_outputs(authors_fixture, authors_model, case):
    c = authors_fixture["cases"][case]
    with torch.no_grad():
        out = authors_model(c["sils"])
    torch.testing.assert_close(out["embeddings"], c["embeddings"], atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(out["view_logits"], c["view_logits"], atol=2e-5, rtol=1e-5)
