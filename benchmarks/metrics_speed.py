"""Time sigvae.metrics against literal implementations of the same definitions.

Input: 10,000 x 10 codes and 3 factors with 4, 8 and 400 values (SynTone's frequency
count), plus a 5,000-row test set for the metrics that fit predictors. Each literal
implementation below is a plain loop over latent-factor pairs, the way the reference
code is written. Run with::

    OMP_NUM_THREADS=1 python benchmarks/metrics_speed.py

It prints a markdown table: seconds for sigvae and for the literal version (best of
``--repeat`` runs for the fast ones), the speed-up, and the largest difference between
the two values. Gradient-boosted and L1 DCI fit one model per class and stage, so by
default the DCI rows use a 1,000-row subsample of the two smaller factors (noted in the
table).

``--dci-full`` adds one row per DCI estimator (``--dci-estimators``, default all) on the
full input: 10,000 x 10 codes, all 3 factors, 5,000 test rows. The default ``gbt`` then
fits 100 stages x (4 + 8 + 400) classes, about 41,000 trees, the 400-class factor nearly
all of them: expect minutes (not measured in BENCHMARKS.md; hgb's 40,000 histogram trees
took 67 s there)::

    OMP_NUM_THREADS=1 python benchmarks/metrics_speed.py --dci-full --only 'full'
    OMP_NUM_THREADS=1 python benchmarks/metrics_speed.py --dci-full --dci-estimators hgb --only 'full'

The interventional rows time ``beta_vae_score`` and ``factor_vae_score`` at their
default sizes (10,000 training and 5,000 evaluation points, batches of 64) on a source
with the same three factors, whose observation is the factor values and whose encoder is
a fixed NumPy map to 10 latents: what is timed is the score itself, not a model. The
literal versions loop over points as disentanglement_lib does (one batch rendered and
encoded per point) while drawing from the Generator in sigvae's order, so the two values
must agree exactly. ``--only REGEX`` runs just the rows whose name matches.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import entropy
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
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


class FactorSource:
    """A ground-truth source with the benchmark's factors (4, 8, 400 values).

    An observation [1, 3] is the factor values; rendering uses no randomness.
    """

    factor_sizes = [4, 8, 400]

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], axis=1)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return factors[:, None, :].astype(np.float64)


def fixed_encode(x: np.ndarray) -> np.ndarray:
    """Observations [n, 1, 3] -> codes [n, 10]: make_data's layout, with deterministic "noise".

    The noise is a fixed function of the factor values (a sine hash), so the encoder is
    deterministic and the literal scores can reproduce sigvae's exactly. Its amplitude (4)
    keeps both scores below 1 (about 0.92 and 0.85), so their agreement means something.
    """
    f = x[:, 0, :]
    phase = f @ np.array([12.9898, 78.233, 37.719])
    noise = 4.0 * np.sin(phase[:, None] * np.arange(1, 11))
    codes = noise.copy()
    codes[:, 0] += f[:, 0]
    codes[:, 1] += f[:, 1] + 0.3 * noise[:, 5]
    codes[:, 2] += f[:, 2] / 40.0
    return codes


def lit_beta_vae(source, encode, seed: int, batch: int = 64, num_train: int = 10_000, num_eval: int = 5_000) -> float:
    rng = np.random.default_rng(seed)

    def points(n):
        labels = rng.integers(len(source.factor_sizes), size=n)
        first, second = source.sample_factors(n * batch, rng), source.sample_factors(n * batch, rng)
        feats = np.zeros((n, 10))
        for i in range(n):
            a, b = first[i * batch : (i + 1) * batch], second[i * batch : (i + 1) * batch].copy()
            b[:, labels[i]] = a[:, labels[i]]
            za = encode(source.sample_observations_from_factors(a, rng))
            zb = encode(source.sample_observations_from_factors(b, rng))
            feats[i] = np.mean(np.abs(za - zb), axis=0)
        return feats, labels

    train_x, train_y = points(num_train)
    eval_x, eval_y = points(num_eval)
    model = LogisticRegression().fit(train_x, train_y)
    return float(np.mean(model.predict(eval_x) == eval_y))


def lit_factor_vae(source, encode, seed: int, batch: int = 64, num_train: int = 10_000, num_eval: int = 5_000,
                   num_var: int = 10_000) -> float:
    rng = np.random.default_rng(seed)
    global_var = encode(source.sample_observations_from_factors(source.sample_factors(num_var, rng), rng)).var(
        axis=0, ddof=1)
    active = np.flatnonzero(global_var > 0)

    def votes(n):
        out = np.zeros((len(source.factor_sizes), global_var.shape[0]), dtype=np.int64)
        fixed = rng.integers(len(source.factor_sizes), size=n)
        factors = source.sample_factors(n * batch, rng)
        for i in range(n):
            f = factors[i * batch : (i + 1) * batch].copy()
            f[:, fixed[i]] = f[0, fixed[i]]
            z = encode(source.sample_observations_from_factors(f, rng))
            ratio = z[:, active].var(axis=0, ddof=1) / global_var[active]
            out[fixed[i], active[np.argmin(ratio)]] += 1
        return out

    train, evaluation = votes(num_train), votes(num_eval)
    classifier = np.argmax(train, axis=0)
    return float(evaluation[classifier, np.arange(evaluation.shape[1])].sum() / evaluation.sum())


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
    parser.add_argument("--dci-full", action="store_true",
                        help="also time each DCI estimator on the full input (gbt: ~41,000 trees, minutes)")
    parser.add_argument("--dci-estimators", default=",".join(metrics.DCI_ESTIMATORS),
                        help="comma-separated estimators for --dci-full (default: all)")
    parser.add_argument("--only", metavar="REGEX", help="run only the rows whose name matches REGEX")
    args = parser.parse_args()
    # beta_vae_score's logistic regression stops at its default 100 iterations, as the
    # reference's does; one warning per fit would bury the table.
    warnings.simplefilter("ignore", ConvergenceWarning)
    full_estimators = [e for e in args.dci_estimators.split(",") if e]
    unknown = sorted(set(full_estimators) - set(metrics.DCI_ESTIMATORS))
    if unknown:
        parser.error(f"unknown DCI estimator(s) {', '.join(unknown)}; choose from {', '.join(metrics.DCI_ESTIMATORS)}")

    codes, factors = make_data(10_000, 0)
    test_codes, test_factors = make_data(5_000, 1)
    # GBT fits one tree per class and stage: 40,000 trees for the 400-valued factor alone,
    # minutes on two shared cores whatever the row count, so the boosted rows use the
    # 4- and 8-valued factors on a 1,000 / 500-row subsample.
    sub = (codes[:1000], factors[:1000, :2], test_codes[:500], test_factors[:500, :2])
    full = (codes, factors, test_codes, test_factors)
    source = FactorSource()

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
        ("dci (lasso)", lambda: metrics.dci(*sub, estimator="lasso")["disentanglement"], None,
         "1 run; same subset; a regression on the factor values"),
        ("infomec (histogram MI)", lambda: metrics.infomec(codes, factors, mi_estimator="histogram")["infom"], None,
         "1 run; InfoE's 400-class logistic regression dominates"),
        ("infomec (KSG MI, default)", lambda: metrics.infomec(codes, factors)["infom"], None, "1 run"),
        ("beta_vae_score", lambda: metrics.beta_vae_score(source, fixed_encode, seed=0)["eval_accuracy"],
         lambda: lit_beta_vae(source, fixed_encode, 0), "1 run; 10,000 + 5,000 points of 2 x 64 rows"),
        ("factor_vae_score", lambda: metrics.factor_vae_score(source, fixed_encode, seed=0)["eval_accuracy"],
         lambda: lit_factor_vae(source, fixed_encode, 0), "1 run; 10,000 + 5,000 points of 64 rows"),
    ]
    if args.dci_full:
        for estimator in full_estimators:
            rows.append((
                f"dci ({estimator}), full",
                lambda e=estimator: metrics.dci(*full, estimator=e)["disentanglement"],
                None,
                "1 run; full input: 10,000 / 5,000 rows, 3 factors (4, 8, 400 values)",
            ))
    if args.only:
        rows = [r for r in rows if re.search(args.only, r[0])]

    print(f"Input: codes {codes.shape}, factors {factors.shape} with {[len(np.unique(f)) for f in factors.T]} values; "
          f"test set {test_codes.shape[0]} rows. Python {platform.python_version()}, {platform.processor() or platform.machine()}, "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} at the start.")
    print()
    print("| metric | sigvae (s) | literal (s) | speed-up | max abs difference | note |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, fast, literal, note in rows:
        repeat = 1 if note.startswith("1 run") else args.repeat
        t_fast, v_fast = best_time(fast, repeat)
        if literal is None:
            print(f"| {name} | {t_fast:.3f} | | | | {note}; value {float(v_fast):.3f} |", flush=True)
            continue
        t_lit, v_lit = best_time(literal, repeat)
        diff = float(np.max(np.abs(np.asarray(v_fast, dtype=float) - np.asarray(v_lit, dtype=float))))
        value = f"value {float(v_fast):.3f}" if np.ndim(v_fast) == 0 else ""
        sep = "; " if note and value else ""
        print(f"| {name} | {t_fast:.3f} | {t_lit:.3f} | {t_lit / t_fast:.1f}x | {diff:.1e} | {note}{sep}{value} |",
              flush=True)


if __name__ == "__main__":
    main()
