"""VQ-VAE on the short-time Fourier transform, and its Barlow Twins variant (seed 003).

A series x [B, C, T] becomes its STFT U [B, 2C, F, N] (real and imaginary parts as
channels, F = n_fft // 2 + 1 frequencies, N frames); a 2-D conv encoder that downsamples
time only (kernel (3, 4), stride (1, 2)) and residual blocks give latents z_e [B, D, F, N'];
every D-vector is replaced by its nearest code (EMA codebook, dead-code restarts,
straight-through gradient, :mod:`sigvae.nn.quantize`); the mirrored decoder gives Û and
the inverse STFT x̂. Objective, per batch:

    loss = MSE(x̂, x) + MSE(Û, U) + β·‖z_e − sg(z_q)‖²                    (vqvae)
         + γ · BT(g(maxpool(z_e(view 1))), g(maxpool(z_e(view 2))))       (barlow_vqvae)

BT is the Barlow Twins loss (Zbontar et al. 2021) on batch-standardised projections,
Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij², divided by the projection width P so that γ weighs a
per-dimension average whatever P is; the projector g (Linear–BN–ReLU ×2, Linear) is a
submodule, so it *is* trained (the original left it out of the optimiser). With
``augment`` the two views are augmented copies of x (amplitude scaling, time flip, a
linear slope, jitter; STFT phase noise on the encoder input only) and each view is
reconstructed; ``gamma = 0`` with ``augment`` is the control trained on the same views.
``bt_features: cells`` compares every latent cell of one view with the same cell of the
other instead of the max-pooled vectors (both views then share their time flip).

Representations (``representations``): the flattened quantised latents z_q
(``flat``, D·F·N' numbers, what ``embed`` returns), the same averaged over time into at most
16 equal segments (``segments``, D·F·min(16, N')), their mean and max over the latent grid
(``pooled``, 2D), the normalised histogram of code indices (``codes``, K), and, for
comparison, the flattened pre-quantisation latents z_e (``pre``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check
from ..data.stft import STFT, stft_window
from ..nn.quantize import VectorQuantizer
from .base import ModelConfig, SigModel, StepOutput, check_repeated, register_model, register_preset


@dataclass
class VQVAEConfig(ModelConfig):
    """Settings of the STFT VQ-VAE and its Barlow Twins variant."""

    n_fft: int = 8
    hop_length: int = 2
    window: Literal["rect", "hann"] = "rect"
    width: int = 32
    res_blocks: int = 2
    downsample: int = 0  # time-halvings in the encoder; 0 = fewest giving <= max_latent_frames
    max_latent_frames: int = 16
    code_dim: int = 64
    num_codes: int = 32
    ema_decay: float = 0.8
    dead_threshold: float = 0.1
    commitment: float = 1.0
    stft_weight: float = 1.0
    time_weight: float = 1.0
    gamma: float = 0.0
    augment: bool = False
    projector_dim: int = 256
    bt_lambda: float = 0.005
    # What the Barlow Twins loss compares: "pooled" = max over the latent grid, one vector per
    # series (as the original); "cells" = every latent cell of view 1 with the same cell of
    # view 2 (both views then share their time flip, so the cells stay aligned).
    bt_features: Literal["pooled", "cells"] = "pooled"
    aug_scale: float = 0.1  # amplitude × (1 + N(0, aug_scale))
    aug_flip: float = 0.5  # probability of reversing time
    aug_slope: float = 1.0  # + U(−s, s) · t/T (a drift of at most s over the series)
    aug_phase: float = math.pi / 4  # STFT phase noise U(−a, a) on the encoder input
    aug_jitter: float = 0.1  # + N(0, jitter)

    def validate(self) -> None:
        super().validate()
        check(self.n_fft >= 2, f"n_fft must be >= 2, got {self.n_fft}")
        check(0 < self.hop_length <= self.n_fft, f"hop_length must be in 1..n_fft, got {self.hop_length}")
        check(self.window in ("rect", "hann"), f"window must be 'rect' or 'hann', got {self.window!r}")
        check(self.window == "rect" or self.hop_length <= self.n_fft // 2, "a hann window needs hop_length <= n_fft // 2 to be invertible")
        check(self.width >= 1 and self.code_dim >= 1, "width and code_dim must be >= 1")
        check(self.res_blocks >= 0, "res_blocks must be >= 0")
        check(0 <= self.downsample <= 10, f"downsample must be in 0..10, got {self.downsample}")
        check(self.max_latent_frames >= 1, "max_latent_frames must be >= 1")
        check(self.num_codes >= 2, f"num_codes must be >= 2, got {self.num_codes}")
        check(0.0 <= self.ema_decay < 1.0, f"ema_decay must be in [0, 1), got {self.ema_decay}")
        check(self.dead_threshold >= 0, "dead_threshold must be >= 0")
        check(min(self.commitment, self.stft_weight, self.time_weight, self.gamma) >= 0, "loss weights must be >= 0")
        check(self.projector_dim >= 2, "projector_dim must be >= 2")
        check(self.bt_lambda >= 0, "bt_lambda must be >= 0")
        check(self.bt_features in ("pooled", "cells"), f"bt_features must be 'pooled' or 'cells', got {self.bt_features!r}")
        check(min(self.aug_scale, self.aug_slope, self.aug_phase, self.aug_jitter) >= 0, "augmentation strengths must be >= 0")
        check(0.0 <= self.aug_flip <= 1.0, "aug_flip is a probability in [0, 1]")
        check(self.length >= 2, f"length must be >= 2 for an STFT, got {self.length}")


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, lambd: float = 0.005, normalise: bool = True) -> torch.Tensor:
    """Barlow Twins loss between two views' features [B, P] (B >= 2).

    Each feature is standardised over the batch (population std); C = z̃1ᵀz̃2 / B is the
    cross-correlation [P, P]; returns Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij², divided by P when
    ``normalise``. It is 0 exactly when C = I (identical, whitened views).
    """
    b, p = z1.shape
    a = (z1 - z1.mean(0)) / z1.std(0, unbiased=False).clamp_min(1e-6)
    c = (z2 - z2.mean(0)) / z2.std(0, unbiased=False).clamp_min(1e-6)
    corr = a.t() @ c / b
    diag = torch.diagonal(corr)
    on = (1 - diag).pow(2).sum()
    off = corr.pow(2).sum() - diag.pow(2).sum()
    loss = on + lambd * off
    return loss / p if normalise else loss


class STFTChannels(nn.Module):
    """Series [B, C, T] ↔ their STFT as real channels [B, 2C, F, N]: C real parts, then C imaginary parts.

    The transform is :class:`sigvae.data.stft.STFT` (centred frames) with a ``rect`` or
    ``hann`` window, kept as a buffer so it follows the module's device.
    """

    def __init__(self, n_fft: int, hop_length: int, window: str, length: int):
        super().__init__()
        self.n_fft, self.hop, self.length = n_fft, hop_length, length
        self.transform = STFT(n_fft, hop_length, window)
        self.register_buffer("window", stft_window(window, n_fft), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.real(self.transform(x, window=self.window))

    def complex(self, u: torch.Tensor) -> torch.Tensor:
        """Real channels [B, 2C, F, N] → complex spectra [B, C, F, N]."""
        c = u.shape[1] // 2
        return torch.complex(u[:, :c], u[:, c:])

    def real(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex spectra [B, C, F, N] → real channels [B, 2C, F, N] (real parts, then imaginary)."""
        return torch.cat([spec.real, spec.imag], dim=1)

    def inverse(self, u: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """[B, 2C, F, N] → [B, C, length]."""
        return self.transform.inverse(self.complex(u), length or self.length, window=self.window)


class ResBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register_model("vqvae", VQVAEConfig, description="VQ-VAE on the STFT (real/imag channels), EMA codebook 32 × 64")
class STFTVQVAE(SigModel):
    """VQ-VAE on the STFT with an EMA codebook; with ``gamma > 0`` the Barlow Twins VQ-VAE."""

    def __init__(self, config: VQVAEConfig):
        super().__init__(config)
        c = config
        self.stft = STFTChannels(c.n_fft, c.hop_length, c.window, c.length)
        with torch.no_grad():
            probe = self.stft(torch.zeros(1, c.in_channels, c.length))
        self.freqs, self.frames = int(probe.shape[2]), int(probe.shape[3])
        k = c.downsample
        if k == 0:
            k = 1
            while math.ceil(self.frames / 2**k) > c.max_latent_frames and k < 10:
                k += 1
        self.n_down = k
        self.padded_frames = math.ceil(self.frames / 2**k) * 2**k
        self.latent_shape = (c.code_dim, self.freqs, self.padded_frames // 2**k)
        ch = 2 * c.in_channels
        enc: list[nn.Module] = []
        for i in range(k):
            enc += [nn.Conv2d(ch if i == 0 else c.width, c.width, (3, 4), stride=(1, 2), padding=(1, 1)), nn.ReLU()]
        enc += [nn.Conv2d(c.width, c.width, 3, padding=1)]
        check_repeated(f"vqvae: 2 × {c.res_blocks} residual blocks of width {c.width}", 2 * c.res_blocks, lambda: ResBlock(c.width))
        enc += [ResBlock(c.width) for _ in range(c.res_blocks)]
        enc += [nn.ReLU(), nn.Conv2d(c.width, c.code_dim, 1)]
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(c.code_dim, c.width, 3, padding=1)]
        dec += [ResBlock(c.width) for _ in range(c.res_blocks)]
        for i in range(k):
            last = i == k - 1
            dec += [nn.ReLU(), nn.ConvTranspose2d(c.width, ch if last else c.width, (3, 4), stride=(1, 2), padding=(1, 1))]
        self.decoder = nn.Sequential(*dec)
        self.quantizer = VectorQuantizer(c.num_codes, c.code_dim, c.ema_decay, dead_threshold=c.dead_threshold)
        self.projector: nn.Module | None = None
        if c.gamma > 0:
            p = c.projector_dim
            self.projector = nn.Sequential(
                nn.Linear(c.code_dim, p), nn.BatchNorm1d(p), nn.ReLU(),
                nn.Linear(p, p), nn.BatchNorm1d(p), nn.ReLU(),
                nn.Linear(p, p),
            )

    # --- pieces -----------------------------------------------------------------------
    def _pad(self, u: torch.Tensor) -> torch.Tensor:
        return F.pad(u, (0, self.padded_frames - u.shape[-1]))

    def encode_latents(self, u: torch.Tensor) -> torch.Tensor:
        """STFT channels [B, 2C, F, N] → pre-quantisation latents z_e [B, D, F, N']."""
        return self.encoder(self._pad(u))

    def decode_latents(self, zq: torch.Tensor) -> torch.Tensor:
        """Quantised latents [B, D, F, N'] → STFT channels [B, 2C, F, N]."""
        return self.decoder(zq)[..., : self.frames]

    def quantize(self, x: torch.Tensor):
        """Series [B, C, T] → the :class:`~sigvae.nn.quantize.Quantized` latents (no codebook update)."""
        return self.quantizer(self.encode_latents(self.stft(x)))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Series [B, C, T] → reconstructed series [B, C, T]."""
        return self.stft.inverse(self.decode_latents(self.quantize(x).quantized))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened quantised latents [B, D·F·N']."""
        return self.quantize(x).quantized.flatten(1)

    #: Latent frames the ``segments`` representation averages the codes down to.
    REPRESENTATION_SEGMENTS = 16

    def representations(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every representation evaluation looks at, for series [B, C, T]:

        ``flat`` quantised latents flattened [B, D·F·N']; ``segments`` the quantised latents
        averaged over time into S = min(16, N') equal segments (adaptive average pooling,
        frequency kept) and flattened [B, D·F·S] — equal to ``flat`` when N' ≤ 16;
        ``pooled`` their mean ‖ max over the grid [B, 2D]; ``codes`` the histogram of code
        indices [B, K]; ``pre`` the pre-quantisation latents z_e flattened [B, D·F·N'] (what
        the quantiser discards).
        """
        ze = self.encode_latents(self.stft(x))
        q = self.quantizer(ze)
        zq = q.quantized
        hist = F.one_hot(q.indices.flatten(1), self.config.num_codes).float().mean(1)
        pooled = torch.cat([zq.mean(dim=(2, 3)), zq.amax(dim=(2, 3))], dim=1)
        # Averaging neighbouring latent frames keeps the coarse time layout but tolerates
        # small shifts, which a linear probe on the full-resolution grid cannot.
        segments = F.adaptive_avg_pool2d(zq, (zq.shape[2], min(self.REPRESENTATION_SEGMENTS, zq.shape[3])))
        return {"flat": zq.flatten(1), "segments": segments.flatten(1), "pooled": pooled, "codes": hist,
                "pre": ze.flatten(1)}

    def code_indices(self, x: torch.Tensor) -> torch.Tensor:
        """Series → code index per latent cell, int64 [B, F, N']."""
        return self.quantize(x).indices

    # --- augmentation -----------------------------------------------------------------
    def augment(self, x: torch.Tensor, flip: torch.Tensor | None = None) -> torch.Tensor:
        """One random view of series [B, C, T] (torch RNG, seeded per training step).

        ``flip`` [B, 1, 1] bool: which series to reverse in time (drawn here when None).
        """
        c = self.config
        b, _, t = x.shape
        v = x * (1 + c.aug_scale * torch.randn(b, 1, 1, device=x.device))
        if flip is None and c.aug_flip > 0:
            flip = torch.rand(b, 1, 1, device=x.device) < c.aug_flip
        if flip is not None:
            v = torch.where(flip, v.flip(-1), v)
        if c.aug_slope > 0:
            ramp = torch.linspace(0.0, 1.0, t, device=x.device)[None, None, :]
            v = v + (2 * torch.rand(b, 1, 1, device=x.device) - 1) * c.aug_slope * ramp
        if c.aug_jitter > 0:
            v = v + c.aug_jitter * torch.randn_like(v)
        return v

    def phase_noise(self, u: torch.Tensor) -> torch.Tensor:
        """Rotate every STFT bin by a random phase U(−a, a)."""
        a = self.config.aug_phase
        if a <= 0:
            return u
        spec = self.stft.complex(u)
        phi = (2 * torch.rand(spec.shape, device=u.device) - 1) * a
        return self.stft.real(spec * torch.polar(torch.ones_like(phi), phi))

    # --- training -----------------------------------------------------------------------
    def step(self, batch: dict, stage: str) -> StepOutput:
        c = self.config
        x = batch["x"]
        train = stage == "train"
        two_views = train and c.augment
        if two_views:
            flip = None
            if c.bt_features == "cells" and c.aug_flip > 0:
                flip = torch.rand(x.shape[0], 1, 1, device=x.device) < c.aug_flip
            target = torch.cat([self.augment(x, flip), self.augment(x, flip)])
        else:
            target = x
        u = self.stft(target)
        u_in = self.phase_noise(u) if two_views else u
        ze = self.encode_latents(u_in)
        q = self.quantizer(ze, update=train)
        u_hat = self.decode_latents(q.quantized)
        x_hat = self.stft.inverse(u_hat)
        time_mse = F.mse_loss(x_hat, target)
        stft_mse = F.mse_loss(u_hat, u)
        loss = c.time_weight * time_mse + c.stft_weight * stft_mse + c.commitment * q.commitment
        logs = {
            "time_mse": time_mse.detach(), "stft_mse": stft_mse.detach(), "commitment": q.commitment.detach(),
            "perplexity": q.perplexity, "usage": q.usage,
        }
        if train:
            logs["restarts"] = q.restarts
        if two_views and self.projector is not None and c.gamma > 0 and x.shape[0] >= 2:
            if c.bt_features == "cells":
                feats = ze.permute(0, 2, 3, 1)  # [2B, F, N', D]: one row per latent cell
                h1, h2 = (h.reshape(-1, c.code_dim) for h in feats.chunk(2))
            else:
                h1, h2 = ze.amax(dim=(2, 3)).chunk(2)
            bt = barlow_twins_loss(self.projector(h1), self.projector(h2), c.bt_lambda)
            loss = loss + c.gamma * bt
            logs["barlow_twins"] = bt.detach()
        logs["loss"] = loss.detach()
        return StepOutput({"model": loss}, logs)


register_preset(
    "barlow_vqvae", "vqvae",
    "Barlow Twins VQ-VAE: two augmented views, trained projector, γ = 0.2",
    {"gamma": 0.2, "augment": True},
)

__all__ = ["VQVAEConfig", "STFTVQVAE", "STFTChannels", "barlow_twins_loss"]
