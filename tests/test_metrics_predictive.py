"""Predictor-based metrics (SAP, explicitness, DCI), interventional scores and the suite.

Data stay small (a few hundred rows) so the gradient-boosted references run in seconds."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from sigvae.errors import DataError
from sigvae.metrics import (
    DCI_ESTIMATORS,
    beta_vae_score,
    dci,
    discretize,
    evaluate_representation,
    explicitness,
    factor_vae_score,
    mig,
    sap,
)
from sigvae.metrics._linear_svm import fit_one_latent_svm, predict_one_latent_svm

# ---------------------------------------------------------------- literal references


def literal_sap(codes, factors, test_codes, test_factors):
    matrix = np.zeros((codes.shape[1], factors.shape[1]))
    for d in range(codes.shape[1]):
        for k in range(factors.shape[1]):
            svm = LinearSVC(C=0.01, class_weight="balanced").fit(codes[:, d : d + 1], factors[:, k])
            matrix[d, k] = np.mean(svm.predict(test_codes[:, d : d + 1]) == test_factors[:, k])
    gaps = []
    for k in range(factors.shape[1]):
        column = sorted(matrix[:, k])
        gaps.append(column[-1] - column[-2])
    return float(np.mean(gaps))


def literal_sap_continuous(codes, factors):
    matrix = np.zeros((codes.shape[1], factors.shape[1]))
    for d in range(codes.shape[1]):
        for k in range(factors.shape[1]):
            c = np.cov(codes[:, d], factors[:, k], ddof=1)
            matrix[d, k] = c[0, 1] ** 2 / (c[0, 0] * c[1, 1]) if c[0, 0] > 1e-12 else 0.0
    s = np.sort(matrix, axis=0)
    return float(np.mean(s[-1] - s[-2]))


def literal_explicitness(codes, factors, test_codes, test_factors):
    mean, std = codes.mean(axis=0), codes.std(axis=0)
    x, xt = (codes - mean) / std, (test_codes - mean) / std
    scores = []
    for k in range(factors.shape[1]):
        clf = LogisticRegression().fit(x, factors[:, k])
        labels = MultiLabelBinarizer().fit_transform(test_factors[:, k : k + 1])
        scores.append(roc_auc_score(labels, clf.predict_proba(xt)))
    return float(np.mean(scores))


def literal_dc(importance):
    """Eastwood & Williams' D and C from an importance matrix [D, K], as disentanglement_lib computes them."""
    num_codes, num_factors = importance.shape
    per_code = 1.0 - entropy(importance.T + 1e-11, base=num_factors)
    per_factor = 1.0 - entropy(importance + 1e-11, base=num_codes)
    d = np.sum(per_code * importance.sum(axis=1) / importance.sum())
    c = np.sum(per_factor * importance.sum(axis=0) / importance.sum())
    return d, c


def literal_standardise(train, test):
    x, xt = train.copy(), test.copy()
    for j in range(train.shape[1]):
        mean, std = train[:, j].mean(), train[:, j].std()
        std = std if std > 0 else 1.0
        x[:, j] = (train[:, j] - mean) / std
        xt[:, j] = (test[:, j] - mean) / std
    return x, xt


def literal_hgb_gains(model):
    """Total split gain per latent, walking every node of every fitted tree, normalised to sum 1."""
    gains = np.zeros(model.n_features_in_)
    for stage in model._predictors:
        for tree in stage:
            for node in tree.nodes:
                if not node["is_leaf"]:
                    gains[node["feature_idx"]] += node["gain"]
    return gains / gains.sum()


def l1_logistic(**kw):
    # scikit-learn 1.8 spells the L1 penalty as l1_ratio=1 and deprecates ``penalty``.
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    return LogisticRegression(**kw, **({"l1_ratio": 1.0} if (major, minor) >= (1, 8) else {"penalty": "l1"}))


def literal_r2(y, predicted):
    return 1.0 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2)


