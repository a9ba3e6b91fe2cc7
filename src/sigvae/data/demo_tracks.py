"""Demo tracks for source separation: a sung voice over harmonic notes and percussion.

Every track is generated from one seed, so the whole separation path (train, separate,
benchmark) runs with nothing downloaded:

- **vocals**: additive formant synthesis. A glottal-like harmonic source (amplitudes
  falling about 9 dB/octave up to 0.45·sample rate) whose fundamental follows a melody
  of sung notes with portamento between notes and a delayed vibrato (4.5–6.5 Hz,
  20–60 cents); each harmonic is weighted by the vocal tract, three resonances
  (F1–F3 of a vowel chosen per note) evaluated at the harmonic's instantaneous
  frequency, so the formants stay put while the pitch moves. A little breath noise.
- **accompaniment**: a bass line and plucked chord notes (harmonic tones with
  exponential decays, from the same key as the melody) plus percussive hits on a
  tempo grid: kick (a pitch-dropping sine), snare (band-passed noise + tone) and
  hi-hat (high-passed noise).

With ``three_stems`` the accompaniment is written as ``harmonic`` and ``drums`` stems.
``mixture`` is the exact sum of the stems; the vocal-to-accompaniment ratio is drawn
from ``[-snr_range, +snr_range]`` dB and the mixture peak is 0.9.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import butter, sosfilt

from ..config import check

# (F1, F2, F3) in Hz and bandwidths for five sung vowels (a, e, i, o, u), soprano-ish.
VOWELS = np.array([
    [800.0, 1150.0, 2900.0],
    [450.0, 1900.0, 2700.0],
    [330.0, 2300.0, 3000.0],
    [500.0, 900.0, 2600.0],
    [350.0, 700.0, 2700.0],
])
VOWEL_BW = np.array([90.0, 110.0, 160.0])
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])


@dataclass
class DemoTracksConfig:
    """How demo tracks are drawn (seconds, Hz, dB)."""

    duration: float = 8.0
    sample_rate: int = 16000
    snr_range: float = 5.0
    three_stems: bool = False

    def validate(self) -> None:
        check(0.5 <= self.duration < float("inf"), f"duration must be >= 0.5 s and finite, got {self.duration}")
        check(self.sample_rate >= 8000, f"sample_rate must be >= 8000 Hz, got {self.sample_rate}")
        check(self.snr_range >= 0, f"snr_range must be >= 0, got {self.snr_range}")

    @property
    def stem_names(self) -> list[str]:
        return ["vocals", "harmonic", "drums"] if self.three_stems else ["vocals", "accompaniment"]


def _midi_hz(m: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


def _resonance(f: np.ndarray, fc: float, bw: float) -> np.ndarray:
    """Magnitude of a second-order resonance at ``fc`` Hz with bandwidth ``bw``, 1 at the peak."""
    return 1.0 / np.sqrt(1.0 + ((f**2 - fc**2) / (f * bw + 1e-9)) ** 2)


def _envelope(n: int, sr: int, attack: float, release: float) -> np.ndarray:
    env = np.ones(n)
    a, r = max(1, int(attack * sr)), max(1, int(release * sr))
    a = min(a, n)
    env[:a] = np.linspace(0.0, 1.0, a)
    if r < n:
        env[-r:] *= np.linspace(1, 0, r)
    return env


def _vocals(rng: np.random.Generator, cfg: DemoTracksConfig, key: int, scale: np.ndarray) -> np.ndarray:
    sr, n = cfg.sample_rate, int(round(cfg.duration * cfg.sample_rate))
    f0 = np.zeros(n)
    amp = np.zeros(n)
    formants = np.zeros((n, 3))
    base = key + 12 * int(rng.integers(4, 6))  # melody around MIDI 48–71 + key
    pos = int(rng.uniform(0.0, 0.4) * sr)
    degree = int(rng.integers(0, 7))
    prev_pitch = None
    while pos < n - int(0.2 * sr):
        dur = int(rng.uniform(0.3, 1.1) * sr)
        end = min(n, pos + dur)
        degree = int(np.clip(degree + rng.integers(-2, 3), -3, 9))
        octave, step = divmod(degree, 7)
        pitch = base + 12 * octave + scale[step]
        seg = np.arange(end - pos) / sr
        # Portamento: glide from the previous note over the first 60 ms.
        start = pitch if prev_pitch is None else prev_pitch
        glide = start + (pitch - start) * np.minimum(1.0, seg / 0.06)
        vib_rate, vib_depth = rng.uniform(4.5, 6.5), rng.uniform(0.2, 0.6)  # semitones
        vib_on = np.clip((seg - 0.15) / 0.2, 0.0, 1.0)
        midi = glide + vib_depth * vib_on * np.sin(2 * np.pi * vib_rate * seg + rng.uniform(0, 2 * np.pi))
        f0[pos:end] = _midi_hz(midi)
        amp[pos:end] = rng.uniform(0.6, 1.0) * _envelope(end - pos, sr, 0.04, 0.08)
        vowel = VOWELS[rng.integers(0, len(VOWELS))] * rng.uniform(0.95, 1.08)
        formants[pos:end] = vowel
        prev_pitch = pitch
        pos = end + int(rng.choice([0.0, 0.0, rng.uniform(0.05, 0.4)]) * sr)
    # Hold the pitch through gaps so the phase stays continuous (amplitude is 0 there).
    voiced = amp > 0
    if voiced.any():
        idx = np.where(voiced, np.arange(n), 0)
        np.maximum.accumulate(idx, out=idx)
        f0 = np.where(voiced, f0, f0[idx])
        f0[f0 <= 0] = f0[voiced][0]
        formants = np.where(voiced[:, None], formants, formants[idx])
        formants[formants[:, 0] <= 0] = formants[voiced][0]
    phase = 2 * np.pi * np.cumsum(f0) / sr
    out = np.zeros(n)
    max_h = int(0.45 * sr / max(80.0, f0.min()))
    for h in range(1, max_h + 1):
        fh = h * f0
        ok = fh < 0.45 * sr
        if not ok.any():
            break
        gain = h**-1.5 * sum(_resonance(fh, formants[:, k], VOWEL_BW[k]) * (0.6**k) for k in range(3))
        out += np.where(ok, gain, 0.0) * np.sin(h * phase)
    breath = sosfilt(butter(2, [1500, min(6000, 0.45 * sr)], "bandpass", fs=sr, output="sos"), rng.standard_normal(n))
    return amp * (out + 0.02 * breath)


def _tone(f: float, n: int, sr: int, decay: float, bright: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    out = np.zeros(n)
    for h in range(1, int(0.45 * sr / f) + 1):
        out += (h**-bright) * np.exp(-t * decay * (1 + 0.3 * h)) * np.sin(2 * np.pi * h * f * t + rng.uniform(0, 2 * np.pi))
    return out * _envelope(n, sr, 0.005, 0.03)


def _accompaniment(rng: np.random.Generator, cfg: DemoTracksConfig, key: int, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sr, n = cfg.sample_rate, int(round(cfg.duration * cfg.sample_rate))
    beat = 60.0 / rng.uniform(85, 140)
    harm = np.zeros(n)
    drums = np.zeros(n)
    # Chords change every bar (4 beats); bass on beats 1 and 3; plucked chord tones on every beat.
    bar = 0
    while bar * 4 * beat < cfg.duration:
        root = int(rng.choice([0, 3, 4, 5]))
        chord = [scale[(root + i) % 7] + 12 * ((root + i) // 7) for i in (0, 2, 4)]
        for b in range(4):
            start = int((bar * 4 + b) * beat * sr)
            if start >= n:
                break
            length = min(n - start, int(beat * sr * (2 if b % 2 == 0 else 1)))
            if b % 2 == 0:
                harm[start:start + length] += 0.5 * _tone(float(_midi_hz(key + 36 + chord[0])), length, sr, 3.0, 1.0, rng)
            for c in chord:
                if rng.random() < 0.7:
                    f = float(_midi_hz(key + 60 + c + 12 * int(rng.integers(-1, 1))))
                    harm[start:start + length] += 0.18 * _tone(f, length, sr, 5.0, 1.6, rng)
        bar += 1
    hit_len = int(0.25 * sr)
    t = np.arange(hit_len) / sr
    kick = np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-t * 30)) / sr) * np.exp(-t * 18)
    hp = butter(4, min(7000, 0.4 * sr), "highpass", fs=sr, output="sos")
    bp = butter(2, [1000, min(5000, 0.45 * sr)], "bandpass", fs=sr, output="sos")
    for i in range(int(cfg.duration / (beat / 2)) + 1):
        start = int(i * beat / 2 * sr)
        if start >= n:
            break
        m = min(hit_len, n - start)
        if i % 4 == 0 or (i % 8 == 5 and rng.random() < 0.5):
            drums[start:start + m] += 0.9 * kick[:m]
        if i % 4 == 2:
            noise = sosfilt(bp, rng.standard_normal(hit_len)) * np.exp(-t * 25)
            drums[start:start + m] += (0.8 * noise + 0.3 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 30))[:m]
        hat = sosfilt(hp, rng.standard_normal(hit_len)) * np.exp(-t * 60)
        drums[start:start + m] += rng.uniform(0.15, 0.3) * hat[:m]
    return harm, drums


def demo_track(seed: int, config: DemoTracksConfig | None = None) -> dict[str, np.ndarray]:
    """One track: ``{"mixture": [T], <stem>: [T], ...}`` float32 at ``config.sample_rate``.

    The mixture is the exact sum of the stems; the same seed gives the same track.
    """
    from ..limits import check_allocation, check_sample_rate

    cfg = config or DemoTracksConfig()
    check_sample_rate(cfg.sample_rate, "demo track")
    # About 16 float64 arrays of the track's length are alive at once while rendering.
    check_allocation(f"demo track of {cfg.duration:g} s at {cfg.sample_rate} Hz", (16, round(cfg.duration * cfg.sample_rate)))
    rng = np.random.default_rng([seed, 7007])
    key = int(rng.integers(0, 12))
    scale = MAJOR if rng.random() < 0.6 else MINOR
    voice = _vocals(rng, cfg, key, scale)
    harm, drums = _accompaniment(rng, cfg, key, scale)
    acc = harm + drums

    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x**2)) + 1e-12)

    ratio_db = rng.uniform(-cfg.snr_range, cfg.snr_range)
    g_voice = 10 ** (ratio_db / 20) * rms(acc) / rms(voice)
    voice = voice * g_voice
    mix = voice + acc
    # Peak 0.9 over the mixture and every stem, so no WAV writer rescales a stem on its own.
    g = 0.9 / max(1e-9, *(float(np.abs(x).max()) for x in (mix, voice, harm, drums, acc)))
    stems = {"vocals": voice * g}
    if cfg.three_stems:
        stems.update({"harmonic": harm * g, "drums": drums * g})
    else:
        stems["accompaniment"] = acc * g
    out = {k: v.astype(np.float32) for k, v in stems.items()}
    out["mixture"] = np.sum([out[k] for k in cfg.stem_names], axis=0).astype(np.float32)
    return out


def write_demo_tracks(out: str | Path, n: int, seed: int = 0, config: DemoTracksConfig | None = None) -> list[Path]:
    """Write ``n`` track folders ``out/track_000/{mixture,<stems>}.wav`` (atomically, as a whole).

    Track i is :func:`demo_track` of seed ``seed * 100_000 + i``. Returns the folders.
    """
    from ..io import safe_name, staged_dir, write_wav

    cfg = config or DemoTracksConfig()
    names = []
    with staged_dir(out) as stage:
        for i in range(n):
            track = demo_track(seed * 100_000 + i, cfg)
            folder = stage / f"track_{i:03d}"
            for name, wave in track.items():
                write_wav(folder / f"{safe_name(name, 'stem name')}.wav", wave, cfg.sample_rate)
            names.append(Path(out) / folder.name)
    return names
