"""The interface every sigvae model shares, and the model registry.

A model is a config dataclass plus a :class:`SigModel` (a torch module), registered
under one name. Training, evaluation and reports rely only on this interface:

- ``step(batch, stage)`` → :class:`StepOutput`: one loss per optimiser (the first is the
  model's objective, used for validation and checkpoint selection) and scalars to log;
- ``optimizer_specs()`` → the parameter groups, one optimiser each (FactorVAE has two);
- ``embed(x)`` → the representation used by evaluation, [B, D];
- optional capabilities (``encode``, ``decode``, ``sample``, ``to_waveform``), which raise
  :class:`~sigvae.errors.NotSupportedError` where a model has no such thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn

from ..config import check
from ..errors import NotSupportedError
from ..registry import Registry


@dataclass
class ModelConfig:
    """Settings every model has; ``in_channels``, ``length`` and ``sample_rate`` come from the data."""

    in_channels: int = 1
    length: int = 16000
    sample_rate: int = 16000

    def validate(self) -> None:
        """Raise :class:`~sigvae.errors.ConfigError` (one line naming the field) for a value
        out of range; subclasses check their own fields after calling this."""
        check(self.in_channels >= 1, f"in_channels must be >= 1, got {self.in_channels}")
        check(self.length >= 1, f"length must be >= 1, got {self.length}")
        check(self.sample_rate >= 1, f"sample_rate must be >= 1, got {self.sample_rate}")


class Posterior(NamedTuple):
    """A diagonal Gaussian: ``mean`` and ``logvar`` [B, D] (natural log of the variance)."""

    mean: torch.Tensor
    logvar: torch.Tensor


class StepOutput(NamedTuple):
    """What ``SigModel.step`` returns.

    ``losses``: one scalar per entry of ``optimizer_specs()``, same order and names. Each
    loss must give gradients only to its own optimiser's parameters: training back-propagates
    their sum once per step, then steps every optimiser.
    ``logs``: scalar tensors to log (the loss terms, codebook usage, ...).
    """

    losses: dict[str, torch.Tensor]
    logs: dict[str, torch.Tensor]


@dataclass
class OptimizerSpec:
    """One optimiser: its name, parameters, and settings overriding the training config's."""

    name: str
    params: list[nn.Parameter]
    lr: float | None = None
    betas: tuple[float, float] | None = None
    weight_decay: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SigModel(nn.Module):
    """Base class of every sigvae model (see the module docstring for the contract)."""

    config_class: type[ModelConfig] = ModelConfig
    #: The registry name, filled in when the model is built through :func:`build_model`.
    registry_name: str = ""
    #: True for models trained on pairs of observations sharing some factors (batches carry
    #: ``x`` and ``x2``, see ``sigvae.data.pairs``): training builds pair datasets for them.
    needs_pairs: bool = False
    #: Training steps (batches) done before the current one. The training path sets it before
    #: each ``step(batch, "train")`` from Lightning's step counter, which checkpoints carry, so
    #: a resumed run sees the same values as an uninterrupted one. Losses that follow a
    #: schedule (annealed_vae's capacity) read it; 0 for a model that is not being trained.
    train_step: int = 0
    #: False for models whose objective changes during training (annealed_vae's capacity
    #: schedule): the validation losses of different epochs measure different objectives, so
    #: training keeps the last epoch's weights instead of those of the lowest validation loss.
    keep_best_epoch: bool = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    # --- training contract -------------------------------------------------------
    def step(self, batch: dict, stage: str) -> StepOutput:  # pragma: no cover - abstract
        """One training (``stage="train"``) or validation (``"val"``) step on a batch of
        tensors (``{"x": [B, C, T], "factors": [B, K], ...}``) → :class:`StepOutput`: one
        loss per entry of :meth:`optimizer_specs` (the first is the objective) and scalars to log."""
        raise NotImplementedError

    def optimizer_specs(self) -> list[OptimizerSpec]:
        """The optimisers to train with: by default one, ``"model"``, over every trainable parameter."""
        return [OptimizerSpec("model", [p for p in self.parameters() if p.requires_grad])]

    def configure_for_data(self, dataset_size: int) -> None:
        """Called once before training with the number of training examples."""

    # --- evaluation contract -----------------------------------------------------
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Representation of inputs ``x``: [B, D] (for VAEs the posterior mean)."""
        return self.encode(x).mean

    # --- optional capabilities ---------------------------------------------------
    def _unsupported(self, what: str) -> NotSupportedError:
        return NotSupportedError(f"model {self.registry_name or type(self).__name__!r} cannot {what}")

    def encode(self, x: torch.Tensor) -> Posterior:
        """Inputs [B, C, T] → the Gaussian posterior (mean and logvar [B, D]); raises
        :class:`~sigvae.errors.NotSupportedError` for a model without one."""
        raise self._unsupported("encode to a Gaussian posterior")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents [B, D] → the model's output features; raises
        :class:`~sigvae.errors.NotSupportedError` for a model without a decoder."""
        raise self._unsupported("decode")

    def sample(self, n: int) -> torch.Tensor:
        """Decode ``n`` draws from the prior → output features [n, ...]; raises
        :class:`~sigvae.errors.NotSupportedError` for a model without a prior to draw from."""
        raise self._unsupported("sample")

    def to_waveform(self, features: torch.Tensor) -> torch.Tensor:
        """Output features (of :meth:`decode`, :meth:`sample`) → waveforms [B, C, T]; raises
        :class:`~sigvae.errors.NotSupportedError` where the output is not a signal."""
        raise self._unsupported("turn its output into a waveform")

    @property
    def latent_dim(self) -> int:
        """Size D of the latent code: the config's ``latent_dim``, 0 if it has none."""
        return int(getattr(self.config, "latent_dim", 0))

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters (CPU for a model without parameters)."""
        p = next(self.parameters(), None)
        return p.device if p is not None else torch.device("cpu")


@dataclass(frozen=True)
class ModelSpec:
    """What the registry holds for one name: the module class, its config class, presets."""

    module: type[SigModel]
    config: type[ModelConfig]


#: The registered models: name → :class:`ModelSpec` (``sigvae models`` lists them, with presets).
MODELS: Registry[ModelSpec] = Registry("model")


#: Bytes counted per submodule for its Python objects (the module, its dicts and hooks).
MODULE_OVERHEAD = 2048


def check_repeated(what: str, count: int, make) -> None:
    """Before a model builds ``count`` copies of the module ``make()`` returns (one per
    source, residual block, layer ...): check their parameters, buffers and
    :data:`MODULE_OVERHEAD` per submodule against the memory budget. One copy is built on
    the ``meta`` device to count: no memory is used and no random numbers are drawn, so
    the model's initial weights do not change. DataError if over the budget.
    """
    from ..limits import check_bytes

    if count <= 0:
        return
    with torch.device("meta"):
        one = make()
    tensors = [*one.parameters(), *one.buffers()]
    per = sum(t.numel() * t.element_size() for t in tensors) + MODULE_OVERHEAD * sum(1 for _ in one.modules())
    check_bytes(what, count * per)


def register_model(name: str, config: type[ModelConfig], description: str = "", defaults: dict | None = None):
    """Class decorator: register a SigModel subclass under ``name`` (presets via ``defaults``)."""

    def add(cls: type[SigModel]) -> type[SigModel]:
        cls.config_class = config
        MODELS.register(name, ModelSpec(cls, config), description=description or (cls.__doc__ or "").strip().split("\n")[0], defaults=defaults)
        return cls

    return add


def register_preset(name: str, of: str, description: str, defaults: dict) -> None:
    """Register ``name`` as model ``of`` with different default settings (β-VAE = VAE with β = 4)."""
    base = MODELS.get(of)
    merged = {**base.defaults, **defaults}
    MODELS.register(name, base.obj, description=description, defaults=merged)