def literal_dci(codes, factors, test_codes, test_factors, estimator="gbt"):
    """DCI with one predictor per factor; each estimator's importance taken by hand."""
    importance = np.zeros((codes.shape[1], factors.shape[1]))
    train, test = [], []
    for k in range(factors.shape[1]):
        x, xt, y, yt = codes, test_codes, factors[:, k], test_factors[:, k]
        if estimator == "gbt":
            model = GradientBoostingClassifier(random_state=0).fit(x, y)
            importance[:, k] = np.abs(model.feature_importances_)
        elif estimator == "hgb":
            model = HistGradientBoostingClassifier(random_state=0, early_stopping=False).fit(x, y)
            importance[:, k] = literal_hgb_gains(model)
        elif estimator == "random_forest":
            model = RandomForestClassifier(
                n_estimators=10, max_features=None, max_depth=12, random_state=0, n_jobs=1
            ).fit(x, y)
            importance[:, k] = np.abs(model.feature_importances_)
        elif estimator == "l1_logistic":
            x, xt = literal_standardise(x, xt)
            model = l1_logistic(C=0.1, solver="saga", max_iter=200, random_state=0).fit(x, y)
            for d in range(x.shape[1]):
                importance[d, k] = sum(abs(model.coef_[c, d]) for c in range(model.coef_.shape[0]))
        else:  # lasso on the standardised factor, scored by R^2
            x, xt = literal_standardise(x, xt)
            mean, std = y.mean(), y.std()
            model = Lasso(alpha=0.02).fit(x, (y - mean) / std)
            importance[:, k] = np.abs(model.coef_)
            train.append(literal_r2((y - mean) / std, model.predict(x)))
            test.append(literal_r2((yt - mean) / std, model.predict(xt)))
            continue
        train.append(np.mean(model.predict(x) == y))
        test.append(np.mean(model.predict(xt) == yt))
    d, c = literal_dc(importance)
    return {"disentanglement": d, "completeness": c, "informativeness_train": np.mean(train),
            "informativeness_test": np.mean(test)}


# ---------------------------------------------------------------- data


# Every latent gets every factor with equal weight, so no latent is nearly pure.
_MIX = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [1.0, 1.0, -1.0]]) / np.sqrt(3.0)


def make_code(n, seed, kind="perfect", sizes=(2, 3, 3), noise=2):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, s, n) for s in sizes], axis=1)
    if kind == "perfect":
        codes = factors + rng.normal(0, 0.1, size=factors.shape)
    elif kind == "random":
        codes = rng.normal(size=factors.shape)
    else:  # entangled: each latent mixes every factor
        codes = (factors - factors.mean(axis=0)) @ _MIX + rng.normal(0, 0.1, size=factors.shape)
    codes = np.concatenate([codes, rng.normal(size=(n, noise))], axis=1)
    return codes, factors


@pytest.fixture(scope="module")
def small_sets():
    train = make_code(250, 0)
    test = make_code(120, 1)
    return train + test


@pytest.fixture(scope="module")
def entangled_sets():
    return make_code(250, 9, kind="entangled") + make_code(120, 10, kind="entangled")


@pytest.fixture(scope="module")
def gbt_scores(small_sets, entangled_sets):
    # GBT fits dominate this module's run time, so each set is scored once.
    return {"perfect": dci(*small_sets), "entangled": dci(*entangled_sets)}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # HistGradientBoosting's OpenMP threads spin against each other on a busy 2-core
    # machine (4.5 s against 0.5 s for one DCI here); the fitted trees do not depend on
    # the thread count, so the scores are the same.
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def entangled_fast_scores(entangled_sets):
    # HistGradientBoosting is slow on two shared cores, so each estimator scores the set once.
    cache = {}

    def score(estimator):
        if estimator not in cache:
            cache[estimator] = dci(*entangled_sets, estimator=estimator)
        return cache[estimator]

    return score


# ---------------------------------------------------------------- fast == literal


