"""Run-time switches shared by the library and the notebooks: quick mode and device choice."""
import os

import torch

QUICK_ENV = "GAITGS_QUICK"


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
