"""Models: one file per family, each registering itself in :data:`MODELS` on import.

To add a model: write ``models/<name>.py`` with a config dataclass and a SigModel
subclass decorated with ``@register_model``, then add its import below.
"""

from __future__ import annotations

import contextlib

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
from . import adagvae  # noqa: E402,F401  isort: skip
from . import dipvae  # noqa: E402,F401  isort: skip
from . import annealed  # noqa: E402,F401  isort: skip


def build_config(name: str, overrides: dict | None = None) -> ModelConfig:
    """The config of model ``name``: its class defaults, then the preset's, then ``overrides``."""
    entry = MODELS.get(name)
    base = from_dict(entry.obj.config, dict(entry.defaults), where=f"model {entry.name}")
    return replace(base, overrides or {}, where=f"model {entry.name}")


def build_model(name: str, config: ModelConfig | dict | None = None, *, copies: int = 1, what: str | None = None,
                counted: bool = False) -> SigModel:
    """Instantiate registered model ``name`` from a config object or a dict of overrides.

    The model is first counted on the ``meta`` device (:func:`build_meta_model`, with
    ``copies`` and ``what``): one whose parameters and buffers exceed the memory budget is
    refused (DataError) before any of them is allocated. ``counted=True`` skips that when
    the caller has just passed this config through :func:`build_meta_model` itself.
    """
    if not isinstance(config, ModelConfig):
        config = build_config(name, config)
    if not counted:
        build_meta_model(name, config, what=what, copies=copies)
    return _construct(name, config)


def _construct(name: str, config: ModelConfig | dict | None) -> SigModel:
    entry = MODELS.get(name)
    if not isinstance(config, ModelConfig):
        config = build_config(name, config)
    model = entry.obj.module(config)
    model.registry_name = entry.name
    return model


@contextlib.contextmanager
def _meta_safe_parametrizations():
    """Let ``nn.utils.parametrizations.orthogonal`` register on meta tensors.

    Registering it checks that the weight is already orthogonal (``torch.allclose``, which
    needs values a meta tensor does not have); the check only decides the initial values,
    never the shapes, so on meta tensors it is answered "yes". Other tensors are checked
    as before; the original function is restored on exit.
    """
    from torch.nn.utils import parametrizations

    original = getattr(parametrizations, "_is_orthogonal", None)
    if original is None:  # another torch: nothing to adapt
        yield
        return

    def is_orthogonal(q, *args, **kwargs):
        return True if q.is_meta else original(q, *args, **kwargs)

    parametrizations._is_orthogonal = is_orthogonal
    try:
        yield
    finally:
        parametrizations._is_orthogonal = original


def build_meta_model(name: str, config: ModelConfig | dict | None = None, what: str | None = None,
                     copies: int = 1) -> SigModel | None:
    """Build model ``name`` on PyTorch's ``meta`` device (shapes only, no memory) and check
    ``copies`` × the bytes of its parameters and buffers against the memory budget.

    Returns the meta model, whose ``state_dict()`` shapes are the real model's (None if
    the model needs an operation that meta tensors cannot do: then nothing was counted).
    :func:`build_model` calls it with ``copies=1``; loading a model folder (weights and the
    loaded copy) and training (weights, gradients, two optimiser moments) ask for more.
    Huge dimensions are refused with one DataError line (prefixed ``what``) instead of
    being allocated; sizes that overflow PyTorch's own arithmetic too.
    """
    import torch

    from ..errors import DataError, SigvaeError, first_line
    from ..limits import check_bytes

    try:
        with torch.device("meta"), _meta_safe_parametrizations():
            model = _construct(name, config)
    except SigvaeError:
        raise
    except (RuntimeError, OverflowError, ValueError, TypeError) as e:
        text = first_line(e)[:200]
        # PyTorch reports a size past 2**63 as a TypeError ("Overflow when unpacking long long");
        # any other TypeError is a bug and stays one.
        if isinstance(e, TypeError) and "overflow" not in text.lower():
            raise
        if "meta" in text.lower():
            return None
        raise DataError(f"{what + ': ' if what else ''}model {name!r} cannot be built with these sizes ({text})") from None
    tensors = list(model.parameters()) + list(model.buffers())
    count = sum(t.numel() for t in tensors)
    label = f"model {name!r} with {count:,} parameter and buffer values" + (f" ({copies} copies)" if copies > 1 else "")
    check_bytes(f"{what}: {label}" if what else label, copies * sum(t.numel() * t.element_size() for t in tensors))
    return model


__all__ = [
    "build_meta_model",
    "MODELS", "ModelConfig", "ModelSpec", "OptimizerSpec", "Posterior", "SigModel", "StepOutput",
    "register_model", "register_preset", "build_config", "build_model",
]