@pytest.mark.parametrize("solver", ["exact", "liblinear"])
def test_sap_equals_literal(solver):
    codes, factors = make_code(300, 2, kind="entangled")
    test_codes, test_factors = make_code(150, 3, kind="entangled")
    np.testing.assert_allclose(
        sap(codes, factors, test_codes, test_factors, solver=solver),
        literal_sap(codes, factors, test_codes, test_factors),
    )


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(8, 200),
    num_classes=st.integers(2, 7),
    slope=st.floats(-3, 3),
    spread=st.floats(0.05, 4),
    shift=st.floats(-5, 5),
    ties=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_exact_svm_solver_finds_liblinears_optimum(n, num_classes, slope, spread, shift, ties, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n)
    labels[:num_classes] = np.arange(num_classes)
    x = slope * labels + rng.normal(0, spread, n) + shift
    if ties:
        x = np.round(x)
    # liblinear run to a far tighter tolerance than SAP's default, so both are optimal.
    svm = LinearSVC(C=0.01, class_weight="balanced", tol=1e-12, max_iter=1_000_000).fit(x[:, None], labels)
    want = np.stack([svm.coef_.ravel(), svm.intercept_], axis=1)
    got = fit_one_latent_svm(x, labels, num_classes)
    np.testing.assert_allclose(got, want, atol=1e-6)
    grid = np.linspace(x.min() - 3, x.max() + 3, 301)
    # Predictions must agree wherever the decision is not a near-tie.
    scores = np.sort(grid[:, None] * want[None, :, 0] + want[None, :, 1], axis=1)
    gap = np.abs(scores[:, 0]) if num_classes == 2 else scores[:, -1] - scores[:, -2]
    clear = gap > 1e-5
    np.testing.assert_array_equal(predict_one_latent_svm(got, grid)[clear], svm.predict(grid[:, None])[clear])


def test_sap_continuous_equals_literal():
    rng = np.random.default_rng(4)
    targets = rng.normal(size=(400, 2))
    codes = np.concatenate([targets + rng.normal(0, 0.5, (400, 2)), rng.normal(size=(400, 2))], axis=1)
    codes[:, 3] = 0.0  # a dead latent scores 0
    got = sap(codes, targets, codes[:10], targets[:10], continuous_factors=True)
    np.testing.assert_allclose(got, literal_sap_continuous(codes, targets), rtol=1e-10)


def test_explicitness_equals_literal():
    codes, factors = make_code(300, 5, kind="entangled")
    test_codes, test_factors = make_code(200, 6, kind="entangled")
    np.testing.assert_allclose(
        explicitness(codes, factors, test_codes, test_factors),
        literal_explicitness(codes, factors, test_codes, test_factors),
        rtol=1e-10,
    )


def test_dci_gbt_equals_literal(entangled_sets, gbt_scores):
    got = gbt_scores["entangled"]
    want = literal_dci(*entangled_sets)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-10, err_msg=key)


@pytest.mark.parametrize("estimator", ["hgb", "random_forest", "l1_logistic"])
def test_fast_dci_estimators_equal_literal(entangled_sets, entangled_fast_scores, estimator):
    got = entangled_fast_scores(estimator)
    want = literal_dci(*entangled_sets, estimator=estimator)
    assert 0.05 < want["disentanglement"] < 0.95  # an entangled code: neither extreme
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-10, err_msg=key)


def test_dci_lasso_equals_literal():
    rng = np.random.default_rng(15)
    targets = rng.uniform(size=(300, 2))
    codes = np.concatenate([targets @ [[1.0, 0.4], [0.3, 1.0]] + rng.normal(0, 0.1, (300, 2)),
                            rng.normal(size=(300, 2))], axis=1)
    sets = (codes[:200], targets[:200], codes[200:], targets[200:])
    got = dci(*sets, estimator="lasso")
    want = literal_dci(*sets, estimator="lasso")
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-10, err_msg=key)


# ---------------------------------------------------------------- known answers


