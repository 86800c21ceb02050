"""The first code cell of every notebook: seeds, quick/full mode, device and versions in one call."""
import os
import platform
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gaitgs_lib.runtime import default_device, quick_mode


@dataclass(frozen=True)
class NotebookSetup:
    """What a notebook needs to know about where it runs."""

    quick: bool
    device: torch.device
    repo: Path  # the repository root, for data/ and runs/ (never printed: paths stay relative)
    seed: int

    def path(self, *parts: str) -> Path:
        """A path inside the repository, e.g. `setup.path("data", "synthgait-mini")`."""
        return self.repo.joinpath(*parts)


def _find_repo(start: Path) -> Path:
    for folder in [start, *start.parents]:
        if (folder / "gaitgs_lib").is_dir() and (folder / "notebooks").is_dir():
            return folder
    return start


def setup_notebook(seed: int = 0, verbose: bool = True) -> NotebookSetup:
    """Seed everything, pick the device and print the mode; call it once at the top.

    Quick mode (`GAITGS_QUICK=1`, set by CI; the default without a GPU) shrinks data and
    iterations so the notebook runs on a 2-core CPU in minutes.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    quick = quick_mode()
    device = default_device()
    repo = _find_repo(Path(os.getcwd()).resolve())
    if verbose:
        print(f"mode   : {'quick (small data, few iterations)' if quick else 'full'}")
        print(f"device : {device}" + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else ""))
        print(f"python {platform.python_version()} · torch {torch.__version__.split('+')[0]} · numpy {np.__version__}")
    return NotebookSetup(quick=quick, device=device, repo=repo, seed=seed)
