"""The benchmark's SimVowels data: training utterances of the train speakers, a balanced
evaluation set of unseen test speakers, and unlabelled test-speaker utterances for fine-tuning."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import DecVAEBenchmarkConfig


@dataclass
class BenchData:
    train: object  # SignalSet, train speakers
    test: object  # SignalSet, unseen test speakers (evaluation)
    adapt: object  # SignalSet, further unlabelled test-speaker utterances (fine-tuning)
    test_source: object  # the SimVowels source of the test speakers (encoder response)
    frame_vowels: np.ndarray  # [M, F] the vowel of each evaluation frame


def load_data(cfg: DecVAEBenchmarkConfig) -> BenchData:
    from ...data.base import SignalSet
    from ...data.simvowels import SimVowels, SimVowelsConfig

    common = {"vowels_per_utterance": cfg.vowels_per_utterance, "train_speakers": cfg.train_speakers,
              "val_speakers": 0, "test_speakers": cfg.test_speakers}
    train_src = SimVowels(SimVowelsConfig(split="train", **common))
    test_src = SimVowels(SimVowelsConfig(split="test", **common))
    train = train_src.signal_set(cfg.num_train, cfg.data_seed)
    # Balanced evaluation: every test speaker gets the same number of utterances.
    rng = np.random.default_rng(cfg.data_seed + 1)
    per = cfg.num_eval // cfg.test_speakers
    f = test_src.sample_factors(per * cfg.test_speakers, rng)
    f[:, 0] = np.repeat(np.arange(cfg.test_speakers), per)
    test = SignalSet(test_src.sample_observations_from_factors(f, rng), test_src.sample_rate, f,
                     list(test_src.factor_names), list(test_src.factor_sizes), "simvowels-test")
    adapt = test_src.signal_set(max(cfg.num_eval, 8), cfg.data_seed + 2)
    return BenchData(train, test, adapt, test_src, test_src.frame_vowels(f))


def halves(speakers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split utterance indices into two halves with every speaker in both (alternating per speaker)."""
    a, b = [], []
    for s in np.unique(speakers):
        idx = np.nonzero(speakers == s)[0]
        a += list(idx[0::2])
        b += list(idx[1::2])
    return np.sort(np.array(a)), np.sort(np.array(b))