def test_perfect_code_scores_high(small_sets, gbt_scores):
    # One linear SVM on one latent cannot carve out the middle value of a 3-valued
    # factor, so SAP of a perfect code stays below 1 by its definition.
    assert sap(*small_sets) > 0.3
    assert explicitness(*small_sets) > 0.95
    # Each latent separates its factor's values with one split (jitter 0.1 against a
    # spacing of 1), so GBT gives the noise latents exactly zero importance and R is the
    # identity over the three informative latents: D and C are 1 up to the reference's
    # 1e-11 smoothing (1 - 5e-10 and 1 - 7e-10; the same on 6 seeds checked by hand).
    ideal = np.zeros((5, 3))
    ideal[[0, 1, 2], [0, 1, 2]] = 1.0
    d, c = literal_dc(ideal)
    scores = gbt_scores["perfect"]
    np.testing.assert_allclose(scores["disentanglement"], d, rtol=1e-9)
    np.testing.assert_allclose(scores["completeness"], c, rtol=1e-9)
    assert d > 1 - 1e-9 and c > 1 - 1e-9
    assert scores["informativeness_test"] == 1.0


def test_random_code_scores_low():
    train, test = make_code(250, 7, kind="random"), make_code(120, 8, kind="random")
    assert sap(*train, *test) < 0.1
    assert explicitness(*train, *test) < 0.6
    assert dci(*train, *test, estimator="random_forest")["disentanglement"] < 0.3
    # The default GBT spreads its importance over every latent when none predicts
    # anything (0.003 to 0.016 on 6 seeds of this size).
    gbt = dci(*train, *test)
    assert gbt["disentanglement"] < 0.05 and gbt["completeness"] < 0.05


def test_entangled_code_scores_lower(small_sets, entangled_sets, gbt_scores):
    assert sap(*entangled_sets) < sap(*small_sets) - 0.15
    assert gbt_scores["entangled"]["disentanglement"] < gbt_scores["perfect"]["disentanglement"] - 0.3


@pytest.mark.parametrize("estimator", [e for e in DCI_ESTIMATORS if e != "gbt"])
def test_fast_dci_estimators_rank_codes_like_gbt(small_sets, entangled_sets, entangled_fast_scores, estimator):
    good = dci(*small_sets, estimator=estimator)
    bad = entangled_fast_scores(estimator)
    assert set(good) == {"disentanglement", "completeness", "informativeness_train", "informativeness_test"}
    assert good["disentanglement"] > 0.7
    assert bad["disentanglement"] < good["disentanglement"] - 0.2


def test_sap_and_dci_invariant_to_permuting_latents(small_sets, gbt_scores):
    codes, factors, test_codes, test_factors = small_sets
    perm = np.array([3, 0, 4, 1, 2])
    assert sap(codes[:, perm], factors, test_codes[:, perm], test_factors) == sap(*small_sets)
    np.testing.assert_allclose(
        explicitness(codes[:, perm], factors, test_codes[:, perm], test_factors), explicitness(*small_sets), rtol=1e-4
    )
    base = gbt_scores["perfect"]
    moved = dci(codes[:, perm], factors, test_codes[:, perm], test_factors)
    for key in base:  # only tie-breaking between equally good splits may differ
        np.testing.assert_allclose(moved[key], base[key], atol=0.02, err_msg=key)


def test_explicitness_invariant_to_affine_rescaling_of_a_latent():
    # Latents that only blur the factors (noise as wide as the spacing), so AUC is far from 1.
    rng = np.random.default_rng(16)
    factors = rng.integers(0, 3, size=(370, 3))
    codes = np.concatenate([factors + rng.normal(0, 1.0, factors.shape), rng.normal(size=(370, 2))], axis=1)
    codes, test_codes, factors, test_factors = codes[:250], codes[250:], factors[:250], factors[250:]

    def affine(c):
        out = c.copy()
        out[:, 0] = -2.5 * out[:, 0] + 7.0  # a flip too: standardising keeps it, the fit mirrors it
        out[:, 3] = 0.01 * out[:, 3] - 3.0
        return out

    base = explicitness(codes, factors, test_codes, test_factors)
    assert 0.6 < base < 0.9  # not a trivial value that any code would give
    moved = explicitness(affine(codes), factors, affine(test_codes), test_factors)
    np.testing.assert_allclose(moved, base, rtol=1e-6)


