"""FactorVAE (Kim & Mnih, ICML 2018): a VAE whose total correlation is penalised through a discriminator.

    VAE loss  = reconstruction + β · KL + γ · TC,  TC ≈ E[D(z)_real-logit − D(z)_perm-logit]
    disc loss = CE(D(z.detach()), real) + CE(D(permute_dims(z.detach())), permuted)
β is the config's ``beta`` (default 1, Kim & Mnih's objective); it is honoured so that
``sigvae train factor_vae --beta X`` does what its flag says instead of being ignored.
Two optimisers, and each loss reaches only its own optimiser's parameters: the VAE's TC
term runs the discriminator with detached weights, the discriminator sees detached z.
So the training path can back-propagate the sum of both losses once per step (one
backward per forward, as DDP requires) and step both optimisers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check
from ..losses import gaussian_kl, permute_dims, reparameterize
from .base import OptimizerSpec, StepOutput, check_repeated, register_model
from .vae import ConvVAE, VAEConfig


@dataclass
class FactorVAEConfig(VAEConfig):
    """FactorVAE settings; the discriminator defaults follow Kim & Mnih (6 layers of 1000 units).

    ``beta`` (inherited, default 1.0) weights the KL term; ``gamma`` weights the TC term.
    """

    gamma: float = 6.0
    disc_layers: int = 6
    disc_hidden: int = 1000
    disc_lr: float = 1e-4
    disc_betas: tuple[float, float] = (0.5, 0.9)

    def validate(self) -> None:
        super().validate()
        check(self.gamma >= 0, "gamma must be >= 0")
        check(self.disc_layers >= 1 and self.disc_hidden >= 1, "discriminator sizes must be >= 1")
        check(self.disc_lr > 0, "disc_lr must be positive")


@register_model("factor_vae", FactorVAEConfig, description="FactorVAE (Kim & Mnih 2018), γ = 6, MLP discriminator with its own optimiser")
class FactorVAE(ConvVAE):
    """VAE + density-ratio discriminator estimating total correlation."""

    def __init__(self, config: FactorVAEConfig):
        super().__init__(config)
        layers: list[nn.Module] = []
        d = config.latent_dim
        check_repeated(f"factor_vae: {config.disc_layers} discriminator layers of width {config.disc_hidden}",
                       config.disc_layers - 1, lambda: nn.Linear(config.disc_hidden, config.disc_hidden))
        for _ in range(config.disc_layers - 1):
            layers += [nn.Linear(d, config.disc_hidden), nn.LeakyReLU(0.2)]
            d = config.disc_hidden
        layers.append(nn.Linear(d, 2))
        self.discriminator = nn.Sequential(*layers)

    def optimizer_specs(self) -> list[OptimizerSpec]:
        disc = set(id(p) for p in self.discriminator.parameters())
        vae = [p for p in self.parameters() if id(p) not in disc]
        c = self.config
        return [
            OptimizerSpec("model", vae),
            OptimizerSpec("discriminator", list(self.discriminator.parameters()), lr=c.disc_lr, betas=c.disc_betas, weight_decay=0.0),
        ]

    def step(self, batch: dict, stage: str) -> StepOutput:
        feats = self.features(batch["x"])
        post = self._encode_features(feats)
        z = reparameterize(post.mean, post.logvar) if self.training else post.mean
        recon = (self.decode(z) - feats).pow(2).flatten(1).sum(1).mean()
        kl = gaussian_kl(post.mean, post.logvar).sum(1).mean()
        frozen = {k: v.detach() for k, v in self.discriminator.named_parameters()}
        logits = torch.func.functional_call(self.discriminator, frozen, (z,))
        tc = (logits[:, 0] - logits[:, 1]).mean()
        vae_loss = recon + self.config.beta * kl + self.config.gamma * tc
        zd = z.detach()
        real = self.discriminator(zd)
        perm = self.discriminator(permute_dims(zd))
        ones = torch.zeros(zd.shape[0], dtype=torch.long, device=zd.device)
        disc_loss = 0.5 * (F.cross_entropy(real, ones) + F.cross_entropy(perm, ones + 1))
        acc = 0.5 * ((real.argmax(1) == 0).float().mean() + (perm.argmax(1) == 1).float().mean())
        return StepOutput(
            {"model": vae_loss, "discriminator": disc_loss},
            {"loss": vae_loss, "recon": recon, "kl": kl, "tc": tc, "disc_loss": disc_loss, "disc_acc": acc},
        )
