"""Models: one file per family, each registering itself in :data:`MODELS` on import.

To add a model: write ``models/<name>.py`` with a config dataclass and a SigModel
subclass decorated with ``@register_model``, then add its import below.
"""

from __future__ import annotations

from ..config import from_dict, replace
from .base import (
    MODELS,
    ModelConfig,
    ModelSpec,
    OptimizerSpec,
    Posterior,
    SigModel,
    StepOutput,
    register_model,
    register_preset,
)

# Each import registers its models.
from . import vae  # noqa: E402,F401  isort: skip
from . import factorvae  # noqa: E402,F401  isort: skip
from . import decvae  # noqa: E402,F401  isort: skip
from . import bss_vae  # noqa: E402,F401  isort: skip
from . import separator  # noqa: E402,F401  isort: skip
from . import vqvae  # noqa: E402,F401  isort: skip


def build_config(name: str, overrides: dict | None = None) -> ModelConfig:
    """The config of model ``name``: its class defaults, then the preset's, then ``overrides``."""
    entry = MODELS.get(name)
    base = from_dict(entry.obj.config, dict(entry.defaults), where=f"model {entry.name}")
    return replace(base, overrides or {}, where=f"model {entry.name}")


def build_model(name: str, config: ModelConfig | dict | None = None) -> SigModel:
    """Instantiate registered model ``name`` from a config object or a dict of overrides."""
    entry = MODELS.get(name)
    if not isinstance(config, ModelConfig):
        config = build_config(name, config)
    model = entry.obj.module(config)
    model.registry_name = entry.name
    return model


__all__ = [
    "MODELS", "ModelConfig", "ModelSpec", "OptimizerSpec", "Posterior", "SigModel", "StepOutput",
    "register_model", "register_preset", "build_config", "build_model",
]
