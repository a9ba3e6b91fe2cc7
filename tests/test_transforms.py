import numpy as np
import torch

from sigvae.data.transforms import Frontend, FrontendConfig, mel_filterbank


def _tone(sr=8000, n=4096):
    t = torch.arange(n) / sr
    return (0.5 * torch.sin(2 * torch.pi * 440 * t) + 0.2 * torch.sin(2 * torch.pi * 1250 * t)).reshape(1, 1, -1)


def test_stft_inverse_with_kept_phase_is_exact():
    fe = Frontend(FrontendConfig(kind="stft", n_fft=256, hop_length=64, top_db=160), 8000, 4096)
    x = _tone()
    phase = torch.angle(fe._stft(x))
    y = fe.inverse(fe(x), phase=phase)
    assert y.shape == x.shape
    assert torch.allclose(x, y, atol=1e-4)


def test_griffin_lim_recovers_magnitude():
    fe = Frontend(FrontendConfig(kind="stft", n_fft=256, hop_length=64, griffin_lim_iters=60), 8000, 4096)
    x = _tone()
    y = fe.inverse(fe(x))
    mx, my = fe._stft(x).abs(), fe._stft(y).abs()
    assert float((mx - my).norm() / mx.norm()) < 0.2


def test_logmel_shapes_and_filterbank():
    fb = mel_filterbank(16000, 512, 40)
    assert fb.shape == (40, 257) and np.all(fb >= 0) and np.all(fb.max(axis=1) > 0)
    fe = Frontend(FrontendConfig(kind="logmel", n_fft=512, hop_length=128, n_mels=40), 16000, 8000)
    f = fe(torch.zeros(2, 1, 8000))
    assert f.shape == (2, 1, 40, 63)
    assert float(f.max()) == 0.0  # silence sits at the floor
    w = fe.inverse(fe(_tone(16000, 8000)))
    assert w.shape == (1, 1, 8000) and torch.isfinite(w).all()


def test_auto_frontend_picks_by_data():
    assert FrontendConfig().resolved(16000, 16000).kind == "logmel"
    assert FrontendConfig().resolved(100, 150).kind == "waveform"
