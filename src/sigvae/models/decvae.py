"""DecVAE: variational decomposition autoencoders (seed 000), encoder-only.

An input utterance x [B, 1, T] is cut into frames (25 ms, 20 ms stride) and every frame is
split into C frequency-ordered components (``sigvae.decompose``: FD by default). Subspace 0
is the original frame X, subspaces 1…C its components. With S = C + 1 subspaces:

    e_s   = Enc(frame_s)              one encoder shared by X and every component
    h_s   = H(e_s)                    a shared projection
    q(z_s | ·) = N(μ_s(h_s), σ²_s(h_s))   a Gaussian head per subspace (frame-level Z)
    p_s   = softmax(G(μ_s))           a distribution per subspace (G shared), from the mean

    L_dec = w_x · mean_j BCE(JSD(p_0, p_j), 0) + w_c · mean_{i<j} BCE(JSD(p_i, p_j), 1)
    loss  = L_dec(frames) + L_dec(utterance) + β · (Σ_s KL(q(z_s) ‖ N(0, I)) + Σ_s KL(q(u_s) ‖ N(0, I)))

JSD is in bits (∈ [0, 1]) so BCE targets 0 and 1 make sense: X should look like each of its
components, components should look unlike each other. The sequence branch repeats this per
utterance: the utterance-level decomposition (same method over the whole utterance) is
framed, encoded by the same Enc and H, passed through a small convolution stack over time
and attention-pooled with a learned query, then its own Gaussian heads give u_s.
Presets: DecAE (β = 0), β-DecVAE (β = 0.1), DecVAE (β = 1). The representation used in
evaluation is the posterior means (``latents`` gives every subspace, frame and utterance).
Departures from the original (all documented in docs/decvae.md): the loss acts on the
posterior means through G, so every head — X's included — is trained by it (the original
applies it to H and trains no X head); zero (missing) components are left out of the loss.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from ..config import check
from ..decompose import METHODS, decompose, decompose_utterance, frame_signal
from ..losses import gaussian_kl, reparameterize
from .base import ModelConfig, SigModel, StepOutput, check_repeated, register_model, register_preset

LOG2 = float(np.log(2.0))


def jsd_bits(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Jensen–Shannon divergence in bits between distributions on the last axis → [...] in [0, 1]."""
    m = 0.5 * (p + q)
    kl_pm = (p * (torch.log(p + eps) - torch.log(m + eps))).sum(-1)
    kl_qm = (q * (torch.log(q + eps) - torch.log(m + eps))).sum(-1)
    return (0.5 * (kl_pm + kl_qm) / LOG2).clamp(0.0, 1.0)


