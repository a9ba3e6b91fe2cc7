"""Single-channel source separation with a multi-decoder spectrogram VAE.

The mixture x [C, T] (C channels, each separated on the same masks' terms) is turned
into its STFT X and the log-magnitude features u = (clamp(20 log10(|X|/r), −80) + 80)/80
(r: a full-scale sine's peak, so u ∈ [0, 1]). Then

    stem     h = conv(u)  [w1, F, N]  (full resolution; also the decoders' skip input)
    encoder  E(h) → (μ_k, log σ²_k) for every source k = 1..K: Gaussian latent *maps*
             [D, F/2, N/2] (the seed's encoder ends in conv heads too, not a vector);
    z_k = μ_k + σ_k ε  (training) or μ_k (separation);
    decoder  G_k(z_k, h) → ℓ_k [C, F, N], the log-magnitude of source k: Ŝ_k = r·exp(ℓ_k)
             (``skip``: h joins after the upsampling, U-Net style; without it G_k(z_k));
    masks    M_k = Ŝ_k / Σ_j Ŝ_j = softmax_k(ℓ_k)  (sum to one in every bin);
    estimate s_k = iSTFT(M_k · X)  (the mixture's phase).

Loss per example (averaged over the batch):
    recon  = −Σ_k SNR_τ(s_k, ŝ_k) / 10     (``recon: snr``, the default; SNR in dB of the
             waveform estimate against the stem, both energies floored at τ‖x‖²,
             τ = 10^(−3): a silent stem cannot give −∞, and no source gains beyond 30 dB)
         or  Σ_k mean_bins | (M_k|X|/r)^p − (|S_k|/r)^p |   (``recon: magnitude``, p = 0.5)
    mixcon = mean_bins | (Σ_k Ŝ_k/r)^p − (|X|/r)^p |                (decoders add up to the mixture)
    KL     = Σ_k mean_positions Σ_d KL(N(μ, σ²) ‖ N(0, 1))
    loss   = recon + λ · mixcon + β · KL
The masks sum to one by construction, so the estimates always add up to the mixture
exactly; the mixture-consistency term instead ties the decoders' own spectra Ŝ_k to
the mixture's magnitude, so each decoder generates its source's spectrum rather than
an arbitrary logit (only their ratio would matter otherwise).

Why the waveform SNR and not the compressed-magnitude L1 (the first version): the L1 on
|·|^0.5 weights every bin nearly alike, so quiet bins (where one source trivially dominates)
dominate the loss while the loud, overlapping bins that decide SI-SDR barely count; it
fell only from 0.039 (masks ½) to 0.034 in five epochs (the ideal ratio mask scores
0.010) and one seed in two collapsed (docs/separation-spectrogram.md).

The network is fully convolutional with no normalisation layers, so an output frame
depends only on nearby input frames: :meth:`Separator.separate` processes any length
in overlapping chunks (see :mod:`sigvae.separating.chunks`) with the same result as
one pass, away from the file's ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import check
from ..data.stft import STFT
from ..errors import DataError
from ..losses import gaussian_kl, reparameterize
from ..separating.chunks import separate_in_chunks
from .base import ModelConfig, Posterior, SigModel, StepOutput, check_repeated, register_model

TARGET_RMS = 0.1  # every mixture is scaled to this RMS before separation, and back after


@dataclass
class SeparatorConfig(ModelConfig):
    """Settings of the multi-decoder separation VAE (``length`` is the training crop in samples)."""

    num_sources: int = 2
    source_names: list[str] = field(default_factory=list)
    latent_channels: int = 8
    channels: tuple[int, int] = (16, 32)
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    beta: float = 1e-4
    mixture_weight: float = 1.0
    compress: float = 0.5
    remix_db: float = 6.0
    n_fft: int = 512
    hop_length: int = 128
    top_db: float = 80.0
    relative: bool = False
    skip: bool = True  # decoders also see the encoder's full-resolution stem features
    recon: str = "snr"  # "snr": −waveform SNR of the masked estimates; "magnitude": L1 on |·|^compress
    snr_floor_db: float = 30.0  # SNR saturates this far above the mixture's level (τ = 10^(−floor/10))

    def validate(self) -> None:
        super().validate()
        check(self.num_sources >= 2, f"num_sources must be >= 2, got {self.num_sources}")
        check(not self.source_names or len(self.source_names) == self.num_sources,
              f"source_names has {len(self.source_names)} names for {self.num_sources} sources")
        check(len(set(self.source_names)) == len(self.source_names), "source_names must be distinct")
        for name in self.source_names:
            # Each name becomes a file name (OUT/<name>.wav): a model folder from someone
            # else must not be able to aim a write elsewhere ("../../x") or hide a file.
            check(isinstance(name, str) and _is_plain_name(name),
                  f"source name {str(name)[:60]!r} is not a plain file name (letters, digits, spaces and '._-+=@,' only)")
        check(self.latent_channels >= 1, f"latent_channels must be >= 1, got {self.latent_channels}")
        check(len(self.channels) == 2 and min(self.channels) >= 1, f"channels must be two positive widths, got {self.channels}")
        check(all(d >= 1 for d in self.dilations), "dilations must be >= 1")
        check(self.beta >= 0 and self.mixture_weight >= 0, "beta and mixture_weight must be >= 0")
        check(0 < self.compress <= 2, f"compress must be in (0, 2], got {self.compress}")
        check(self.remix_db >= 0, f"remix_db must be >= 0, got {self.remix_db}")
        check(self.n_fft >= 16 and 0 < self.hop_length <= self.n_fft, "need n_fft >= 16 and 0 < hop_length <= n_fft")
        check(self.top_db > 0, "top_db must be positive")
        check(self.recon in ("snr", "magnitude"), f"recon must be 'snr' or 'magnitude', got {self.recon!r}")
        check(self.snr_floor_db > 0, f"snr_floor_db must be positive, got {self.snr_floor_db}")

    @property
    def names(self) -> list[str]:
        """The sources' names, in output order: ``source_names``, or ``source0``, ``source1``, ..."""
        return list(self.source_names) or [f"source{k}" for k in range(self.num_sources)]


