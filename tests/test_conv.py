"""The conv encoder/decoder plan: exact shapes for every input size, short inputs included."""

from __future__ import annotations

import pytest
import torch

from sigvae.errors import ConfigError
from sigvae.nn import ConvDecoder, ConvEncoder, conv_plan


@pytest.mark.parametrize("shape,stride", [
    ((1, 64, 16), 2),   # 0.25 s SynTone log-mel: the benchmark's default
    ((1, 64, 9), 2),    # 0.128 s: 9 frames, used to crash ("Kernel size can't be greater ...")
    ((1, 64, 1), 2),    # a single frame
    ((2, 3, 5), 2),     # both axes short
    ((1, 4000), 4),     # 0.25 s waveform
    ((1, 10), 4),       # a waveform shorter than the default stack can downsample
    ((1, 1), 4),
])
def test_encoder_decoder_shapes_for_any_input_size(shape, stride):
    torch.manual_seed(0)
    enc = ConvEncoder(shape, 6, channels=(8, 8, 16, 16), hidden_dim=32, stride=stride)
    dec = ConvDecoder(shape, 3, channels=(8, 8, 16, 16), hidden_dim=32, stride=stride)
    x = torch.randn(2, *shape)
    assert enc(x).shape == (2, 6)
    assert dec(torch.randn(2, 3)).shape == (2, *shape)
    # Every planned size is at least 1, and an axis is only downsampled while it is long enough.
    for before, after in zip(enc.sizes, enc.sizes[1:]):
        for b, a in zip(before, after):
            assert a >= 1 and a == (b // stride if b >= stride else b)


def test_plan_unchanged_for_inputs_that_always_worked():
    """Long enough inputs keep the original plan (so saved models still load)."""
    chans, sizes = conv_plan((1, 64, 16), (32, 32, 64, 64), 2)
    assert chans == [32, 32, 64, 64]
    assert sizes == [(64, 16), (32, 8), (16, 4), (8, 2), (4, 1)]
    enc = ConvEncoder((1, 64, 16), 16)
    assert [tuple(m.weight.shape) for m in enc.convs if isinstance(m, torch.nn.Conv2d)] == [
        (32, 1, 4, 4), (32, 32, 4, 4), (64, 32, 4, 4), (64, 64, 4, 4)]
    # A long waveform still gets extra layers until the flattened output is small.
    chans, sizes = conv_plan((1, 64000), (32, 32, 64, 64), 4)
    assert len(chans) > 4 and chans[-1] * sizes[-1][0] <= 8192


def test_short_axis_keeps_its_size_with_a_3_kernel():
    chans, sizes = conv_plan((1, 64, 9), (8, 8, 8, 8), 2)
    assert sizes == [(64, 9), (32, 4), (16, 2), (8, 1), (4, 1)]
    enc = ConvEncoder((1, 64, 9), 4, channels=(8, 8, 8, 8), hidden_dim=16)
    last = [m for m in enc.convs if isinstance(m, torch.nn.Conv2d)][-1]
    assert last.kernel_size == (4, 3) and last.stride == (2, 1)


def test_plan_refuses_bad_arguments_clearly():
    with pytest.raises(ConfigError, match="stride"):
        conv_plan((1, 64, 16), (8,), 1)
    with pytest.raises(ConfigError, match="at least one element"):
        conv_plan((1, 0, 16), (8,), 2)


def test_vae_on_short_syntone_clips_trains_a_step():
    """SynTone at --duration 0.128 (9 log-mel frames) builds and runs a training step."""
    from sigvae.data import make_source
    from sigvae.models import build_config, build_model

    src = make_source("syntone", {"duration": 0.128})
    x = torch.from_numpy(src.signal_set(4, 0).signals)
    for name in ("vae", "factor_vae", "beta_tcvae"):
        cfg = build_config(name, {"latent_dim": 3, "in_channels": 1, "length": x.shape[-1], "sample_rate": src.sample_rate,
                                  "channels": (8, 8, 8, 8), "hidden_dim": 16})
        model = build_model(name, cfg)
        assert model.feature_shape == (1, 64, 9)
        out = model.step({"x": x}, "train")
        assert all(torch.isfinite(v) for v in out.losses.values())
        assert model.reconstruct(x).shape == (4, 1, 64, 9)
