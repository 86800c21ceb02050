import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GAITGS_SHARED", REPO.parent / "shared"))
AUTHORS_FIXTURE = SHARED / "fixtures" / "gaitgs-authors-small.pt"


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def authors_fixture():
    """Outputs of the authors' implementation (see ../shared/fixtures/README.md)."""
    if not AUTHORS_FIXTURE.exists():
        pytest.fail(f"authors' fixture not found at {AUTHORS_FIXTURE}; CI lays ../shared beside the clone")
    return torch.load(AUTHORS_FIXTURE, weights_only=True)