def decomposition_loss(
    p: torch.Tensor, valid: torch.Tensor | None = None, weight_x: float = 0.3, weight_comp: float = 1.0, eps: float = 1e-6,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """DecVAE's decomposition loss on distributions ``p`` [M, S, D] (subspace 0 = original).

    Returns (loss, parts): ``weight_x`` · mean BCE(JSD(p_0, p_j), target 0) over components
    j ≥ 1, plus ``weight_comp`` · mean BCE(JSD(p_i, p_j), target 1) over component pairs
    1 ≤ i < j. ``valid`` [M, S − 1] (bool) leaves out components that are missing (zero);
    the loss is 0 exactly when X equals every component and components are disjoint.
    """
    m, s, _ = p.shape
    if valid is None:
        valid = torch.ones(m, s - 1, dtype=torch.bool, device=p.device)
    validf = valid.float()
    j_x = jsd_bits(p[:, :1], p[:, 1:])  # [M, C]
    bce_x = -torch.log((1 - j_x).clamp_min(eps))
    pos = (bce_x * validf).sum() / validf.sum().clamp_min(1.0)
    parts = {"jsd_x": (j_x * validf).sum() / validf.sum().clamp_min(1.0)}
    if s > 2:
        i, j = torch.triu_indices(s - 1, s - 1, offset=1, device=p.device)
        j_c = jsd_bits(p[:, 1 + i], p[:, 1 + j])  # [M, pairs]
        pair_ok = (valid[:, i] & valid[:, j]).float()
        bce_c = -torch.log(j_c.clamp_min(eps))
        neg = (bce_c * pair_ok).sum() / pair_ok.sum().clamp_min(1.0)
        parts["jsd_comp"] = (j_c * pair_ok).sum() / pair_ok.sum().clamp_min(1.0)
    else:
        neg = p.new_zeros(())
    loss = weight_x * pos + weight_comp * neg
    return loss, {"dec_x": pos, "dec_comp": neg, **parts}


@dataclass
class DecVAEConfig(ModelConfig):
    """Settings of DecVAE. Defaults: a small log-mel model that trains in minutes on a CPU."""

    length: int = 12800
    n_components: int = 3
    decomposition: str = "fd"
    frame_ms: float = 25.0
    stride_ms: float = 20.0
    input: Literal["logmel", "waveform"] = "logmel"
    n_mels: int = 64
    n_fft: int = 512
    hidden: tuple[int, ...] = (128, 128)
    conv_channels: tuple[int, ...] = (512, 512, 512, 512, 512, 512, 512)
    conv_kernels: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_strides: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    proj_dim: int = 64
    z_dim: int = 8
    s_dim: int = 8
    dist_dim: int = 64
    sequence: bool = True
    seq_channels: int = 64
    attention_heads: int = 4
    beta: float = 1.0
    weight_x: float = 0.3
    weight_comp: float = 1.0
    cache_size: int = 8192

    def validate(self) -> None:
        super().validate()
        check(self.in_channels == 1, f"DecVAE takes mono signals, got in_channels={self.in_channels}")
        check(self.n_components >= 2, f"n_components must be >= 2, got {self.n_components}")
        check(self.decomposition in METHODS, f"decomposition must be one of {list(METHODS)}, got {self.decomposition!r}")
        check(self.frame_ms > 0 and self.stride_ms > 0, "frame_ms and stride_ms must be positive")
        check(self.input in ("logmel", "waveform"), f"input must be logmel or waveform, got {self.input!r}")
        check(self.frame_length >= 16, f"frames of {self.frame_length} samples are too short")
        check(self.length >= self.frame_length, f"length {self.length} is shorter than one frame ({self.frame_length})")
        check(len(self.conv_channels) == len(self.conv_kernels) == len(self.conv_strides) >= 1,
              "conv_channels, conv_kernels and conv_strides need the same length")
        check(len(self.hidden) >= 1 and min(self.hidden) >= 1, "hidden must list positive widths")
        for k in ("n_mels", "n_fft", "proj_dim", "z_dim", "s_dim", "dist_dim", "seq_channels", "attention_heads"):
            check(getattr(self, k) >= 1, f"{k} must be >= 1, got {getattr(self, k)}")
        check(self.seq_channels % self.attention_heads == 0, "seq_channels must be divisible by attention_heads")
        check(self.beta >= 0 and self.weight_x >= 0 and self.weight_comp >= 0, "beta and the loss weights must be >= 0")
        check(self.cache_size >= 0, "cache_size must be >= 0")

    @property
    def frame_length(self) -> int:
        """Samples per frame: ``frame_ms`` at ``sample_rate``, rounded (400 at 16 kHz)."""
        return int(round(self.frame_ms * self.sample_rate / 1000))

    @property
    def frame_stride(self) -> int:
        """Samples between frame starts: ``stride_ms`` at ``sample_rate``, rounded (320 at 16 kHz)."""
        return int(round(self.stride_ms * self.sample_rate / 1000))


class _ConvFrameEncoder(nn.Module):
    """wav2vec2-style conv feature encoder on raw frames [M, L] → [M, channels[-1]] (time-averaged)."""

    def __init__(self, c: DecVAEConfig):
        super().__init__()
        layers: list[nn.Module] = []
        prev = 1
        for i, (ch, k, s) in enumerate(zip(c.conv_channels, c.conv_kernels, c.conv_strides)):
            layers.append(nn.Conv1d(prev, ch, k, s, bias=False))
            if i == 0:
                layers.append(nn.GroupNorm(ch, ch))
            layers.append(nn.GELU())
            prev = ch
        self.net = nn.Sequential(*layers)
        self.out_dim = prev

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames[:, None, :]).mean(-1)


