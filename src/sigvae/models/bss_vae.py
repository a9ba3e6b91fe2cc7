"""Sequence VAEs for blind source separation with a structured prior per latent dimension.

Windows x [B, C, L] of a (whitened) multichannel signal. The encoder demixes: a 1-D
convolution over time (``encoder_kernel`` taps; 1 = instantaneous), linear or an MLP,
giving a diagonal Gaussian q(z | x) with mean and log-variance [B, K, L]. The decoder
remixes instantaneously: x̂_t = A z_t (linear) or an MLP of z_t, with a learned noise
variance per channel.

``demixing: orthogonal`` (whitened input, C = K, linear): the demixing is a rotation Q
(parametrised to stay orthogonal), followed by one FIR filter h_k per source
(``encoder_kernel`` taps, starting as the identity) and a learned posterior variance per
source; the decoder is tied, x̂_t = Qᵀ diag(g) z_t. ``source_net`` H > 0 adds a small
nonlinear branch per source beside the filter (H channels over the same taps, leaky ReLU,
back to one channel), so the posterior mean can denoise without smearing edges. After whitening, the sources are a
rotation of the input, so this searches only the K(K−1)/2 angles that matter (as FastICA
and SOBI do) instead of a free K×K encoder and decoder.

The prior p(z) is chosen per model (``prior``): ``normal``, ``gp`` (exact GP-VAE prior),
``skr`` (SKR-VAE) or ``arflow`` (AR-Flow VAE); see ``sigvae.priors``.

Loss per window, divided by the window length L (so learning rates do not depend on it):

    −ELBO / L = (1/L) [ Σ_{c,t} −log N(x_{c,t}; x̂_{c,t}, σ_c²)
                        + β ( −H[q(z | x)] − log p(z̃) ) ],   z̃ ~ q(z | x) (reparameterised),

the KL written as −entropy (closed form) − log p at one posterior sample, which works for
every prior, including those without a closed-form KL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ..config import check
from ..errors import ConfigError
from ..losses import reparameterize
from .base import ModelConfig, Posterior, SigModel, StepOutput, register_model, register_preset

LOG_2PI = math.log(2 * math.pi)


@dataclass
class BSSVAEConfig(ModelConfig):
    """A BSS VAE: ``latent_dim`` sources, encoder/decoder kinds, and the prior's settings.

    ``in_channels`` are the (whitened) mixture channels, ``length`` the window length L.
    """

    latent_dim: int = 3
    prior: Literal["normal", "gp", "skr", "arflow"] = "normal"
    encoder: Literal["linear", "mlp"] = "linear"
    decoder: Literal["linear", "mlp"] = "linear"
    hidden_dim: int = 64
    encoder_kernel: int = 1  # taps of the demixing filter over time (odd)
    demixing: Literal["free", "orthogonal"] = "free"
    beta: float = 1.0
    # kernel priors (gp, skr)
    kernel: Literal["rbf", "cauchy", "matern12"] = "cauchy"
    scale_low: float = 1.0
    scale_high: float = 30.0
    learn_scales: bool = False
    gp_jitter: float = 1e-3
    skr_window: int = 32
    skr_causal: bool = False
    # AR-flow prior
    ar_order: int = 4
    ar_hidden: int = 16
    # Steps of past energy that scale the flow (0: off). The separation methods use 50
    # (VAESettings); 0 here keeps model files written before the option loadable.
    ar_volatility_window: int = 0
    phi_low: float = 0.3
    phi_high: float = 0.98
    min_noise_logvar: float = -9.0
    # Orthogonal demixing: hidden channels per source of a nonlinear residual branch beside
    # the linear source filter (0: off); lets the posterior mean keep edges a linear filter smears.
    source_net: int = 0
    init_logvar: float = -6.0

    def validate(self) -> None:
        super().validate()
        check(self.latent_dim >= 1, f"latent_dim must be >= 1, got {self.latent_dim}")
        check(self.hidden_dim >= 1, f"hidden_dim must be >= 1, got {self.hidden_dim}")
        check(self.encoder_kernel >= 1 and self.encoder_kernel % 2 == 1, f"encoder_kernel must be odd and >= 1, got {self.encoder_kernel}")
        check(self.demixing in ("free", "orthogonal"), f"demixing must be 'free' or 'orthogonal', got {self.demixing!r}")
        check(self.demixing == "free" or (self.encoder == "linear" and self.decoder == "linear" and self.in_channels == self.latent_dim),
              "demixing 'orthogonal' needs a linear encoder and decoder and in_channels == latent_dim (whitened input)")
        check(self.source_net >= 0, f"source_net must be >= 0, got {self.source_net}")
        check(self.source_net == 0 or self.demixing == "orthogonal", "source_net needs demixing 'orthogonal'")
        check(self.beta >= 0, f"beta must be >= 0, got {self.beta}")
        check(0 < self.scale_low <= self.scale_high, f"need 0 < scale_low <= scale_high, got {self.scale_low}, {self.scale_high}")
        check(self.gp_jitter > 0, f"gp_jitter must be > 0, got {self.gp_jitter}")
        check(self.skr_window >= 1, f"skr_window must be >= 1, got {self.skr_window}")
        check(self.ar_order >= 1 and self.ar_hidden >= 0, "ar_order must be >= 1 and ar_hidden >= 0")
        check(self.ar_volatility_window >= 0, f"ar_volatility_window must be >= 0, got {self.ar_volatility_window}")
        check(-1 < self.phi_low <= self.phi_high < 1, f"need -1 < phi_low <= phi_high < 1, got {self.phi_low}, {self.phi_high}")

    def prior_options(self) -> dict:
        """The keyword arguments of :func:`sigvae.priors.build_prior` for this config's
        ``prior``: the kernel settings for ``gp`` and ``skr``, the flow's for ``arflow``,
        none for ``normal``."""
        if self.prior in ("gp", "skr"):
            opts = {"kernel": self.kernel, "scale_low": self.scale_low, "scale_high": self.scale_high,
                    "learn_scales": self.learn_scales}
            return {**opts, "jitter": self.gp_jitter} if self.prior == "gp" else {**opts, "window": self.skr_window, "causal": self.skr_causal}
        if self.prior == "arflow":
            return {"order": self.ar_order, "hidden": self.ar_hidden, "phi_low": self.phi_low, "phi_high": self.phi_high,
                    "volatility_window": self.ar_volatility_window}
        return {}


def _pointwise_mlp(n_in: int, n_hidden: int, n_out: int, kernel: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(n_in, n_hidden, kernel, padding=kernel // 2), nn.LeakyReLU(0.2),
        nn.Conv1d(n_hidden, n_hidden, 1), nn.LeakyReLU(0.2),
        nn.Conv1d(n_hidden, n_out, 1),
    )


@register_model("bss_vae", BSSVAEConfig, description="sequence VAE for source separation, N(0, I) prior (unmix method 'vae')")
class BSSVAE(SigModel):
    """Encoder = demixing, decoder = remixing, one temporal prior per latent source."""

    def __init__(self, config: BSSVAEConfig):
        super().__init__(config)
        from ..priors import build_prior

        c, k = config.in_channels, config.latent_dim
        self.orthogonal = config.demixing == "orthogonal"
        if self.orthogonal:
            self.rotation = nn.utils.parametrizations.orthogonal(nn.Linear(k, k, bias=False))
            taps = config.encoder_kernel
            self.source_filter = nn.Conv1d(k, k, taps, padding=taps // 2, groups=k, bias=False)
            with torch.no_grad():
                self.source_filter.weight.zero_()
                self.source_filter.weight[:, 0, taps // 2] = 1.0
            self.posterior_logvar = nn.Parameter(torch.full((k,), config.init_logvar))
            if config.source_net:  # zero output weights: starts as the plain linear filter
                h = config.source_net
                self.source_hidden = nn.Conv1d(k, k * h, taps, padding=taps // 2, groups=k)
                self.source_out = nn.Conv1d(k * h, k, 1, groups=k)
                with torch.no_grad():
                    self.source_out.weight.zero_()
                    self.source_out.bias.zero_()
            self.gain = nn.Parameter(torch.ones(k))
        else:
            if config.encoder == "linear":
                self.encoder = nn.Conv1d(c, 2 * k, config.encoder_kernel, padding=config.encoder_kernel // 2)
            else:
                self.encoder = _pointwise_mlp(c, config.hidden_dim, 2 * k, config.encoder_kernel)
            last = self.encoder if isinstance(self.encoder, nn.Conv1d) else self.encoder[-1]
            with torch.no_grad():  # start with confident posteriors: structured priors punish noisy z hard
                last.weight[k:] *= 0.01
                last.bias[k:] = config.init_logvar
            self.decoder = nn.Conv1d(k, c, 1) if config.decoder == "linear" else _pointwise_mlp(k, config.hidden_dim, c)
        self.noise_logvar = nn.Parameter(torch.full((c,), -2.0))
        self.prior = build_prior(config.prior, k, **config.prior_options())

    def set_rotation(self, rotation, trainable: bool = True) -> None:
        """Start the demixing rotation at ``rotation`` [K, K] (orthogonal; e.g. a classical
        method's separation); ``trainable=False`` keeps it there while the rest trains."""
        if not self.orthogonal:
            raise self._unsupported("set a rotation without demixing 'orthogonal'")
        q = torch.as_tensor(rotation, dtype=self.gain.dtype, device=self.gain.device)
        k = self.latent_dim
        if q.shape != (k, k) or not torch.allclose(q @ q.T, torch.eye(k, dtype=q.dtype, device=q.device), atol=1e-4):
            raise ConfigError(f"rotation must be an orthogonal {k}x{k} matrix")
        with torch.no_grad():
            self.rotation.weight = q
        for p in self.rotation.parameters():
            p.requires_grad_(trainable)

    def encode_sequence(self, x: torch.Tensor) -> Posterior:
        """Mixtures [B, C, T] → posterior mean and log-variance of the sources [B, K, T]."""
        if self.orthogonal:
            u = torch.einsum("kc,bct->bkt", self.rotation.weight, x)
            mean = self.source_filter(u)
            if self.config.source_net:
                mean = mean + self.source_out(torch.nn.functional.leaky_relu(self.source_hidden(u), 0.2))
            return Posterior(mean, self.posterior_logvar.clamp(-12.0, 6.0)[None, :, None].expand_as(mean))
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return Posterior(mean, logvar.clamp(-12.0, 6.0))

    def encode(self, x: torch.Tensor) -> Posterior:
        """Per-window summary [B, K]: the time average of the posterior mean and log-variance."""
        post = self.encode_sequence(x)
        return Posterior(post.mean.mean(-1), post.logvar.mean(-1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Sources [B, K, T] → mixtures [B, C, T] (instantaneous remixing)."""
        if self.orthogonal:
            return torch.einsum("kc,bkt->bct", self.rotation.weight, z * self.gain[None, :, None])
        return self.decoder(z)

    def sample(self, n: int) -> torch.Tensor:
        """Mixtures decoded from prior draws [n, C, length] (AR-flow and normal priors only)."""
        if hasattr(self.prior, "sample"):
            z = self.prior.sample(n, self.config.length)
        elif self.config.prior == "normal":
            z = torch.randn(n, self.latent_dim, self.config.length, device=self.device)
        else:
            raise self._unsupported("sample from a kernel prior")
        return self.decode(z)

    def step(self, batch: dict, stage: str) -> StepOutput:
        x = batch["x"]
        n = x.shape[-1]
        post = self.encode_sequence(x)
        z = reparameterize(post.mean, post.logvar) if self.training else post.mean
        logvar_x = self.noise_logvar.clamp_min(self.config.min_noise_logvar)[None, :, None]
        nll = 0.5 * ((x - self.decode(z)) ** 2 * torch.exp(-logvar_x) + logvar_x + LOG_2PI)
        nll = nll.flatten(1).sum(1).mean() / n
        entropy = (0.5 * (post.logvar + 1 + LOG_2PI)).flatten(1).sum(1).mean() / n
        if hasattr(self.prior, "expected_log_prob"):  # closed form: no sampling noise in the KL
            log_p = self.prior.expected_log_prob(post.mean, post.logvar).mean() / n
        else:
            z_prior = z if self.training else reparameterize(post.mean, post.logvar)
            log_p = self.prior.log_prob(z_prior).mean() / n
        kl = -entropy - log_p
        loss = nll + self.config.beta * kl
        return StepOutput({"model": loss}, {"loss": loss, "nll": nll, "kl": kl, "noise_std": logvar_x.exp().sqrt().mean()})


register_preset("gp_vae", "bss_vae", "BSS VAE with an exact GP prior per latent source (GP-VAE reference)", {"prior": "gp"})
register_preset("skr_vae", "bss_vae", "SKR-VAE: kernel-regression prior per latent source, no kernel inversion", {"prior": "skr"})
register_preset("arflow_vae", "bss_vae", "AR-Flow VAE: adaptive autoregressive affine flow prior per latent source", {"prior": "arflow"})

__all__ = ["BSSVAEConfig", "BSSVAE"]
