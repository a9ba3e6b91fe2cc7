"""Temporal priors for latent sequences z [B, D, L] (B sequences, D latent dims, L steps).

Every prior returns ``log_prob(z)`` [B]: the log-density of each sequence, summed over
dimensions and steps (nats). Each latent dimension has its own prior parameters, which is
what makes the dimensions distinguishable (and, for separation, identifiable).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError

LOG_2PI = math.log(2 * math.pi)
KERNELS = ("rbf", "cauchy", "matern12")


def length_scales(dim: int, low: float, high: float) -> torch.Tensor:
    """``dim`` length scales spaced geometrically from ``low`` to ``high`` (samples) [dim]."""
    if dim == 1:
        return torch.tensor([math.sqrt(low * high)])
    return torch.exp(torch.linspace(math.log(low), math.log(high), dim))


def kernel_fn(kind: str, tau: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Stationary unit-variance kernel k(τ) for lags ``tau`` and length scales ``scale`` (broadcast).

    rbf: exp(−τ²/2ℓ²); cauchy: 1/(1 + τ²/ℓ²) (GP-VAE's default); matern12: exp(−|τ|/ℓ).
    """
    r = tau / scale
    if kind == "rbf":
        return torch.exp(-0.5 * r * r)
    if kind == "cauchy":
        return 1.0 / (1.0 + r * r)
    if kind == "matern12":
        return torch.exp(-r.abs())
    raise ConfigError(f"unknown kernel {kind!r}; choose one of: {', '.join(KERNELS)}")


