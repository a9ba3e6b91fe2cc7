"""Weakly supervised VAEs on pairs (Locatello et al., ICML 2020, "Weakly-Supervised
Disentanglement Without Compromises"): Ada-GVAE and Ada-ML-VAE.

Each batch holds pairs ``x`` and ``x2`` [B, C, T] whose ground-truth factors differ in
some unknown ``k`` factors (``sigvae.data.pairs``). Per pair and latent dimension j:

    δ_j = KL(q(z_j|x1) ‖ q(z_j|x2))           (the paper's direction, not symmetrised)
    τ   = ½ (max_j δ_j + min_j δ_j)            (the adaptive threshold, per pair)
    dimension j is shared when δ_j < τ

On shared dimensions both posteriors are replaced by one combination of the two:

    Ada-GVAE:   μ = ½ (μ1 + μ2),  σ² = ½ (σ1² + σ2²)              (group-VAE average)
    Ada-ML-VAE: σ² = 1 / (1/σ1² + 1/σ2²),  μ = σ² (μ1/σ1² + μ2/σ2²) (product of experts)

and the loss is the β-VAE objective of both observations with their modified posteriors q̃,
averaged over the two (so β means what it means for a VAE on single clips):

    loss = ½ Σ_{i=1,2} [ Σ_features (x_i − x̂_i)² + β · KL(q̃(z|x_i) ‖ N(0, I)) ],  z ~ q̃(z|x_i)

δ is measured without gradients (the choice of shared dimensions is discrete). The paper
takes KL(q1 ‖ q2) as written here; its symmetrised form would change which dimensions
count as shared only through the variance terms, and the threshold halfway between the
largest and smallest δ is what adapts to the unknown k. Evaluation encodes single clips
(``embed`` = the posterior mean, as for every VAE).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import check
from ..losses import gaussian_kl, reparameterize
from .base import Posterior, StepOutput, register_model
from .vae import ConvVAE, VAEConfig


@dataclass
class AdaGVAEConfig(VAEConfig):
    """Settings of the weakly supervised VAEs: β (default 1) and the pairs they train on.

    ``pair_k``: factors changed per training pair; 0 draws k from 1..K−1 for each pair
    (the paper's default setting). The training path reads it when it builds the pairs.
    """

    beta: float = 1.0
    pair_k: int = 0

    def validate(self) -> None:
        super().validate()
        check(self.pair_k >= 0, f"pair_k must be >= 0 (0 = drawn from 1..K-1), got {self.pair_k}")


def kl_per_dim(p: Posterior, q: Posterior) -> torch.Tensor:
    """KL(p ‖ q) of two diagonal Gaussians per dimension, [B, D] (nats)."""
    return 0.5 * (q.logvar - p.logvar + (p.logvar.exp() + (p.mean - q.mean).pow(2)) / q.logvar.exp() - 1.0)


def shared_dims(p: Posterior, q: Posterior) -> torch.Tensor:
    """The adaptive threshold: bool [B, D], True where δ_j = KL(p_j ‖ q_j) < ½ (max δ + min δ)."""
    delta = kl_per_dim(p, q)
    tau = 0.5 * (delta.amax(1, keepdim=True) + delta.amin(1, keepdim=True))
    return delta < tau


def average_posteriors(p: Posterior, q: Posterior) -> Posterior:
    """Group-VAE average: mean of the means and of the variances."""
    var = 0.5 * (p.logvar.exp() + q.logvar.exp())
    return Posterior(0.5 * (p.mean + q.mean), var.log())


def product_of_experts(p: Posterior, q: Posterior) -> Posterior:
    """Multi-level VAE combination: the normalised product of the two Gaussians."""
    logvar = -torch.logaddexp(-p.logvar, -q.logvar)  # 1/σ² = 1/σp² + 1/σq²
    mean = logvar.exp() * (p.mean * (-p.logvar).exp() + q.mean * (-q.logvar).exp())
    return Posterior(mean, logvar)


def adapt(p: Posterior, q: Posterior, combine) -> tuple[Posterior, Posterior, torch.Tensor]:
    """Both posteriors with their shared dimensions replaced by ``combine(p, q)``; and the
    shared mask [B, D] (chosen without gradients)."""
    with torch.no_grad():
        shared = shared_dims(p, q)
    both = combine(p, q)
    new_p = Posterior(torch.where(shared, both.mean, p.mean), torch.where(shared, both.logvar, p.logvar))
    new_q = Posterior(torch.where(shared, both.mean, q.mean), torch.where(shared, both.logvar, q.logvar))
    return new_p, new_q, shared


@register_model("ada_gvae", AdaGVAEConfig,
                description="Ada-GVAE (Locatello et al. 2020), weakly supervised on pairs, β = 1, posterior average")
class AdaGVAE(ConvVAE):
    """VAE on pairs sharing unknown factors; shared latents averaged (see the module docstring)."""

    #: Training gives this model pairs (``sigvae.data.pairs``) instead of single clips.
    needs_pairs = True

    @staticmethod
    def combine(p: Posterior, q: Posterior) -> Posterior:
        return average_posteriors(p, q)

    def step(self, batch: dict, stage: str) -> StepOutput:
        x1, x2 = batch["x"], batch["x2"]
        feats = self.features(torch.cat([x1, x2]))
        post = self._encode_features(feats)
        n = x1.shape[0]
        p1, p2 = Posterior(post.mean[:n], post.logvar[:n]), Posterior(post.mean[n:], post.logvar[n:])
        q1, q2, shared = adapt(p1, p2, self.combine)
        q = Posterior(torch.cat([q1.mean, q2.mean]), torch.cat([q1.logvar, q2.logvar]))
        z = reparameterize(q.mean, q.logvar) if self.training else q.mean
        recon = (self.decode(z) - feats).pow(2).flatten(1).sum(1).mean()
        kl = gaussian_kl(q.mean, q.logvar).sum(1).mean()
        loss = recon + self.config.beta * kl
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "kl": kl,
                                            "shared_dims": shared.float().sum(1).mean()})


@register_model("ada_ml_vae", AdaGVAEConfig,
                description="Ada-ML-VAE (Locatello et al. 2020), weakly supervised on pairs, β = 1, product of experts")
class AdaMLVAE(AdaGVAE):
    """As Ada-GVAE, with shared latents combined as a product of experts (multi-level VAE)."""

    @staticmethod
    def combine(p: Posterior, q: Posterior) -> Posterior:
        return product_of_experts(p, q)