@register_model("decvae", DecVAEConfig, description="DecVAE: decomposition loss + β·KL, β = 1, FD components")
class DecVAE(SigModel):
    """Encoder-only variational decomposition autoencoder with frame (Z) and utterance (S) subspaces."""

    def __init__(self, config: DecVAEConfig):
        super().__init__(config)
        c = config
        self.n_sub = c.n_components + 1
        check_repeated(f"decvae: {self.n_sub} subspace heads", 2 * self.n_sub,
                       lambda: nn.Linear(max(c.proj_dim, c.seq_channels), 2 * max(c.z_dim, c.s_dim)))
        if c.input == "logmel":
            from ..data.transforms import mel_filterbank
            from ..limits import check_allocation

            # float64 temporaries of the filterbank, built with NumPy even on the meta device
            check_allocation("decvae mel filterbank", (c.n_mels, c.n_fft // 2 + 1), 48)
            fb = mel_filterbank(c.sample_rate, c.n_fft, c.n_mels, fmin=20.0)
            self.register_buffer("mel_fb", torch.from_numpy(fb), persistent=False)
            self.register_buffer("window", torch.hann_window(c.frame_length, periodic=False), persistent=False)
            dims = [c.n_mels, *c.hidden]
            layers: list[nn.Module] = []
            for a, b in zip(dims[:-1], dims[1:]):
                layers += [nn.Linear(a, b), nn.GELU()]
            self.encoder = nn.Sequential(*layers)
            enc_dim = dims[-1]
        else:
            self.encoder = _ConvFrameEncoder(c)
            enc_dim = self.encoder.out_dim
        self.project = nn.Sequential(nn.LayerNorm(enc_dim), nn.Linear(enc_dim, c.proj_dim))
        self.z_heads = nn.ModuleList([nn.Linear(c.proj_dim, 2 * c.z_dim) for _ in range(self.n_sub)])
        self.z_dist = nn.Linear(c.z_dim, c.dist_dim)
        if c.sequence:
            self.seq_conv = nn.Sequential(
                nn.Conv1d(c.proj_dim, c.seq_channels, 3, padding=1), nn.GELU(),
                nn.Conv1d(c.seq_channels, c.seq_channels, 3, padding=1), nn.GELU(),
            )
            self.query = nn.Parameter(torch.randn(1, 1, c.seq_channels) * 0.02)
            self.pool = nn.MultiheadAttention(c.seq_channels, c.attention_heads, batch_first=True)
            self.s_heads = nn.ModuleList([nn.Linear(c.seq_channels, 2 * c.s_dim) for _ in range(self.n_sub)])
            self.s_dist = nn.Linear(c.s_dim, c.dist_dim)
        self._cache: OrderedDict[bytes, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()

    @property
    def latent_dim(self) -> int:
        return self.n_sub * self.config.z_dim

    # --- inputs -------------------------------------------------------------------------
    def _frame_inputs(self, frames: torch.Tensor) -> torch.Tensor:
        """Frames [..., L] → encoder inputs: scaled log-mel [..., n_mels] or the frames themselves."""
        if self.config.input == "waveform":
            return frames
        spec = torch.fft.rfft(frames * self.window, n=self.config.n_fft).abs().pow(2)
        mel = spec @ self.mel_fb.T
        return (10 * torch.log10(mel + 1e-10) + 100.0) / 50.0  # −100 dB → 0, 0 dB → 2

    def decompose_batch(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Utterances [B, 1, T] → (frame signals [B, F, S, L], utterance-branch frames [B, F, S, L]).

        Frame signals: X then its C components; utterance-branch frames: X then the frames of
        the C utterance-level components. Computed with NumPy under no_grad (preprocessing).
        """
        c = self.config
        wav = x.detach().float().cpu().numpy()[:, 0]
        frames = frame_signal(wav, c.frame_length, c.frame_stride)  # [B, F, L]
        b, f, length = frames.shape
        comps = decompose(frames.reshape(b * f, length), c.decomposition, c.n_components, c.sample_rate).reshape(b, f, c.n_components, length)
        z_sig = np.concatenate([frames[:, :, None], comps], axis=2)
        utt = decompose_utterance(wav, c.decomposition, c.n_components, c.sample_rate)  # [B, C, T]
        utt_frames = frame_signal(utt, c.frame_length, c.frame_stride).transpose(0, 2, 1, 3)  # [B, F, C, L]
        s_sig = np.concatenate([frames[:, :, None], utt_frames], axis=2)
        return torch.from_numpy(z_sig), torch.from_numpy(s_sig)

    def inputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Utterances [B, 1, T] → encoder inputs (frame branch, utterance branch), each [B, F, S, ...].

        Log-mel inputs are cached per utterance (keyed by a hash of its samples), so each
        utterance is decomposed once per run; waveform inputs are not cached (they are large).
        """
        dev = x.device
        use_cache = self.config.cache_size > 0 and self.config.input == "logmel"
        if not use_cache:
            zs, ss = self.decompose_batch(x)
            return self._frame_inputs(zs.to(dev)), self._frame_inputs(ss.to(dev))
        wav = x.detach().float().cpu().numpy()
        keys = [hashlib.blake2b(w.tobytes(), digest_size=16).digest() for w in wav]
        miss = [i for i, k in enumerate(keys) if k not in self._cache]
        if miss:
            zs, ss = self.decompose_batch(x[miss])
            with torch.no_grad():
                zf, sf = self._frame_inputs(zs.to(dev)).cpu(), self._frame_inputs(ss.to(dev)).cpu()
            for n, i in enumerate(miss):
                self._cache[keys[i]] = (zf[n], sf[n])
                while len(self._cache) > self.config.cache_size:
                    self._cache.popitem(last=False)
        found = [self._cache.get(k) for k in keys]
        if any(v is None for v in found):  # cache smaller than the batch: compute directly
            zs, ss = self.decompose_batch(x)
            return self._frame_inputs(zs.to(dev)), self._frame_inputs(ss.to(dev))
        return torch.stack([v[0] for v in found]).to(dev), torch.stack([v[1] for v in found]).to(dev)

    # --- forward ------------------------------------------------------------------------
    def _heads(self, h: torch.Tensor, heads: nn.ModuleList, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-subspace Gaussian heads: h [..., S, P] → mean, logvar [..., S, dim]."""
        out = torch.stack([head(h[..., s, :]) for s, head in enumerate(heads)], dim=-2)
        mean, logvar = out.split(dim, dim=-1)
        return mean, logvar.clamp(-12.0, 8.0)

    def forward_latents(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Utterances [B, 1, T] → posteriors: ``z_mean``/``z_logvar`` [B, F, S, z_dim],
        ``u_mean``/``u_logvar`` [B, S, s_dim] (sequence branch), and ``valid`` [B, F, C]."""
        zin, sin = self.inputs(x)
        b, f, s = zin.shape[:3]
        h = self.project(self.encoder(zin.flatten(0, 2))).view(b, f, s, -1)
        z_mean, z_logvar = self._heads(h, self.z_heads, self.config.z_dim)
        out = {"z_mean": z_mean, "z_logvar": z_logvar, "valid": self._valid(zin)}
        if self.config.sequence:
            # X frames are shared by both branches: reuse their projection.
            hs = self.project(self.encoder(sin[:, :, 1:].flatten(0, 2))).view(b, f, s - 1, -1)
            hs = torch.cat([h[:, :, :1], hs], dim=2)  # [B, F, S, P]
            seq = self.seq_conv(hs.permute(0, 2, 3, 1).flatten(0, 1))  # [B·S, ch, F]
            q = self.query.expand(seq.shape[0], -1, -1)
            pooled, _ = self.pool(q, seq.transpose(1, 2), seq.transpose(1, 2), need_weights=False)
            pooled = pooled[:, 0].view(b, s, -1)
            out["u_mean"], out["u_logvar"] = self._heads(pooled, self.s_heads, self.config.s_dim)
            out["u_valid"] = self._valid(sin).any(dim=1)
        return out

    def _valid(self, inputs: torch.Tensor) -> torch.Tensor:
        """[B, F, S, ...] → bool [B, F, C]: components that are not identically zero."""
        comps = inputs[:, :, 1:].flatten(3)
        if self.config.input == "logmel":
            return (comps - comps.amin(dim=-1, keepdim=True)).abs().amax(-1) > 1e-6
        return comps.abs().amax(-1) > 0

    def step(self, batch: dict, stage: str) -> StepOutput:
        c = self.config
        lat = self.forward_latents(batch["x"])
        zm, zl = lat["z_mean"], lat["z_logvar"]
        # The decomposition loss acts on the posterior means, not on samples: with samples,
        # independent noise per subspace makes components look different for free and the
        # means collapse onto the prior (observed: validation JSD → 0, KL → 0).
        p = torch.softmax(self.z_dist(zm), dim=-1).flatten(0, 1)  # [B·F, S, D]
        dec_z, parts = decomposition_loss(p, lat["valid"].flatten(0, 1), c.weight_x, c.weight_comp)
        kl_z = gaussian_kl(zm, zl).sum(-1).sum(-1).mean()
        loss = dec_z + c.beta * kl_z
        logs = {"dec_z": dec_z, "kl_z": kl_z, "jsd_x": parts["jsd_x"], "jsd_comp": parts.get("jsd_comp", dec_z * 0)}
        if c.sequence:
            um, ul = lat["u_mean"], lat["u_logvar"]
            pu = torch.softmax(self.s_dist(um), dim=-1)
            dec_s, _ = decomposition_loss(pu, lat["u_valid"], c.weight_x, c.weight_comp)
            kl_s = gaussian_kl(um, ul).sum(-1).sum(-1).mean()
            loss = loss + dec_s + c.beta * kl_s
            logs.update(dec_s=dec_s, kl_s=kl_s)
        return StepOutput({"model": loss}, {"loss": loss, **logs})

    def sample_latents(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Draws z ~ q(z | x) for every subspace: ``z`` [B, F, S, z_dim] and ``u`` [B, S, s_dim]."""
        lat = self.forward_latents(x)
        out = {"z": reparameterize(lat["z_mean"], lat["z_logvar"])}
        if "u_mean" in lat:
            out["u"] = reparameterize(lat["u_mean"], lat["u_logvar"])
        return out

    # --- evaluation ---------------------------------------------------------------------
    @torch.no_grad()
    def latents(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Posterior means and log-variances of every subspace (see :meth:`forward_latents`)."""
        return self.forward_latents(x)

    @torch.no_grad()
    def embed_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Frame-level representation: concatenated Z means of all subspaces, [B, F, S·z_dim]."""
        return self.forward_latents(x)["z_mean"].flatten(2)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Utterance-level representation [B, D]: concatenated S means (sequence branch),
        or the frame-level Z means averaged over frames when the sequence branch is off."""
        lat = self.forward_latents(x)
        if self.config.sequence:
            return lat["u_mean"].flatten(1)
        return lat["z_mean"].mean(1).flatten(1)

    def subspace_names(self) -> list[str]:
        """Names of the subspaces in order: ``X``, then ``C1`` (lowest band) … ``C{n}``."""
        return ["X"] + [f"C{i + 1}" for i in range(self.config.n_components)]

    def freeze_encoder(self) -> None:
        """Keep the shared frame encoder and its projection H fixed from now on (for fine-tuning:
        only the heads and the sequence branch still learn; see :func:`sigvae.training.finetune`)."""
        for p in list(self.encoder.parameters()) + list(self.project.parameters()):
            p.requires_grad_(False)


register_preset("decae", "decvae", "DecAE: DecVAE without the prior term (β = 0)", {"beta": 0.0})
register_preset("beta_decvae", "decvae", "β-DecVAE: DecVAE with β = 0.1", {"beta": 0.1})
register_preset(
    "decvae_large", "decvae", "DecVAE at wav2vec2 size (7-layer 512-channel conv encoder on waveforms; for GPUs)",
    {"input": "waveform", "proj_dim": 192, "z_dim": 48, "s_dim": 24, "dist_dim": 192, "seq_channels": 192,
     "attention_heads": 6, "n_components": 4},
)
