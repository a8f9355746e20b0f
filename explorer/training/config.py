"""The training configuration: one schema of settings, and the validated, frozen config.

:data:`SETTINGS` describes every setting with the blocks' parameter schema
(:class:`explorer.core.registry.Param`: kind, default, bounds, choices, help and
``applies_when``). :class:`TrainConfig` takes its fields' defaults from it, validation reads
it, the CLI's ``train`` options are generated from it, and a settings form can be too.
Importing this module does not import torch.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from explorer.core.registry import Param

if TYPE_CHECKING:
    import torch

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
DEVICES = ("auto", "cpu", "cuda", "mps")
"""The device names; ``cuda:N`` also names one CUDA device."""

MAX_EPOCHS = 1_000_000
MAX_BATCH = 65_536
MAX_RATE = 3.4e38
"""Largest learning rate and weight decay: about float32's largest number, past which the
optimiser cannot even hold the value (``--lr 1e39`` overflows)."""

SETTINGS: tuple[Param, ...] = (
    Param("dataset", "str", "mnist-sample",
          help="mnist-sample (bundled, offline), mnist, fashion-mnist, cifar10, or a folder "
               "of IDX files or of images (one sub-folder per class)"),
    Param("epochs", "int", 10, minimum=1, maximum=MAX_EPOCHS, help="passes over the training images"),
    Param("batch_size", "int", 64, minimum=1, maximum=MAX_BATCH, help="images per optimiser step"),
    Param("optimizer", "choice", "sgd", choices=OPTIMIZERS,
          help="stochastic gradient descent, Adam, or Adam with decoupled weight decay"),
    Param("lr", "float", 0.01, minimum=0, minimum_exclusive=True, maximum=MAX_RATE,
          help="learning rate (the peak rate of the onecycle schedule)"),
    Param("momentum", "float", 0.5, minimum=0, maximum=1, maximum_exclusive=True,
          applies_when=(("optimizer", ("sgd",)),), help="SGD momentum"),
    Param("weight_decay", "float", 0.0, minimum=0, maximum=MAX_RATE, help="L2 penalty on the weights"),
    Param("schedule", "choice", "none", choices=SCHEDULES,
          help="learning-rate schedule: none; step (times gamma every step_size epochs); "
               "cosine (to zero over the run); onecycle (warm up to lr, then anneal)"),
    Param("step_size", "int", None, minimum=1, maximum=MAX_EPOCHS, applies_when=(("schedule", ("step",)),),
          help="epochs between drops of the step schedule (default: a third of the epochs)"),
    Param("gamma", "float", 0.1, minimum=0, minimum_exclusive=True, maximum=1,
          applies_when=(("schedule", ("step",)),),
          help="factor of each drop of the step schedule"),
    Param("seed", "int", 0, minimum=0, maximum=2**63 - 1,
          help="seed of the weights, the batch order, dropout and augmentation"),
    Param("augment", "bool", False,
          help="small random rotations, scalings and shifts of the training images"),
    Param("device", "str", "auto",
          help="auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N or mps"),
    Param("amp", "bool", True,
          help="mixed precision on CUDA (bf16, or fp16 with gradient scaling)"),
    Param("eval_batch_size", "int", 512, minimum=1, maximum=MAX_BATCH, help="images per evaluation batch"),
    Param("max_batches_per_epoch", "int", None, minimum=1,
          help="cut every epoch short after this many batches (quick trials; default: all)"),
    Param("keep_epochs", "bool", False,
          help="keep every epoch's weights (epoch-N checkpoints in the run folder), to look "
               "inside the network, e.g. at its gradients, at any epoch"),
)
_SETTING = {param.name: param for param in SETTINGS}
_DEFAULT = {param.name: param.default for param in SETTINGS}
DEFAULT_DATASET: str = _DEFAULT["dataset"]
"""The data a run, a profile or an experiment uses unless told otherwise."""
# what a setting's kind and bounds alone do not say
_EXPECTED = {
    "dataset": "a data set name such as 'mnist-sample' or a folder",
    "device": "one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'",
}
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def setting(name: str) -> Param:
    """The schema of the setting ``name``.

    Raises
    ------
    KeyError
        For a name that is not a setting.
    """
    return _SETTING[name]


class ConfigError(ValueError):
    """A training setting that cannot be used; ``field`` names it."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TrainConfig:
    """How to train: data, optimiser, schedule, device. Frozen, and valid once made.

    One field per entry of :data:`SETTINGS`, in its order, with its default there (the
    course's setup). Change a copy with :func:`dataclasses.replace`.

    Raises
    ------
    ConfigError
        When made with an invalid value (see :meth:`validate`).
    """

    dataset: str = _DEFAULT["dataset"]
    epochs: int = _DEFAULT["epochs"]
    batch_size: int = _DEFAULT["batch_size"]
    optimizer: str = _DEFAULT["optimizer"]
    lr: float = _DEFAULT["lr"]
    momentum: float = _DEFAULT["momentum"]
    weight_decay: float = _DEFAULT["weight_decay"]
    schedule: str = _DEFAULT["schedule"]
    step_size: int | None = _DEFAULT["step_size"]
    gamma: float = _DEFAULT["gamma"]
    seed: int = _DEFAULT["seed"]
    augment: bool = _DEFAULT["augment"]
    device: str = _DEFAULT["device"]
    amp: bool = _DEFAULT["amp"]
    eval_batch_size: int = _DEFAULT["eval_batch_size"]
    max_batches_per_epoch: int | None = _DEFAULT["max_batches_per_epoch"]
    keep_epochs: bool = _DEFAULT["keep_epochs"]

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every setting against its schema.

        Raises
        ------
        ConfigError
            Naming the setting, its value and what is valid,
            e.g. ``lr = -0.1 is not valid: expected a number > 0``.
        """
        for param in SETTINGS:
            check_setting(param, getattr(self, param.name))

    def applies(self, name: str) -> bool:
        """Whether the setting ``name`` is used, given the others (momentum: SGD only)."""
        return setting(name).applies(self.to_dict())

    @property
    def effective_step_size(self) -> int:
        """Epochs between learning-rate drops of the ``step`` schedule."""
        return self.step_size if self.step_size is not None else max(1, self.epochs // 3)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, in the order of :data:`SETTINGS`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """Read a dict (e.g. parsed JSON); missing keys take their defaults.

        Raises
        ------
        ConfigError
            For an unknown key or an invalid value.
        """
        if not isinstance(data, dict):
            raise ConfigError(
                f"a training configuration must be a JSON object, got {type(data).__name__}"
            )
        for key in data:
            if key not in _SETTING:
                raise ConfigError(
                    f"unknown setting {key!r}; valid settings: {', '.join(_SETTING)}", field=key
                )
        return cls(**data)


def check_setting(param: Param, value: Any) -> None:
    """Check one value of a setting against its schema.

    Raises
    ------
    ConfigError
        ``<name> = <value> is not valid: expected <what is valid>``.
    """
    if not _valid(param, value):
        expected = _EXPECTED.get(param.name) or param.describe()
        raise ConfigError(
            f"{param.name} = {value!r} is not valid: expected {expected}", field=param.name
        )


def _valid(param: Param, value: Any) -> bool:
    if value is None:
        return param.default is None
    if param.kind == "int":
        return _is_int(value) and param.in_range(value)
    if param.kind == "float":
        return (
            not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value) and param.in_range(value)
        )
    if param.kind == "bool":
        return isinstance(value, bool)
    if param.kind == "choice":
        return isinstance(value, str) and value in param.choices
    if not isinstance(value, str) or not value.strip():
        return False
    return param.name != "device" or _DEVICE.fullmatch(value) is not None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_device(name: str) -> torch.device:
    """The device for a config's ``device`` setting.

    ``auto`` picks CUDA, then Apple MPS, then CPU.

    Raises
    ------
    ConfigError
        When CUDA or MPS is asked for but is not available here.
    """
    import torch

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
        return _cuda_device(torch, name)
    raise ConfigError(
        f"device = {name!r} is not valid: expected {_EXPECTED['device']}", field="device"
    )


def _cuda_device(torch, name: str) -> torch.device:
    if not torch.cuda.is_available():
        build = (
            "this PyTorch build has no CUDA support"
            if torch.version.cuda is None
            else "no NVIDIA GPU or driver was found"
        )
        raise ConfigError(
            f"device = {name!r} is not available: {build}; use 'auto' or 'cpu'", field="device"
        )
    device = torch.device(name)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(
            f"device = {name!r} is not available: this machine has "
            f"{torch.cuda.device_count()} CUDA device(s), numbered from 0",
            field="device",
        )
    return device
