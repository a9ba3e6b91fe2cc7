"""sigvae.metrics.separation_scores: input, output and improvement of SI-SDR and SDR/SIR/SAR,
checked on signals whose scores are known in closed form."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sigvae.metrics import separation_scores
from sigvae.metrics.separation import bss_eval, si_sdr_improvement

T = 8000
t = np.arange(T) / T
# Two orthogonal, zero-mean sources (whole periods of a sine and a cosine): the mixture's
# SI-SDR against each is the ratio of their energies, 10 log10(4) = 6.02 dB and −6.02 dB.
S1, S2 = np.sin(2 * np.pi * 50 * t), 0.5 * np.cos(2 * np.pi * 50 * t)
REFS, MIX = np.stack([S1, S2]), S1 + S2
RATIO_DB = 10 * np.log10(4)


def _quiet(*args, **kw):
    with warnings.catch_warnings():  # BSS-eval's log10(0) for a perfect estimate (+inf dB)
        warnings.simplefilter("ignore", RuntimeWarning)
        return separation_scores(*args, **kw)


def test_a_perfect_estimate_scores_a_very_high_si_sdr():
    s = _quiet(MIX, REFS, REFS)
    assert np.all(s["si_sdr"] > 100) and np.all(s["sdr"] > 100)
    np.testing.assert_allclose(s["si_sdr_input"], [RATIO_DB, -RATIO_DB], atol=1e-9)
    np.testing.assert_allclose(s["si_sdri"], s["si_sdr"] - s["si_sdr_input"])


def test_the_mixture_as_estimate_improves_by_zero():
    s = _quiet(MIX, REFS, np.stack([MIX, MIX]))
    for m in ("si_sdr", "sdr", "sir"):
        np.testing.assert_allclose(s[f"{m}i"], 0.0, atol=1e-9)
        np.testing.assert_allclose(s[m], s[f"{m}_input"], atol=1e-9)
    np.testing.assert_allclose(s["si_sdr"], [RATIO_DB, -RATIO_DB], atol=1e-9)


def test_known_si_sdr_of_an_orthogonal_error_in_any_order():
    # S1 plus an orthogonal error 20 dB below it; the estimates given in the other order
    noisy = S1 + 0.1 * np.cos(2 * np.pi * 50 * t)
    s = separation_scores(MIX, REFS, np.stack([S2, noisy]), ["si_sdr"])
    assert list(s) == ["si_sdr", "si_sdr_input", "si_sdri"]  # only what was asked
    assert s["si_sdr"][0] == pytest.approx(20.0, abs=1e-9) and s["si_sdr"][1] > 100
    assert s["si_sdri"][0] == pytest.approx(20.0 - RATIO_DB, abs=1e-9)


def test_keys_units_and_the_old_composition():
    """The keys in order, one [S] array each, and the same numbers as si_sdr_improvement + bss_eval."""
    rng = np.random.default_rng(0)
    refs = rng.standard_normal((2, 4000))
    est, mix = refs + 0.3 * rng.standard_normal((2, 4000)), refs.sum(0)
    s = separation_scores(mix, refs, est)
    assert list(s) == ["si_sdr", "si_sdr_input", "si_sdri", "sdr", "sdr_input", "sdri", "sir", "sir_input", "siri",
                       "sar", "sar_input"]  # SAR has no improvement: the mixture has no artefacts
    assert all(v.shape == (2,) for v in s.values())
    old = si_sdr_improvement(refs, est, mix)
    ev, ev_in = bss_eval(refs, est), bss_eval(refs, np.stack([mix, mix]))
    for k in ("si_sdr", "si_sdr_input", "si_sdri"):
        np.testing.assert_array_equal(s[k], old[k])
    for k in ("sdr", "sir", "sar"):
        np.testing.assert_array_equal(s[k], ev[k])
        np.testing.assert_array_equal(s[f"{k}_input"], ev_in[k])
    assert 9 < s["si_sdr"].mean() < 12 and abs(s["si_sdr_input"]).max() < 0.5  # 0.3 noise: about 10.5 dB


def test_unknown_or_no_metric_is_refused():
    with pytest.raises(ValueError, match="unknown separation metric 'pesq'"):
        separation_scores(MIX, REFS, REFS, ["si_sdr", "pesq"])
    with pytest.raises(ValueError, match="choose from si_sdr, sdr, sir, sar"):
        separation_scores(MIX, REFS, REFS, [])


def test_unmixing_scores_report_what_the_references_allow():
    """sigvae.metrics.unmixing_scores (``sigvae unmix``, the ``unmix`` benchmark): MCC always,
    SI-SDR with enough estimates, BSS-eval with as many, the Amari index with a linear unmixing."""
    from sigvae.metrics import amari_index, mcc, unmixing_scores

    rng = np.random.default_rng(0)
    sources = rng.standard_normal((2, 2000))
    mixing = np.array([[1.0, 0.5], [0.3, 1.0]])
    mixtures = mixing @ sources
    unmixing = np.linalg.inv(mixing) + 0.05 * rng.standard_normal((2, 2))
    est = unmixing @ mixtures
    with warnings.catch_warnings():  # a linear demixing has no artefacts: BSS-eval's SAR is +inf
        warnings.simplefilter("ignore", RuntimeWarning)
        s = unmixing_scores(sources, est, mixtures, mixing, unmixing)
    assert list(s) == ["mcc", "si_sdr", "si_sdr_input", "si_sdri", "si_sdr_per_source", "sdr", "sir", "sar", "amari"]
    assert s["mcc"] == mcc(sources, est) and s["amari"] == amari_index(mixing, unmixing)
    assert all(isinstance(v, float) for k, v in s.items() if k != "si_sdr_per_source")
    assert len(s["si_sdr_per_source"]) == 2 and s["si_sdri"] > 0
    assert list(unmixing_scores(sources, np.vstack([est, sources[:1]]), mixtures)) == [
        "mcc", "si_sdr", "si_sdr_input", "si_sdri", "si_sdr_per_source"]  # more estimates than sources
    assert list(unmixing_scores(sources, est[:1], mixtures, mixing, unmixing[:1])) == ["mcc"]
