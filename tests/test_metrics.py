"""Information-theoretic metrics: known answers, invariances, input checks, and equality with
slow literal implementations of the published definitions written here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_selection import mutual_info_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, mutual_info_score

from sigvae.errors import DataError
from sigvae.metrics import (
    discretize,
    factor_entropies,
    gaussian_total_correlation,
    infomec,
    irs,
    mig,
    modularity,
    mutual_info_matrix,
)

# ---------------------------------------------------------------- literal references
# Written loop by loop from the definitions (and disentanglement_lib's code paths), with
# no vectorisation, so the fast versions have something independent to agree with.


def literal_discretize(codes, num_bins=20):
    out = np.zeros(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        _, edges = np.histogram(codes[:, d], num_bins)
        out[:, d] = np.digitize(codes[:, d], edges[:-1])
    return out


def literal_mi(codes, factors, num_bins=20):
    binned = literal_discretize(codes, num_bins)
    m = np.zeros((codes.shape[1], factors.shape[1]))
    for d in range(codes.shape[1]):
        for k in range(factors.shape[1]):
            m[d, k] = mutual_info_score(factors[:, k], binned[:, d])
    return m


def literal_entropy(factors):
    return np.array([mutual_info_score(factors[:, k], factors[:, k]) for k in range(factors.shape[1])])


def literal_mig(codes, factors):
    m = literal_mi(codes, factors)
    h = literal_entropy(factors)
    gaps = []
    for k in range(factors.shape[1]):
        ranked = sorted(m[:, k], reverse=True)
        gaps.append((ranked[0] - ranked[1]) / h[k])
    return float(np.mean(gaps))


def literal_modularity_per_latent(codes, factors):
    m = literal_mi(codes, factors)
    scores = []
    for d in range(m.shape[0]):
        sq = [v * v for v in m[d]]
        top = max(sq)
        if top == 0:
            scores.append(0.0)
            continue
        scores.append(1.0 - (sum(sq) - top) / (top * (len(sq) - 1)))
    return scores


def literal_modularity(codes, factors):
    return float(np.mean(literal_modularity_per_latent(codes, factors)))


def literal_irs(codes, factors, q=0.99):
    ys = literal_discretize(factors.astype(np.float64))
    keep = [d for d in range(codes.shape[1]) if codes[:, d].var() > 0]
    z = codes[:, keep]
    max_dev = np.max(np.abs(z - z.mean(axis=0)), axis=0)
    cum = np.zeros((z.shape[1], ys.shape[1]))
    for k in range(ys.shape[1]):
        values = np.unique(ys[:, k])
        for v in values:
            group = z[ys[:, k] == v]
            cum[:, k] += np.quantile(np.abs(group - group.mean(axis=0)), q, axis=0)
        cum[:, k] /= len(values)
    matrix = 1.0 - cum / max_dev[:, None]
    return float(np.average(matrix.max(axis=1), weights=max_dev))


def literal_infomec(codes, factors, estimator):
    """Hsu et al.'s InfoM/C/E; ``estimator`` is "histogram", "ksg" or "discrete" (latent values as symbols)."""
    n_f, n_z = factors.shape[1], codes.shape[1]
    binned = literal_discretize(codes)
    nmi = np.zeros((n_f, n_z))
    for i in range(n_f):
        h = mutual_info_score(factors[:, i], factors[:, i])
        for j in range(n_z):
            if estimator == "histogram":
                nmi[i, j] = mutual_info_score(factors[:, i], binned[:, j])
            elif estimator == "discrete":
                nmi[i, j] = mutual_info_score(factors[:, i], codes[:, j])
            else:
                z = (codes[:, j] - codes[:, j].mean()) / codes[:, j].std()
                nmi[i, j] = mutual_info_classif(z[:, None], factors[:, i], n_neighbors=10, random_state=0)[0]
            nmi[i, j] /= h
    ranges = codes.max(axis=0) - codes.min(axis=0)
    nmi = nmi[:, ranges > 0] if estimator == "discrete" else nmi[:, ranges > ranges.max() / 20]
    infom = (np.mean(nmi.max(axis=0) / nmi.sum(axis=0)) - 1 / n_f) / (1 - 1 / n_f)
    n_a = nmi.shape[1]
    infoc = (np.mean(nmi.max(axis=1) / nmi.sum(axis=1)) - 1 / n_a) / (1 - 1 / n_a)
    if estimator == "discrete":
        # one indicator column per (latent, value)
        x = np.stack([codes[:, j] == v for j in range(n_z) for v in np.unique(codes[:, j])], axis=1).astype(float)
    else:
        x = (codes - codes.mean(axis=0)) / codes.std(axis=0)
    parts = []
    for i in range(n_f):
        kw = dict(C=np.inf, class_weight="balanced", max_iter=100)
        full = LogisticRegression(**kw).fit(x, factors[:, i])
        ce = log_loss(factors[:, i], full.predict_proba(x))
        null = LogisticRegression(**kw).fit(np.zeros_like(x), factors[:, i])
        h0 = log_loss(factors[:, i], null.predict_proba(np.zeros_like(x)))
        parts.append((h0 - ce) / h0)
    return {"infom": infom, "infoc": infoc, "infoe": float(np.mean(parts))}


