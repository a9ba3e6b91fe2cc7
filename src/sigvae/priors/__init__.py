"""Priors over latent sequences: each a torch module with ``log_prob(z [B, D, L]) -> [B]``.

- :class:`NormalPrior`: independent N(0, 1) at every step (no temporal structure);
- :class:`GPPrior`: an exact Gaussian process per latent dimension, its own kernel length
  scale each (the GP-VAE reference; Cholesky of an L × L matrix per dimension, O(L³));
- :class:`SKRPrior`: structured kernel regression: each step regressed on its past with
  kernel weights (own bandwidth per dimension), no kernel-matrix inversion, O(L · window);
- :class:`ARFlowPrior`: an affine autoregressive flow per dimension whose shift and scale
  adapt to the recent past; density by change of variables.

The equations are in ``docs/separation.md``. :func:`build_prior` makes one from a name.
"""

from __future__ import annotations

from .temporal import (
    PRIORS,
    ARFlowPrior,
    GPPrior,
    NormalPrior,
    SKRPrior,
    build_prior,
    kernel_fn,
    length_scales,
)

__all__ = ["NormalPrior", "GPPrior", "SKRPrior", "ARFlowPrior", "PRIORS", "build_prior", "kernel_fn", "length_scales"]