def _gaussian_logpdf(x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    return -0.5 * (((x - mean) * torch.exp(-log_std)) ** 2) - log_std - 0.5 * LOG_2PI


class NormalPrior(nn.Module):
    """z_{d,t} ~ N(0, 1) independently: log p(z) = Σ_{d,t} log N(z_{d,t}; 0, 1)."""

    def __init__(self, dim: int, **_):
        super().__init__()
        self.dim = dim

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return (-0.5 * z * z - 0.5 * LOG_2PI).flatten(1).sum(1)

    def expected_log_prob(self, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """E_{z~N(mean, diag exp(logvar))}[log p(z)] [B] in closed form."""
        return (-0.5 * (mean * mean + logvar.exp()) - 0.5 * LOG_2PI).flatten(1).sum(1)


class _ScaledPrior(nn.Module):
    """Shared by the kernel priors: one length scale per dimension, fixed or learned (log-parameterised)."""

    def __init__(self, dim: int, kernel: str, scale_low: float, scale_high: float, learn_scales: bool):
        super().__init__()
        if kernel not in KERNELS:
            raise ConfigError(f"unknown kernel {kernel!r}; choose one of: {', '.join(KERNELS)}")
        self.dim, self.kernel = dim, kernel
        log_scale = length_scales(dim, scale_low, scale_high).log()
        if learn_scales:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    @property
    def scales(self) -> torch.Tensor:
        return self.log_scale.exp()


class GPPrior(_ScaledPrior):
    """Exact GP per dimension: z_d ~ N(0, K_d), K_d[i, j] = k(|i − j|; ℓ_d) + jitter · δ_ij.

    log p(z_d) = −½ z_dᵀ K_d⁻¹ z_d − ½ log|K_d| − (L/2) log 2π, through a Cholesky factor
    of every K_d (O(D · L³) per call, O(D · L²) memory). ``cache``: keep the factor between
    calls when the length scales are fixed (a cheaper GP, timed separately in the benchmark).
    """

    def __init__(self, dim: int, kernel: str = "cauchy", scale_low: float = 2.0, scale_high: float = 50.0,
                 learn_scales: bool = False, jitter: float = 1e-3, cache: bool = False, **_):
        super().__init__(dim, kernel, scale_low, scale_high, learn_scales)
        self.jitter, self.cache = jitter, cache and not learn_scales
        self._chol: tuple[int, torch.device, torch.dtype, torch.Tensor] | None = None

    def covariance(self, length: int, device=None, dtype=torch.float32) -> torch.Tensor:
        """The kernel matrices K [D, L, L] including the jitter."""
        t = torch.arange(length, device=device, dtype=dtype)
        tau = (t[:, None] - t[None, :]).abs()
        k = kernel_fn(self.kernel, tau[None], self.scales.to(device=device, dtype=dtype)[:, None, None])
        return k + self.jitter * torch.eye(length, device=device, dtype=dtype)

    def cholesky(self, length: int, device, dtype) -> torch.Tensor:
        c = self._chol
        if self.cache and c is not None and c[0] == length and c[1] == device and c[2] == dtype:
            return c[3]
        chol = torch.linalg.cholesky(self.covariance(length, device, dtype))
        if self.cache:
            self._chol = (length, device, dtype, chol.detach())
        return chol

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        b, d, n = z.shape
        chol = self.cholesky(n, z.device, z.dtype)  # [D, L, L]
        # Solve L_d y = z_d for every sequence at once: right-hand sides [D, L, B].
        y = torch.linalg.solve_triangular(chol, z.permute(1, 2, 0), upper=False)
        quad = (y * y).sum(1)  # [D, B]
        logdet = 2 * torch.diagonal(chol, dim1=1, dim2=2).log().sum(1)  # [D]
        return (-0.5 * (quad + logdet[:, None] + n * LOG_2PI)).sum(0)

    def expected_log_prob(self, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """E_{z~N(mean, diag exp(logvar))}[log p(z)] [B] = log p(mean) − ½ Σ_t s_t² (K⁻¹)_tt."""
        b, d, n = mean.shape
        chol = self.cholesky(n, mean.device, mean.dtype)
        eye = torch.eye(n, device=mean.device, dtype=mean.dtype).expand(d, n, n)
        inv_chol = torch.linalg.solve_triangular(chol, eye, upper=False)  # L⁻¹, so K⁻¹ = L⁻ᵀ L⁻¹
        diag_inv = (inv_chol * inv_chol).sum(1)  # [D, L]
        trace = (logvar.exp() * diag_inv[None]).flatten(1).sum(1)
        return self.log_prob(mean) - 0.5 * trace


class SKRPrior(_ScaledPrior):
    """Structured kernel regression per dimension (no kernel-matrix inversion).

    Each step is predicted from its neighbours within ``window`` steps by Nadaraya–Watson
    regression with the dimension's own kernel, shrunk by ρ_d = k(1; ℓ_d) (the kernel's lag-1
    correlation). With N_t the neighbours (two-sided: 0 < |j| ≤ w; ``causal``: 1 ≤ j ≤ w,
    clipped at the ends of the sequence):

        μ_{d,t} = ρ_d Σ_{j∈N_t} k(j; ℓ_d) z_{d,t−j} / Σ_{j∈N_t} k(j; ℓ_d),   σ²_d = max(1 − ρ_d², v_min),
        log p(z) = Σ_{d,t} log N(z_{d,t}; μ_{d,t}, σ²_d).

    ``causal``: a product of causal conditionals, hence a normalised density (triangular
    Jacobian with unit diagonal; the first step is N(0, 1)). Two-sided (the default): a
    Gaussian pseudo-likelihood (Besag 1975), normalised only up to a constant that depends on
    the length scales, which suits fixed scales; a smooth source is predicted well from both
    sides, badly from its past alone. Cost: one depthwise convolution, O(D · L · w).
    :meth:`expected_log_prob` gives E_q[log p(z)] in closed form for a diagonal Gaussian q.
    """

    def __init__(self, dim: int, kernel: str = "cauchy", scale_low: float = 2.0, scale_high: float = 50.0,
                 learn_scales: bool = False, window: int = 32, min_var: float = 1e-3, causal: bool = False, **_):
        super().__init__(dim, kernel, scale_low, scale_high, learn_scales)
        if window < 1:
            raise ConfigError(f"SKR window must be >= 1, got {window}")
        self.window, self.min_var, self.causal = window, min_var, causal

    def _weights(self, n: int, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Conv taps [D, 1, taps] (zero at lag 0), ρ [D], variance [D], left padding."""
        w = min(self.window, max(1, n - 1))
        offsets = torch.arange(-w, w + 1, device=ref.device, dtype=ref.dtype)  # tap i multiplies z_{t+offset}
        scales = self.scales.to(device=ref.device, dtype=ref.dtype)
        k = kernel_fn(self.kernel, offsets[None], scales[:, None])  # [D, 2w+1]
        keep = offsets < 0 if self.causal else offsets != 0
        k = k * keep[None]
        rho = kernel_fn(self.kernel, torch.ones((), device=ref.device, dtype=ref.dtype), scales)
        var = (1 - rho * rho).clamp_min(self.min_var)
        return k[:, None, :], rho, var, w

    def _smooth(self, z: torch.Tensor, taps: torch.Tensor, w: int) -> torch.Tensor:
        return nn.functional.conv1d(nn.functional.pad(z, (w, w)), taps, groups=z.shape[1])

    def conditionals(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Conditional means μ and log standard deviations, each [B, D, L]."""
        b, d, n = z.shape
        taps, rho, var, w = self._weights(n, z)
        den = self._smooth(torch.ones(1, d, n, device=z.device, dtype=z.dtype), taps, w)  # weights that exist at t
        mean = rho[None, :, None] * self._smooth(z, taps, w) / den.clamp_min(1e-12)
        var_t = var[None, :, None].expand(b, d, n)
        if self.causal:  # nothing before the first step: N(0, 1) there
            var_t = torch.cat([torch.ones_like(var_t[..., :1]), var_t[..., 1:]], dim=-1)
        return mean, 0.5 * var_t.log()

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        mean, log_std = self.conditionals(z)
        return _gaussian_logpdf(z, mean, log_std).flatten(1).sum(1)

    def expected_log_prob(self, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """E_{z~N(mean, diag exp(logvar))}[log p(z)] [B], exactly (μ is linear in z).

        E[(z_t − μ_t)²] = (m_t − μ_t(m))² + s_t² + ρ² Σ_j (k_j / den_t)² s²_{t−j}.
        """
        b, d, n = mean.shape
        taps, rho, var, w = self._weights(n, mean)
        mu_m, log_std = self.conditionals(mean)
        den = self._smooth(torch.ones(1, d, n, device=mean.device, dtype=mean.dtype), taps, w).clamp_min(1e-12)
        s2 = logvar.exp()
        spread = (rho * rho)[None, :, None] * self._smooth(s2, taps * taps, w) / (den * den)
        sq = (mean - mu_m) ** 2 + s2 + spread
        return (-0.5 * sq * torch.exp(-2 * log_std) - log_std - 0.5 * LOG_2PI).flatten(1).sum(1)


class ARFlowPrior(nn.Module):
    """A parameter-adaptive affine autoregressive flow per latent dimension (order p).

    z_{d,t} = μ_{d,t} + σ_{d,t} ε_{d,t},  ε ~ N(0, 1), with shift and log-scale computed from
    the dimension's own past c_t = (z_{d,t−1}, ..., z_{d,t−p}) (zeros before the start):

        μ_{d,t} = Σ_j a_{d,j} z_{d,t−j} + v_dᵀ tanh(U_d c_t + b_d),
        log σ_{d,t} = s_d + u_dᵀ tanh(U_d c_t + b_d),

    so the effective AR coefficients and innovation scale adapt to the local context (this is
    what makes the marginal non-Gaussian). ``volatility_window`` W > 0 adds a longer context
    to the scale: log σ_{d,t} += c_d · ½ log(ε + (1/W) Σ_{j=1..W} z²_{d,t−j}), ε = 10⁻², with c_d
    learned (starting at 0), so a source whose loudness changes over time (piecewise-stationary
    variance, speech) is scored by its local energy; still causal, so still a normalised
    density. By change of variables,

        log p(z) = Σ_{d,t} [log N(ε_{d,t}; 0, 1) − log σ_{d,t}],  ε_{d,t} = (z_{d,t} − μ_{d,t}) / σ_{d,t}.

    Initialised as Gaussian AR(1) processes with a different coefficient per dimension
    (a_{d,1} spread over [``phi_low``, ``phi_high``], the tanh branch switched off by zero
    output weights), so the dimensions start with different temporal structure.
    ``hidden = 0`` gives a plain (non-adaptive) Gaussian AR(p) per dimension.
    """

    def __init__(self, dim: int, order: int = 4, hidden: int = 16, phi_low: float = 0.3, phi_high: float = 0.98,
                 volatility_window: int = 0, **_):
        super().__init__()
        if order < 1 or hidden < 0:
            raise ConfigError(f"AR-flow order must be >= 1 and hidden >= 0, got order={order}, hidden={hidden}")
        if volatility_window < 0:
            raise ConfigError(f"AR-flow volatility_window must be >= 0, got {volatility_window}")
        self.dim, self.order, self.hidden = dim, order, hidden
        self.volatility_window = volatility_window
        if volatility_window:
            self.vol_gain = nn.Parameter(torch.zeros(dim))
        phi = torch.linspace(phi_low, phi_high, dim) if dim > 1 else torch.tensor([0.5 * (phi_low + phi_high)])
        coef = torch.zeros(dim, order)
        coef[:, 0] = phi
        self.coef = nn.Parameter(coef)  # a_{d, j}, j = 1..p
        self.log_scale = nn.Parameter(0.5 * torch.log1p(-phi * phi))  # stationary unit variance at init
        if hidden:  # one small MLP per dimension: weights [D, p, H] and [D, H, 2]
            self.w_in = nn.Parameter(torch.randn(dim, order, hidden) / math.sqrt(order))
            self.b_in = nn.Parameter(0.1 * torch.randn(dim, hidden))
            self.w_out = nn.Parameter(torch.zeros(dim, hidden, 2))
            self.b_out = nn.Parameter(torch.zeros(dim, 2))

    def conditionals(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Shift μ and log-scale log σ, each [B, D, L], from the causal context of z."""
        b, d, n = z.shape
        p = self.order
        # ctx[b, d, t, j] = z[b, d, t - p + j] (zeros before the start): the p values before t.
        ctx = nn.functional.pad(z, (p, 0))[..., : n + p - 1].unfold(-1, p, 1)
        mean = (ctx * self.coef.flip(1)[None, :, None, :]).sum(-1)
        log_std = self.log_scale[None, :, None].expand(b, d, n)
        if self.hidden:
            h = torch.tanh(torch.einsum("bdtp,dph->bdth", ctx, self.w_in) + self.b_in[None, :, None, :])
            out = torch.einsum("bdth,dho->bdto", h, self.w_out) + self.b_out[None, :, None, :]
            mean = mean + out[..., 0]
            log_std = log_std + 4.0 * torch.tanh(out[..., 1] / 4.0)  # bounded: no degenerate scales
        if self.volatility_window:
            w = self.volatility_window  # mean of z² over the w steps before t (zeros before the start)
            past = nn.functional.avg_pool1d(nn.functional.pad(z * z, (w, 0))[..., :n + w - 1], w, stride=1, count_include_pad=True)
            log_std = log_std + self.vol_gain[None, :, None] * 0.5 * torch.log(past + 1e-2)
        return mean, log_std

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        mean, log_std = self.conditionals(z)
        return _gaussian_logpdf(z, mean, log_std).flatten(1).sum(1)

    @torch.no_grad()
    def sample(self, n: int, length: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` sequences [n, D, length] by running the flow forward step by step."""
        z = torch.zeros(n, self.dim, length, device=self.coef.device, dtype=self.coef.dtype)
        eps = torch.randn(n, self.dim, length, generator=generator).to(z)
        for t in range(length):
            mean, log_std = self.conditionals(z[..., : t + 1])
            z[..., t] = mean[..., t] + log_std[..., t].exp() * eps[..., t]
        return z


PRIORS = {"normal": NormalPrior, "gp": GPPrior, "skr": SKRPrior, "arflow": ARFlowPrior}


def build_prior(name: str, dim: int, **options) -> nn.Module:
    """Prior ``name`` (normal, gp, skr, arflow) over ``dim`` latent dimensions."""
    if name not in PRIORS:
        raise ConfigError(f"unknown prior {name!r}; choose one of: {', '.join(PRIORS)}")
    return PRIORS[name](dim, **options)


__all__ = ["NormalPrior", "GPPrior", "SKRPrior", "ARFlowPrior", "PRIORS", "build_prior", "kernel_fn", "length_scales", "KERNELS"]
