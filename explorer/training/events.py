"""What the training generator yields: small frozen records of plain Python values.

No event holds a tensor or a numpy scalar, so an event can cross threads (a Qt signal) or
processes (a queue) and be written as JSON. Epochs and batches count from 1; accuracies are
fractions from 0 to 1; times are seconds.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Started:
    """Set-up is done and the first batch is next."""

    device: str
    params: int
    batches_per_epoch: int
    epochs: int
    run_dir: str | None


@dataclass(frozen=True, slots=True)
class BatchEnd:
    """One optimiser step is done; ``loss`` is this batch's mean loss."""

    epoch: int
    batch: int
    batches: int
    step: int
    loss: float
    lr: float
    samples_per_second: float


@dataclass(frozen=True, slots=True)
class EpochEnd:
    """An epoch and its evaluation on the test split are done."""

    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    epoch_time: float
    is_best: bool


@dataclass(frozen=True, slots=True)
class CheckpointSaved:
    """A checkpoint was written; ``path`` is its JSON sidecar. ``test_accuracy`` is ``None``
    for weights saved before the first evaluation (a run stopped in its first epoch)."""

    path: str
    epoch: int
    test_accuracy: float | None


@dataclass(frozen=True, slots=True)
class Paused:
    """Training waits after batch ``batch`` of epoch ``epoch`` until resumed or stopped."""

    epoch: int
    batch: int


@dataclass(frozen=True, slots=True)
class Resumed:
    """Training goes on after a pause of ``paused_for`` seconds."""

    epoch: int
    batch: int
    paused_for: float


@dataclass(frozen=True, slots=True)
class Finished:
    """The last event of every run (a run stopped or failed while its data set loads has
    no :class:`Started` before it).

    ``status`` is ``finished``, ``stopped`` (by the user) or ``failed`` (``reason`` says why
    and what to change). ``checkpoint`` is the best checkpoint's sidecar, or ``None`` without
    a run folder or before the first epoch ends. ``elapsed`` leaves pauses out;
    ``samples_per_second`` counts training batches only (no evaluation). ``error_log`` is
    the file holding the traceback of an unexpected error, when one was written.
    """

    status: str
    reason: str
    epochs_done: int
    best_test_accuracy: float | None
    test_accuracy: float | None
    checkpoint: str | None
    elapsed: float
    samples_per_second: float
    error_log: str | None = None


Event = Started | BatchEnd | EpochEnd | CheckpointSaved | Paused | Resumed | Finished


def event_name(event: Event) -> str:
    """``batch_end`` for :class:`BatchEnd` and so on."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()


def event_to_dict(event: Event) -> dict:
    """``{"event": "batch_end", "epoch": 1, ...}``, ready for ``json.dumps``."""
    return {"event": event_name(event), **asdict(event)}
