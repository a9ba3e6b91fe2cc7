import numpy as np
import pytest
import soundfile as sf
from scipy.signal.windows import blackmanharris

from sigvae.data import SignalSet, SynTone, SynToneConfig, load_audio_folder, load_npz, load_signals
from sigvae.errors import DataError


def test_syntone_factors_and_shapes(rng):
    src = SynTone(SynToneConfig(duration=0.05))
    assert src.factor_names == ["waveform", "frequency", "amplitude"]
    assert src.factor_sizes == [4, 400, 20]
    f, x = src.sample(10, rng)
    assert f.shape == (10, 3) and x.shape == (10, 1, 800) and x.dtype == np.float32
    idx = src.factors_to_index(f)
    np.testing.assert_array_equal(src.index_to_factors(idx), f)
    assert src.num_points == 32000


def test_syntone_reproducible_from_seed():
    src = SynTone(SynToneConfig(duration=0.05))
    a, b = src.signal_set(8, seed=3), src.signal_set(8, seed=3)
    np.testing.assert_array_equal(a.signals, b.signals)
    assert not np.array_equal(a.signals, src.signal_set(8, seed=4).signals)


@pytest.mark.parametrize("waveform", [0, 1, 2, 3])
def test_syntone_band_limited(waveform, rng):
    """No energy above Nyquist aliases back: every spectral peak is a harmonic of f0 below Nyquist."""
    src = SynTone(SynToneConfig(duration=1.0, random_phase=False))
    for fi in (0, 150, 399):
        f = np.array([[waveform, fi, 19]])
        x = src.sample_observations_from_factors(f, rng)[0, 0].astype(np.float64)
        spec = np.abs(np.fft.rfft(x * blackmanharris(len(x))))
        freqs = np.fft.rfftfreq(len(x), 1 / src.sample_rate)
        f0 = src.frequencies[fi]
        harmonics = f0 * np.arange(1, int(8000 // f0) + 1)
        near = np.min(np.abs(freqs[:, None] - harmonics[None, :]), axis=1) < 15.0
        off = spec[~near]
        assert off.max() < 1e-4 * spec.max(), f"energy away from harmonics for {src.config.waveforms[waveform]} at {f0:.0f} Hz"
        assert np.abs(x).max() == pytest.approx(src.amplitudes[19], rel=1e-6)


def test_syntone_amplitude_observable_in_model_input(rng):
    """The log-mel front end keeps amplitude: features shift by 20·log10(a ratio) / top_db."""
    import torch

    from sigvae.data.transforms import Frontend, FrontendConfig

    src = SynTone(SynToneConfig(duration=0.25, random_phase=False))
    fe = Frontend(FrontendConfig(), src.sample_rate, src.length)
    rows = np.array([[1, 100, a] for a in range(20)])
    feats = fe(torch.from_numpy(src.sample_observations_from_factors(rows, rng))).numpy()
    peak = feats.reshape(20, -1).max(axis=1)
    assert np.all(np.diff(peak) > 0), "louder clips must have larger features"
    expected = 20 * np.log10(src.amplitudes[-1] / src.amplitudes[0]) / fe.config.top_db
    assert peak[-1] - peak[0] == pytest.approx(expected, abs=0.01)


def test_syntone_rendering_does_not_depend_on_which_clips_share_a_block(rng):
    # The renderer works through blocks of clips; a clip must come out bit-identical
    # whether it is rendered alone or inside a batch that spans several blocks.
    src = SynTone(SynToneConfig(duration=0.05, random_phase=False))
    f = src.sample_factors(37, rng)
    together = src.sample_observations_from_factors(f, rng)
    alone = np.concatenate([src.sample_observations_from_factors(f[i : i + 1], rng) for i in range(len(f))])
    assert np.array_equal(together, alone)


def test_syntone_torch_renderer_matches_numpy():
    import torch

    src = SynTone(SynToneConfig(duration=0.1))
    f = src.sample_factors(24, np.random.default_rng(5))
    ref = src.sample_observations_from_factors(f, np.random.default_rng(9))
    got = src._render_torch(f, np.random.default_rng(9), torch.device("cpu"))  # the accelerator path
    assert got.dtype == torch.float32 and got.shape == ref.shape
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-6)
    # On the CPU, render_tensor is the NumPy clip itself.
    assert np.array_equal(src.render_tensor(f, np.random.default_rng(9), "cpu").numpy(), ref)


def test_device_source_renders_tensors_and_forwards_the_rest():
    import torch

    from sigvae import metrics as M
    from sigvae.data.base import DeviceSource

    src = SynTone(SynToneConfig(duration=0.05, num_freqs=6, num_amps=3))
    dev = src.on_device("cpu")
    assert isinstance(dev, DeviceSource)
    assert dev.factor_sizes == src.factor_sizes and dev.num_points == src.num_points
    obs = dev.sample_observations_from_factors(src.sample_factors(3, np.random.default_rng(0)), np.random.default_rng(1))
    assert torch.is_tensor(obs) and obs.shape == (3, 1, src.length)

    # An interventional score through the device view equals the one through the source.
    def encode(x):
        x = x.numpy() if torch.is_tensor(x) else x
        return x[:, 0, ::40].astype(np.float64)

    kw = dict(seed=3, batch_size=4, num_train=20, num_eval=10)
    assert M.beta_vae_score(dev, encode, **kw) == M.beta_vae_score(src, encode, **kw)


def test_signalset_validation():
    with pytest.raises(DataError, match="NaN"):
        SignalSet(np.array([[0.0, np.nan]]), 100)
    with pytest.raises(DataError, match="must match"):
        SignalSet(np.zeros((3, 10)), 100, factors=np.zeros((2, 1), int))
    with pytest.raises(DataError, match="integers"):
        SignalSet(np.zeros((2, 10)), 100, factors=np.array([[0.5], [1.0]]))
    with pytest.raises(DataError, match="shape"):
        SignalSet(np.zeros((2, 2, 2, 2)), 100)
    s = SignalSet(np.zeros((2, 10)), 100, factors=np.array([[0.0], [2.0]]))
    assert s.factors.dtype == np.int64 and s.factor_sizes == [3]


def test_npz_loader(tmp_path, rng):
    p = tmp_path / "d.npz"
    np.savez(p, signals=rng.standard_normal((5, 2, 64)), sample_rate=8000, factors=np.arange(5)[:, None], factor_names=np.array(["id"]))
    s = load_npz(p)
    assert s.signals.shape == (5, 2, 64) and s.factor_names == ["id"] and s.sample_rate == 8000
    np.savez(tmp_path / "bad.npz", sample_rate=8000)
    with pytest.raises(DataError, match="missing key 'signals'"):
        load_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "obj.npz", signals=np.array([object()], dtype=object), sample_rate=1)
    with pytest.raises(DataError, match="pickle"):
        load_npz(tmp_path / "obj.npz")
    (tmp_path / "trunc.npz").write_bytes(p.read_bytes()[:50])
    with pytest.raises(DataError, match="not a readable"):
        load_npz(tmp_path / "trunc.npz")


def test_audio_folder_with_factor_csv(tmp_path, rng):
    for i, n in enumerate([100, 80, 120]):
        sf.write(tmp_path / f"clip{i}.wav", 0.1 * rng.standard_normal(n), 8000)
    (tmp_path / "factors.csv").write_text("file,speaker,loud\nclip0.wav,anna,1\nclip1.wav,bob,0\nclip2,anna,2\n")
    s = load_audio_folder(tmp_path)
    assert s.signals.shape == (3, 1, 120) and s.factor_names == ["speaker", "loud"]
    np.testing.assert_array_equal(s.factors, [[0, 1], [1, 0], [0, 2]])
    (tmp_path / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(DataError, match="broken.wav"):
        load_audio_folder(tmp_path)


def test_load_signals_unknown_spec():
    with pytest.raises(DataError, match="neither a built-in source"):
        load_signals("no-such-thing")
