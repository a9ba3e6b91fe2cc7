"""SAP's one-latent linear SVMs, solved exactly for all classes at once.

SAP fits ``LinearSVC(C, class_weight="balanced")`` on a single latent. For that input,
liblinear minimises, for each one-vs-rest problem (positives: class c),

    f(w, b) = (w^2 + b^2) / 2 + sum_i a_i * max(0, 1 - t_i (w x_i + b))^2

with t_i = +1 for class c and -1 otherwise, the intercept penalised like a weight
(``intercept_scaling=1``), a_i = C * weight_c for positives and a_i = C for negatives
when there are more than two classes; with two classes one problem is solved, class 1
positive, negatives weighted C * weight_0 (checked against scikit-learn).

With one feature the active set of each sign is a half-line in x, so every sum the
objective, gradient and Hessian need is a difference of prefix sums over the sorted
latent. Newton's method with backtracking then runs on all classes together in
O(classes * log N) per step, instead of one O(N) liblinear pass per class and iteration.
The result is the exact minimiser, which liblinear approaches to its tolerance (1e-4).
"""

from __future__ import annotations

import numpy as np


class _PrefixSums:
    """Sums of 1, x, x^2 over {x < theta} (or <=) overall and within each class."""

    def __init__(self, x: np.ndarray, labels: np.ndarray, num_classes: int):
        order = np.argsort(x, kind="stable")
        self.xs = x[order]
        n = x.shape[0]
        self.n = n
        zero = np.zeros(1)
        self.all = [np.concatenate([zero, np.cumsum(self.xs**p)]) for p in (0, 1, 2)]
        # Class members laid out class by class, each in sorted-x order; a member's key
        # is class * (n + 1) + its position in the global order, so one searchsorted
        # finds "members of class c before global position g" for every class at once.
        sorted_labels = labels[order]
        by_class = np.argsort(sorted_labels, kind="stable")
        self.keys = sorted_labels[by_class] * (n + 1) + by_class
        self.offsets = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=num_classes))])
        member_x = self.xs[by_class]
        self.cls = [np.concatenate([zero, np.cumsum(member_x**p)]) for p in (0, 1, 2)]
        self.classes = np.arange(num_classes)

    def below(self, theta: np.ndarray, classes: np.ndarray, inclusive: bool) -> tuple[np.ndarray, np.ndarray]:
        """(overall [3, J], class [3, J]) sums over x < theta (x <= theta if inclusive)."""
        g = np.searchsorted(self.xs, theta, side="right" if inclusive else "left")
        p = np.searchsorted(self.keys, classes * (self.n + 1) + g, side="left")
        start = self.offsets[classes]
        overall = np.stack([s[g] for s in self.all])
        within = np.stack([s[p] - s[start] for s in self.cls])
        return overall, within

    def totals(self, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        overall = np.stack([np.full(classes.shape, s[-1]) for s in self.all])
        within = np.stack([s[self.offsets[classes + 1]] - s[self.offsets[classes]] for s in self.cls])
        return overall, within


def _active_sums(ps: _PrefixSums, classes, w, b, positive: bool) -> np.ndarray:
    """Sums [3, J] of 1, x, x^2 over the active set of the positives (or negatives)."""
    # Positives are active where w x + b < 1, negatives where w x + b > -1.
    edge = 1.0 - b if positive else -1.0 - b
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = edge / w
    # w == 0: the whole group is active or none of it.
    whole = (edge > 0) if positive else (edge < 0)
    theta = np.where(w == 0, np.where(whole, np.inf, -np.inf), theta)
    lower_side = (w > 0) if positive else (w < 0)
    lower_side = lower_side | (w == 0)
    lt_all, lt_cls = ps.below(theta, classes, inclusive=False)
    le_all, le_cls = ps.below(theta, classes, inclusive=True)
    tot_all, tot_cls = ps.totals(classes)
    if positive:
        return np.where(lower_side, lt_cls, tot_cls - le_cls)
    return np.where(lower_side, lt_all - lt_cls, (tot_all - le_all) - (tot_cls - le_cls))


def _objective(ps, classes, w, b, a_pos, a_neg):
    """Objective [J], gradient [2, J] and Hessian [2, 2, J] at (w, b)."""
    sp = _active_sums(ps, classes, w, b, positive=True)
    sn = _active_sums(ps, classes, w, b, positive=False)
    u, v = 1.0 - b, 1.0 + b
    f = 0.5 * (w * w + b * b)
    f = f + a_pos * (u * u * sp[0] - 2 * u * w * sp[1] + w * w * sp[2])
    f = f + a_neg * (v * v * sn[0] + 2 * v * w * sn[1] + w * w * sn[2])
    gw = w - 2 * a_pos * (u * sp[1] - w * sp[2]) + 2 * a_neg * (v * sn[1] + w * sn[2])
    gb = b - 2 * a_pos * (u * sp[0] - w * sp[1]) + 2 * a_neg * (v * sn[0] + w * sn[1])
    hww = 1.0 + 2 * (a_pos * sp[2] + a_neg * sn[2])
    hwb = 2 * (a_pos * sp[1] + a_neg * sn[1])
    hbb = 1.0 + 2 * (a_pos * sp[0] + a_neg * sn[0])
    return f, np.stack([gw, gb]), (hww, hwb, hbb)


def fit_one_latent_svm(x: np.ndarray, labels: np.ndarray, num_classes: int, c: float = 0.01) -> np.ndarray:
    """Exact LinearSVC(C=c, class_weight="balanced") on one feature.

    Args:
        x: float64 [N] latent values. labels: int [N] in 0..num_classes-1, every class present.

    Returns:
        [P, 2] rows (w, b): one per class, or a single row (class 1 positive) for 2 classes.
    """
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weight = x.shape[0] / (num_classes * counts)
    ps = _PrefixSums(x, labels, num_classes)
    if num_classes == 2:
        classes = np.array([1])
        a_pos, a_neg = c * weight[1:2], c * weight[0:1]
    else:
        classes = np.arange(num_classes)
        a_pos, a_neg = c * weight, np.full(num_classes, c)
    w = np.zeros(classes.shape)
    b = np.zeros(classes.shape)
    f, g, (hww, hwb, hbb) = _objective(ps, classes, w, b, a_pos, a_neg)
    done = np.zeros(classes.shape, dtype=bool)
    for _ in range(100):
        det = hww * hbb - hwb * hwb
        dw = -(hbb * g[0] - hwb * g[1]) / det
        db = -(hww * g[1] - hwb * g[0]) / det
        slope = g[0] * dw + g[1] * db
        # Converged where the Newton decrement is at rounding level of the objective.
        done |= -slope <= 1e-13 * np.maximum(np.abs(f), 1e-300)
        if done.all():
            break
        step = np.where(done, 0.0, 1.0)
        # Backtracking; the objective is a convex piecewise quadratic, so full steps are
        # taken once the active sets settle.
        for _ in range(60):
            nw, nb = w + step * dw, b + step * db
            nf = _objective(ps, classes, nw, nb, a_pos, a_neg)[0]
            bad = ~done & (nf > f + 1e-4 * step * slope)
            if not bad.any():
                break
            step = np.where(bad, step * 0.5, step)
        # A class whose line search found no decrease is at the optimum up to rounding.
        done |= bad
        w = np.where(done, w, nw)
        b = np.where(done, b, nb)
        f, g, (hww, hwb, hbb) = _objective(ps, classes, w, b, a_pos, a_neg)
    return np.stack([w, b], axis=1)


def predict_one_latent_svm(params: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Class indices [N] that the fitted ``params`` [P, 2] give the values ``x`` [N]."""
    scores = x[:, None] * params[None, :, 0] + params[None, :, 1]
    if params.shape[0] == 1:
        return (scores[:, 0] > 0).astype(np.int64)
    return np.argmax(scores, axis=1)