def test_dci_invariant_to_monotonic_rescaling(small_sets, gbt_scores):
    codes, factors, test_codes, test_factors = small_sets

    def warp(c):
        out = c.copy()
        out[:, 0] = np.exp(out[:, 0])  # nonlinear but increasing: tree splits keep their order
        out[:, 3] = 4.0 * out[:, 3] + 1.0
        return out

    base = gbt_scores["perfect"]
    moved = dci(warp(codes), factors, warp(test_codes), test_factors)
    for key in ("disentanglement", "completeness", "informativeness_train"):
        np.testing.assert_allclose(moved[key], base[key], atol=0.02, err_msg=key)


def test_continuous_factors_have_regression_variants():
    rng = np.random.default_rng(14)
    targets = rng.uniform(size=(300, 2))
    codes = np.concatenate([targets + rng.normal(0, 0.02, targets.shape), rng.normal(size=(300, 2))], axis=1)
    with pytest.raises(DataError, match="integers"):
        dci(codes, targets, codes, targets)
    scores = dci(codes[:200], targets[:200], codes[200:], targets[200:], estimator="lasso")
    assert scores["disentanglement"] > 0.9 and scores["informativeness_test"] > 0.9  # R^2
    assert sap(codes, targets, codes, targets, continuous_factors=True) > 0.9
    binned = discretize(targets, 10)
    assert mig(codes, binned) > 0.6


# ---------------------------------------------------------------- input checks


def test_predictive_metrics_check_their_inputs(small_sets):
    codes, factors, test_codes, test_factors = small_sets
    with pytest.raises(DataError, match="columns"):
        sap(codes, factors, test_codes[:, :3], test_factors)
    with pytest.raises(DataError, match="swapped"):
        dci(factors, codes, test_codes, test_factors)
    with pytest.raises(DataError, match="estimator"):
        dci(*small_sets, estimator="xgboost")
    constant = factors.copy()
    constant[:, 1] = 2
    with pytest.raises(DataError, match="single value"):
        explicitness(codes, constant, test_codes, test_factors)


# ---------------------------------------------------------------- interventional scores


class FakeSource:
    """Two factors; an observation [1, 2] is the factor values themselves."""

    factor_names = ["a", "b"]
    factor_sizes = [3, 4]

    def sample_factors(self, n, rng):
        return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], axis=1)

    def sample_observations_from_factors(self, factors, rng):
        return factors[:, None, :].astype(np.float32)


def perfect_encoder(seed=0):
    rng = np.random.default_rng(seed)

    def encode(x):
        z = x[:, 0, :].astype(np.float64) + rng.normal(0, 0.01, (x.shape[0], 2))
        return np.concatenate([z, rng.normal(size=(x.shape[0], 1))], axis=1)

    return encode


def noise_encoder(seed=0):
    rng = np.random.default_rng(seed)
    return lambda x: rng.normal(size=(x.shape[0], 3))


SMALL = dict(batch_size=16, num_train=200, num_eval=100)


def test_beta_vae_score_known_answers():
    good = beta_vae_score(FakeSource(), perfect_encoder(), seed=0, **SMALL)
    bad = beta_vae_score(FakeSource(), noise_encoder(), seed=0, **SMALL)
    assert good["eval_accuracy"] > 0.95
    assert bad["eval_accuracy"] < 0.7  # chance is 0.5


def test_factor_vae_score_known_answers():
    good = factor_vae_score(FakeSource(), perfect_encoder(), seed=0, num_variance_estimate=500, **SMALL)
    bad = factor_vae_score(FakeSource(), noise_encoder(), seed=0, num_variance_estimate=500, **SMALL)
    assert good["eval_accuracy"] == 1.0 and good["num_active_dims"] == 3
    assert bad["eval_accuracy"] < 0.7


