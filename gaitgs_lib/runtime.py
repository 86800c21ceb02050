"""Run-time switches shared by the library and the notebooks: quick mode, device, data.

Three environment variables steer the whole series, so that nothing has to be edited in a
notebook to move it to another machine or dataset:

| variable | values | default |
| --- | --- | --- |
| `GAITGS_QUICK` | `1` quick mode, `0` full mode | quick exactly when no CUDA GPU is present |
| `GAITGS_DATA` | a dataset folder in the OpenGait layout, or `synthgait-mini` / `synthgait-b` | `synthgait-mini` in quick mode, `synthgait-b` in full mode |
| `CUDA_VISIBLE_DEVICES` | (PyTorch's own) | every GPU |
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

QUICK_ENV = "GAITGS_QUICK"
DATA_ENV = "GAITGS_DATA"
SYNTHGAIT_NAMES = {"synthgait-mini": "mini", "synthgait-b": "b"}


def quick_mode() -> bool:
    """True when the series should shrink data and iterations (CI, laptops).

    `GAITGS_QUICK=1` forces quick mode and `GAITGS_QUICK=0` forces full mode; when the
    variable is unset, quick mode is on exactly when no CUDA GPU is available.
    """
    value = os.environ.get(QUICK_ENV)
    if value is None or value.strip() == "":
        return not torch.cuda.is_available()
    return value.strip().lower() not in {"0", "false", "no", "off"}


def default_device() -> torch.device:
    """CUDA when present, else CPU. The library never hard-codes a device."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class DataChoice:
    """Which dataset the series reads: a SynthGait preset (generated on demand) or a folder."""

    name: str  # "synthgait-mini", "synthgait-b", or the folder as given
    synthgait_preset: str | None  # "mini" / "b" for SynthGait, None for a user's folder
    folder: Path | None  # the user's folder (None for SynthGait: it lives under <repo>/data)

    @property
    def is_synthgait(self) -> bool:
        return self.synthgait_preset is not None


def data_choice(quick: bool | None = None) -> DataChoice:
    """The dataset `GAITGS_DATA` names (see the module docstring); checks a folder exists.

    A folder must hold the OpenGait layout (`<sid>/<type>/<view>/<view>.pkl`) and a
    `partition.json`; a missing one is an error that says what was expected.
    """
    quick = quick_mode() if quick is None else quick
    value = (os.environ.get(DATA_ENV) or "").strip()
    if not value:
        value = "synthgait-mini" if quick else "synthgait-b"
    if value in SYNTHGAIT_NAMES:
        return DataChoice(value, SYNTHGAIT_NAMES[value], None)
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{DATA_ENV}={value!r}: no such folder. Set it to a dataset in the OpenGait layout "
            f"(<sid>/<type>/<view>/<view>.pkl plus partition.json), or to synthgait-mini / synthgait-b")
    if not (folder / "partition.json").is_file():
        raise FileNotFoundError(
            f"{DATA_ENV}={value!r}: {folder / 'partition.json'} is missing; every dataset needs one "
            f"(python -m gaitgs_lib pretreat ... --partition casia-b writes CASIA-B's)")
    return DataChoice(value, None, folder)
