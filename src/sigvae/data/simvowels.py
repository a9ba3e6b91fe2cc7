"""SimVowels (seed 000): synthetic vowel utterances with a known vowel per frame and speaker.

An utterance is ``vowels_per_utterance`` vowels of ``vowel_ms`` each, all spoken by one
speaker. Source–filter synthesis per vowel segment (vectorised, FFT domain):

    excitation  = glottal pulse train at F0 = f0 / vt  (+ a little aspiration noise)
    envelope(f) = Σ_k a_k / (1 + ((f − F_k / vt) / (bw / 2))²),   a = (1, 0.5, 0.3)
    utterance   = excitation filtered by the envelope, RMS-normalised, + white noise at ``snr_db``

with canonical formants F1–F3 of five vowels (a, e, I, aw, u; Peterson & Barney 1952 male
means) and ``vt`` the speaker's vocal-tract factor: larger tracts lower every formant and F0.

Speakers: ``vt`` of every speaker is drawn at random (log-uniform in [vt_min, vt_max]) from
``speaker_seed``, once for all splits; speakers are then dealt to train / val / test in the
counts given, so splits never share a speaker. (The original overwrote the random factor
with a midpoint; here it stays random.) Factors per utterance: ``speaker`` (index within the
split) and ``vowel_0 … vowel_{V−1}``; :meth:`SimVowels.frame_vowels` gives the vowel of every
analysis frame (the vowel at the frame's centre).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import check
from ..decompose import num_frames
from ..limits import check_allocation, check_sample_rate
from .base import GroundTruthSource

VOWELS = ("a", "e", "I", "aw", "u")
#: Canonical formants F1, F2, F3 in Hz (adult male means of Peterson & Barney 1952).
FORMANTS = np.array([
    [730.0, 1090.0, 2440.0],  # a  (father)
    [530.0, 1840.0, 2480.0],  # e  (bet)
    [390.0, 1990.0, 2550.0],  # I  (bit)
    [570.0, 840.0, 2410.0],   # aw (bought)
    [300.0, 870.0, 2240.0],   # u  (boot)
])


@dataclass
class SimVowelsConfig:
    """Settings of the SimVowels generator."""

    sample_rate: int = 16000
    vowels_per_utterance: int = 8
    vowel_ms: float = 100.0
    split: str = "train"
    train_speakers: int = 10
    val_speakers: int = 5
    test_speakers: int = 5
    speaker_seed: int = 1234
    vt_min: float = 0.8
    vt_max: float = 1.25
    f0: float = 120.0
    f0_jitter: float = 0.02
    bandwidth: float = 200.0
    formant_amplitudes: tuple[float, ...] = (1.0, 0.5, 0.3)
    aspiration: float = 0.05
    snr_db: float = 15.0
    frame_length: int = 400
    frame_stride: int = 320

    def validate(self) -> None:
        check(self.sample_rate >= 8000, f"sample_rate must be >= 8000 Hz, got {self.sample_rate}")
        check(self.vowels_per_utterance >= 1, "vowels_per_utterance must be >= 1")
        check(0 < self.vowel_ms < float("inf"), "vowel_ms must be positive and finite")
        check(self.split in ("train", "val", "test"), f"split must be train, val or test, got {self.split!r}")
        check(min(self.train_speakers, self.val_speakers, self.test_speakers) >= 0, "speaker counts must be >= 0")
        check(self.speakers_in_split >= 1, f"the {self.split} split has no speakers")
        check(0 < self.vt_min <= self.vt_max, "need 0 < vt_min <= vt_max")
        check(self.f0 > 0 and self.bandwidth > 0, "f0 and bandwidth must be positive")
        check(len(self.formant_amplitudes) == 3, "formant_amplitudes needs 3 values (F1, F2, F3)")
        check(self.frame_length >= 1 and self.frame_stride >= 1, "frame_length and frame_stride must be >= 1")
        check(FORMANTS.max() / self.vt_min < 0.95 * self.sample_rate / 2, "formants above Nyquist: raise vt_min or sample_rate")

    @property
    def speakers_in_split(self) -> int:
        return {"train": self.train_speakers, "val": self.val_speakers, "test": self.test_speakers}[self.split]


class SimVowels(GroundTruthSource):
    """Ground-truth vowel utterances: factors (speaker, vowel_0 … vowel_{V−1}); observations [n, 1, T]."""

    name = "simvowels"
    #: Per sample: float64 F0, phase, excitation and voiced arrays, the complex spectrum and
    #: the [3, F] formant envelope of every segment, and the float32 result.
    bytes_per_value = 64

    def __init__(self, config: SimVowelsConfig | None = None):
        self.config = config or SimVowelsConfig()
        self.config.validate()
        c = self.config
        check_sample_rate(c.sample_rate, "simvowels")
        check_allocation("simvowels speakers and vowel factors",
                         (c.train_speakers + c.val_speakers + c.test_speakers + c.vowels_per_utterance,), 128)
        self.sample_rate = int(c.sample_rate)
        self.channels = 1
        self.segment = int(round(c.vowel_ms * c.sample_rate / 1000))
        self.length = self.segment * c.vowels_per_utterance
        total = c.train_speakers + c.val_speakers + c.test_speakers
        rng = np.random.default_rng(c.speaker_seed)
        all_vt = np.exp(rng.uniform(np.log(c.vt_min), np.log(c.vt_max), size=total))
        start = {"train": 0, "val": c.train_speakers, "test": c.train_speakers + c.val_speakers}[c.split]
        #: Vocal-tract factor of each speaker in this split.
        self.speaker_vt = all_vt[start : start + c.speakers_in_split]
        self.vowels = VOWELS
        self.factor_names = ["speaker"] + [f"vowel_{i}" for i in range(c.vowels_per_utterance)]
        self.factor_sizes = [c.speakers_in_split] + [len(VOWELS)] * c.vowels_per_utterance

    # --- ground truth per frame -------------------------------------------------------
    @property
    def frames_per_utterance(self) -> int:
        return num_frames(self.length, self.config.frame_length, self.config.frame_stride)

    def frame_vowels(self, factors: np.ndarray) -> np.ndarray:
        """Vowel index of every analysis frame: factors [n, K] → int64 [n, F] (vowel at the frame centre)."""
        f = np.asarray(factors, dtype=np.int64).reshape(-1, self.num_factors)
        c = self.config
        centres = np.arange(self.frames_per_utterance) * c.frame_stride + c.frame_length // 2
        seg = np.minimum(centres // self.segment, c.vowels_per_utterance - 1)
        return f[:, 1 + seg]

    # --- rendering -----------------------------------------------------------------------
    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c = self.config
        f = np.asarray(factors, dtype=np.int64).reshape(-1, self.num_factors)
        n, v, seg, sr = f.shape[0], c.vowels_per_utterance, self.segment, self.sample_rate
        vt = self.speaker_vt[f[:, 0]]  # [n]
        # Glottal pulses: one phase accumulator per utterance, F0 with slow random jitter.
        f0 = (c.f0 / vt)[:, None] * (1 + c.f0_jitter * rng.standard_normal((n, v)).repeat(seg, axis=1))
        phase = np.cumsum(f0 / sr, axis=1) + rng.uniform(0, 1, size=(n, 1))
        exc = np.diff(np.floor(phase), axis=1, prepend=np.floor(phase[:, :1])).astype(np.float64)
        exc += c.aspiration * rng.standard_normal(exc.shape)
        # Filter each vowel segment by its formant envelope (zero-phase, FFT domain).
        segs = exc.reshape(n * v, seg)
        freqs = np.fft.rfftfreq(seg, 1.0 / sr)
        formants = FORMANTS[f[:, 1:].reshape(-1)] / np.repeat(vt, v)[:, None]  # [n·v, 3]
        amps = np.asarray(c.formant_amplitudes)
        env = (amps[None, :, None] / (1 + ((freqs[None, None, :] - formants[:, :, None]) / (c.bandwidth / 2)) ** 2)).sum(1)
        voiced = np.fft.irfft(np.fft.rfft(segs, axis=1) * env, n=seg, axis=1).reshape(n, v * seg)
        voiced /= np.maximum(np.sqrt((voiced**2).mean(axis=1, keepdims=True)), 1e-12)
        voiced *= 0.1
        noise_rms = 0.1 * 10 ** (-c.snr_db / 20)
        out = voiced + noise_rms * rng.standard_normal(voiced.shape)
        return out[:, None, :].astype(np.float32)

    def speaker_split(self, split: str) -> SimVowels:
        """The same generator for another split (same speaker draw, disjoint speakers)."""
        from dataclasses import replace

        return SimVowels(replace(self.config, split=split))
