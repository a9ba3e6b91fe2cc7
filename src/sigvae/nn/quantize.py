"""Vector quantisation with an EMA codebook (van den Oord et al. 2017, appendix A.1).

Each D-dimensional latent vector is replaced by its nearest codebook entry (squared
Euclidean distance). Gradients reach the encoder through the straight-through estimator
``q_st = z + (q - z).detach()`` (the value is ``q``, the gradient w.r.t. ``z`` is the
identity). The codebook is not trained by gradient descent: it is a buffer updated by
exponential moving averages of the assigned vectors,

    N_k ← d·N_k + (1−d)·n_k,     m_k ← d·m_k + (1−d)·Σ_{i: k(i)=k} z_i,
    e_k = m_k / Ñ_k,             Ñ_k = (N_k + ε) / (Σ_j N_j + K·ε) · Σ_j N_j   (Laplace smoothing),

and the encoder is pulled towards its codes by the commitment loss ‖z − sg(q)‖² (mean
over elements). Codes whose EMA count falls below ``dead_threshold`` are restarted at
randomly chosen latent vectors of the current batch (Dhariwal et al. 2020, Jukebox), and
the codebook is initialised from the first training batch's vectors.

The update is explicit — ``forward(z, update=True)`` — so a model decides when it happens
(its training ``step``); the only randomness is ``torch`` sampling, which the training
path seeds per step, so runs (and resumed runs) are reproducible. Under DDP the counts
and sums are all-reduced so every rank keeps the same codebook.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


class Quantized(NamedTuple):
    """What :class:`VectorQuantizer` returns.

    ``quantized``: codes with the straight-through gradient, shaped like the input;
    ``indices``: int64 code index per vector, the input's shape without the channel axis;
    ``commitment``: ‖z − sg(q)‖² averaged over elements (scalar, unweighted);
    ``perplexity``: exp(entropy) of the batch's code usage (1 … num_codes);
    ``usage``: fraction of the codebook used by this batch;
    ``restarts``: number of dead codes restarted by this call (0 without ``update``).
    """

    quantized: torch.Tensor
    indices: torch.Tensor
    commitment: torch.Tensor
    perplexity: torch.Tensor
    usage: torch.Tensor
    restarts: torch.Tensor


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t)
    return t


class VectorQuantizer(nn.Module):
    """Nearest-code quantiser over channel-first latents [B, D, ...] with an EMA codebook.

    Args:
        num_codes: codebook size K.
        dim: code dimension D (the input's channel axis).
        decay: EMA decay d in [0, 1).
        eps: Laplace smoothing ε of the counts.
        dead_threshold: EMA count below which a code is restarted (0 disables restarts).
    """

    def __init__(self, num_codes: int, dim: int, decay: float = 0.8, eps: float = 1e-5, dead_threshold: float = 0.1):
        super().__init__()
        self.num_codes, self.dim = int(num_codes), int(dim)
        self.decay, self.eps, self.dead_threshold = float(decay), float(eps), float(dead_threshold)
        self.register_buffer("codebook", torch.randn(num_codes, dim) * 0.1)
        self.register_buffer("ema_count", torch.ones(num_codes))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def _flatten(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[1] != self.dim:
            raise ValueError(f"expected {self.dim} channels on axis 1, got shape {tuple(z.shape)}")
        return z.movedim(1, -1).reshape(-1, self.dim)

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of ``flat`` [N, D] → int64 [N]."""
        cb = self.codebook
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ cb.t() + cb.pow(2).sum(1)[None, :]
        return d.argmin(dim=1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Code indices [...] → channel-first codes [B, D, ...] (indices shaped [B, ...])."""
        return F.embedding(indices, self.codebook).movedim(-1, 1)

    @torch.no_grad()
    def _init_from(self, flat: torch.Tensor) -> None:
        n = flat.shape[0]
        pick = torch.randint(0, n, (self.num_codes,), device=flat.device) if n < self.num_codes else torch.randperm(n, device=flat.device)[: self.num_codes]
        codes = flat[pick].clone()
        if n < self.num_codes:  # repeated vectors: separate them a little
            codes += 0.01 * codes.std().clamp_min(1e-3) * torch.randn_like(codes)
        codes = _all_reduce(codes) / (dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1)
        self.codebook.copy_(codes)
        self.ema_sum.copy_(codes)
        self.ema_count.fill_(1.0)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, idx: torch.Tensor) -> int:
        onehot = F.one_hot(idx, self.num_codes).to(flat.dtype)
        counts = _all_reduce(onehot.sum(0))
        sums = _all_reduce(onehot.t() @ flat)
        d = self.decay
        self.ema_count.mul_(d).add_(counts, alpha=1 - d)
        self.ema_sum.mul_(d).add_(sums, alpha=1 - d)
        total = self.ema_count.sum()
        smoothed = (self.ema_count + self.eps) / (total + self.num_codes * self.eps) * total
        self.codebook.copy_(self.ema_sum / smoothed[:, None])
        if self.dead_threshold <= 0:
            return 0
        dead = self.ema_count < self.dead_threshold
        n_dead = int(dead.sum())
        if n_dead:
            # Same draw on every rank (seeded per step), so ranks stay in sync under DDP.
            pick = torch.randint(0, flat.shape[0], (n_dead,), device=flat.device)
            fresh = flat[pick]
            self.codebook[dead] = fresh
            self.ema_sum[dead] = fresh
            self.ema_count[dead] = 1.0
        return n_dead

    def forward(self, z: torch.Tensor, update: bool = False) -> Quantized:
        """Quantise channel-first latents ``z`` [B, D, ...]; with ``update``, move the codebook."""
        flat = self._flatten(z)
        if update and not bool(self.initialised):
            self._init_from(flat.detach())
        idx = self.nearest(flat.detach())
        q_flat = self.codebook[idx]
        commitment = F.mse_loss(flat, q_flat.detach())
        probs = torch.bincount(idx, minlength=self.num_codes).to(flat.dtype) / max(1, idx.numel())
        perplexity = torch.exp(-(probs * torch.log(probs.clamp_min(1e-12))).sum())
        usage = (probs > 0).to(flat.dtype).mean()
        restarts = 0
        if update:
            restarts = self._update(flat.detach(), idx)
        q = q_flat.reshape(*z.movedim(1, -1).shape).movedim(-1, 1)
        q_st = z + (q - z).detach()
        shape = (z.shape[0], *z.shape[2:])
        return Quantized(q_st, idx.reshape(shape), commitment, perplexity, usage, torch.tensor(float(restarts), device=z.device))


__all__ = ["VectorQuantizer", "Quantized"]
