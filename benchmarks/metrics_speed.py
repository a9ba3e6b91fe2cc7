"""Time sigvae.metrics against literal implementations of the same definitions.

Input: 10,000 x 10 codes and 3 factors with 4, 8 and 400 values (SynTone's frequency
count), plus a 5,000-row test set for the metrics that fit predictors. Each literal
implementation below is a plain loop over latent-factor pairs, the way the reference
code is written. Run with::

    OMP_NUM_THREADS=1 python benchmarks/metrics_speed.py

It prints a markdown table: seconds for sigvae and for the literal version (best of
``--repeat`` runs for the fast ones), the speed-up, and the largest difference between
the two values. Gradient-boosted and L1 DCI fit one model per class and stage, so those
rows use a 1,000-row subsample of the two smaller factors (noted in the table).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import entropy
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score, roc_auc_score
from sklearn.preprocessing import MultiLabelBinarizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sigvae import metrics  # noqa: E402


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes [n, 10]: three latents follow one factor each (with noise), seven are noise."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, 4, n), rng.integers(0, 8, n), rng.integers(0, 400, n)], axis=1)
    codes = rng.normal(0, 0.3, size=(n, 10))
    codes[:, 0] += factors[:, 0]
    codes[:, 1] += factors[:, 1] + 0.3 * codes[:, 5]
    codes[:, 2] += factors[:, 2] / 40.0
    return codes, factors


# ----------------------------------------------------------------- literal versions


def lit_bins(codes: np.ndarray) -> np.ndarray:
    out = np.zeros(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        out[:, d] = np.digitize(codes[:, d], np.histogram(codes[:, d], 20)[1][:-1])
    return out


def lit_mi(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    b = lit_bins(codes)
    m = np.zeros((codes.shape[1], factors.shape[1]))
    for d in range(codes.shape[1]):
        for k in range(factors.shape[1]):
            m[d, k] = mutual_info_score(factors[:, k], b[:, d])
    return m


def lit_mig(codes: np.ndarray, factors: np.ndarray) -> float:
    m = lit_mi(codes, factors)
    h = [mutual_info_score(factors[:, k], factors[:, k]) for k in range(factors.shape[1])]
    s = np.sort(m, axis=0)[::-1]
    return float(np.mean((s[0] - s[1]) / np.array(h)))


def lit_modularity(codes: np.ndarray, factors: np.ndarray) -> float:
    sq = lit_mi(codes, factors) ** 2
    out = []
    for row in sq:
        top = row.max()
        out.append(0.0 if top == 0 else 1.0 - (row.sum() - top) / (top * (len(row) - 1)))
    return float(np.mean(out))


def lit_irs(codes: np.ndarray, factors: np.ndarray) -> float:
    ys = lit_bins(factors.astype(np.float64))
    z = codes[:, codes.var(axis=0) > 0]
    max_dev = np.max(np.abs(z - z.mean(axis=0)), axis=0)
    cum = np.zeros((z.shape[1], ys.shape[1]))
    for k in range(ys.shape[1]):
        values = np.unique(ys[:, k])
        for v in values:
            g = z[ys[:, k] == v]
            cum[:, k] += np.quantile(np.abs(g - g.mean(axis=0)), 0.99, axis=0)
        cum[:, k] /= len(values)
    return float(np.average((1.0 - cum / max_dev[:, None]).max(axis=1), weights=max_dev))


def lit_tc(codes: np.ndarray) -> float:
    cov = np.cov(codes.T)
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def lit_explicitness(codes, factors, test_codes, test_factors) -> float:
    mean, std = codes.mean(axis=0), codes.std(axis=0)
    x, xt = (codes - mean) / std, (test_codes - mean) / std
    scores = []
    for k in range(factors.shape[1]):
        clf = LogisticRegression().fit(x, factors[:, k])
        y = MultiLabelBinarizer(classes=clf.classes_).fit_transform(test_factors[:, k : k + 1])
        present = (y.sum(axis=0) > 0) & (y.sum(axis=0) < y.shape[0])
        scores.append(roc_auc_score(y[:, present], clf.predict_proba(xt)[:, present]))
    return float(np.mean(scores))


def lit_dci(codes, factors, test_codes, test_factors) -> float:
    r = np.zeros((codes.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        r[:, k] = GradientBoostingClassifier(random_state=0).fit(codes, factors[:, k]).feature_importances_
    per_code = 1.0 - entropy(r.T + 1e-11, base=r.shape[1])
    return float(np.sum(per_code * r.sum(axis=1) / r.sum()))


# ----------------------------------------------------------------- timing


def best_time(fn, repeat: int) -> tuple[float, object]:
    best, value = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per fast metric (best is kept)")
    args = parser.parse_args()

    codes, factors = make_data(10_000, 0)
    test_codes, test_factors = make_data(5_000, 1)
    # GBT fits one tree per class and stage: 40,000 trees for the 400-valued factor alone,
    # minutes on two shared cores whatever the row count, so the boosted rows use the
    # 4- and 8-valued factors on a 1,000 / 500-row subsample.
    sub = (codes[:1000], factors[:1000, :2], test_codes[:500], test_factors[:500, :2])
    full = (codes, factors, test_codes, test_factors)

    rows = [
        ("mutual_info_matrix", lambda: metrics.mutual_info_matrix(codes, factors), lambda: lit_mi(codes, factors), ""),
        ("mig", lambda: metrics.mig(codes, factors), lambda: lit_mig(codes, factors), ""),
        ("modularity", lambda: metrics.modularity(codes, factors), lambda: lit_modularity(codes, factors), ""),
        (
            "mig + modularity",
            lambda: metrics.mig(codes, factors) + metrics.modularity(codes, factors),
            lambda: lit_mig(codes, factors) + lit_modularity(codes, factors),
            "",
        ),
        ("irs", lambda: metrics.irs(codes, factors), lambda: lit_irs(codes, factors), ""),
        ("gaussian_total_correlation", lambda: metrics.gaussian_total_correlation(codes), lambda: lit_tc(codes), ""),
        ("explicitness", lambda: metrics.explicitness(*full), lambda: lit_explicitness(*full), "1 run"),
        ("sap", lambda: metrics.sap(*full), lambda: metrics.sap(*full, solver="liblinear"),
         "1 run; literal = one LinearSVC per pair (liblinear, tol 1e-4)"),
        (
            "dci (gbt, disentanglement)",
            lambda: metrics.dci(*sub)["disentanglement"],
            lambda: lit_dci(*sub),
            "1 run; 1,000 / 500 rows, factors 1-2 (4 and 8 values)",
        ),
        ("dci (hgb)", lambda: metrics.dci(*sub, estimator="hgb")["disentanglement"], None, "1 run; same subset"),
        ("dci (l1_logistic)", lambda: metrics.dci(*sub, estimator="l1_logistic")["disentanglement"], None,
         "1 run; same subset"),
        ("dci (random_forest)", lambda: metrics.dci(*sub, estimator="random_forest")["disentanglement"], None,
         "1 run; same subset"),
        ("dci (random_forest)", lambda: metrics.dci(*full, estimator="random_forest")["disentanglement"], None,
         "1 run; full data"),
        ("infomec (histogram MI)", lambda: metrics.infomec(codes, factors, mi_estimator="histogram")["infom"], None,
         "1 run; InfoE's 400-class logistic regression dominates"),
        ("infomec (KSG MI, default)", lambda: metrics.infomec(codes, factors)["infom"], None, "1 run"),
    ]

    print(f"Input: codes {codes.shape}, factors {factors.shape} with {[len(np.unique(f)) for f in factors.T]} values; "
          f"test set {test_codes.shape[0]} rows. Python {platform.python_version()}, {platform.processor() or platform.machine()}.")
    print()
    print("| metric | sigvae (s) | literal (s) | speed-up | max abs difference | note |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, fast, literal, note in rows:
        repeat = 1 if note.startswith("1 run") else args.repeat
        t_fast, v_fast = best_time(fast, repeat)
        if literal is None:
            print(f"| {name} | {t_fast:.3f} | | | | {note} |", flush=True)
            continue
        t_lit, v_lit = best_time(literal, repeat)
        diff = float(np.max(np.abs(np.asarray(v_fast, dtype=float) - np.asarray(v_lit, dtype=float))))
        print(f"| {name} | {t_fast:.3f} | {t_lit:.3f} | {t_lit / t_fast:.1f}x | {diff:.1e} | {note} |", flush=True)


if __name__ == "__main__":
    main()
