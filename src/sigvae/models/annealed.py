"""AnnealedVAE (Burgess et al. 2018, "Understanding disentangling in β-VAE"): a VAE whose KL
is held at a target capacity C that grows during training.

Objective per example, averaged over the batch:
    loss = reconstruction + γ · |KL − C(t)|,   KL = batch mean of KL(q(z|x) ‖ N(0, I)) (nats)
    C(t) = C_max · min(t / capacity_steps, 1)
with t the training step (``model.train_step``, set by training from Lightning's step
counter, so a resumed run follows the same schedule). The absolute value is taken on the
batch-mean KL, as in disentanglement_lib. Validation uses the capacity of the latest training
step, so ``val/loss`` is comparable within an epoch, not across the ramp.

Presets and why:
- ``gamma`` = 1000 and ``c_max`` = 25 nats: disentanglement_lib's study fixes γ = 1000 and
  sweeps C_max ∈ {5, 10, 25, 50, 75, 100}; 25 sits in the lower half of that grid, about
  3 nats per latent for sigvae's default code of 8 latents.
- ``capacity_steps`` = 200: that study raises C over the first 100,000 of its 300,000 steps,
  a third of the run, then holds it. sigvae's runs are far shorter: the default
  ``sigvae benchmark syntone`` run (2,000 clips, batch 32, 10 epochs) is about 625 steps, a
  third of which is 200. Set it to about a third of epochs × training batches per epoch
  for other runs (e.g. ~3,300 for the benchmark's 'full' profile of ~10,000 steps).
``beta`` (inherited from the VAE config) has no place in this objective; γ weights the KL.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import check
from ..losses import gaussian_kl
from .base import Posterior, register_model
from .vae import ConvVAE, VAEConfig


def annealed_capacity(step: int, c_max: float, capacity_steps: int) -> float:
    """C at training step ``step``: C_max · min(step / capacity_steps, 1) (C_max at once if 0 steps)."""
    if capacity_steps <= 0:
        return float(c_max)
    return float(c_max) * min(max(step, 0) / capacity_steps, 1.0)


@dataclass
class AnnealedVAEConfig(VAEConfig):
    """AnnealedVAE: ``gamma`` weights |KL − C|; C rises from 0 to ``c_max`` nats over ``capacity_steps``."""

    gamma: float = 1000.0
    c_max: float = 25.0
    capacity_steps: int = 200

    def validate(self) -> None:
        super().validate()
        check(self.beta == 1.0, f"annealed_vae has no β (its KL weight is gamma), got beta = {self.beta}")
        check(self.gamma >= 0, f"gamma must be >= 0, got {self.gamma}")
        check(self.c_max >= 0, f"c_max must be >= 0, got {self.c_max}")
        check(self.capacity_steps >= 0, f"capacity_steps must be >= 0, got {self.capacity_steps}")


@register_model("annealed_vae", AnnealedVAEConfig,
                description="AnnealedVAE (Burgess et al. 2018), γ·|KL − C|, C: 0 → 25 nats over 200 steps, γ = 1000")
class AnnealedVAE(ConvVAE):
    """VAE whose KL is pulled to a capacity C raised linearly with the training step."""

    #: The loss at C = 7 nats is not comparable with the loss at 25: on SynTone the lowest
    #: validation loss was epoch 0's (KL 6.8 nats, C 6.9), so keeping the best epoch returned
    #: the model before the ramp. The capacity schedule is the model: keep the last epoch.
    keep_best_epoch = False

    def capacity(self) -> float:
        """C (nats) at the current training step."""
        c = self.config
        return annealed_capacity(self.train_step, c.c_max, c.capacity_steps)

    def regulariser(self, z: torch.Tensor, post: Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        kl = gaussian_kl(post.mean, post.logvar).sum(1).mean()
        cap = torch.tensor(self.capacity(), dtype=kl.dtype, device=kl.device)
        gap = (kl - cap).abs()
        return self.config.gamma * gap, {"kl": kl, "capacity": cap, "kl_gap": gap}
