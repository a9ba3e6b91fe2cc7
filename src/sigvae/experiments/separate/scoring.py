"""Measuring a separation: the scores of one test track, NMF's model choice, and the
separator's active latent units (a collapsed posterior)."""

from __future__ import annotations

import numpy as np

#: The scores kept per method, in the order of the result rows (dB): SI-SDR and BSS-eval
#: SDR/SIR/SAR of the estimates and of the mixture (``_input``), and the SI-SDR and SDR
#: improvements (:func:`sigvae.metrics.separation.separation_scores`).
SCORES = ["si_sdr", "si_sdr_input", "si_sdri", "sdr", "sdr_input", "sir", "sir_input", "sar", "sar_input", "sdri"]


def score_track(track, estimate: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`SCORES` of ``estimate`` [K, C, T] for ``track``'s first channel, each [K]."""
    from ...metrics.separation import separation_scores

    found = separation_scores(track.mixture[0], track.stems[:, 0], estimate[:, 0])
    return {k: found[k] for k in SCORES}


def fit_nmf(cfg, train: list, seed: int):
    """Supervised NMF with its number of components per source chosen on the validation
    tracks (the mean SI-SDRi); fitted on the training tracks."""
    from ...metrics.separation import separation_scores
    from ...separating.masks import SupervisedNMF

    fit_on, val = train[: cfg.train_tracks], train[cfg.train_tracks:]
    best, best_score = None, -np.inf
    for comps in cfg.nmf_components:
        nmf = SupervisedNMF(cfg.n_fft, cfg.hop, comps, max_iter=cfg.nmf_iter, seed=seed).fit(fit_on)
        if len(cfg.nmf_components) == 1 or not val:
            return nmf
        s = np.mean([separation_scores(t.mixture[0], t.stems[:, 0], nmf.separate(t.mixture)[:, 0], ["si_sdr"])
                     ["si_sdri"].mean() for t in val])
        if s > best_score:
            best, best_score = nmf, s
    return best


def separator_active_units(model, tracks: list) -> tuple[int, int]:
    """(active, total) latent units of the separator on ``tracks``.

    The separator's latents are maps [K sources, D channels, F', N']: every time-frequency
    position of every track is one input, and each of the K·D channels a unit, whose
    posterior mean must vary across inputs (:func:`sigvae.metrics.active_units`). Mixtures
    are scaled as :meth:`Separator.separate` scales them.
    """
    import torch

    from ...metrics.activity import active_units
    from ...models.separator import TARGET_RMS

    codes = []
    with torch.no_grad():
        for t in tracks:
            x = torch.as_tensor(np.asarray(t.mixture, np.float32))[None].to(model.device)
            x = x * (TARGET_RMS / x.pow(2).mean().sqrt().clamp_min(1e-5))
            mean = model.posteriors(model.features(model.stft(x))).mean[0]  # [K, D, F', N']
            codes.append(mean.flatten(2).permute(2, 0, 1).flatten(1).cpu().numpy().astype(np.float64))
    codes = np.concatenate(codes)
    return active_units(codes), codes.shape[1]
