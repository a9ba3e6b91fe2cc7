"""Loss terms shared by models. All per-example terms return [B]; callers average over the batch,
so reconstruction and KL are always on the same per-example scale."""

from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) ‖ N(0, I)) per latent dimension, same shape as ``mean``."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(z; mean, exp(logvar)) (broadcasting)."""
    return -0.5 * (LOG_2PI + logvar + (z - mean).pow(2) * torch.exp(-logvar))


def reparameterize(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Draw z = mean + exp(logvar / 2) · ε with ε ~ N(0, I) (the torch global generator)."""
    return mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)


def _log_importance_weights(batch: int, dataset_size: int, device: torch.device) -> torch.Tensor:
    """log W [B, B] of minibatch stratified sampling (Chen et al. 2018, appendix C.2)."""
    n, m = dataset_size, batch - 1
    strat = (n - m) / (n * m)
    w = torch.full((batch, batch), 1.0 / m, device=device)
    w.view(-1)[:: m + 1] = 1.0 / n
    w.view(-1)[1 :: m + 1] = strat
    w[m - 1, 0] = strat
    return w.log()


def tc_decomposition(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, dataset_size: int) -> dict[str, torch.Tensor]:
    """β-TCVAE's KL decomposition by minibatch stratified sampling (Chen et al., NeurIPS 2018).

    Args: samples ``z`` and posterior parameters [B, D]; ``dataset_size`` N.
    Returns scalars (batch means, nats): ``mi`` = I(x; z), ``tc`` = total correlation
    KL(q(z) ‖ Π q(z_j)), ``dwkl`` = Σ_j KL(q(z_j) ‖ p(z_j)).
    """
    b = z.shape[0]
    log_q_zx = gaussian_log_density(z, mean, logvar).sum(1)
    log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    mat = gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :])  # [B, B, D]
    if b > 1 and dataset_size > b:
        log_w = _log_importance_weights(b, dataset_size, z.device)
        log_qz = torch.logsumexp(log_w + mat.sum(2), dim=1)
        log_prod = torch.logsumexp(log_w[:, :, None] + mat, dim=1).sum(1)
    else:  # minibatch weighted sampling with N = B
        log_qz = torch.logsumexp(mat.sum(2), dim=1) - math.log(b)
        log_prod = (torch.logsumexp(mat, dim=1) - math.log(b)).sum(1)
    return {
        "mi": (log_q_zx - log_qz).mean(),
        "tc": (log_qz - log_prod).mean(),
        "dwkl": (log_prod - log_pz).mean(),
    }


def permute_dims(z: torch.Tensor) -> torch.Tensor:
    """Shuffle each latent dimension independently across the batch (FactorVAE's q̄(z) samples)."""
    b, d = z.shape
    idx = torch.argsort(torch.rand(b, d, device=z.device), dim=0)
    return torch.gather(z, 0, idx)
