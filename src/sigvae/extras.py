"""Optional dependencies: what only some features need, installed as pip extras.

``pip install sigvae`` brings what every command needs. A feature that needs more names its
extra when the package is missing, in one line (the CLI prints it and exits with status 2)::

    the bundled UCR data needs the 'ucr' extra (aeon): pip install 'sigvae[ucr]'

The extras are declared in ``pyproject.toml``; :data:`EXTRAS` maps each to the module it
provides, so the message and the check cannot disagree with what the extra installs.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .errors import SigvaeError

#: Extra name → (module the feature imports, distribution the extra installs).
EXTRAS: dict[str, tuple[str, str]] = {
    "ucr": ("aeon", "aeon"),
    "tensorboard": ("tensorboard", "tensorboard"),
    "mlflow": ("mlflow", "mlflow-skinny"),
    "wandb": ("wandb", "wandb"),
}


class MissingExtraError(SigvaeError, ImportError):
    """A feature needs an optional dependency that is not installed.

    ``extra`` is the pip extra that installs it (``pip install 'sigvae[<extra>]'``).
    """

    def __init__(self, feature: str, extra: str):
        module, dist = EXTRAS[extra]
        super().__init__(f"{feature} needs the {extra!r} extra ({dist}): pip install 'sigvae[{extra}]'")
        self.extra = extra
        self.name = module


def available(extra: str) -> bool:
    """Whether ``extra``'s module can be imported (found on the path; nothing is imported)."""
    module, _ = EXTRAS[extra]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed install
        return False


def require(extra: str, feature: str) -> ModuleType:
    """Import and return ``extra``'s module, or raise :class:`MissingExtraError` naming the
    extra and ``feature``, the subject of "… needs the 'ucr' extra" (e.g. "the bundled UCR
    data", "--logger mlflow")."""
    module, _ = EXTRAS[extra]
    if not available(extra):
        raise MissingExtraError(feature, extra)
    try:
        return importlib.import_module(module)
    except ImportError as e:
        # Installed but broken (a missing binary dependency, say): say which extra to repair.
        raise MissingExtraError(feature, extra) from e


__all__ = ["EXTRAS", "MissingExtraError", "available", "require"]