def literal_gaussian_tc(codes):
    cov = np.cov(codes.T)
    return 0.5 * (sum(np.log(cov[d, d]) for d in range(cov.shape[0])) - np.log(np.linalg.det(cov)))


# ---------------------------------------------------------------- fixtures


def perfect_code(n=2000, noise_latents=2, seed=0, sizes=(5, 6, 8)):
    """Each factor in its own latent (value + jitter narrower than a bin), then noise latents."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, s, n) for s in sizes], axis=1)
    codes = factors + rng.uniform(0, 0.1, size=factors.shape)
    codes = np.concatenate([codes, rng.normal(size=(n, noise_latents))], axis=1)
    return codes, factors


def random_code(n=2000, seed=1, sizes=(5, 6, 8), latents=5):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, s, n) for s in sizes], axis=1)
    return rng.normal(size=(n, latents)), factors


def rotated_code(n=2000, seed=2):
    """Two factors with 10 values each, each in its own latent, then rotated by 45 degrees."""
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 10, size=(n, 2))
    codes = factors + rng.uniform(0, 0.05, size=factors.shape)
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    return codes, codes @ np.array([[c, -s], [s, c]]), factors


# ---------------------------------------------------------------- fast == literal


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mutual_info_matrix_equals_literal(seed):
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(700, 6)) ** 3  # skewed, so bins are uneven in mass
    factors = np.stack([rng.integers(0, 3, 700), rng.integers(-5, 40, 700), codes[:, 0] > 0.2], axis=1)
    np.testing.assert_allclose(mutual_info_matrix(codes, factors), literal_mi(codes, factors), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(factor_entropies(factors), literal_entropy(factors), rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(5, 120),
    d=st.integers(2, 5),
    values=st.integers(1, 30),
    bins=st.integers(2, 25),
    seed=st.integers(0, 2**31 - 1),
)
def test_mutual_info_matrix_equals_literal_any_shape(n, d, values, bins, seed):
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(n, d)).astype(np.float32)
    codes[:, 0] = np.round(codes[:, 0])  # ties and repeated values
    factors = rng.integers(0, values, size=(n, 2))
    np.testing.assert_allclose(
        mutual_info_matrix(codes, factors, num_bins=bins), literal_mi(codes, factors, bins), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_mig_and_modularity_equal_literal(seed):
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(800, 5))
    factors = np.stack([rng.integers(0, 4, 800), (codes[:, 1] * 3).astype(int) + rng.integers(0, 2, 800)], axis=1)
    np.testing.assert_allclose(mig(codes, factors), literal_mig(codes, factors), rtol=1e-10)
    np.testing.assert_allclose(modularity(codes, factors), literal_modularity(codes, factors), rtol=1e-10)


@pytest.mark.parametrize("q", [0.99, 0.5, 1.0, 0.0])
def test_irs_equals_literal(q):
    rng = np.random.default_rng(3)
    factors = np.stack([rng.integers(0, 5, 600), rng.integers(0, 60, 600)], axis=1)
    codes = np.concatenate([factors + rng.normal(0, 0.3, factors.shape), rng.normal(size=(600, 2))], axis=1)
    codes[:, 3] = 1.5  # a dead latent, which IRS drops
    np.testing.assert_allclose(irs(codes, factors, diff_quantile=q), literal_irs(codes, factors, q), rtol=1e-10)


@pytest.mark.parametrize("estimator", ["histogram", "ksg"])
def test_infomec_equals_literal(estimator):
    rng = np.random.default_rng(4)
    factors = rng.integers(0, 4, size=(400, 2))
    codes = np.concatenate([factors + rng.normal(0, 0.4, factors.shape), rng.normal(size=(400, 2))], axis=1)
    codes[:, 3] *= 0.01  # inactive: range below a twentieth of the largest
    got = infomec(codes, factors, mi_estimator=estimator)
    want = literal_infomec(codes, factors, estimator)
    for key in ("infom", "infoc"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6, err_msg=key)
    np.testing.assert_allclose(got["infoe"], want["infoe"], atol=1e-4)


def test_infomec_discrete_latents_equals_literal():
    rng = np.random.default_rng(5)
    factors = rng.integers(0, 4, size=(500, 2))
    # integer latents: each factor plus a 0/1 slip, a 3-valued noise latent, a dead one
    codes = np.concatenate(
        [factors + rng.integers(0, 2, factors.shape), rng.integers(0, 3, (500, 1)), np.full((500, 1), 7)], axis=1
    ).astype(float)
    got = infomec(codes, factors, discrete_latents=True)
    want = literal_infomec(codes, factors, "discrete")
    for key in ("infom", "infoc"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-10, err_msg=key)
    np.testing.assert_allclose(got["infoe"], want["infoe"], atol=1e-4)


def test_gaussian_total_correlation_equals_literal_and_is_zero_for_independent():
    rng = np.random.default_rng(5)
    codes = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4))
    np.testing.assert_allclose(gaussian_total_correlation(codes), literal_gaussian_tc(codes), rtol=1e-10)
    # Exactly uncorrelated columns (orthogonalised) have zero Gaussian TC.
    q, _ = np.linalg.qr(rng.normal(size=(500, 3)) - 0)
    q -= q.mean(axis=0)
    q, _ = np.linalg.qr(q)
    assert abs(gaussian_total_correlation(q * [1.0, 3.0, 0.2])) < 1e-8


def test_discretize_matches_histogram_bins():
    rng = np.random.default_rng(6)
    values = rng.normal(size=(300, 3))
    np.testing.assert_array_equal(discretize(values, 7), literal_discretize(values, 7) - 1)
    one = discretize(values[:, 0], 4)
    assert one.shape == (300,) and one.min() == 0 and one.max() == 3
    assert np.all(discretize(np.full(10, 2.0), 5) == discretize(np.full(10, 2.0), 5)[0])


# ---------------------------------------------------------------- known answers


def test_perfect_code_scores_near_one():
    codes, factors = perfect_code()
    assert mig(codes, factors) > 0.95
    assert irs(codes, factors) > 0.6
    scores = infomec(codes, factors, mi_estimator="histogram")
    assert scores["infoc"] > 0.9 and scores["infoe"] > 0.95
    # InfoM, like modularity, counts wide noise latents as active and uninformative-but-even.
    assert infomec(codes[:, :3], factors, mi_estimator="histogram")["infom"] > 0.95


def test_modularity_of_a_perfect_code_with_noise_latents():
    """Modularity averages over every latent, and a noise latent cannot score 1.

    disentanglement_lib's definition gives 0 only to a latent whose MI is exactly zero. A
    noise latent's plug-in MI with each factor is small but positive, and the formula
    scores how that MI is spread over factors, not how large it is; so the noise latents
    pull the mean below 1 while each informative latent scores 1.
    """
    codes, factors = perfect_code()
    per_latent = literal_modularity_per_latent(codes, factors)
    assert min(per_latent[:3]) > 0.99  # the informative latents
    assert max(per_latent[3:]) < 0.9  # the noise latents
    assert modularity(codes[:, :3], factors) > 0.99
    np.testing.assert_allclose(modularity(codes, factors), np.mean(per_latent), rtol=1e-12)


def _chi_square_modularity(dofs, draws=400_000, seed=0):
    """Expected modularity of a latent independent of every factor, from the G-test.

    For a latent independent of factor k, 2 N I(z; v_k) (plug-in MI in nats) is the G
    statistic, asymptotically chi-square with (bins - 1)(values_k - 1) degrees of freedom;
    the MIs with different factors are (nearly) independent. The score is then the
    modularity formula applied to independent chi-square draws (N cancels).
    """
    rng = np.random.default_rng(seed)
    mi = np.stack([rng.chisquare(dof, draws) for dof in dofs], axis=1)
    sq = mi**2
    top = sq.max(axis=1)
    return float(np.mean(1.0 - (sq.sum(axis=1) - top) / (top * (len(dofs) - 1))))


@pytest.mark.parametrize("sizes", [(5, 6, 8), (4, 4, 4), (10, 10)])
def test_modularity_of_a_random_code_is_the_chi_square_value_not_zero(sizes):
    # Uniform latents fill the 20 equal-width bins evenly, so the chi-square limit holds;
    # 400 latents make the mean tight (standard error about 0.01).
    rng = np.random.default_rng(sum(sizes))
    factors = np.stack([rng.integers(0, s, 3000) for s in sizes], axis=1)
    codes = rng.uniform(size=(3000, 400))
    want = _chi_square_modularity([19 * (s - 1) for s in sizes])
    assert want > 0.15  # far from the 0 a reader might expect of a random code
    assert abs(modularity(codes, factors) - want) < 0.03


def test_random_code_scores_near_zero():
    codes, factors = random_code()
    assert mig(codes, factors) < 0.03
    scores = infomec(codes, factors, mi_estimator="histogram")
    assert scores["infoe"] < 0.05
    assert abs(gaussian_total_correlation(codes)) < 0.02


def test_rotation_lowers_scores():
    aligned, rotated, factors = rotated_code()
    assert mig(rotated, factors) < mig(aligned, factors) - 0.3
    assert modularity(rotated, factors) < modularity(aligned, factors) - 0.3
    assert irs(rotated, factors) < irs(aligned, factors) - 0.2
    a = infomec(aligned, factors, mi_estimator="histogram")
    r = infomec(rotated, factors, mi_estimator="histogram")
    assert r["infom"] < a["infom"] - 0.3 and r["infoc"] < a["infoc"] - 0.3
    # Rotation changes how the information is spread, not how much there is.
    assert abs(r["infoe"] - a["infoe"]) < 0.05
    # A rotation of equal-variance independent latents stays uncorrelated; a shear does not.
    assert abs(gaussian_total_correlation(rotated)) < 0.01
    sheared = aligned @ np.array([[1.0, 0.9], [0.0, 1.0]])
    assert gaussian_total_correlation(sheared) > gaussian_total_correlation(aligned) + 0.3


# ---------------------------------------------------------------- invariances

_PERM = np.array([4, 2, 0, 3, 1])


def _rescaled(codes):
    out = codes.copy()
    out[:, 0] = -2.5 * out[:, 0] + 7.0
    out[:, 3] = 0.01 * out[:, 3] - 3.0
    return out


@pytest.mark.parametrize(
    "metric",
    [
        mig,
        modularity,
        lambda c, f: infomec(c, f, mi_estimator="histogram")["infom"],
        lambda c, f: infomec(c, f, mi_estimator="histogram")["infoc"],
        lambda c, f: infomec(c, f)["infoe"],
        lambda c, f: gaussian_total_correlation(c),
        irs,
    ],
    ids=["mig", "modularity", "infom", "infoc", "infoe", "gaussian_tc", "irs"],
)
def test_invariant_to_permuting_latents(metric):
    codes, factors = perfect_code(n=400, seed=7)
    codes[:, 1] += 0.5 * codes[:, 4]  # some entanglement, so the value is not trivially 1
    np.testing.assert_allclose(metric(codes[:, _PERM], factors), metric(codes, factors), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "metric",
    [
        mig,
        modularity,
        lambda c, f: infomec(c, f)["infoe"],
        lambda c, f: gaussian_total_correlation(c),
    ],
    ids=["mig", "modularity", "infoe", "gaussian_tc"],
)
def test_invariant_to_affine_rescaling_of_a_latent(metric):
    codes, factors = perfect_code(n=400, seed=8)
    codes[:, 1] += 0.5 * codes[:, 4]
    np.testing.assert_allclose(metric(_rescaled(codes), factors), metric(codes, factors), rtol=1e-5, atol=1e-7)


def test_infomec_invariant_to_common_scale_but_pruning_sees_one_scale():
    codes, factors = perfect_code(n=400, seed=8)
    codes[:, 1] += 0.5 * codes[:, 4]
    base = infomec(codes, factors, mi_estimator="ksg")
    moved = infomec(-4.0 * codes + np.arange(5), factors, mi_estimator="ksg")
    for key in base:
        np.testing.assert_allclose(moved[key], base[key], rtol=1e-6, atol=1e-9, err_msg=key)
    # Hsu et al. prune latents whose range is under a twentieth of the widest one, so
    # shrinking one latent can switch it off: that is the definition, not a bug.
    shrunk = codes.copy()
    shrunk[:, 4] *= 0.01
    before = infomec(codes, factors, mi_estimator="histogram")["infom"]
    assert infomec(shrunk, factors, mi_estimator="histogram")["infom"] > before + 0.05


def test_irs_invariant_to_shift_and_global_scale_but_not_to_one_scale():
    codes, factors = perfect_code(n=600, seed=9)
    base = irs(codes, factors)
    np.testing.assert_allclose(irs(codes * 3.0 + np.arange(5), factors), base, rtol=1e-10)
    one = codes.copy()
    one[:, 4] *= 50.0  # a noise latent's weight grows, as the definition says it should
    assert irs(one, factors) < base - 0.1


def test_nonlinear_monotonic_map_moves_histogram_bins():
    # Documented limit: equal-width bins are not invariant to nonlinear monotonic maps.
    _, rotated, factors = rotated_code(n=1000)
    assert mig(np.exp(3 * rotated), factors) != pytest.approx(mig(rotated, factors), abs=1e-6)


# ---------------------------------------------------------------- input checks


def test_float_factors_that_are_whole_numbers_are_accepted():
    codes, factors = perfect_code(n=300)
    assert mig(codes, factors.astype(np.float32)) == mig(codes, factors)


@pytest.mark.parametrize(
    "codes, factors, message",
    [
        (np.zeros((10, 3)), np.zeros((9, 2), int), "rows"),
        (np.full((10, 3), np.nan), np.zeros((10, 2), int), "NaN"),
        (np.zeros(10), np.zeros((10, 2), int), "2-D"),
        (np.zeros((1, 3)), np.zeros((1, 2), int), "at least 2 samples"),
        (np.random.default_rng(0).normal(size=(10, 3)), np.random.default_rng(1).normal(size=(10, 2)), "integers"),
        (np.zeros((10, 3), dtype=complex), np.zeros((10, 2), int), "real"),
    ],
)
def test_bad_input_raises_data_error(codes, factors, message):
    with pytest.raises(DataError, match=message):
        mig(codes, factors)


def test_swapped_arguments_are_named():
    codes, factors = perfect_code(n=200)
    with pytest.raises(DataError, match="swapped"):
        mig(factors, codes)
    with pytest.raises(DataError, match="swapped"):
        modularity(factors, codes)


def test_degenerate_shapes_raise():
    codes, factors = perfect_code(n=200)
    with pytest.raises(DataError, match="2 latents"):
        mig(codes[:, :1], factors)
    with pytest.raises(DataError, match="2 factors"):
        modularity(codes, factors[:, :1])
    with pytest.raises(DataError, match="num_bins"):
        mig(codes, factors, num_bins=1)
    with pytest.raises(DataError, match="constant"):
        gaussian_total_correlation(np.ones((20, 2)))
