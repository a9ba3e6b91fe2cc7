"""Source-separation metrics: MCC, Amari index, SI-SDR (and its improvement), SDR/SIR/SAR.

Inputs are NumPy arrays ``reference`` and ``estimate`` of shape [S, T] (S sources, T
samples); where a metric matches estimates to references, it does so by the
permutation that maximises it (Hungarian algorithm), so every score here is invariant
to the order of the estimates; MCC and SI-SDR are also invariant to sign and scale.
A silent (all-zero) reference is refused with a DataError instead of giving −inf dB.

Two sets of scores: :func:`separation_scores` (input, output and improvement, the
``separate`` benchmark) and :func:`unmixing_scores` (blind source separation: ``sigvae
unmix`` and the ``unmix`` benchmark).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import DataError

EPS = 1e-12


def _as_sources(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] < 2:
        raise DataError(f"{name} must be [sources, samples] with at least 2 samples, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} contains NaN or inf")
    return a


def _pair(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref, est = _as_sources(reference, "reference"), _as_sources(estimate, "estimate")
    if ref.shape[1] != est.shape[1]:
        raise DataError(f"reference has {ref.shape[1]} samples, estimate {est.shape[1]}; they must match")
    silent = np.nonzero(np.abs(ref).max(axis=1) <= EPS)[0]
    if silent.size:
        raise DataError(f"reference source {int(silent[0])} is silent (all zeros); its SDR is undefined")
    return ref, est


def correlation_matrix(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """|Pearson correlation| between every reference (rows) and estimate (columns): [S_ref, S_est]."""
    ref, est = _pair(reference, estimate)
    r = ref - ref.mean(1, keepdims=True)
    e = est - est.mean(1, keepdims=True)
    r /= np.linalg.norm(r, axis=1, keepdims=True) + EPS
    e /= np.linalg.norm(e, axis=1, keepdims=True) + EPS
    return np.abs(r @ e.T)


def match_sources(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Index array ``perm`` such that ``estimate[perm[i]]`` best matches ``reference[i]`` (|corr|)."""
    c = correlation_matrix(reference, estimate)
    rows, cols = linear_sum_assignment(-c)
    perm = np.full(c.shape[0], -1)
    perm[rows] = cols
    return perm


