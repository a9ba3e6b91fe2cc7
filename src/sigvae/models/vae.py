"""The classic disentangling VAEs: VAE, β-VAE (Higgins et al. 2017) and β-TCVAE (Chen et al. 2018).

Objective per example, averaged over the batch (so β means the same at any batch size):
    reconstruction = Σ_features (x - x̂)²   (Gaussian likelihood with variance ½, up to a constant)
    VAE / β-VAE:     loss = reconstruction + β · KL(q(z|x) ‖ N(0, I))
    β-TCVAE:         loss = reconstruction + α · I(x; z) + β · TC(z) + γ · Σ_j KL(q(z_j) ‖ p(z_j)),
                     the three terms estimated by minibatch stratified sampling.
Inputs are waveforms [B, C, T]; the model's front end turns them into the features it
reconstructs (a log-mel spectrogram for audio by default, see ``sigvae.data.transforms``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..config import check
from ..data.transforms import Frontend, FrontendConfig
from ..losses import gaussian_kl, reparameterize, tc_decomposition
from ..nn import ConvDecoder, ConvEncoder
from .base import ModelConfig, Posterior, SigModel, StepOutput, register_model, register_preset


@dataclass
class VAEConfig(ModelConfig):
    """Settings of the convolutional VAE family."""

    latent_dim: int = 8
    beta: float = 1.0
    channels: tuple[int, ...] = (32, 32, 64, 64)
    hidden_dim: int = 256
    stride: int = 0  # 0: 2 for spectrograms, 4 for waveforms
    frontend: FrontendConfig = field(default_factory=FrontendConfig)

    def validate(self) -> None:
        super().validate()
        check(self.latent_dim >= 1, f"latent_dim must be >= 1, got {self.latent_dim}")
        check(self.beta >= 0, f"beta must be >= 0, got {self.beta}")
        check(len(self.channels) >= 1 and min(self.channels) >= 1, "channels must be positive")
        check(self.hidden_dim >= 1, "hidden_dim must be >= 1")
        check(self.stride in (0, 2, 4), f"stride must be 0 (auto), 2 or 4, got {self.stride}")
        self.frontend.validate()


@register_model("vae", VAEConfig, description="VAE (Kingma & Welling 2014), β = 1")
class ConvVAE(SigModel):
    """Convolutional VAE on waveforms or spectrograms; β-VAE is this with β > 1."""

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        self.frontend = Frontend(config.frontend, config.sample_rate, config.length)
        with torch.no_grad():
            probe = self.frontend(torch.zeros(1, config.in_channels, config.length))
        self.feature_shape = tuple(probe.shape[1:])
        stride = config.stride or (2 if len(self.feature_shape) == 3 else 4)
        self.encoder = ConvEncoder(self.feature_shape, 2 * config.latent_dim, config.channels, config.hidden_dim, stride)
        self.decoder = ConvDecoder(self.feature_shape, config.latent_dim, config.channels, config.hidden_dim, stride)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms [B, C, T] → the features this model reconstructs."""
        return self.frontend(x)

    def encode(self, x: torch.Tensor) -> Posterior:
        """Waveforms [B, C, T] → Gaussian posterior, mean and logvar [B, latent_dim]."""
        return self._encode_features(self.features(x))

    def _encode_features(self, feats: torch.Tensor) -> Posterior:
        mean, logvar = self.encoder(feats).chunk(2, dim=1)
        return Posterior(mean, logvar.clamp(-12.0, 8.0))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents [B, latent_dim] → features with the shape of ``features(x)``."""
        return self.decoder(z)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms → reconstructed features from the posterior mean."""
        return self.decode(self.encode(x).mean)

    def sample(self, n: int) -> torch.Tensor:
        """Decode ``n`` draws from the prior N(0, I) → features [n, ...]."""
        return self.decode(torch.randn(n, self.latent_dim, device=self.device))

    def to_waveform(self, features: torch.Tensor) -> torch.Tensor:
        """Features → waveforms [B, C, T] (Griffin-Lim for spectrograms)."""
        return self.frontend.inverse(features)

    def regulariser(self, z: torch.Tensor, post: Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The prior term of the loss (batch mean) and its parts to log."""
        kl = gaussian_kl(post.mean, post.logvar).sum(1).mean()
        return self.config.beta * kl, {"kl": kl}

    def step(self, batch: dict, stage: str) -> StepOutput:
        feats = self.features(batch["x"])
        post = self._encode_features(feats)
        z = reparameterize(post.mean, post.logvar) if self.training else post.mean
        recon = (self.decode(z) - feats).pow(2).flatten(1).sum(1).mean()
        reg, logs = self.regulariser(z, post)
        loss = recon + reg
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, **logs})


register_preset("beta_vae", "vae", "β-VAE (Higgins et al. 2017), β = 4", {"beta": 4.0})


@dataclass
class BetaTCVAEConfig(VAEConfig):
    """β-TCVAE weights: α on index-code MI, β on total correlation, γ on dimension-wise KL."""

    beta: float = 4.0
    alpha: float = 1.0
    gamma: float = 1.0
    dataset_size: int = 0  # set from the data before training; 0 = use the batch size

    def validate(self) -> None:
        super().validate()
        check(self.alpha >= 0 and self.gamma >= 0, "alpha and gamma must be >= 0")


@register_model("beta_tcvae", BetaTCVAEConfig, description="β-TCVAE (Chen et al. 2018), α = 1, β = 4, γ = 1, stratified TC estimate")
class BetaTCVAE(ConvVAE):
    """VAE whose KL is split into MI, total correlation and dimension-wise KL, TC weighted by β."""

    def configure_for_data(self, dataset_size: int) -> None:
        self.config.dataset_size = int(dataset_size)

    def regulariser(self, z: torch.Tensor, post: Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        parts = tc_decomposition(z, post.mean, post.logvar, c.dataset_size or z.shape[0])
        reg = c.alpha * parts["mi"] + c.beta * parts["tc"] + c.gamma * parts["dwkl"]
        kl = gaussian_kl(post.mean, post.logvar).sum(1).mean()
        return reg, {"kl": kl, **parts}
