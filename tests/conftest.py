import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
AUTHORS_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "gaitgs-authors-small.pt"


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
    """Outputs of the authors' implementation (see tests/fixtures/README.md)."""
    if not AUTHORS_FIXTURE.exists():
        pytest.fail(f"authors' fixture not found at {AUTHORS_FIXTURE}; it is part of the repository")
    return torch.load(AUTHORS_FIXTURE, weights_only=True)


# --------------------------------------------------------------------------------------
# A real browser for the tests that look at what a user sees (JupyterLab widgets, the
# course site): headless Chromium from Debian's packages, driven by Selenium.
# `.ci/run` installs it; elsewhere the browser tests skip with the reason when it is absent.
# --------------------------------------------------------------------------------------
CHROMIUM = os.environ.get("GAITGS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GAITGS_CHROMEDRIVER", "/usr/bin/chromedriver")


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium WebDriver (1400x1000); skipped where no browser is installed,
    except under CI (`CI` set), where a missing browser is a failure."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test under CI but {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


# --------------------------------------------------------------------------------------
# Small datasets in the OpenGait layout for the trainer's tests (training, DDP, faults,
# the benchmarks' smoke tests).
# --------------------------------------------------------------------------------------
CASIA_TYPES = ("nm-01", "nm-02", "nm-03", "nm-04", "nm-05", "nm-06", "bg-01", "bg-02", "cl-01", "cl-02")


def write_fake_dataset(root, subjects=6, train=4, types=CASIA_TYPES, views=("000", "090", "180"), seed=0):
    """Random blobs, 8-15 frames of 64x64 uint8 per sequence, plus partition.json."""
    import json

    import numpy as np

    from gaitgs_lib.data.io import write_sequence

    root = Path(root)
    rng = np.random.default_rng(seed)
    sids = [f"{i:03d}" for i in range(1, subjects + 1)]
    for sid in sids:
        for typ in types:
            for view in views:
                frames = (rng.random((int(rng.integers(8, 16)), 64, 64)) < 0.3).astype(np.uint8) * 255
                write_sequence(root / sid / typ / view / f"{view}.pkl", frames)
    (root / "partition.json").write_text(json.dumps({"TRAIN_SET": sids[:train], "TEST_SET": sids[train:]}))
    return root


def malicious_pickle(marker, frames=(9, 64, 64), how="eval") -> bytes:
    """A `.pkl` that, read with `pickle.load`, creates the file `marker` and then (how="eval")
    returns a valid uint8 array of shape `frames`, so nothing looks wrong, or (how="system")
    returns os.system's exit status. A safe reader refuses it and `marker` never appears."""
    import pickle

    class Payload:
        def __reduce__(self):
            if how == "system":
                return os.system, (f"touch {marker}",)
            code = (f"__import__('pathlib').Path({str(marker)!r}).touch() or "
                    f"__import__('numpy').full({tuple(frames)!r}, 255, 'uint8')")
            return eval, (code,)

    return pickle.dumps(Payload(), protocol=4)


@pytest.fixture(scope="session")
def make_fake_dataset():
    """`make_fake_dataset(root, subjects=6, train=4, types=..., views=..., seed=0) -> root`."""
    return write_fake_dataset


@pytest.fixture(scope="session")
def synthgait_test_root(tmp_path_factory):
    """SynthGait's `test` preset (4 subjects: 2 train, 2 test; ~5 s to generate), read-only for tests."""
    from gaitgs_lib.synthgait import generate

    return generate("test", tmp_path_factory.mktemp("synthgait") / "synthgait-test", progress=False, workers=1)


# --------------------------------------------------------------------------------------
# Markers (declared in pyproject.toml; `--strict-markers` refuses any other):
# - `slow`: end to end or seconds long; the inner loop `pytest -m "not slow"` leaves them out.
# - `browser`: drives headless Chromium. A test that uses the `browser` fixture is a browser
#   test even if nobody marked it, and every browser test is slow, so that one expression,
#   `-m "not slow"`, keeps both out of the inner loop.
# - `cuda`: needs a CUDA GPU (benchmarks/device_check.sh runs them on one); elsewhere they
#   are skipped with the reason.
# --------------------------------------------------------------------------------------
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU: torch.cuda.is_available() is False here "
                                   "(benchmarks/device_check.sh runs these on a GPU machine)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
