"""The first code cell of every notebook: seeds, quick/full mode, device, data and versions in one call."""
import os
import platform
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gaitgs_lib.runtime import DATA_ENV, DataChoice, data_choice, default_device, quick_mode


QUICK_CHECKPOINT = "tiny-synthgait-mini.pt"  # quick mode: `tiny` trained on synthgait-mini
FULL_CHECKPOINT = "small-32-synthgait-b.pt"  # full mode: `small-32` trained on synthgait-b (data/README.md)


@dataclass(frozen=True)
class NotebookSetup:
    """What a notebook needs to know about where it runs."""

    quick: bool
    device: torch.device
    repo: Path  # the repository root, for data/ and runs/ (never printed: paths stay relative)
    seed: int
    data_choice: DataChoice  # what GAITGS_DATA names (SynthGait by default)

    def path(self, *parts: str) -> Path:
        """A path inside the repository, e.g. `setup.path("data", "checkpoints")`."""
        return self.repo.joinpath(*parts)

    @property
    def is_synthgait(self) -> bool:
        """True when the series runs on SynthGait (twins and meta.json exist)."""
        return self.data_choice.is_synthgait

    def data(self) -> Path:
        """The dataset folder every notebook reads (`GAITGS_DATA`; SynthGait by default).

        SynthGait is generated under `data/` on first use (how long: README.md, "What set-up
        costs"; benchmarks/README.md, "Generation time") and read afterwards. The path is
        relative to the notebook's folder when it can be, so outputs show no machine paths.
        """
        choice = self.data_choice
        if choice.is_synthgait:
            from gaitgs_lib.synthgait import ensure_synthgait

            root = ensure_synthgait(choice.synthgait_preset, root=_relative(self.path("data")))
        else:
            root = choice.folder
        return Path(_relative(Path(root)))


    def checkpoint(self) -> Path:
        """The shipped checkpoint the notebooks load for this mode (relative path).

        Quick mode: `data/checkpoints/` + `QUICK_CHECKPOINT` (`tiny` trained on `synthgait-mini`).
        Full mode: `FULL_CHECKPOINT` (`small-32` trained on `synthgait-b`) when that file is
        there, else the quick one. Both are named here, not searched for: shipping another
        checkpoint never changes which one the notebooks load.
        """
        folder = self.path("data", "checkpoints")
        if not self.quick and (folder / FULL_CHECKPOINT).is_file():
            return Path(_relative(folder / FULL_CHECKPOINT))
        return Path(_relative(folder / QUICK_CHECKPOINT))


def _relative(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def _find_repo(start: Path) -> Path:
    for folder in [start, *start.parents]:
        if (folder / "gaitgs_lib").is_dir() and (folder / "notebooks").is_dir():
            return folder
    return start


def setup_notebook(seed: int = 0, verbose: bool = True) -> NotebookSetup:
    """Seed everything, pick the device and the data, print the mode; call it once at the top.

    Quick mode (`GAITGS_QUICK=1`, set by CI; the default without a GPU) shrinks data and
    iterations so the notebook runs on a 2-core CPU in minutes. `GAITGS_DATA` picks the
    dataset for every notebook at once (see `gaitgs_lib.runtime`).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    quick = quick_mode()
    device = default_device()
    repo = _find_repo(Path(os.getcwd()).resolve())
    choice = data_choice(quick)
    if verbose:
        print(f"mode   : {'quick (small data, few iterations)' if quick else 'full'}")
        print(f"device : {device}" + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else ""))
        where = "SynthGait, made on first use" if choice.is_synthgait else "your folder"
        print(f"data   : {choice.name} ({where}; set {DATA_ENV} to change)")
        print(f"python {platform.python_version()} · torch {torch.__version__.split('+')[0]} · numpy {np.__version__}")
    return NotebookSetup(quick=quick, device=device, repo=repo, seed=seed, data_choice=choice)
