"""gaitgs_lib: GaitGS (Xiong et al., ICIP 2024) block by block, with its data, training and evaluation.

The top-level names are imported lazily so that `import gaitgs_lib` stays fast and a
notebook only pays for what it uses.
"""
from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "GaitGS": "gaitgs_lib.modeling.gaitgs",
    "GaitGSConfig": "gaitgs_lib.config",
    "MODEL_PRESETS": "gaitgs_lib.config",
    "get_config": "gaitgs_lib.config",
    "quick_mode": "gaitgs_lib.runtime",
    "default_device": "gaitgs_lib.runtime",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gaitgs_lib' has no attribute {name!r}")