def _block(c_in: int, c_out: int, dilation: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation), nn.SiLU()]


def _soft_snr(ref: torch.Tensor, est: torch.Tensor, mix: torch.Tensor, floor_db: float) -> torch.Tensor:
    """SNR in dB per example and source, [B, K], of estimates ``est`` against ``ref`` (both [B, K, C, T]).

    Both energies get τ·‖mix‖² added (τ = 10^(−floor_db/10), ``mix`` [B, C, T]), so the SNR saturates
    at about ``floor_db`` above the mixture's level and a silent reference is scored
    −10 log10(1 + ‖est‖²/(τ‖mix‖²)) ≤ 0 instead of −∞ (the soft threshold of Wisdom et al., 2020).
    """
    floor = 10 ** (-floor_db / 10) * mix.pow(2).sum((-2, -1))[:, None]
    signal = ref.pow(2).sum((-2, -1)) + floor
    noise = (ref - est).pow(2).sum((-2, -1)) + floor
    return 10 * torch.log10(signal / noise)


class _Decoder(nn.Module):
    """One source's decoder: latent map [B, D, F', N'] (+ skip features [B, w1, F, N]) → ℓ [B, C, ≥F, ≥N]."""

    def __init__(self, c: SeparatorConfig):
        super().__init__()
        w1, w2 = c.channels
        body: list[nn.Module] = [*_block(c.latent_channels, w2)]
        for d in c.dilations[:2]:
            body += _block(w2, w2, d)
        body += [nn.ConvTranspose2d(w2, w1, 4, stride=2, padding=1), nn.SiLU()]
        self.body = nn.Sequential(*body)
        # With ``skip`` the full-resolution features of the encoder's first block join here
        # (U-Net style), so the fine frequency detail lost by the stride-2 latent is available.
        self.head = nn.Sequential(*_block(2 * w1 if c.skip else w1, w1), nn.Conv2d(w1, c.in_channels, 3, padding=1))

    def forward(self, z: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        h = self.body(z)
        if skip is not None:
            h = torch.cat([h[..., : skip.shape[-2], : skip.shape[-1]], skip], 1)
        return self.head(h)


@register_model("separator", SeparatorConfig,
                description="multi-decoder spectrogram VAE for source separation: one latent + decoder per source, soft masks")
class Separator(SigModel):
    """Encoder → one Gaussian latent map per source → one decoder per source → soft masks."""

    #: frames the encoder halves; chunk starts are aligned to this many STFT frames
    STRIDE = 2

    def __init__(self, config: SeparatorConfig):
        super().__init__(config)
        c = config
        self.stft = STFT(c.n_fft, c.hop_length)
        w1, w2 = c.channels
        self.stem = nn.Sequential(*_block(c.in_channels, w1))  # full resolution (the skip's source)
        enc: list[nn.Module] = [nn.Conv2d(w1, w2, 4, stride=2, padding=1), nn.SiLU()]
        for d in c.dilations:
            enc += _block(w2, w2, d)
        self.encoder = nn.Sequential(*enc)
        check_repeated(f"separator: {c.num_sources} source decoders", c.num_sources, lambda: _Decoder(c))
        self.heads = nn.Conv2d(w2, 2 * c.latent_channels * c.num_sources, 1)
        self.decoders = nn.ModuleList([_Decoder(c) for _ in range(c.num_sources)])
        with torch.no_grad():
            # Start nearly deterministic (posterior std e^-3): with unit noise at initialisation
            # the decoders first learn to ignore the latents, and training stalls.
            self.heads.bias.view(c.num_sources, 2, c.latent_channels)[:, 1].fill_(-6.0)
            for d in self.decoders:  # spectra start at a quiet level (or gain 1/K when relative)
                d.head[-1].bias.fill_(-float(np.log(c.num_sources)) if c.relative else -4.0)

    # --- features ---------------------------------------------------------------------
    @property
    def align(self) -> int:
        """Samples between chunk starts must be a multiple of this (STFT hop × encoder stride)."""
        return self.config.hop_length * self.STRIDE

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex STFT [B, C, F, N] → log-magnitude features in [0, 1]."""
        top = self.config.top_db
        db = 20 * torch.log10(spec.abs().clamp_min(1e-10) / self.stft.reference)
        return (db.clamp_min(-top) + top) / top

    def _pad(self, u: torch.Tensor) -> torch.Tensor:
        f, n = u.shape[-2:]
        return F.pad(u, (0, (-n) % self.STRIDE, 0, (-f) % self.STRIDE))

    # --- the VAE ------------------------------------------------------------------------
    def _encode(self, u: torch.Tensor) -> tuple[Posterior, torch.Tensor]:
        """Features [B, C, F, N] → (posterior [B, K, D, F', N'], stem features [B, w1, F'', N''] padded to even F, N)."""
        c = self.config
        skip = self.stem(self._pad(u))
        h = self.heads(self.encoder(skip))
        b, _, fp, npr = h.shape
        h = h.view(b, c.num_sources, 2, c.latent_channels, fp, npr)
        return Posterior(h[:, :, 0], h[:, :, 1].clamp(-12.0, 8.0)), skip

    def posteriors(self, u: torch.Tensor) -> Posterior:
        """Features [B, C, F, N] → posterior means/logvars [B, K, D, F', N'] (F' = ⌈F/2⌉, N' = ⌈N/2⌉)."""
        return self._encode(u)[0]

    def decode_sources(self, z: torch.Tensor, shape: tuple[int, int], mix_mag: torch.Tensor | None = None,
                       skip: torch.Tensor | None = None) -> torch.Tensor:
        """Latents [B, K, D, F', N'] → log-magnitudes ℓ [B, K, C, F, N] (natural log, relative to r).

        ``skip``: the encoder's full-resolution features (required when the model has ``skip``).
        With ``relative`` the decoders give log-gains added to the mixture's log-magnitude
        ``mix_mag`` [B, C, F, N] (in units of r).
        """
        if self.config.skip and skip is None:
            raise ValueError("this separator has skip connections: pass the encoder's skip features")
        f, n = shape
        s = skip if self.config.skip else None
        out = torch.stack([dec(z[:, k], s) for k, dec in enumerate(self.decoders)], 1)[..., :f, :n]
        if self.config.relative and mix_mag is not None:
            out = out + torch.log(mix_mag.clamp_min(1e-6)).unsqueeze(1)
        return out

    def masks(self, mixture: torch.Tensor) -> torch.Tensor:
        """Soft masks [B, K, C, F, N] (softmax over sources: they sum to one) for mixtures [B, C, T]."""
        u = self.features(self.stft(mixture))
        post, skip = self._encode(u)
        return torch.softmax(self.decode_sources(post.mean, u.shape[-2:], skip=skip), dim=1)

    def _separate_batch(self, mixture: torch.Tensor) -> torch.Tensor:
        spec = self.stft(mixture)
        u = self.features(spec)
        post, skip = self._encode(u)
        m = torch.softmax(self.decode_sources(post.mean, u.shape[-2:], skip=skip), dim=1)
        return self.stft.inverse(spec.unsqueeze(1) * m, mixture.shape[-1])

    def encode(self, x: torch.Tensor) -> Posterior:
        """Mixtures [B, C, T] → posterior, flattened to [B, K·D·F'·N']."""
        post = self.posteriors(self.features(self.stft(x)))
        return Posterior(post.mean.flatten(1), post.logvar.flatten(1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Mixtures [B, C, T] → posterior means averaged over time and frequency, [B, K·D]."""
        return self.posteriors(self.features(self.stft(x))).mean.mean((-2, -1)).flatten(1)

    @property
    def latent_dim(self) -> int:
        return self.config.num_sources * self.config.latent_channels

    # --- training ------------------------------------------------------------------------
    def step(self, batch: dict, stage: str) -> StepOutput:
        c = self.config
        stems = batch["stems"].float()  # [B, K, C, T]
        if stems.shape[1] != c.num_sources or stems.shape[2] != c.in_channels:
            raise DataError(f"batch has {stems.shape[1]} stems × {stems.shape[2]} channels; the model expects "
                            f"{c.num_sources} × {c.in_channels}")
        if stage == "train" and c.remix_db > 0:
            # Remix augmentation: a random gain per stem, the mixture rebuilt as their sum.
            gains = 10 ** ((torch.rand(stems.shape[:2], device=stems.device) * 2 - 1) * c.remix_db / 20)
            stems = stems * gains[..., None, None]
            mix = stems.sum(1)
        else:
            mix = batch["mix"].float()
        scale = TARGET_RMS / mix.pow(2).mean((1, 2), keepdim=True).sqrt().clamp_min(1e-5)
        mix, stems = mix * scale, stems * scale[:, None]
        spec = self.stft(mix)
        u = self.features(spec)
        post, skip = self._encode(u)
        z = reparameterize(post.mean, post.logvar) if stage == "train" else post.mean
        p, r = c.compress, self.stft.reference
        mix_mag = spec.abs() / r
        logmag = self.decode_sources(z, u.shape[-2:], mix_mag, skip)
        masks = torch.softmax(logmag, dim=1)
        target = (self.stft(stems).abs() / r).pow(p)
        if c.recon == "snr":
            est = self.stft.inverse(spec.unsqueeze(1) * masks, mix.shape[-1])  # [B, K, C, T]
            recon = -_soft_snr(stems, est, mix, c.snr_floor_db).sum(1).mean() / 10
        else:
            target = (self.stft(stems).abs() / r).pow(p)
            recon = ((masks * mix_mag.unsqueeze(1)).clamp_min(1e-8).pow(p) - target).abs().mean((2, 3, 4)).sum(1).mean()
        mixcon = (logmag.clamp(max=10.0).exp().sum(1).clamp_min(1e-8).pow(p) - mix_mag.pow(p)).abs().mean((1, 2, 3)).mean()
        # (ℓ is clamped at 10 before exp: far above full scale, and exp stays finite)
        kl = gaussian_kl(post.mean, post.logvar).sum(2).mean((2, 3)).sum(1).mean()
        loss = recon + c.mixture_weight * mixcon + c.beta * kl
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "mixcon": mixcon, "kl": kl})

    @classmethod
    def build_training_data(cls, data: str, *, seed: int, val_fraction: float, num_examples: int, options: dict | None):
        """Training hook used by :func:`sigvae.training.train`: track folders → crop datasets."""
        from ..data.tracks import separation_datasets

        return separation_datasets(data, seed=seed, val_fraction=val_fraction, num_examples=num_examples, options=options)

    # --- separation ------------------------------------------------------------------------
    @torch.no_grad()
    def separate(self, mixture: np.ndarray | torch.Tensor, sample_rate: int | None = None, *, chunk_seconds: float = 10.0,
                 overlap_seconds: float = 2.0, batch_size: int = 2) -> np.ndarray:
        """Separate a whole recording [C, T] at ``sample_rate`` Hz → estimates [K, C, T] (float32).

        ``sample_rate``: the recording's rate (default: the model's). At another rate the
        recording is resampled to the model's (polyphase) and the estimates back to
        ``sample_rate``; they have the recording's T samples either way. Channels: C =
        ``in_channels``; a mono model separates each of C channels on its own, and a mono
        recording given to a multichannel model is duplicated to its channels (the
        estimates averaged back to mono). The K estimates are in the order of
        ``config.names``.

        Each recording (or channel, for a mono model) is scaled to a fixed RMS (and back),
        then processed in chunks of ``chunk_seconds`` overlapping by ``overlap_seconds``
        (cross-faded over a quarter of the overlap), ``batch_size`` chunks at a time, so
        memory does not grow with length. ``sigvae separate`` gives the same estimates.
        """
        from ..data.tracks import resample
        from ..errors import ConfigError
        from ..limits import check_sample_rate

        if not chunk_seconds > 0:
            raise ConfigError(f"chunk_seconds must be > 0, got {chunk_seconds}")
        if not 0 <= overlap_seconds < chunk_seconds:
            raise ConfigError(f"overlap_seconds must be >= 0 and less than chunk_seconds ({chunk_seconds}), got {overlap_seconds}")
        c = self.config
        x = mixture.detach().cpu().numpy() if torch.is_tensor(mixture) else np.asarray(mixture)
        x = x.astype(np.float32, copy=False)
        rate = c.sample_rate if sample_rate is None else check_sample_rate(sample_rate, "separate")
        if x.ndim != 2 or x.size == 0 or (x.shape[0] != c.in_channels and 1 not in (x.shape[0], c.in_channels)):
            raise DataError(f"mixture must be [channels, samples] with {c.in_channels} channel(s) (or 1, or any count "
                            f"for a mono model), got shape {x.shape}")
        length = x.shape[1]
        x = resample(x, rate, c.sample_rate)
        if x.shape[0] == c.in_channels:
            groups = [x]  # as the model takes it
        elif c.in_channels == 1:
            groups = [x[i : i + 1] for i in range(x.shape[0])]  # a mono model: every channel on its own
        else:
            groups = [np.repeat(x, c.in_channels, 0)]  # a mono recording for a multichannel model
        was_training = self.training
        self.eval()
        chunk = max(self.align, int(round(chunk_seconds * c.sample_rate)) // self.align * self.align)
        overlap = min(int(round(overlap_seconds * c.sample_rate)), chunk - self.align)
        parts = []
        for g in groups:
            g = torch.from_numpy(np.ascontiguousarray(g)).to(self.device)
            scale = TARGET_RMS / max(float(g.pow(2).mean().sqrt()), 1e-5)
            est = separate_in_chunks(self._separate_batch, g * scale, chunk, overlap, align=self.align, batch=batch_size)
            parts.append((est / scale).cpu().numpy().astype(np.float32))  # [K, Cm, T']
        self.train(was_training)
        est = np.concatenate(parts, 1) if len(parts) > 1 else parts[0]
        if est.shape[1] != x.shape[0]:
            est = est.mean(1, keepdims=True)  # duplicated mono: back to one channel
        return resample(est, c.sample_rate, rate)[..., :length]


def _is_plain_name(name: str) -> bool:
    from ..errors import DataError
    from ..io import safe_name

    try:
        return safe_name(name) == name
    except DataError:
        return False
