"""The separation methods by name (:data:`METHODS`) and :func:`parse_method`, without torch.

Kept apart from :mod:`.methods` (which trains the VAEs and imports torch) so that listing
the methods, e.g. for ``sigvae unmix --help``, stays fast.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..registry import Registry
from .classical import BASELINES

#: Separation method name → ("baseline", function name) or ("vae", model registry name).
METHODS: Registry = Registry("separation method")
for _name, _desc in (("pca", "principal components, whitened (ignores independence)"),
                     ("fastica", "FastICA (scikit-learn, logcosh)"),
                     ("amuse", "AMUSE: one lagged covariance (second order)"),
                     ("sobi", "SOBI: joint diagonalisation of 20 lagged covariances")):
    METHODS.register(_name, ("baseline", _name), description=_desc)
for _name, _model, _desc in (("vae", "bss_vae", "sequence VAE, N(0, I) prior"),
                             ("gp_vae", "gp_vae", "sequence VAE, exact GP prior per source"),
                             ("skr_vae", "skr_vae", "SKR-VAE: kernel-regression prior per source"),
                             ("arflow_vae", "arflow_vae", "AR-Flow VAE: autoregressive flow prior per source")):
    METHODS.register(_name, ("vae", _model), description=_desc)


def parse_method(method: str) -> tuple[str, str | None]:
    """``"arflow_vae@fastica"`` → (``"arflow_vae"``, ``"fastica"``); a plain name → (name, None).

    Raises ConfigError for an unknown name, or an ``@`` after a baseline or before a non-baseline.
    """
    name, at, init = method.partition("@")
    entry = METHODS.get(name)
    if not at:
        return entry.name, None
    if entry.obj[0] != "vae" or init not in BASELINES:
        raise ConfigError(f"{method!r}: 'VAE@BASELINE' needs a VAE method before '@' and one of {', '.join(BASELINES)} after it")
    return entry.name, init


__all__ = ["METHODS", "parse_method"]
