"""Disentanglement metrics that fit predictors: SAP, DCI, explicitness (and InfoMEC's InfoE).

Every metric takes a training set (``codes`` [N, D], ``factors`` [N, K]) to fit on and a
test set to score on, as disentanglement_lib draws them. Fitted models use a fixed
``seed`` so a score is reproducible (the reference leaves GBT's feature shuffling
unseeded). Convergence warnings are silenced: the reference fixes the iteration budgets
these definitions use, and a warning per fit would bury the user's output.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from scipy.stats import entropy as _scipy_entropy
from scipy.stats import rankdata

from ..errors import DataError
from ._checks import check_pair, check_real_pair, check_same_width
from ._linear_svm import fit_one_latent_svm, predict_one_latent_svm

__all__ = ["sap", "dci", "explicitness", "DCI_ESTIMATORS"]

#: Estimators ``dci`` accepts: the exact default and faster alternatives.
DCI_ESTIMATORS = ("gbt", "hgb", "random_forest", "l1_logistic", "lasso")


@contextmanager
def _quiet() -> Iterator[None]:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _logistic(penalty: str, **kwargs):
    """A LogisticRegression with ``penalty`` 'l1' or 'none' on any scikit-learn >= 1.3.

    scikit-learn 1.8 deprecated ``penalty`` for ``l1_ratio`` and ``C=inf``; older versions
    only know ``penalty``. Both spell the same model.
    """
    import inspect

    from sklearn.linear_model import LogisticRegression

    new_api = inspect.signature(LogisticRegression).parameters["penalty"].default == "deprecated"
    if penalty == "l1":
        kwargs.update({"l1_ratio": 1.0} if new_api else {"penalty": "l1"})
    else:
        kwargs.update({"C": np.inf} if new_api else {"penalty": None})
    return LogisticRegression(**kwargs)


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Train statistics for both sets; a constant latent stays 0 instead of NaN.
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def _train_test(codes, factors, test_codes, test_factors, continuous: bool = False):
    check = check_real_pair if continuous else check_pair
    x, y = check(codes, factors)
    xt, yt = check(test_codes, test_factors, "test_codes", "test_factors", min_samples=1)
    check_same_width(x, xt, "codes")
    check_same_width(y, yt, "factors")
    return x.astype(np.float64), y, xt.astype(np.float64), yt


def _need_values(y: np.ndarray, metric: str) -> None:
    for k in range(y.shape[1]):
        if np.unique(y[:, k]).size < 2:
            raise DataError(f"{metric}: factor {k} takes a single value in the training set; every factor must vary")


def _top_two_gap(matrix: np.ndarray) -> float:
    ranked = np.sort(matrix, axis=0)
    return float(np.mean(ranked[-1] - ranked[-2]))


def sap(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    continuous_factors: bool = False,
    solver: str = "exact",
) -> float:
    """Separated Attribute Predictability (Kumar et al., "Variational Inference of
    Disentangled Latent Concepts from Unlabeled Observations", ICLR 2018).

    As disentanglement_lib's ``compute_sap``: for each latent d and factor k, fit
    ``LinearSVC(C=0.01, class_weight="balanced")`` on latent d alone (training set) and
    take its accuracy on the test set; SAP is the mean over factors of the gap between
    the two best latents.

    ``solver="exact"`` (default) minimises the very objective liblinear minimises for
    that SVM (squared hinge, penalised intercept, balanced weights) to machine precision,
    for all classes at once from prefix sums over the sorted latent
    (:mod:`sigvae.metrics._linear_svm`); ``solver="liblinear"`` calls ``LinearSVC`` per
    pair, as the reference does. liblinear stops at tolerance 1e-4, so the two can
    disagree on test points lying almost exactly on a decision boundary; with few
    classes the scores are normally identical, with 400 classes they differed by 1.3e-4 in
    BENCHMARKS.md.

    With ``continuous_factors=True`` the score of (d, k) is instead
    the squared correlation of z_d and v_k on the training set (0 for a latent with
    variance <= 1e-12), the regression variant the reference defines; factors may then be
    real-valued and the test set is not used.

    Invariant to permuting latents (not to rescaling: the SVM's fixed C meets the scale).

    Returns:
        float in [0, 1].
    """
    x, y, xt, yt = _train_test(codes, factors, test_codes, test_factors, continuous_factors)
    if x.shape[1] < 2:
        raise DataError(f"sap needs at least 2 latents to take a gap, got {x.shape[1]}")
    if continuous_factors:
        xc = x - x.mean(axis=0)
        yc = y - y.mean(axis=0)
        n = x.shape[0]
        cov = xc.T @ yc / (n - 1)
        var_x = (xc**2).sum(axis=0) / (n - 1)
        var_y = (yc**2).sum(axis=0) / (n - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = cov**2 / (var_x[:, None] * var_y[None, :])
        score[var_x <= 1e-12, :] = 0.0
        return _top_two_gap(np.nan_to_num(score))
    if solver not in ("exact", "liblinear"):
        raise DataError(f"sap: solver must be 'exact' or 'liblinear', got {solver!r}")
    _need_values(y, "sap")
    score = np.zeros((x.shape[1], y.shape[1]))
    if solver == "exact":
        for k in range(y.shape[1]):
            values, labels = np.unique(y[:, k], return_inverse=True)
            labels = labels.reshape(-1)
            for d in range(x.shape[1]):
                params = fit_one_latent_svm(x[:, d], labels, values.size, c=0.01)
                predicted = values[predict_one_latent_svm(params, xt[:, d])]
                score[d, k] = np.mean(predicted == yt[:, k])
        return _top_two_gap(score)
    from sklearn.svm import LinearSVC

    with _quiet():
        for d in range(x.shape[1]):
            for k in range(y.shape[1]):
                model = LinearSVC(C=0.01, class_weight="balanced")
                model.fit(x[:, [d]], y[:, k])
                score[d, k] = np.mean(model.predict(xt[:, [d]]) == yt[:, k])
    return _top_two_gap(score)


def _macro_auc(classes: np.ndarray, proba: np.ndarray, y: np.ndarray) -> float:
    """Mean one-vs-rest ROC AUC over classes with both positives and negatives in ``y``.

    Uses the rank-sum form of AUC (average ranks for ties), which equals
    ``roc_auc_score`` column by column, for all classes in one ranking call.
    """
    positive = y[:, None] == classes[None, :]
    n_pos = positive.sum(axis=0)
    n_neg = y.shape[0] - n_pos
    ok = (n_pos > 0) & (n_neg > 0)
    if not ok.any():
        raise DataError("explicitness: the test factors take a single value; expected at least two")
    ranks = rankdata(proba[:, ok], axis=0)
    pos = positive[:, ok]
    u = (ranks * pos).sum(axis=0) - n_pos[ok] * (n_pos[ok] + 1) / 2.0
    return float(np.mean(u / (n_pos[ok] * n_neg[ok])))


def explicitness(
    codes: np.ndarray, factors: np.ndarray, test_codes: np.ndarray, test_factors: np.ndarray
) -> float:
    """Explicitness (Ridgeway & Mozer, "Learning Deep Disentangled Embeddings with the F-Statistic Loss", NeurIPS 2018).

    As disentanglement_lib's ``compute_modularity_explicitness``: latents are
    standardised with the training mean and standard deviation; for each factor a
    default ``LogisticRegression()`` is fitted on all latents, and its one-vs-rest ROC AUC
    on the test set is averaged over the factor's values (macro). Explicitness is the mean
    over factors. A value absent from the test set (or present in every test row) has no
    AUC and is left out of the macro mean; the reference would fail there.

    Invariant to permuting latents and to affine rescaling of a latent (up to solver
    tolerance).

    Returns:
        float in [0, 1] (0.5 for codes that say nothing about the factors).
    """
    from sklearn.linear_model import LogisticRegression

    x, y, xt, yt = _train_test(codes, factors, test_codes, test_factors)
    _need_values(y, "explicitness")
    x, xt = _standardise(x, xt)
    scores = []
    with _quiet():
        for k in range(y.shape[1]):
            model = LogisticRegression().fit(x, y[:, k])
            scores.append(_macro_auc(model.classes_, model.predict_proba(xt), yt[:, k]))
    return float(np.mean(scores))


def _hgb_importances(model) -> np.ndarray:
    # Split-gain importance, the histogram analogue of GBT's impurity importance.
    # HistGradientBoosting keeps it only in its fitted trees, so read them from there.
    gains = np.zeros(model.n_features_in_)
    for stage in model._predictors:
        for tree in stage:
            nodes = tree.nodes[~tree.nodes["is_leaf"].astype(bool)]
            np.add.at(gains, nodes["feature_idx"], nodes["gain"])
    total = gains.sum()
    return gains / total if total > 0 else gains


def _fit_factor(estimator: str, x: np.ndarray, y: np.ndarray, xt: np.ndarray, yt: np.ndarray, seed: int):
    """Fit one predictor of one factor; return (importances [D], train score, test score)."""
    if estimator == "gbt":
        from sklearn.ensemble import GradientBoostingClassifier

        model = GradientBoostingClassifier(random_state=seed).fit(x, y)
        imp = np.abs(model.feature_importances_)
    elif estimator == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = HistGradientBoostingClassifier(random_state=seed, early_stopping=False).fit(x, y)
        imp = _hgb_importances(model)
    elif estimator == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        # Every latent is a split candidate, as in GBT, so a noise latent is only chosen
        # where it really helps; the depth cap stops trees from memorising noise.
        model = RandomForestClassifier(
            n_estimators=10, max_features=None, max_depth=12, random_state=seed, n_jobs=1
        ).fit(x, y)
        imp = np.abs(model.feature_importances_)
    elif estimator == "l1_logistic":
        x, xt = _standardise(x, xt)
        model = _logistic("l1", C=0.1, solver="saga", max_iter=200, random_state=seed).fit(x, y)
        imp = np.abs(model.coef_).sum(axis=0)
    else:  # lasso: a regression, for continuous factors
        from sklearn.linear_model import Lasso

        x, xt = _standardise(x, xt)
        mean, std = y.mean(), y.std()
        std = std if std > 0 else 1.0
        model = Lasso(alpha=0.02).fit(x, (y - mean) / std)
        imp = np.abs(model.coef_)
        return imp, model.score(x, (y - mean) / std), model.score(xt, (yt - mean) / std)
    return imp, float(np.mean(model.predict(x) == y)), float(np.mean(model.predict(xt) == yt))


def _dci_from_importance(importance: np.ndarray) -> tuple[float, float]:
    """(disentanglement, completeness) from an importance matrix [D, K], as the reference."""
    num_codes, num_factors = importance.shape
    per_code = 1.0 - _scipy_entropy(importance.T + 1e-11, base=num_factors)
    per_factor = 1.0 - _scipy_entropy(importance + 1e-11, base=num_codes)
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    code_weight = weights.sum(axis=1) / weights.sum()
    factor_weight = weights.sum(axis=0) / weights.sum()
    return float(np.sum(per_code * code_weight)), float(np.sum(per_factor * factor_weight))


def dci(
    codes: np.ndarray,
    factors: np.ndarray,
    test_codes: np.ndarray,
    test_factors: np.ndarray,
    estimator: str = "gbt",
    seed: int = 0,
) -> dict[str, float]:
    """Disentanglement, Completeness, Informativeness (Eastwood & Williams, "A Framework for
    the Quantitative Evaluation of Disentangled Representations", ICLR 2018).

    Default (``estimator="gbt"``), as disentanglement_lib's ``compute_dci``: one
    ``GradientBoostingClassifier`` (sklearn defaults, ``random_state=seed``) per factor
    predicts it from all latents; R [D, K] holds the absolute feature importances.
    Disentanglement = sum_d rho_d (1 - H_K(R_d. / sum R_d.)), rho_d = sum_k R_dk / sum R;
    completeness = sum_k rho_k (1 - H_D(R_.k / sum R_.k)), entropies in base K resp. D
    with 1e-11 added to every entry; informativeness = mean prediction accuracy on the
    training and test sets.

    Faster estimators (same D and C formulas; different importances, so different values):

    - ``"hgb"``: ``HistGradientBoostingClassifier`` (no early stopping), importance = total
      split gain per latent. Fast for factors with few values.
    - ``"random_forest"``: ``RandomForestClassifier`` of 10 trees of depth <= 12 that
      consider every latent at each split (one multi-class tree per estimator instead of
      one per class and stage), impurity importance: the alternative Eastwood &
      Williams use.
    - ``"l1_logistic"``: L1 multinomial logistic regression (C=0.1, saga) on standardised
      latents, importance = sum over classes of |coefficient|.
    - ``"lasso"``: for continuous factors (real-valued ``factors`` accepted): a Lasso
      (alpha=0.02) per standardised factor, importance = |coefficient|, informativeness =
      R^2 instead of accuracy — Eastwood & Williams' regression setting.

    Tree estimators make DCI invariant to permuting latents (up to tie-breaking) and to
    monotonic rescaling of a latent (up to float32 rounding inside sklearn's trees).

    Returns:
        {"disentanglement", "completeness", "informativeness_train", "informativeness_test"}.
    """
    if estimator not in DCI_ESTIMATORS:
        raise DataError(f"dci: estimator must be one of {', '.join(DCI_ESTIMATORS)}; got {estimator!r}")
    continuous = estimator == "lasso"
    x, y, xt, yt = _train_test(codes, factors, test_codes, test_factors, continuous)
    if x.shape[1] < 2 or y.shape[1] < 2:
        raise DataError(f"dci needs at least 2 latents and 2 factors, got {x.shape[1]} and {y.shape[1]}")
    if not continuous:
        _need_values(y, "dci")
    importance = np.zeros((x.shape[1], y.shape[1]))
    train, test = [], []
    with _quiet():
        for k in range(y.shape[1]):
            importance[:, k], tr, te = _fit_factor(estimator, x, y[:, k], xt, yt[:, k], seed)
            train.append(tr)
            test.append(te)
    d, c = _dci_from_importance(importance)
    return {
        "disentanglement": d,
        "completeness": c,
        "informativeness_train": float(np.mean(train)),
        "informativeness_test": float(np.mean(test)),
    }


def _infoe(codes: np.ndarray, labels: np.ndarray, sizes: list[int], discrete_latents: bool) -> float:
    """InfoE of Hsu et al. (see :func:`sigvae.metrics.infomec`); labels are 0..V_k-1."""
    from sklearn.metrics import log_loss

    if discrete_latents:
        from sklearn.preprocessing import OneHotEncoder

        x = OneHotEncoder().fit_transform(codes)
    else:
        x, _ = _standardise(codes.astype(np.float64), codes[:1].astype(np.float64))
    out = []
    with _quiet():
        for k in range(labels.shape[1]):
            model = _logistic(
                "none", tol=1e-4, class_weight="balanced", solver="lbfgs", max_iter=100
            ).fit(x, labels[:, k])
            ce = log_loss(labels[:, k], model.predict_proba(x), labels=model.classes_)
            # The input-free model with balanced weights predicts the uniform distribution.
            null = np.log(sizes[k])
            out.append((null - ce) / null)
    return float(np.mean(out))
