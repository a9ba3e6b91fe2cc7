"""sigvae: variational decomposition of signals.

The public API:
- :func:`train` trains a registered model on a data spec and returns the run folder;
- :func:`load` rebuilds a trained model from its folder (safetensors + JSON, no pickle);
- :data:`MODELS` and :data:`SOURCES` are the registries of models and built-in data.
"""

from __future__ import annotations

from .version import __version__


def __getattr__(name: str):
    # Lazy, so `import sigvae` (and the CLI's --help) does not import torch and Lightning.
    if name == "load":
        from .modelfile import load

        return load
    if name == "train":
        from .training import train

        return train
    if name == "MODELS":
        from .models import MODELS

        return MODELS
    if name == "SOURCES":
        from .data import SOURCES

        return SOURCES
    raise AttributeError(f"module 'sigvae' has no attribute {name!r}")


__all__ = ["__version__", "load", "train", "MODELS", "SOURCES"]
