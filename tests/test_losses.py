import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from sigvae.losses import gaussian_kl, gaussian_log_density, permute_dims, tc_decomposition


def test_kl_matches_closed_form_and_monte_carlo():
    mean = torch.tensor([[0.5, -1.0]])
    logvar = torch.tensor([[math.log(0.3), math.log(2.0)]])
    kl = gaussian_kl(mean, logvar).sum()
    var = logvar.exp()
    closed = 0.5 * (var + mean**2 - 1 - torch.log(var)).sum()
    assert torch.allclose(kl, closed)
    torch.manual_seed(0)
    z = mean + var.sqrt() * torch.randn(200000, 2)
    mc = (gaussian_log_density(z, mean, logvar) - gaussian_log_density(z, torch.zeros(1), torch.zeros(1))).sum(1).mean()
    assert float(mc) == pytest.approx(float(kl), abs=0.02)
    assert float(gaussian_kl(torch.zeros(3), torch.zeros(3)).sum()) == 0.0


def test_log_density_matches_scipy():
    z, m, lv = torch.tensor([0.3, -2.0]), torch.tensor([0.1, 0.5]), torch.tensor([0.2, -0.7])
    ours = gaussian_log_density(z, m, lv).sum()
    ref = multivariate_normal(m.numpy(), np.diag(np.exp(lv.numpy()))).logpdf(z.numpy())
    assert float(ours) == pytest.approx(ref, rel=1e-5)


@pytest.mark.parametrize("rho", [0.0, 0.8])
@pytest.mark.parametrize("dataset_size", [2000, 100000])
def test_tc_estimator_on_gaussians_with_known_tc(rho, dataset_size):
    """Means m ~ N(0, Σ), z = m + σε: the aggregate q(z) = N(0, Σ + σ²I) has a closed-form TC."""
    torch.manual_seed(0)
    cov = torch.tensor([[1.0, rho], [rho, 1.0]])
    n, s = 2000, 0.3
    mean = torch.randn(n, 2) @ torch.linalg.cholesky(cov).T
    z = mean + s * torch.randn(n, 2)
    logvar = torch.full_like(mean, math.log(s**2))
    parts = tc_decomposition(z, mean, logvar, dataset_size=dataset_size)
    r = rho / (1 + s**2)
    expected = -0.5 * math.log(1 - r**2)
    assert float(parts["tc"]) == pytest.approx(expected, abs=0.04)
    assert float(parts["mi"]) > 0


def test_tc_estimator_ignores_scaling_of_independent_dims():
    torch.manual_seed(1)
    scale = torch.tensor([1.0, 3.0, 0.2])
    mean = torch.randn(1000, 3) * scale
    z = mean + 0.3 * scale * torch.randn(1000, 3)
    logvar = (2 * torch.log(0.3 * scale)).expand(1000, 3)
    parts = tc_decomposition(z, mean, logvar, dataset_size=1000)
    # The stratified estimator is biased upwards in finite samples (≈0.06 nats here in 3-D).
    assert abs(float(parts["tc"])) < 0.08


def test_permute_dims_keeps_marginals():
    torch.manual_seed(0)
    z = torch.randn(64, 4)
    p = permute_dims(z)
    for d in range(4):
        assert torch.equal(torch.sort(p[:, d]).values, torch.sort(z[:, d]).values)
    assert not torch.equal(p, z)
