"""Measuring representations of the evaluation set: disentanglement metrics and probes on
frame and utterance codes, probes per subspace, the encoder response, active latent units."""

from __future__ import annotations

import copy
import math

import numpy as np

from .config import DecVAEBenchmarkConfig
from .data import BenchData, halves


def utterance_latents(model, signals: np.ndarray, batch: int = 16) -> dict[str, np.ndarray]:
    """Posterior means of a model trained on utterances (through ``model.latents``):
    ``z_mean`` [M, F, S, z] (frame codes per subspace), ``u_mean`` [M, S, s] (utterance codes)."""
    import torch

    model.eval()
    parts: dict[str, list] = {}
    with torch.no_grad():
        for i in range(0, len(signals), batch):
            lat = model.latents(torch.from_numpy(signals[i : i + batch]))
            for k in ("z_mean", "u_mean"):
                parts.setdefault(k, []).append(lat[k].numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def probe(x_tr, y_tr, x_te, y_te) -> float:
    """Test accuracy of standardised features → logistic regression (NaN with one class)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(y_tr)) < 2:
        return math.nan
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return float(clf.fit(x_tr, y_tr).score(x_te, y_te))


def score_representation(frame_codes: np.ndarray, utt_codes: np.ndarray, data: BenchData,
                         cfg: DecVAEBenchmarkConfig, seed: int) -> dict[str, float]:
    """Metrics of one representation: frame codes [M, F, D] and utterance codes [M, D']."""
    from ... import metrics

    speakers = data.test.factors[:, 0]
    a, b = halves(speakers)
    m, f, d = frame_codes.shape
    vowels = data.frame_vowels
    fac = np.stack([vowels, np.repeat(speakers[:, None], f, axis=1)], axis=-1)  # [M, F, 2]
    rng = np.random.default_rng(seed)
    # Each frame's utterance code beside its frame code: the model's whole representation.
    joint_codes = np.concatenate([frame_codes, np.repeat(utt_codes[:, None, :], f, axis=1)], axis=-1)

    def pick(idx):
        keep = rng.permutation(len(idx) * f)[: cfg.max_metric_frames]
        return (frame_codes[idx].reshape(-1, d)[keep], fac[idx].reshape(-1, 2)[keep],
                joint_codes[idx].reshape(len(idx) * f, -1)[keep])

    ca, fa, ja = pick(a)
    cb, fb, jb = pick(b)
    out: dict[str, float] = {}
    dci = metrics.dci(ca, fa, cb, fb, estimator=cfg.dci_estimator, seed=seed)
    out["dci_disentanglement"] = dci["disentanglement"]
    out["dci_completeness"] = dci["completeness"]
    out["dci_informativeness"] = dci["informativeness_test"]
    joint = metrics.dci(ja, fa, jb, fb, estimator=cfg.dci_estimator, seed=seed)
    out["dci_joint_disentanglement"] = joint["disentanglement"]
    out["dci_joint_informativeness"] = joint["informativeness_test"]
    allc, allf = np.concatenate([ca, cb]), np.concatenate([fa, fb])
    out["modularity"] = metrics.modularity(allc, allf)
    out["explicitness"] = metrics.explicitness(ca, fa, cb, fb)
    out["irs"] = metrics.irs(allc, allf)
    out["mig"] = metrics.mig(allc, allf)
    out["vowel_acc"] = probe(frame_codes[a].reshape(-1, d), vowels[a].reshape(-1),
                             frame_codes[b].reshape(-1, d), vowels[b].reshape(-1))
    out["speaker_acc"] = probe(utt_codes[a], speakers[a], utt_codes[b], speakers[b])
    return out


def subspace_probes(codes: dict[str, np.ndarray], data: BenchData) -> np.ndarray:
    """Probe accuracy of each subspace alone: [S, 2] (vowel per frame, speaker per utterance)."""
    speakers = data.test.factors[:, 0]
    a, b = halves(speakers)
    z, u = codes["z_mean"], codes["u_mean"]
    vowels = data.frame_vowels
    res = np.zeros((z.shape[2], 2))
    for s in range(z.shape[2]):
        zs = z[:, :, s]
        res[s, 0] = probe(zs[a].reshape(-1, zs.shape[-1]), vowels[a].reshape(-1), zs[b].reshape(-1, zs.shape[-1]),
                          vowels[b].reshape(-1))
        res[s, 1] = probe(u[a, s], speakers[a], u[b, s], speakers[b])
    return res


def encoder_response(model, data: BenchData, cfg: DecVAEBenchmarkConfig) -> dict:
    """Vary one factor with the others fixed: {factor: (values, [S, n] means, [S, n] stds)} of
    each subspace's frame codes projected on its first principal direction."""
    src = copy.copy(data.test_source)
    c = src.config
    rng = np.random.default_rng(123)
    v = c.vowels_per_utterance
    ref = utterance_latents(model, data.test.signals)["z_mean"]  # directions fitted on the evaluation set
    dirs = []
    for s in range(ref.shape[2]):
        zs = ref[:, :, s].reshape(-1, ref.shape[-1])
        _, _, vt = np.linalg.svd(zs - zs.mean(0), full_matrices=False)
        dirs.append((zs.mean(0), vt[0]))
    vts = np.exp(np.linspace(np.log(c.vt_min), np.log(c.vt_max), cfg.response_points))
    src.speaker_vt = np.concatenate([vts, [1.0]])
    # vowel sweep: speaker with vt = 1, every utterance one vowel; vt sweep: vowel "a".
    fv = np.array([[len(vts)] + [k] * v for k in range(5)])
    fs = np.array([[i] + [0] * v for i in range(len(vts))])
    resp = {}
    for name, facs, values in (("vowel", fv, np.arange(5)), ("vocal-tract factor", fs, vts)):
        sig = src.sample_observations_from_factors(facs, rng)
        z = utterance_latents(model, sig)["z_mean"]  # [n, F, S, z]
        proj = np.stack([((z[:, :, s] - mu) @ d) for s, (mu, d) in enumerate(dirs)])  # [S, n, F]
        resp[name] = (values, proj.mean(-1), proj.std(-1))
    return resp


def activity_warning(name: str, seed: int, codes: np.ndarray, what: str) -> str | None:
    """A warning line when posterior means ``codes`` [N, D] have no active unit (a collapsed
    posterior) or fewer than half of their D units active; None otherwise."""
    from ...metrics import ACTIVE_VARIANCE, active_units

    flat = codes.reshape(-1, codes.shape[-1])
    active, total = active_units(flat), flat.shape[1]
    if active == 0:
        return (f"{name}, seed {seed}: collapsed posterior — none of its {total} {what} latents varies over the "
                f"test set (variance of the posterior mean ≤ {ACTIVE_VARIANCE}).")
    if active < total / 2:
        return (f"{name}, seed {seed}: only {active} of {total} {what} latents active (variance of the posterior "
                f"mean > {ACTIVE_VARIANCE} over the test set): a partly collapsed posterior.")
    return None
