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

``threshold`` (config) chooses the rule: ``"paper"`` above, the default, or one of two variants
that set unused latents aside (``"active"``) and also rescale each latent's δ by its batch mean
(``"normalised"``); see :func:`shared_dims`. On SynTone's default profile neither beat the
paper's rule (MIG: "active" within the seed spread below it, "normalised" below it beyond the
spread; BENCHMARKS.md), which therefore stays the default.
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
    ``threshold``, ``active_kl``: how a pair's shared latents are chosen (:func:`shared_dims`).
    """

    beta: float = 1.0
    pair_k: int = 0
    #: How a pair's shared latents are chosen (:func:`shared_dims`): "paper" (the default,
    #: the paper's rule), "active" or "normalised" (sigvae's variants, see there).
    threshold: str = "paper"
    #: "active"/"normalised" only: a latent whose KL to the prior, averaged over the batch's
    #: observations, is at most this many nats is unused and always shared.
    active_kl: float = 0.05

    def validate(self) -> None:
        super().validate()
        check(self.pair_k >= 0, f"pair_k must be >= 0 (0 = drawn from 1..K-1), got {self.pair_k}")
        check(self.threshold in THRESHOLDS, f"threshold must be one of {', '.join(THRESHOLDS)}, got {self.threshold!r}")
        check(self.active_kl >= 0, f"active_kl must be >= 0, got {self.active_kl}")


def kl_per_dim(p: Posterior, q: Posterior) -> torch.Tensor:
    """KL(p ‖ q) of two diagonal Gaussians per dimension, [B, D] (nats)."""
    return 0.5 * (q.logvar - p.logvar + (p.logvar.exp() + (p.mean - q.mean).pow(2)) / q.logvar.exp() - 1.0)


#: The rules :func:`shared_dims` knows; "paper" is the paper's and the default.
THRESHOLDS = ("paper", "active", "normalised")


def shared_dims(p: Posterior, q: Posterior, threshold: str = "paper", active_kl: float = 0.05) -> torch.Tensor:
    """Which latents a pair shares: bool [B, D] for posteriors ``p``, ``q`` of B pairs.

    ``"paper"`` (Locatello et al. 2020): True where δ_j = KL(p_j ‖ q_j) < τ = ½ (max_j δ_j +
    min_j δ_j), per pair.

    The two variants first set aside the unused latents: a latent whose KL to the prior N(0, 1),
    averaged over the 2B posteriors of the batch, is at most ``active_kl`` nats is always shared
    (both posteriors are close to the prior there, so averaging them changes little), and τ is taken
    over the other latents only (with none left, every latent is shared):

    - ``"active"``: τ = ½ (max + min) of δ over the used latents. Unused latents (δ ≈ 0) no
      longer pull min δ, and so τ, down.
    - ``"normalised"``: as "active", on δ_j divided by its mean over the batch's pairs. δ is
      measured in units of the posterior variance, so a latent encoded sharply (on SynTone the
      frequency latent, median σ² 0.002–0.004 against 0.1–0.6 for the next one) gets a δ in the
      hundreds from a frequency change and still about 8 nats from a waveform change; its δ then
      sets τ for every latent, and the latent of the factor that did change falls below τ and is
      averaged (docs/benchmark.md, "Weak supervision"). Dividing by the batch mean compares
      each latent with how much it usually moves between pairs.
    """
    delta = kl_per_dim(p, q)
    if threshold == "paper":
        tau = 0.5 * (delta.amax(1, keepdim=True) + delta.amin(1, keepdim=True))
        return delta < tau
    if threshold not in THRESHOLDS:
        raise ValueError(f"threshold must be one of {', '.join(THRESHOLDS)}, got {threshold!r}")
    prior_kl = 0.5 * (gaussian_kl(p.mean, p.logvar).mean(0) + gaussian_kl(q.mean, q.logvar).mean(0))
    used = (prior_kl > active_kl).expand_as(delta)  # [B, D]
    if threshold == "normalised":
        delta = delta / delta.mean(0, keepdim=True).clamp_min(1e-12)
    top = torch.where(used, delta, -torch.inf).amax(1, keepdim=True)
    bottom = torch.where(used, delta, torch.inf).amin(1, keepdim=True)
    return ~used | (delta < 0.5 * (top + bottom))


def average_posteriors(p: Posterior, q: Posterior) -> Posterior:
    """Group-VAE average: mean of the means and of the variances."""
    var = 0.5 * (p.logvar.exp() + q.logvar.exp())
    return Posterior(0.5 * (p.mean + q.mean), var.log())


def product_of_experts(p: Posterior, q: Posterior) -> Posterior:
    """Multi-level VAE combination: the normalised product of the two Gaussians."""
    logvar = -torch.logaddexp(-p.logvar, -q.logvar)  # 1/σ² = 1/σp² + 1/σq²
    mean = logvar.exp() * (p.mean * (-p.logvar).exp() + q.mean * (-q.logvar).exp())
    return Posterior(mean, logvar)


def adapt(p: Posterior, q: Posterior, combine, threshold: str = "paper",
          active_kl: float = 0.05) -> tuple[Posterior, Posterior, torch.Tensor]:
    """Both posteriors with their shared dimensions (:func:`shared_dims` with ``threshold``
    and ``active_kl``) replaced by ``combine(p, q)``; and the shared mask [B, D] (chosen
    without gradients)."""
    with torch.no_grad():
        shared = shared_dims(p, q, threshold, active_kl)
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
        """The shared posterior of a pair's shared latents: :func:`average_posteriors`."""
        return average_posteriors(p, q)

    def step(self, batch: dict, stage: str) -> StepOutput:
        x1, x2 = batch["x"], batch["x2"]
        feats = self.features(torch.cat([x1, x2]))
        post = self._encode_features(feats)
        n = x1.shape[0]
        p1, p2 = Posterior(post.mean[:n], post.logvar[:n]), Posterior(post.mean[n:], post.logvar[n:])
        q1, q2, shared = adapt(p1, p2, self.combine, self.config.threshold, self.config.active_kl)
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
        """The shared posterior of a pair's shared latents: :func:`product_of_experts`."""
        return product_of_experts(p, q)
