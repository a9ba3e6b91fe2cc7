"""Choose UCR VQ-VAE settings on the training split only: cross-validated SVM accuracy of the codes.

The UCR benchmark's targets are test accuracies, so a setting picked by looking at them is
tuned on the test set. This script scores each candidate setting the way a user without
test labels would: a Barlow Twins VQ-VAE is trained on the training split (unsupervised,
as in ``sigvae benchmark ucr``), the training series are encoded, and a linear SVM (C = 1,
features standardised inside each fold) is cross-validated on those training codes with
their labels (stratified k-fold, k = 5 or the smallest class count). The test accuracy of
the same model (SVM fitted on all training codes, as the benchmark does) is printed beside
it for the record but never enters the choice. Run from the repository root::

    PYTHONPATH=src python benchmarks/ucr_select.py --candidates cands.yaml --seeds 0,1,2

``cands.yaml`` maps a candidate's name to ``{steps: N, model: {VQ-VAE settings}}`` (both
optional; the benchmark's default profile fills the rest). Prints, per data set and
candidate, CV and test accuracy (mean over seeds) and marks the candidate with the best CV
accuracy per data set and over all data sets; ``--json FILE`` keeps every number.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np


def main() -> None:
    import torch

    from sigvae.config import load_config_file
    from sigvae.data.ucr import load_ucr
    from sigvae.experiments.common import BenchmarkProgress
    from sigvae.experiments.ucr.config import DEFAULT_DATASETS, PROFILES, REPRESENTATIONS
    from sigvae.experiments.ucr.scoring import represent, train_one
    from sigvae.metrics.probes import cross_validated_accuracy, probe_accuracies

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--candidates", required=True, help="YAML/JSON: name -> {steps, model}")
    p.add_argument("--datasets", default=",".join(DEFAULT_DATASETS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--gamma", type=float, default=0.2, help="Barlow Twins weight of the model that is scored")
    p.add_argument("--representation", default="segments",
                   help="which representation(s) the SVM sees, comma-separated (segments, flat, pooled, codes, pre); "
                        "with several, each candidate is scored once per representation of the same trained model")
    p.add_argument("--json", help="write every (data set, candidate, seed) result here")
    args = p.parse_args()
    torch.set_num_threads(1)
    cands = load_config_file(args.candidates)
    seeds = [int(s) for s in args.seeds.split(",")]
    reps = args.representation.split(",")
    if any(r not in REPRESENTATIONS for r in reps):
        p.error(f"--representation: {args.representation!r}; choose from {', '.join(REPRESENTATIONS)}")
    base = PROFILES["default"]
    results = []
    progress = BenchmarkProgress(1, enabled=False)
    for name in args.datasets.split(","):
        data = load_ucr(name)
        for cand, spec in cands.items():
            spec = spec or {}
            model = {**base["model"], **(spec.get("model") or {})}
            steps = int(spec.get("steps", base["steps"]))
            for seed in seeds:
                start = time.time()
                with tempfile.TemporaryDirectory() as tmp:
                    result, _ = train_one(data, args.gamma, seed, steps, model, tmp, progress)
                all_tr = represent(result.model, data.x_train)
                all_te = represent(result.model, data.x_test)
                for rep in reps:
                    label = cand if len(reps) == 1 else f"{cand}/{rep}"
                    cv = cross_validated_accuracy(all_tr[rep], data.y_train, seed)
                    test = probe_accuracies(all_tr[rep], data.y_train, all_te[rep], data.y_test, seed=seed)["svm"]
                    results.append({"dataset": name, "candidate": label, "seed": seed, "cv": cv, "test": test,
                                    "seconds": time.time() - start})
                    print(f"{name:18s} {label:14s} seed {seed}: cv {cv:.3f} test {test:.3f} ({time.time() - start:.0f} s)",
                          flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    names = list(dict.fromkeys(r["dataset"] for r in results))
    labels = list(dict.fromkeys(r["candidate"] for r in results))

    def mean(key, **where):
        return float(np.mean([r[key] for r in results if all(r[k] == v for k, v in where.items())]))

    print(f"\nmean over seeds {seeds}: CV accuracy on the training split / test accuracy; * = best CV")
    print(f"{'candidate':14s} " + " ".join(f"{n[:16]:>17s}" for n in names) + f" {'mean':>13s}")
    best = {n: max(labels, key=lambda c: mean("cv", dataset=n, candidate=c)) for n in names}
    overall = max(labels, key=lambda c: np.mean([mean("cv", dataset=n, candidate=c) for n in names]))
    for cand in labels:
        cells = [f"{mean('cv', dataset=n, candidate=cand):.3f}/{mean('test', dataset=n, candidate=cand):.3f}{'*' if best[n] == cand else ' '}"
                 for n in names]
        cv_all = np.mean([mean("cv", dataset=n, candidate=cand) for n in names])
        te_all = np.mean([mean("test", dataset=n, candidate=cand) for n in names])
        print(f"{cand:14s} " + " ".join(f"{c:>17s}" for c in cells) + f" {cv_all:.3f}/{te_all:.3f}{'*' if cand == overall else ' '}")


if __name__ == "__main__":
    main()
