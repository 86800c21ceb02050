import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GAITGS_SHARED", REPO.parent / "shared"))
AUTHORS_FIXTURE = SHARED / "fixtures" / "gaitgs-authors-small.pt"


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """The unit tests use small tensors: one intra-op thread is faster than a thread pool
    (several times so on a busy 2-core machine) and makes timings steadier."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def authors_fixture():
    """Outputs of the authors' implementation (see ../shared/fixtures/README.md)."""
    if not AUTHORS_FIXTURE.exists():
        pytest.fail(f"authors' fixture not found at {AUTHORS_FIXTURE}; CI lays ../shared beside the clone")
    return torch.load(AUTHORS_FIXTURE, weights_only=True)