def mcc(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Mean correlation coefficient (Khemakhem et al. 2020): mean |Pearson r| over the best matching.

    Returns a value in [0, 1]; 1 for any permuted, rescaled, sign-flipped copy of the sources.
    """
    c = correlation_matrix(reference, estimate)
    rows, cols = linear_sum_assignment(-c)
    return float(c[rows, cols].sum() / c.shape[0])


def amari_index(mixing: np.ndarray, unmixing: np.ndarray) -> float:
    """Amari et al. (1996) performance index of ``P = unmixing @ mixing``, normalised to [0, 1].

    0 when P is a scaled permutation (perfect separation up to order and gain).
    ``mixing`` [C, S], ``unmixing`` [S, C].
    """
    p = np.abs(np.asarray(unmixing, dtype=np.float64) @ np.asarray(mixing, dtype=np.float64))
    if p.ndim != 2 or p.shape[0] != p.shape[1]:
        raise DataError(f"unmixing @ mixing must be square, got shape {p.shape}")
    n = p.shape[0]
    if n < 2:
        return 0.0
    rows = (p / (p.max(axis=1, keepdims=True) + EPS)).sum(axis=1) - 1
    cols = (p / (p.max(axis=0, keepdims=True) + EPS)).sum(axis=0) - 1
    return max(0.0, float((rows.sum() + cols.sum()) / (2 * n * (n - 1))))


def si_sdr(reference: np.ndarray, estimate: np.ndarray, zero_mean: bool = True) -> np.ndarray:
    """Scale-invariant SDR in dB per source (Le Roux et al. 2019), estimate i against reference i.

    Returns [S]. No permutation is applied: see :func:`si_sdr_matched`.
    """
    ref, est = _pair(reference, estimate)
    if ref.shape[0] != est.shape[0]:
        raise DataError(f"{ref.shape[0]} references but {est.shape[0]} estimates")
    if zero_mean:
        ref = ref - ref.mean(1, keepdims=True)
        est = est - est.mean(1, keepdims=True)
    alpha = (ref * est).sum(1, keepdims=True) / ((ref**2).sum(1, keepdims=True) + EPS)
    target = alpha * ref
    noise = est - target
    return 10 * np.log10(((target**2).sum(1) + EPS) / ((noise**2).sum(1) + EPS))


def si_sdr_matched(reference: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """SI-SDR [S] under the permutation of estimates maximising the total SI-SDR."""
    ref, est = _pair(reference, estimate)
    s = ref.shape[0]
    if est.shape[0] < s:
        raise DataError(f"{s} references but only {est.shape[0]} estimates")
    table = np.stack([si_sdr(ref, np.repeat(est[j : j + 1], s, axis=0)) for j in range(est.shape[0])], axis=1)
    rows, cols = linear_sum_assignment(-table)
    out = np.empty(s)
    out[rows] = table[rows, cols]
    return out


def si_sdr_improvement(reference: np.ndarray, estimate: np.ndarray, mixture: np.ndarray) -> dict[str, np.ndarray]:
    """SI-SDR of the estimates, of the mixture (input), and their difference (SI-SDRi), each [S].

    ``mixture`` is one channel [T] (every source is compared against it), or [S, T].
    """
    ref = _as_sources(reference, "reference")
    mix = np.asarray(mixture, dtype=np.float64)
    mix = np.broadcast_to(mix if mix.ndim == 2 else mix[None], ref.shape)
    out = si_sdr_matched(ref, estimate)
    inp = si_sdr(ref, mix)
    return {"si_sdr": out, "si_sdr_input": inp, "si_sdri": out - inp}


def bss_eval(reference: np.ndarray, estimate: np.ndarray) -> dict[str, np.ndarray]:
    """SDR, SIR and SAR in dB per reference source (BSS-eval v4 via fast-bss-eval), best permutation.

    Both are centred first: BSS-eval cannot explain a constant offset by its distortion
    filters, so an offset (irrelevant to separation) would otherwise count as interference.
    Returns ``{"sdr", "sir", "sar"}`` each [S] and ``"perm"`` (estimate index per reference).
    """
    import fast_bss_eval

    ref, est = _pair(reference, estimate)
    ref = ref - ref.mean(1, keepdims=True)
    est = est - est.mean(1, keepdims=True)
    if ref.shape[0] != est.shape[0]:
        raise DataError(f"{ref.shape[0]} references but {est.shape[0]} estimates")
    try:
        sdr, sir, sar, perm = fast_bss_eval.bss_eval_sources(ref, est, compute_permutation=True)
    except np.linalg.LinAlgError as e:
        raise DataError(f"BSS-eval failed on these signals ({e}); references may be degenerate") from None
    return {"sdr": np.asarray(sdr), "sir": np.asarray(sir), "sar": np.asarray(sar), "perm": np.asarray(perm)}


#: Measures :func:`separation_scores` knows, in the order it reports them.
SEPARATION_METRICS = ("si_sdr", "sdr", "sir", "sar")
#: Those with an improvement (``si_sdri``...): the mixture is a sum of the references, so
#: BSS-eval finds no artefacts in it and its SAR is unbounded; a SAR "improvement" means nothing.
IMPROVED_METRICS = ("si_sdr", "sdr", "sir")


def separation_scores(mixture: np.ndarray, references: np.ndarray, estimates: np.ndarray,
                      metrics: tuple[str, ...] | list[str] = SEPARATION_METRICS) -> dict[str, np.ndarray]:
    """Scores of a separation, as Asteroid reports them: each measure of the estimates, of
    the mixture itself taken as every source's estimate (the input), and the improvement.

    ``mixture``: one channel [T] (or [S, T], one input per source); ``references`` and
    ``estimates``: [S, T] (S sources, T samples; estimates in any order). ``metrics``: names
    from :data:`SEPARATION_METRICS`: ``si_sdr`` (scale-invariant SDR, :func:`si_sdr_matched`:
    estimates matched to references by the permutation maximising the total) and ``sdr``,
    ``sir``, ``sar`` (BSS-eval v4, :func:`bss_eval`, best permutation; computed once for all).

    Returns, for every name ``m``: ``m`` (the estimates), ``m_input`` (the mixture) and, for
    ``si_sdr``, ``sdr`` and ``sir``, ``mi`` (the improvement ``m − m_input``, e.g.
    ``si_sdri``); each an array [S] in dB. An estimate equal to the mixture improves by 0 dB;
    a perfect estimate scores a very high SI-SDR (over 100 dB) and BSS-eval's +inf.
    """
    unknown = [m for m in metrics if m not in SEPARATION_METRICS]
    if unknown or not metrics:
        raise ValueError(f"unknown separation metric {unknown[0] if unknown else None!r}; "
                         f"choose from {', '.join(SEPARATION_METRICS)}")
    ref = _as_sources(references, "references")
    mix = np.asarray(mixture, dtype=np.float64)
    mix = np.ascontiguousarray(np.broadcast_to(mix if mix.ndim == 2 else mix[None], ref.shape))
    out: dict[str, np.ndarray] = {}
    if "si_sdr" in metrics:
        out.update(si_sdr_improvement(ref, estimates, mix))
    bss = [m for m in metrics if m != "si_sdr"]
    if bss:
        ev, ev_in = bss_eval(ref, estimates), bss_eval(ref, mix)
        for m in bss:
            out.update({m: ev[m], f"{m}_input": ev_in[m]})
            if m in IMPROVED_METRICS:
                out[f"{m}i"] = ev[m] - ev_in[m]
    return {k: out[k] for m in SEPARATION_METRICS if m in metrics for k in (m, f"{m}_input", f"{m}i") if k in out}


def unmixing_scores(sources: np.ndarray, estimate: np.ndarray, mixtures: np.ndarray, mixing: np.ndarray | None = None,
                    unmixing: np.ndarray | None = None) -> dict:
    """Every blind-source-separation score that the references allow, as plain floats and lists.

    The scores of ``sigvae unmix`` (its ``metrics.json``) and of the ``unmix`` benchmark.
    ``sources`` [S, T], ``estimate`` [K, T], ``mixtures`` [C, T]. ``mcc`` always; with at
    least as many estimates as sources, SI-SDR (``si_sdr``), that of the input
    (``si_sdr_input``: each source against the mixture channel carrying the most of it) and
    the improvement ``si_sdri``, plus ``si_sdr_per_source``; with as many, BSS-eval
    ``sdr``/``sir``/``sar`` (means over sources); with a known ``mixing`` [C, S] and a linear
    ``unmixing`` [K, C], the Amari index ``amari``.
    """
    out: dict = {"mcc": mcc(sources, estimate)}
    if estimate.shape[0] >= sources.shape[0]:
        best_channel = correlation_matrix(sources, mixtures).argmax(axis=1)
        imp = si_sdr_improvement(sources, estimate, mixtures[best_channel])
        out.update({k: float(np.mean(v)) for k, v in imp.items()})
        out["si_sdr_per_source"] = imp["si_sdr"].tolist()
    if estimate.shape[0] == sources.shape[0]:
        ev = bss_eval(sources, estimate)
        out.update({k: float(np.mean(ev[k])) for k in ("sdr", "sir", "sar")})
    if mixing is not None and unmixing is not None and unmixing.shape[0] == mixing.shape[1]:
        out["amari"] = amari_index(mixing, unmixing)
    return out