def test_factor_vae_score_skips_dead_latents_and_is_reproducible():
    base = perfect_encoder()

    def with_dead(x):
        z = base(x)
        z[:, 2] = 0.5
        return z

    first = factor_vae_score(FakeSource(), with_dead, seed=3, num_variance_estimate=300, **SMALL)
    assert first["num_active_dims"] == 2 and first["eval_accuracy"] == 1.0
    again = factor_vae_score(FakeSource(), with_dead, seed=3, num_variance_estimate=300, **SMALL)
    assert again == first


# Literal, one-point-at-a-time versions of disentanglement_lib's interventional scores.
# sigvae draws every point's factors before rendering any of them (see
# sigvae.metrics.interventional); these loops consume the Generator in that same order, so
# with a source that renders without randomness and a deterministic encoder both see the
# very same batches, and everything after the draws is computed here point by point.


class RenderingSource:
    """Three factors; an observation [1, 3] is the factor values, rendered without the rng."""

    factor_sizes = [3, 4, 5]

    def sample_factors(self, n, rng):
        return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], axis=1)

    def sample_observations_from_factors(self, factors, rng):
        return factors[:, None, :].astype(np.float64)


def tangled_encode(x):
    """A fixed, partly entangled code: four latents mixing the factors, then a dead one."""
    f = x[:, 0, :]
    return np.stack([
        f[:, 0] + 0.8 * np.sin(2.1 * f[:, 1]),
        f[:, 1] + 0.5 * f[:, 2],
        np.cos(1.7 * f[:, 0] + f[:, 2]),
        0.3 * f[:, 2] + 0.4 * np.sin(5.0 * f[:, 1]),
        np.full(f.shape[0], 2.0),
    ], axis=1)


def literal_beta_vae_points(source, encode, num_points, batch_size, rng):
    num_factors = len(source.factor_sizes)
    labels = rng.integers(num_factors, size=num_points)
    first = source.sample_factors(num_points * batch_size, rng)
    second = source.sample_factors(num_points * batch_size, rng)
    features = []
    for i in range(num_points):
        a = first[i * batch_size : (i + 1) * batch_size]
        b = second[i * batch_size : (i + 1) * batch_size].copy()
        b[:, labels[i]] = a[:, labels[i]]  # the two batches agree on the chosen factor
        za = encode(source.sample_observations_from_factors(a, rng))
        zb = encode(source.sample_observations_from_factors(b, rng))
        features.append(np.mean(np.abs(za - zb), axis=0))
    return np.array(features), labels


def literal_beta_vae_score(source, encode, seed, batch_size, num_train, num_eval):
    rng = np.random.default_rng(seed)
    train_x, train_y = literal_beta_vae_points(source, encode, num_train, batch_size, rng)
    eval_x, eval_y = literal_beta_vae_points(source, encode, num_eval, batch_size, rng)
    model = LogisticRegression().fit(train_x, train_y)
    return {"train_accuracy": np.mean(model.predict(train_x) == train_y),
            "eval_accuracy": np.mean(model.predict(eval_x) == eval_y)}


def literal_factor_vae_votes(source, encode, num_points, batch_size, rng, global_var, active):
    num_factors = len(source.factor_sizes)
    fixed = rng.integers(num_factors, size=num_points)
    factors = source.sample_factors(num_points * batch_size, rng)
    points = []
    for i in range(num_points):
        batch = factors[i * batch_size : (i + 1) * batch_size].copy()
        batch[:, fixed[i]] = batch[0, fixed[i]]  # every row takes the first row's value
        z = encode(source.sample_observations_from_factors(batch, rng))
        ratios = [z[:, d].var(ddof=1) / global_var[d] for d in active]
        points.append((fixed[i], active[int(np.argmin(ratios))]))
    return points


