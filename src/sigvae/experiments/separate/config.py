"""Settings of the ``separate`` benchmark: the config dataclass, its profiles and measures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...config import check
from ..task import Metric, TaskConfig, loggers_setting, seeds_setting, setting, threads_setting

#: The separation methods, in report order, and the names readers see.
METHODS = ["separator", "nmf", "hpss", "irm"]
LABELS = {"separator": "separator VAE", "nmf": "NMF (supervised)", "hpss": "HPSS", "irm": "IRM (oracle)"}

#: Measures the summary ranks the methods on (dB, mean over sources and test tracks).
HEADLINE = [Metric("si_sdri", "SI-SDRi (dB)"), Metric("sdri", "SDRi (dB)")]
#: Measures reported beside them; the summary checks whether they separate the methods.
SECONDARY = [Metric("si_sdr", "SI-SDR out (dB)"), Metric("sdr", "SDR out (dB)"), Metric("sir", "SIR (dB)"),
             Metric("sar", "SAR (dB)"), Metric("speed", "speed (× real time)")]
#: Every column of the results table, in order: the input scores go beside the outputs.
TABLE = [Metric("si_sdr_input", "SI-SDR in (dB)"), SECONDARY[0], HEADLINE[0],
         Metric("sdr_input", "SDR in (dB)"), SECONDARY[1], HEADLINE[1], *SECONDARY[2:]]


@dataclass
class SeparateConfig(TaskConfig):
    """Every setting of the benchmark (a ``--config`` file may hold any of these keys)."""

    seeds: list[int] = seeds_setting([0, 1])
    logger: list[str] = loggers_setting()
    threads: int = threads_setting(0)  # all cores, as before the task interface: the separator is the heaviest model here
    methods: list[str] = setting(list(METHODS), flag=True, choices=METHODS, metavar="LIST",
                                 help=f"comma-separated subset of {','.join(METHODS)}")
    sample_rate: int = setting(8000, help="sample rate of the generated tracks (Hz, >= 8000)")
    train_tracks: int = setting(16, flag=True, metavar="N", help="training tracks per seed (separator and NMF)")
    val_tracks: int = setting(2, help="validation tracks per seed (separator loss; NMF's number of components)")
    # 4 per seed moved the margin over NMF by up to 3 dB (BENCHMARKS.md)
    test_tracks: int = setting(16, flag=True, metavar="N", help="test tracks per seed (from other seeds than training)")
    track_seconds: float = setting(6.0, help="length of every track (s)")
    crop_seconds: float = setting(0.5, help="length of the separator's training crops (s)")
    crops: int = setting(640, flag=True, metavar="N", help="training crops per epoch")
    # 6 left the training loss falling and seed 3 within 0.4 dB of NMF (BENCHMARKS.md)
    epochs: int = setting(12, flag=True, metavar="N", help="separator training epochs")
    batch_size: int = setting(16, help="separator training batch size")
    lr: float = setting(3e-3, help="separator learning rate")
    scheduler: Literal["none", "cosine"] = setting("cosine", help="learning-rate schedule: none or cosine")
    model: dict = setting({"n_fft": 256, "hop_length": 64}, help="separator model config (sigvae models separator)")
    nmf_components: list[int] = setting([4, 8, 16], help="NMF components per source to choose from on the validation tracks")
    nmf_iter: int = setting(150, help="NMF iterations")
    hpss_kernel: int = setting(17, help="HPSS median-filter length (frames and bins)")

    def validate(self) -> None:
        super().validate()
        bad = [m for m in self.methods if m not in METHODS]
        check(bool(self.methods) and not bad, f"unknown method {bad[0] if bad else ''!r}; choose from {', '.join(METHODS)}")
        check(self.sample_rate >= 8000, f"sample_rate must be >= 8000, got {self.sample_rate}")
        check(self.train_tracks >= 1 and self.test_tracks >= 1 and self.val_tracks >= 0, "need >= 1 train and test track")
        check(self.track_seconds >= max(0.5, self.crop_seconds), "track_seconds must be >= crop_seconds and >= 0.5")
        check(self.crops >= 1 and self.epochs >= 1 and self.batch_size >= 1, "crops, epochs and batch_size must be >= 1")
        check(bool(self.nmf_components) and min(self.nmf_components) >= 1, "nmf_components must list positive counts")

    @property
    def n_fft(self) -> int:
        return int(self.model.get("n_fft", 256))

    @property
    def hop(self) -> int:
        return int(self.model.get("hop_length", 64))


PROFILES = {
    "default": {},
    "tiny": {"seeds": [0], "train_tracks": 2, "val_tracks": 1, "test_tracks": 1, "track_seconds": 1.5,
             "crop_seconds": 0.5, "crops": 8, "epochs": 1, "batch_size": 4,
             "model": {"n_fft": 256, "hop_length": 64, "channels": [4, 8], "latent_channels": 2, "dilations": [1, 2]},
             "nmf_components": [3], "nmf_iter": 20},
}
