"""The training engine: a plain generator that trains a network and yields events.

The caller drives it — a Qt worker thread, the CLI, a test — and reads only the small event
records (:mod:`explorer.training.events`). Between batches (training and evaluation) and
while the data set loads, the engine checks a :class:`TrainControl` for pause and stop
requests.

A run leaves the process as it found it: its random numbers come from a private state
(seeded from ``config.seed``) that is swapped in around the run's own random work, so the
global torch RNG is the same before and after; it keeps the (immutable) spec and config it
was started with; any error ends the run with a ``failed`` :class:`Finished` instead of
escaping ``next()``.

A run folder, when given, receives::

    config.json        the configuration, the architecture and the data set, at the start
    metrics.jsonl      one JSON object per epoch, appended
    metrics.csv        the same as a table (header written at the start)
    best.json/.safetensors   the best-on-test checkpoint, replaced when a better epoch ends
    last.json/.safetensors   the weights when training ended (finished or stopped)
    epoch-N.json/.safetensors   every epoch's weights, with the keep_epochs setting
    error.log          the traceback, when the run failed with an unexpected error
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import logging
import math
import os
import time
import traceback
from collections import deque
from collections.abc import Generator, Iterator
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.builder import build_model, build_partial, check_output, infer_shape
from explorer.core.spec import ArchitectureSpec, atomic_write_text
from explorer.data import BatchLoader, DataError, Dataset, LoadCancelled, load_dataset
from explorer.files import write_problem
from explorer.training.checkpoint import save_checkpoint
from explorer.training.config import TrainConfig, resolve_device
from explorer.training.control import TrainControl
from explorer.training.events import (
    BatchEnd,
    CheckpointSaved,
    EpochEnd,
    Event,
    Finished,
    Paused,
    Resumed,
    Started,
)
from explorer.training.memory import check_fits
from explorer.training.runs import RUN_FORMAT, epoch_checkpoint

METRIC_COLUMNS = (
    "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr",
    "epoch_time", "elapsed", "is_best",
)
SPEED_WINDOW = 20
"""Batches over which ``BatchEnd.samples_per_second`` is measured."""
ERROR_LOG = "error.log"

_log = logging.getLogger(__name__)


class TrainError(ValueError):
    """A network or data set that cannot be trained as given; the message says why."""


def train(
    spec: ArchitectureSpec,
    config: TrainConfig,
    *,
    dataset: Dataset | None = None,
    run_dir: str | os.PathLike | None = None,
    control: TrainControl | None = None,
    model: nn.Module | None = None,
) -> Iterator[Event]:
    """Train ``spec`` as ``config`` says; return a generator of events.

    The configuration, the device and the network's output are checked at once, when this
    is called; the data set is loaded (unless given) and the model built when the first
    event is asked for. The last event is always :class:`Finished`: a diverging loss, running
    out of memory, a data set that cannot be loaded or any unexpected error is a ``failed``
    run (an unexpected error's traceback goes to ``error.log`` in the run folder), and a stop
    while the data set loads is a ``stopped`` run without :class:`Started`. Nothing is raised
    from ``next()`` unless the caller closes the generator.

    Parameters
    ----------
    spec
        The architecture, an immutable value: the run keeps this object, whatever the caller
        goes on to edit (edits make new specs). The model is built from it on the device,
        seeded by ``config.seed``, unless ``model`` is given.
    config
        The training settings (frozen).
    dataset
        The data, instead of ``load_dataset(config.dataset)``.
    run_dir
        Folder for the configuration, metrics and checkpoints; ``None`` writes nothing.
    control
        Pause, resume and stop requests from other threads.
    model
        A model to go on training (moved to the device in place); ``spec`` must describe it.

    Raises
    ------
    ConfigError
        For an invalid setting or an unavailable device.
    SpecError, ShapeError
        When ``spec`` cannot be built.
    TrainError
        When the network does not end in one score per class, or ``dataset`` does not fit it.
    """
    config.validate()
    device = resolve_device(config.device)
    check_trainable(spec, model)
    if dataset is not None:
        _check_dataset(spec, dataset)
    run = _Run(spec, config, device, run_dir, control or TrainControl())
    return run.events(dataset, model)


def check_trainable(spec: ArchitectureSpec, model: nn.Module | None = None) -> None:
    """:class:`TrainError` when ``spec`` (or ``model``, built from it) could not learn as a
    classifier: it does not end in one score per class, or it has no trainable parameter.

    Raises
    ------
    SpecError, ShapeError
        When ``spec`` cannot be built.
    """
    if model is None:
        result = build_partial(spec, device="meta")
        if result.error is not None:
            raise result.error
        out_shape, model = result.out_shape, result.network
    else:
        out_shape = infer_shape(model, tuple(spec.input_shape))
    problem = check_output(spec, out_shape)
    if problem is not None:
        raise TrainError(f"{spec.name!r} cannot be trained as a classifier: {problem}")
    if not any(p.requires_grad for p in model.parameters()):
        raise TrainError(f"{spec.name!r} has no parameters to train (its layers have no "
                         "weights); add a layer that learns, such as conv2d or linear")


def _check_dataset(spec: ArchitectureSpec, dataset: Dataset) -> None:
    if len(dataset.train) == 0 or len(dataset.test) == 0:
        raise TrainError(
            f"the data set {dataset.name!r} has {len(dataset.train)} training and "
            f"{len(dataset.test)} test images; training needs both"
        )
    if len(dataset.classes) > spec.num_classes:
        raise TrainError(
            f"the data set {dataset.name!r} has {len(dataset.classes)} classes but "
            f"{spec.name!r} gives {spec.num_classes} scores; set the architecture's "
            f"num_classes to {len(dataset.classes)}"
        )


class PrivateRNG:
    """A random state of its own, swapped in only while :meth:`active`.

    Weight initialisation, dropout and any other use of torch's default generators inside
    the ``with`` block draw from this state (CPU, and the CUDA device when there is one);
    outside it the process's global state is untouched, even by other threads' draws in
    between. Do not yield inside the block. (On Apple MPS, dropout on the device still
    draws from that device's own generator.) A swap costs about 9 µs on CPU.
    """

    def __init__(self, seed: int, device: torch.device) -> None:
        self._cuda = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=self._cuda):
            torch.manual_seed(seed)
            self._state = self._get()

    def _get(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return torch.get_rng_state(), [torch.cuda.get_rng_state(d) for d in self._cuda]

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Draw from this state inside the block; the global state is restored after it."""
        with torch.random.fork_rng(devices=self._cuda):
            cpu, cuda = self._state
            torch.set_rng_state(cpu)
            for device, state in zip(self._cuda, cuda):
                torch.cuda.set_rng_state(state, device)
            try:
                yield
            finally:
                self._state = self._get()


class _Speed:
    """Samples per second over the last :data:`SPEED_WINDOW` batches."""

    def __init__(self, seen: int = 0) -> None:
        self.window: deque[tuple[float, int]] = deque(maxlen=SPEED_WINDOW + 1)
        self.window.append((time.perf_counter(), seen))

    def add(self, seen: int) -> float:
        now = time.perf_counter()
        self.window.append((now, seen))
        then, seen_then = self.window[0]
        return (seen - seen_then) / max(now - then, 1e-9)


class _Run:
    """The state of one training run; :meth:`events` is the generator."""

    def __init__(
        self,
        spec: ArchitectureSpec,
        config: TrainConfig,
        device: torch.device,
        run_dir: str | os.PathLike | None,
        control: TrainControl,
    ) -> None:
        self.spec = spec
        self.config = config
        self.device = device
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.control = control
        self.rng = PrivateRNG(config.seed, device)
        self.step = 0
        self.epochs_done = 0
        self.best_accuracy: float | None = None
        self.best_epoch = 0
        self.best_path: Path | None = None
        self.last_metrics: dict[str, float] = {}
        self.epoch_loss = self.epoch_accuracy = 0.0
        self.train_samples = 0
        self.train_time = 0.0
        self.paused_time = 0.0
        self.started = time.perf_counter()
        self.phase = "loading"

    def events(self, dataset: Dataset | None, model: nn.Module | None) -> Iterator[Event]:
        """The run: set-up, the epochs, and one :class:`Finished`, whatever happens."""
        try:
            if dataset is None:
                dataset = self._load()
                if dataset is None:
                    yield self._finished("stopped", "stopped by request while loading the data")
                    return
            self._set_up(dataset, model)
            yield self._started()
            yield from self._loop()
        except (DataError, TrainError) as exc:
            yield self._finished("failed", str(exc))
        except OSError as exc:  # a full disk, a folder gone: the path and the reason, one line
            kept = (f"; the best checkpoint (epoch {self.best_epoch}) is kept"
                    if self.best_path else "")
            yield self._finished("failed", write_problem(self.run_dir or "", exc) + kept)
        except Exception as exc:  # noqa: BLE001 — the last line of defence of a run
            yield self._crashed(exc)

    # ----------------------------------------------------------------- set-up

    def _load(self) -> Dataset | None:
        """The configured data set, or None when a stop was requested while it loaded."""
        try:
            dataset = load_dataset(self.config.dataset, cancel=lambda: self.control.stopped)
        except LoadCancelled:
            return None
        _check_dataset(self.spec, dataset)
        return dataset

    def _set_up(self, dataset: Dataset, model: nn.Module | None) -> None:
        config, device = self.config, self.device
        self.dataset = dataset
        if model is None:
            check_fits(self.spec, config, device)  # before a weight is allocated
            with self.rng.active():
                model = build_model(self.spec, device=device)
        self.model = model.to(device)
        loader_args = {
            "input_shape": self.spec.input_shape, "mean": dataset.mean, "std": dataset.std,
            "device": device,
        }
        self.train_loader = BatchLoader(
            dataset.train, batch_size=config.batch_size, shuffle=True, augment=config.augment,
            seed=config.seed, **loader_args,
        )
        self.test_loader = BatchLoader(
            dataset.test, batch_size=config.eval_batch_size, **loader_args
        )
        self.batches = len(self.train_loader)
        if config.max_batches_per_epoch is not None:
            self.batches = min(self.batches, config.max_batches_per_epoch)
        self.optimizer = make_optimizer(self.model, config)
        self.scheduler = make_scheduler(self.optimizer, config, self.batches)
        self.per_batch_schedule = config.schedule == "onecycle"
        self.autocast, self.scaler = _mixed_precision(device, config.amp)
        self.params = sum(p.numel() for p in self.model.parameters())
        if self.run_dir is not None:
            self._start_run_dir()

    def _started(self) -> Started:
        self.started = time.perf_counter()
        self.phase = "training"
        return Started(
            device=str(self.device),
            params=int(self.params),
            batches_per_epoch=self.batches,
            epochs=self.config.epochs,
            run_dir=str(self.run_dir) if self.run_dir is not None else None,
        )

    def _start_run_dir(self) -> None:
        info = {
            "format": RUN_FORMAT,
            "version": 1,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "device": str(self.device),
            "params": int(self.params),
            "config": self.config.to_dict(),
            "architecture": self.spec.to_dict(),
            "dataset": {
                "name": self.dataset.name,
                "classes": list(self.dataset.classes),
                "train": len(self.dataset.train),
                "test": len(self.dataset.test),
                "mean": [float(v) for v in self.dataset.mean],
                "std": [float(v) for v in self.dataset.std],
            },
        }
        atomic_write_text(self.run_dir / "config.json", json.dumps(info, indent=2) + "\n")
        atomic_write_text(self.run_dir / "metrics.jsonl", "")
        atomic_write_text(self.run_dir / "metrics.csv", _csv_row(METRIC_COLUMNS))

    # ----------------------------------------------------------------- the loop

    def _loop(self) -> Generator[Event, None, None]:
        try:
            for epoch in range(1, self.config.epochs + 1):
                outcome = yield from self._epoch(epoch)
                if outcome is not None:
                    yield from self._finish(*outcome)
                    return
        except torch.OutOfMemoryError:
            outcome = ("failed", self._out_of_memory_reason())
        else:
            n = self.config.epochs
            outcome = ("finished", f"trained {n} epoch{'s' if n != 1 else ''}")
        if outcome[0] == "failed" and self.device.type == "cuda":
            torch.cuda.empty_cache()
        yield from self._finish(*outcome)

    def _epoch(self, epoch: int) -> Generator[Event, None, tuple[str, str] | None]:
        """Train and evaluate one epoch; return ``(status, reason)`` when the run must end."""
        epoch_start, paused_before = time.perf_counter(), self.paused_time
        self.phase = "training"
        outcome = yield from self._train_epoch(epoch)
        if outcome is not None:
            return outcome
        self.phase = "evaluation"
        evaluated = self._evaluate()
        if evaluated is None:
            return "stopped", f"stopped by request while evaluating epoch {epoch}"
        test_loss, test_accuracy = evaluated
        lr = float(self.optimizer.param_groups[0]["lr"])
        if self.scheduler is not None and not self.per_batch_schedule:
            self.scheduler.step()
        is_best = self.best_accuracy is None or test_accuracy > self.best_accuracy
        self.epochs_done = epoch
        self.last_metrics = {
            "train_loss": self.epoch_loss, "train_accuracy": self.epoch_accuracy,
            "test_loss": test_loss, "test_accuracy": test_accuracy,
        }
        now = time.perf_counter()
        epoch_time = now - epoch_start - (self.paused_time - paused_before)
        if self.run_dir is not None:
            self._log_epoch(epoch, lr, epoch_time, self._elapsed(now), is_best)
        yield EpochEnd(epoch=epoch, epochs=self.config.epochs, epoch_time=epoch_time,
                       is_best=is_best, **self.last_metrics)
        if is_best:
            self.best_accuracy, self.best_epoch = test_accuracy, epoch
            if self.run_dir is not None:
                self.best_path = self._save("best")
                yield CheckpointSaved(str(self.best_path), epoch, test_accuracy)
        if self.config.keep_epochs and self.run_dir is not None:
            yield CheckpointSaved(str(self._save(epoch_checkpoint(epoch))), epoch,
                                  test_accuracy)
        if self.control.stopped:
            return "stopped", self._stopped_reason(epoch, None)
        return None

    def _train_epoch(self, epoch: int) -> Generator[Event, None, tuple[str, str] | None]:
        """Train one epoch; return ``(status, reason)`` when the run must end, else None."""
        control = self.control
        self.model.train()
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        loss_sum, seen = 0.0, 0
        speed = _Speed()
        start, paused_before = time.perf_counter(), self.paused_time
        for batch, (x, y) in enumerate(self.train_loader, start=1):
            out, value = self._step(x, y)
            correct += (out.argmax(dim=1) == y).sum()
            self.step += 1
            if not math.isfinite(value):
                self._count_training(start, paused_before, seen)
                return "failed", self._diverged_reason(value, epoch, batch)
            n = int(y.shape[0])
            loss_sum += value * n
            seen += n
            yield BatchEnd(
                epoch=epoch, batch=batch, batches=self.batches, step=self.step, loss=value,
                lr=float(self.optimizer.param_groups[0]["lr"]),
                samples_per_second=speed.add(seen),
            )
            if control.paused:
                yield from self._pause(epoch, batch)
                speed = _Speed(seen)
            if control.stopped:
                self._count_training(start, paused_before, seen)
                return "stopped", self._stopped_reason(epoch, batch)
            if batch >= self.batches:
                break
        self._count_training(start, paused_before, seen)
        self.epoch_loss = loss_sum / seen
        self.epoch_accuracy = correct.item() / seen
        return None

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
        """One optimiser step on a batch; ``(scores, loss)``, read with one synchronisation."""
        optimizer, scaler = self.optimizer, self.scaler
        with self.rng.active():
            with self.autocast():
                out = self.model(x)
                loss = F.cross_entropy(out, y)
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
        if self.scheduler is not None and self.per_batch_schedule:
            self.scheduler.step()
        return out, loss.item()

    def _count_training(self, start: float, paused_before: float, seen: int) -> None:
        self.train_time += time.perf_counter() - start - (self.paused_time - paused_before)
        self.train_samples += seen

    def _pause(self, epoch: int, batch: int) -> Generator[Event, None, None]:
        began = time.perf_counter()
        yield Paused(epoch, batch)
        self.control.wait_if_paused()
        paused_for = time.perf_counter() - began
        self.paused_time += paused_for
        if not self.control.stopped:
            yield Resumed(epoch, batch, paused_for)

    @torch.no_grad()
    def _evaluate(self) -> tuple[float, float] | None:
        """Mean loss and accuracy on the test split, read with one synchronisation; None
        when a stop was requested between two of its batches."""
        model = self.model
        model.eval()
        loss_sum = torch.zeros((), dtype=torch.float32, device=self.device)
        correct = torch.zeros((), dtype=torch.float32, device=self.device)
        with self.rng.active():
            for x, y in self.test_loader:
                if self.control.stopped:
                    model.train()
                    return None
                with self.autocast():
                    out = model(x)
                loss_sum += F.cross_entropy(out.float(), y, reduction="sum")
                correct += (out.argmax(dim=1) == y).sum()
        model.train()
        total_loss, total_correct = torch.stack([loss_sum, correct]).tolist()
        n = len(self.dataset.test)
        return total_loss / n, total_correct / n

    # ----------------------------------------------------------------- the end

    def _finish(self, status: str, reason: str) -> Generator[Event, None, None]:
        if status != "failed" and self.run_dir is not None and self.step > 0:
            path = self._save("last")
            accuracy = self.last_metrics.get("test_accuracy")
            yield CheckpointSaved(str(path), self.epochs_done, accuracy)
        yield self._finished(status, reason)

    def _finished(self, status: str, reason: str, error_log: str | None = None) -> Finished:
        self._record_outcome(status, reason)
        return Finished(
            status=status,
            reason=reason,
            epochs_done=self.epochs_done,
            best_test_accuracy=self.best_accuracy,
            test_accuracy=self.last_metrics.get("test_accuracy"),
            checkpoint=str(self.best_path) if self.best_path is not None else None,
            elapsed=self._elapsed(time.perf_counter()),
            samples_per_second=self.train_samples / self.train_time if self.train_time else 0.0,
            error_log=error_log,
        )

    def _record_outcome(self, status: str, reason: str) -> None:
        """Add how the run ended to its ``config.json`` (the runs list shows it); a run
        folder that cannot be written any more keeps what it has."""
        config = self.run_dir / "config.json" if self.run_dir is not None else None
        if config is None or not config.is_file():
            return
        try:
            info = json.loads(config.read_text(encoding="utf-8"))
            info["outcome"] = {
                "status": status, "reason": reason, "epochs_done": self.epochs_done,
                "ended": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            atomic_write_text(config, json.dumps(info, indent=2) + "\n")
        except (OSError, ValueError, TypeError):
            pass

    def _crashed(self, exc: Exception) -> Finished:
        """The ``failed`` end of an unexpected error; its traceback goes to ``error.log``."""
        details = "".join(traceback.format_exception(exc))
        where, log_path = "the log", None
        if self.run_dir is not None:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                atomic_write_text(self.run_dir / ERROR_LOG, details)
                log_path = str(self.run_dir / ERROR_LOG)
                where = log_path
            except OSError:
                pass
        if log_path is None:
            _log.error("training run failed:\n%s", details)
        kept = f"; the best checkpoint (epoch {self.best_epoch}) is kept" if self.best_path else ""
        first_line = next(iter(str(exc).splitlines()), "")
        reason = (
            f"unexpected error while {self.phase}: {type(exc).__name__}: {first_line} "
            f"(the traceback is in {where}){kept}"
        )
        return self._finished("failed", reason, log_path)

    def _elapsed(self, now: float) -> float:
        return now - self.started - self.paused_time

    def _diverged_reason(self, value: float, epoch: int, batch: int) -> str:
        lr = self.config.lr
        kept = (
            f"; the best checkpoint (epoch {self.best_epoch}) is kept"
            if self.best_path is not None
            else ""
        )
        return (
            f"the loss became {value} at step {self.step} (epoch {epoch}, batch {batch}): "
            f"training diverged. Lower the learning rate (lr = {lr:g}; try {lr / 10:g})"
            + (" or the momentum" if self.config.optimizer == "sgd" and self.config.momentum
               else "")
            + kept
        )

    def _out_of_memory_reason(self) -> str:
        config = self.config
        if self.phase == "evaluation":
            return (
                f"out of memory on {self.device} while evaluating with eval_batch_size "
                f"{config.eval_batch_size}; lower eval_batch_size (try "
                f"{max(1, config.eval_batch_size // 2)})"
            )
        return (
            f"out of memory on {self.device} with batch_size {config.batch_size}; lower the "
            f"batch size (try {max(1, config.batch_size // 2)}) or use a smaller network or input"
        )

    def _stopped_reason(self, epoch: int, batch: int | None) -> str:
        if batch is None:
            return f"stopped by request at the end of epoch {epoch}"
        return f"stopped by request after batch {batch} of epoch {epoch}"

    # ----------------------------------------------------------------- files

    def _save(self, name: str) -> Path:
        return save_checkpoint(
            self.run_dir / name,
            self.model,
            self.spec,
            mean=self.dataset.mean,
            std=self.dataset.std,
            classes=self.dataset.classes,
            epoch=self.epochs_done,
            metrics=self.last_metrics,
        )

    def _log_epoch(
        self, epoch: int, lr: float, epoch_time: float, elapsed: float, is_best: bool
    ) -> None:
        row = {"epoch": epoch, **self.last_metrics, "lr": lr, "epoch_time": epoch_time,
               "elapsed": elapsed, "is_best": is_best}
        _append(self.run_dir / "metrics.jsonl", json.dumps(row) + "\n")
        _append(self.run_dir / "metrics.csv", _csv_row([row[c] for c in METRIC_COLUMNS]))


# --------------------------------------------------------------------------- helpers


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer ``config.optimizer`` names, over ``model``'s parameters.

    ``sgd`` is :class:`torch.optim.SGD` with ``momentum``; ``adam`` and ``adamw`` are
    :class:`torch.optim.Adam` and :class:`torch.optim.AdamW` with PyTorch's betas and eps.
    """
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, batches: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule, or None for ``none``.

    ``step`` is :class:`~torch.optim.lr_scheduler.StepLR` and ``cosine``
    :class:`~torch.optim.lr_scheduler.CosineAnnealingLR` (both stepped per epoch);
    ``onecycle`` is :class:`~torch.optim.lr_scheduler.OneCycleLR` over ``epochs × batches``
    steps (stepped per batch).
    """
    schedules = torch.optim.lr_scheduler
    if config.schedule == "step":
        return schedules.StepLR(optimizer, step_size=config.effective_step_size, gamma=config.gamma)
    if config.schedule == "cosine":
        return schedules.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.schedule == "onecycle":
        # the momentum stays as configured rather than being cycled
        return schedules.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=config.epochs * batches,
            cycle_momentum=False,
        )
    return None


def _mixed_precision(device: torch.device, amp: bool):
    """``(autocast context factory, GradScaler or None)``: bf16 where the GPU has it, else
    fp16 with gradient scaling; no autocast off CUDA or with ``amp`` off."""
    if device.type != "cuda" or not amp:
        return contextlib.nullcontext, None
    if torch.cuda.is_bf16_supported():
        return functools.partial(torch.autocast, "cuda", dtype=torch.bfloat16), None
    return (
        functools.partial(torch.autocast, "cuda", dtype=torch.float16),
        torch.amp.GradScaler("cuda"),
    )


def _csv_row(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _append(path: Path, text: str) -> None:
    """Append ``text`` with one ``write`` on an ``O_APPEND`` descriptor, then sync: a reader
    or a crash sees whole lines."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