def literal_factor_vae_score(source, encode, seed, batch_size, num_train, num_eval, num_variance_estimate):
    rng = np.random.default_rng(seed)
    sample = source.sample_factors(num_variance_estimate, rng)
    global_var = encode(source.sample_observations_from_factors(sample, rng)).var(axis=0, ddof=1)
    active = [d for d in range(global_var.shape[0]) if global_var[d] > 0]
    train = literal_factor_vae_votes(source, encode, num_train, batch_size, rng, global_var, active)
    evaluation = literal_factor_vae_votes(source, encode, num_eval, batch_size, rng, global_var, active)
    # Majority vote: each latent predicts the factor it was most often chosen for (the
    # lowest factor index on a tie or with no votes, as np.argmax in the reference).
    votes = np.zeros((len(source.factor_sizes), global_var.shape[0]), dtype=int)
    for k, d in train:
        votes[k, d] += 1
    predict = {d: int(np.argmax(votes[:, d])) for d in range(global_var.shape[0])}
    return {"train_accuracy": np.mean([predict[d] == k for k, d in train]),
            "eval_accuracy": np.mean([predict[d] == k for k, d in evaluation]),
            "num_active_dims": float(len(active))}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beta_vae_score_equals_literal(seed):
    kw = dict(batch_size=8, num_train=60, num_eval=40)
    got = beta_vae_score(RenderingSource(), tangled_encode, seed=seed, encode_batch_size=50, **kw)
    want = literal_beta_vae_score(RenderingSource(), tangled_encode, seed, **kw)
    assert got == want
    assert 0.4 < want["eval_accuracy"] < 1.0  # chance is 1/3: an informative case, not a trivial one


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_factor_vae_score_equals_literal(seed):
    kw = dict(batch_size=8, num_train=60, num_eval=40, num_variance_estimate=100)
    got = factor_vae_score(RenderingSource(), tangled_encode, seed=seed, encode_batch_size=50, **kw)
    want = literal_factor_vae_score(RenderingSource(), tangled_encode, seed, **kw)
    assert got == want
    assert want["num_active_dims"] == 4.0  # the dead latent is left out
    assert 0.4 < want["eval_accuracy"] < 1.0


def test_interventional_scores_check_the_encoder():
    with pytest.raises(DataError, match="codes"):
        beta_vae_score(FakeSource(), lambda x: np.zeros(x.shape[0]), **SMALL)
    with pytest.raises(DataError, match="ground-truth source"):
        factor_vae_score(object(), perfect_encoder(), **SMALL)


# ---------------------------------------------------------------- suite


def test_evaluate_representation_reports_every_metric_with_an_interval():
    codes, factors = make_code(200, 11)
    report = evaluate_representation(
        codes, factors, num_bootstrap=5, seed=0, dci_estimator="random_forest", infomec_mi="histogram",
        metrics=("mig", "modularity", "sap", "dci", "irs", "infomec", "gaussian_total_correlation"),
    )
    expected = {"mig", "modularity", "sap", "irs", "gaussian_total_correlation", "dci.disentanglement",
                "dci.completeness", "dci.informativeness_train", "dci.informativeness_test",
                "infomec.infom", "infomec.infoc", "infomec.infoe"}
    assert set(report) == expected
    for name, row in report.items():
        assert row["num_valid"] == 5, name
        assert row["ci_low"] <= row["ci_high"], name
        assert np.isfinite(row["value"]) and row["std"] >= 0, name
    # The point value is the metric on all rows, so it matches a direct call.
    assert report["mig"]["value"] == mig(codes, factors)
    assert report["mig"]["ci_low"] > 0.8


def test_evaluate_representation_with_a_test_set_is_seeded():
    train, test = make_code(300, 12), make_code(120, 13)
    kwargs = dict(metrics=("mig", "sap"), num_bootstrap=4, seed=5)
    first = evaluate_representation(*train, *test, **kwargs)
    assert first == evaluate_representation(*train, *test, **kwargs)
    assert first["sap"]["value"] == sap(*train, *test)
    with pytest.raises(DataError, match="unknown metric"):
        evaluate_representation(*train, metrics=("mcc",))
