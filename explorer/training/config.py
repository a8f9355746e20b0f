"""The training configuration, validated with messages a user can act on."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
DEVICES = ("auto", "cpu", "cuda", "mps")


class ConfigError(ValueError):
    """A training setting that cannot be used; ``field`` names it."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class TrainConfig:
    """How to train: data, optimiser, schedule, device.

    The defaults are the course's setup (SGD, lr 0.01, momentum 0.5, batch 64, 10 epochs).

    Attributes
    ----------
    dataset : a source understood by :func:`explorer.data.load_dataset`.
    optimizer : ``sgd``, ``adam`` or ``adamw``; ``momentum`` is used by SGD only.
    schedule : ``none``; ``step`` (multiply the rate by ``gamma`` every ``step_size`` epochs,
        default ``max(1, epochs // 3)``); ``cosine`` (to zero over the run, per epoch);
        ``onecycle`` (warm up to ``lr`` and anneal, per batch).
    device : ``auto`` (CUDA, then Apple MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    amp : mixed precision (bf16, or fp16 with gradient scaling) — used on CUDA only.
    max_batches_per_epoch : cut every epoch short (tiny tests and benchmarks); ``None``: all.
    """

    dataset: str = "mnist-sample"
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.5
    weight_decay: float = 0.0
    schedule: str = "none"
    step_size: int | None = None
    gamma: float = 0.1
    seed: int = 0
    augment: bool = False
    device: str = "auto"
    amp: bool = True
    eval_batch_size: int = 512
    max_batches_per_epoch: int | None = None

    def validate(self) -> None:
        """Check every field.

        Raises
        ------
        ConfigError
            Naming the field, its value and what is valid,
            e.g. ``lr = -0.1 is not valid: expected a number > 0``.
        """
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise _error(
                "dataset", self.dataset, "a data set name such as 'mnist-sample' or a folder"
            )
        _int("epochs", self.epochs, 1)
        _int("batch_size", self.batch_size, 1)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _number("lr", self.lr, "> 0", lambda v: v > 0)
        _number("momentum", self.momentum, "≥ 0 and < 1", lambda v: 0 <= v < 1)
        _number("weight_decay", self.weight_decay, "≥ 0", lambda v: v >= 0)
        _choice("schedule", self.schedule, SCHEDULES)
        if self.step_size is not None:
            _int("step_size", self.step_size, 1, none=True)
        _number("gamma", self.gamma, "> 0 and ≤ 1", lambda v: 0 < v <= 1)
        _int("seed", self.seed, 0, maximum=2**63 - 1)
        _bool("augment", self.augment)
        if not isinstance(self.device, str) or not (
            self.device in DEVICES or re.fullmatch(r"cuda:\d+", self.device)
        ):
            raise _error("device", self.device, "one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'")
        _bool("amp", self.amp)
        _int("eval_batch_size", self.eval_batch_size, 1)
        if self.max_batches_per_epoch is not None:
            _int("max_batches_per_epoch", self.max_batches_per_epoch, 1, none=True)

    @property
    def effective_step_size(self) -> int:
        """Epochs between learning-rate drops of the ``step`` schedule."""
        return self.step_size if self.step_size is not None else max(1, self.epochs // 3)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """Read a dict (e.g. parsed JSON); missing keys take their defaults, then validate.

        Raises
        ------
        ConfigError
            For an unknown key or an invalid value.
        """
        if not isinstance(data, dict):
            raise ConfigError(
                f"a training configuration must be a JSON object, got {type(data).__name__}"
            )
        names = [f.name for f in fields(cls)]
        for key in data:
            if key not in names:
                raise ConfigError(
                    f"unknown setting {key!r}; valid settings: {', '.join(names)}", field=key
                )
        config = cls(**data)
        config.validate()
        return config


def resolve_device(name: str) -> torch.device:
    """The device for a config's ``device`` setting.

    ``auto`` picks CUDA, then Apple MPS, then CPU.

    Raises
    ------
    ConfigError
        When CUDA or MPS is asked for but is not available here.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError(
                "device = 'mps' is not available: this machine has no usable Apple GPU "
                "(Metal); use 'auto' or 'cpu'",
                field="device",
            )
        return torch.device("mps")
    if isinstance(name, str) and re.fullmatch(r"cuda(:\d+)?", name):
        if not torch.cuda.is_available():
            build = (
                "this PyTorch build has no CUDA support"
                if torch.version.cuda is None
                else "no NVIDIA GPU or driver was found"
            )
            raise ConfigError(
                f"device = {name!r} is not available: {build}; use 'auto' or 'cpu'",
                field="device",
            )
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device = {name!r} is not available: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s), numbered from 0",
                field="device",
            )
        return device
    raise _error("device", name, "one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'")


# --------------------------------------------------------------------------- checks


def _error(name: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(f"{name} = {value!r} is not valid: expected {expected}", field=name)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(name: str, value: Any, minimum: int, *, maximum: int | None = None,
         none: bool = False) -> None:
    bound = f"≥ {minimum}" + (f" and ≤ {maximum}" if maximum is not None else "")
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        raise _error(name, value, f"an integer {bound}" + (" or null" if none else ""))


def _number(name: str, value: Any, bound: str, ok) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not ok(value)
    ):
        raise _error(name, value, f"a number {bound}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise _error(name, value, "one of " + ", ".join(repr(c) for c in choices))


def _bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _error(name, value, "true or false")
