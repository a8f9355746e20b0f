"""The depth experiment: plain20, plain56, resnet20 and resnet56 trained alike. No Qt.

He et al. (2015, Fig. 1 and 6) showed *degradation*: the 56-layer plain network ends with a
higher training error than the 20-layer one, while ResNet-56 beats ResNet-20. This trains the
four networks one after another with the same settings on the same data (each run a normal
run folder, so the run comparison shows them), after measuring each one's gradient spread at
initialisation; :func:`depth_experiment` is a generator the caller drives and may stop
between batches through the :class:`TrainControl`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from explorer.core.builder import build_model
from explorer.core.presets import preset_spec
from explorer.data import Dataset
from explorer.training.config import DEFAULT_DATASET, TrainConfig
from explorer.training.control import TrainControl
from explorer.training.engine import train
from explorer.training.events import EpochEnd, Event, Finished
from explorer.training.gradients import GradientProfile, explain_spreads, gradient_profile
from explorer.training.runs import default_run_dir

DEPTH_NETWORKS = ("plain20", "plain56", "resnet20", "resnet56")
DEFAULT_EPOCHS = 3


def experiment_config(dataset: str = DEFAULT_DATASET, epochs: int = DEFAULT_EPOCHS,
                      seed: int = 0, **changes) -> TrainConfig:
    """The settings all four networks train with: SGD with momentum 0.9, learning rate 0.05
    and weight decay 1e-4 as in He et al.'s CIFAR runs (their rate 0.1 halved for batches of
    64), every epoch's weights kept for the gradient lab."""
    settings = {"dataset": dataset, "epochs": epochs, "batch_size": 64, "optimizer": "sgd",
                "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4, "seed": seed,
                "keep_epochs": True}
    return TrainConfig(**{**settings, **changes})


@dataclass(frozen=True)
class Measured:
    """A network's gradient profile at initialisation, before its training starts."""

    network: str
    profile: GradientProfile


@dataclass(frozen=True)
class Step:
    """One engine event of one network's run."""

    network: str
    event: Event


@dataclass(frozen=True)
class NetworkResult:
    """How one network ended: its run folder, status and accuracies, its spread."""

    network: str
    run_dir: Path
    status: str
    test_accuracy: float | None
    best_test_accuracy: float | None
    train_loss: float | None
    spread: float | None

    def to_json(self) -> dict:
        return {"network": self.network, "run_dir": str(self.run_dir), "status": self.status,
                "test_accuracy": self.test_accuracy,
                "best_test_accuracy": self.best_test_accuracy,
                "train_loss": self.train_loss, "spread": self.spread}


@dataclass(frozen=True)
class ExperimentDone:
    """The end: every network that ran, whether it was stopped, and what it shows."""

    results: tuple[NetworkResult, ...]
    stopped: bool
    explanation: str


def depth_experiment(
    config: TrainConfig,
    dataset: Dataset,
    root: str | os.PathLike,
    *,
    control: TrainControl | None = None,
    networks: tuple[str, ...] = DEPTH_NETWORKS,
    input_shape: tuple[int, int, int] | None = None,
    profile_batch: int = 64,
) -> Iterator[Measured | Step | ExperimentDone]:
    """Measure, then train, each of ``networks`` in turn; yield what happens, then the end.

    Parameters
    ----------
    config : the settings every network is trained with (its seed also seeds the spreads'
        batch and weights).
    dataset : the data, loaded once for all of them.
    root : where the run folders go (``<root>/<network>-<date>-<time>``).
    control : stop requests; a stop ends the running network after its batch and skips the
        ones after it.
    input_shape : the networks' input (default: the presets' 3×32×32; the data are adapted).
    """
    control = control or TrainControl()
    results: list[NetworkResult] = []
    profiles: dict[str, GradientProfile] = {}
    for name in networks:
        if control.stopped:
            break
        spec = preset_spec(name, input_shape=input_shape, num_classes=len(dataset.classes))
        profile = gradient_profile(spec, dataset, batch=profile_batch, seed=config.seed)
        profiles[name] = profile
        yield Measured(name, profile)
        run_dir = default_run_dir(name, root)
        last_epoch, finished = None, None
        # the weights the profile measured: the seed's, drawn apart from other threads' draws
        model = build_model(spec, device="cpu",
                            generator=torch.Generator().manual_seed(config.seed))
        for event in train(spec, config, dataset=dataset, run_dir=run_dir, control=control,
                           model=model):
            yield Step(name, event)
            if isinstance(event, EpochEnd):
                last_epoch = event
            elif isinstance(event, Finished):
                finished = event
        results.append(NetworkResult(
            name, run_dir, finished.status if finished else "failed",
            finished.test_accuracy if finished else None,
            finished.best_test_accuracy if finished else None,
            last_epoch.train_loss if last_epoch else None, profile.spread))
    yield ExperimentDone(tuple(results), control.stopped, explain(results, profiles))


def explain(results: list[NetworkResult], profiles: dict[str, GradientProfile]) -> str:
    """The spreads with their two-line explanation, then the final accuracies."""
    lines = []
    for plain, residual in (("plain56", "resnet56"), ("plain20", "resnet20")):
        if plain in profiles and residual in profiles:
            lines.append(explain_spreads(profiles[plain], profiles[residual]))
            break
    finals = [f"{r.network} {100 * r.test_accuracy:.1f} %" for r in results
              if r.test_accuracy is not None]
    if finals:
        lines.append("Final test accuracy: " + ", ".join(finals) + ".")
    losses = [f"{r.network} {r.train_loss:.3f}" for r in results if r.train_loss is not None]
    if losses:
        lines.append("Final training loss (last epoch): " + ", ".join(losses) + ".")
    return "\n".join(lines)
