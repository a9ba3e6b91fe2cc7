"""Probes of a representation's class information: classifiers fitted on train, scored on test.

All functions take NumPy feature matrices [N, D] and integer labels [N]; features are
standardised with the *training* mean and standard deviation before any classifier sees
them (constant training features are left unscaled), so test data never informs a fit.

- :func:`probe_accuracies`: linear SVM (libsvm, C = 1), the same SVM with C chosen by
  cross-validation on the training split (``svmcv``, the protocol TS2Vec's published
  accuracies use), k-NN (Euclidean, k = 1, 5, 10; k is capped at the number of training
  examples) and multinomial logistic regression;
- :func:`nearest_neighbour_accuracy`: the raw-series 1-NN Euclidean baseline (no scaling);
- :func:`kmeans_scores`: k-means with as many clusters as classes → silhouette of the
  clustering, adjusted Rand index and normalised mutual information against the labels.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def _check(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray):
    xtr = np.asarray(x_train, dtype=np.float64).reshape(len(x_train), -1)
    xte = np.asarray(x_test, dtype=np.float64).reshape(len(x_test), -1)
    ytr, yte = np.asarray(y_train).ravel(), np.asarray(y_test).ravel()
    if xtr.shape[0] != ytr.shape[0] or xte.shape[0] != yte.shape[0]:
        raise DataError(f"features and labels disagree: train {xtr.shape[0]} vs {ytr.shape[0]}, test {xte.shape[0]} vs {yte.shape[0]}")
    if xtr.shape[1] != xte.shape[1]:
        raise DataError(f"train has {xtr.shape[1]} features, test {xte.shape[1]}; they must match")
    if not (np.isfinite(xtr).all() and np.isfinite(xte).all()):
        raise DataError("features contain NaN or inf")
    if len(np.unique(ytr)) < 2:
        raise DataError("training labels hold a single class; a classifier cannot be fitted")
    return xtr, ytr, xte, yte


def standardise(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale both by the training mean and std per feature → (train, test), float64."""
    mu = x_train.mean(0)
    sd = x_train.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return (x_train - mu) / sd, (x_test - mu) / sd


def probe_accuracies(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
    ks: tuple[int, ...] = (1, 5, 10), seed: int = 0,
) -> dict[str, float]:
    """Test accuracy (0–1) of ``svm``, ``svmcv``, ``knn<k>`` for each k, and ``logreg``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    xtr, ytr, xte, yte = _check(x_train, y_train, x_test, y_test)
    xtr, xte = standardise(xtr, xte)
    out: dict[str, float] = {}
    svm = SVC(kernel="linear", C=1.0).fit(xtr, ytr)
    out["svm"] = float((svm.predict(xte) == yte).mean())
    out["svmcv"] = float((linear_svm_cv(xtr, ytr, seed).predict(xte) == yte).mean())
    for k in ks:
        knn = KNeighborsClassifier(n_neighbors=min(int(k), len(ytr))).fit(xtr, ytr)
        out[f"knn{k}"] = float((knn.predict(xte) == yte).mean())
    lr = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(xtr, ytr)
    out["logreg"] = float((lr.predict(xte) == yte).mean())
    return out


#: The C values the cross-validated SVM chooses from (as in TS2Vec's evaluation).
SVM_C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4)


def _stratified_folds(y: np.ndarray, seed: int):
    """Shuffled stratified k-fold with k = min(5, smallest class count); None when k < 2."""
    from sklearn.model_selection import StratifiedKFold

    folds = min(5, int(np.bincount(np.unique(np.asarray(y).ravel(), return_inverse=True)[1]).min()))
    return StratifiedKFold(folds, shuffle=True, random_state=seed) if folds >= 2 else None


def linear_svm_cv(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0):
    """A linear ``SVC`` refitted on all of (x_train, y_train) with C from :data:`SVM_C_GRID`.

    C maximises the mean accuracy of stratified k-fold cross-validation on the training split
    (k = 5, or the smallest class count when a class has fewer than 5 examples; ties go to
    the smallest C). With fewer than 2 examples in some class there is nothing to validate
    and C = 1 is used. Test data never enters the choice.
    """
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    cv = _stratified_folds(y_train, seed)
    if cv is None:
        return SVC(kernel="linear", C=1.0).fit(x_train, y_train)
    search = GridSearchCV(SVC(kernel="linear"), {"C": list(SVM_C_GRID)}, cv=cv, n_jobs=1)
    return search.fit(x_train, y_train).best_estimator_


def cross_validated_accuracy(x: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Mean stratified-k-fold accuracy (0–1) of a linear SVM (C = 1) on (x [N, D], y [N]).

    The features are standardised inside each fold with that fold's training statistics, as
    :func:`probe_accuracies` does for train/test; k = 5, or the smallest class count when a
    class has fewer than 5 examples. Uses only the data given, so called on a training split
    it scores a representation without touching the test split. Returns NaN when some class
    has fewer than 2 examples (nothing to validate).
    """
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    a = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    labels = np.unique(np.asarray(y).ravel(), return_inverse=True)[1]
    if a.shape[0] != labels.shape[0]:
        raise ValueError(f"x has {a.shape[0]} rows but y has {labels.shape[0]} labels")
    cv = _stratified_folds(labels, seed)
    if cv is None:
        return float("nan")
    model = make_pipeline(StandardScaler(), SVC(kernel="linear", C=1.0))
    return float(cross_val_score(model, a, labels, cv=cv).mean())


def nearest_neighbour_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """1-NN with Euclidean distance on the features as given (no scaling): test accuracy."""
    xtr, ytr, xte, yte = _check(x_train, y_train, x_test, y_test)
    d = (xte**2).sum(1)[:, None] - 2 * xte @ xtr.T + (xtr**2).sum(1)[None, :]
    return float((ytr[d.argmin(1)] == yte).mean())


def kmeans_scores(x: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, float]:
    """k-means (k = number of classes, 10 restarts) on standardised ``x`` [N, D].

    Returns ``silhouette`` (−1…1, of the k-means clustering), ``ari`` and ``nmi``
    (agreement of the clusters with the labels ``y``).
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

    a = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    labels = np.asarray(y).ravel()
    if a.shape[0] != labels.shape[0]:
        raise DataError(f"{a.shape[0]} feature rows for {labels.shape[0]} labels")
    k = len(np.unique(labels))
    if k < 2 or a.shape[0] <= k:
        raise DataError(f"k-means needs at least 2 classes and more examples than classes (got {k} classes, {a.shape[0]} examples)")
    a, _ = standardise(a, a)
    clusters = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(a)
    sil = float(silhouette_score(a, clusters)) if len(np.unique(clusters)) > 1 else 0.0
    return {
        "silhouette": sil,
        "ari": float(adjusted_rand_score(labels, clusters)),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
    }


__all__ = ["probe_accuracies", "linear_svm_cv", "cross_validated_accuracy", "SVM_C_GRID", "nearest_neighbour_accuracy", "kmeans_scores", "standardise"]
