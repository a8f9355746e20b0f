"""The training engine: a plain generator that trains a network and yields events.

The caller drives it — a Qt worker thread, the CLI, a test — and reads only the small event
records (:mod:`explorer.training.events`). Between batches the engine checks a
:class:`TrainControl` for pause and stop requests.

A run folder, when given, receives::

    config.json        the configuration, the architecture and the data set, at the start
    metrics.jsonl      one JSON object per epoch, appended
    metrics.csv        the same as a table (header written at the start)
    best.json/.safetensors   the best-on-test checkpoint, replaced when a better epoch ends
    last.json/.safetensors   the weights when training ended (finished or stopped)
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import io
import json
import math
import os
import time
from collections import deque
from collections.abc import Generator, Iterator
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.builder import build_model, build_partial, check_output, infer_shape
from explorer.core.spec import ArchitectureSpec, atomic_write_text
from explorer.data import BatchLoader, Dataset, load_dataset
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

RUN_FORMAT = "network-explorer/run"
METRIC_COLUMNS = (
    "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr",
    "epoch_time", "elapsed", "is_best",
)
SPEED_WINDOW = 20
"""Batches over which ``BatchEnd.samples_per_second`` is measured."""


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
    event is asked for. Every run that yields :class:`Started` ends with :class:`Finished`
    (a diverging loss or running out of memory is a ``failed`` run, not an exception),
    unless the caller closes the generator or an unexpected error is raised.

    Parameters
    ----------
    spec
        The architecture; the model is built from it on the device, seeded by
        ``config.seed``, unless ``model`` is given.
    config
        The training settings.
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
        When the network does not end in one score per class, or the data set does not fit
        it (raised by the first ``next`` when the data set is loaded then).
    explorer.data.DataError
        When the data set cannot be loaded (by the first ``next``).
    """
    config.validate()
    device = resolve_device(config.device)
    _check_output(spec, model)
    if dataset is not None:
        _check_dataset(spec, dataset)
    run = _Run(spec, config, device, run_dir, control or TrainControl())
    return run.events(dataset, model)


def _check_output(spec: ArchitectureSpec, model: nn.Module | None) -> None:
    if model is None:
        result = build_partial(spec, device="meta")
        if result.error is not None:
            raise result.error
        out_shape = result.out_shape
    else:
        out_shape = infer_shape(model, tuple(spec.input_shape))
    problem = check_output(spec, out_shape)
    if problem is not None:
        raise TrainError(f"{spec.name!r} cannot be trained as a classifier: {problem}")


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
        self.phase = "training"

    # ----------------------------------------------------------------- set-up

    def events(self, dataset: Dataset | None, model: nn.Module | None) -> Iterator[Event]:
        config, device = self.config, self.device
        if dataset is None:
            dataset = load_dataset(config.dataset)
            _check_dataset(self.spec, dataset)
        self.dataset = dataset
        torch.manual_seed(config.seed)
        self.model = build_model(self.spec, device=device) if model is None else model.to(device)
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
        self.optimizer = _optimizer(self.model, config)
        self.scheduler = _scheduler(self.optimizer, config, self.batches)
        self.per_batch_schedule = config.schedule == "onecycle"
        self.autocast, self.scaler = _mixed_precision(device, config.amp)
        params = sum(p.numel() for p in self.model.parameters())
        if self.run_dir is not None:
            self._start_run_dir(params)
        gc.collect()
        gc.freeze()  # a full collection in this thread would stall the GUI thread (the GIL)
        self.started = time.perf_counter()
        yield Started(
            device=str(device),
            params=int(params),
            batches_per_epoch=self.batches,
            epochs=config.epochs,
            run_dir=str(self.run_dir) if self.run_dir is not None else None,
        )
        yield from self._loop()

    def _start_run_dir(self, params: int) -> None:
        info = {
            "format": RUN_FORMAT,
            "version": 1,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "device": str(self.device),
            "params": int(params),
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
        config = self.config
        try:
            for epoch in range(1, config.epochs + 1):
                epoch_start, paused_before = time.perf_counter(), self.paused_time
                self.phase = "training"
                outcome = yield from self._train_epoch(epoch)
                if outcome is not None:
                    yield from self._finish(*outcome)
                    return
                self.phase = "evaluation"
                test_loss, test_accuracy = self._evaluate()
                lr = float(self.optimizer.param_groups[0]["lr"])
                if self.scheduler is not None and not self.per_batch_schedule:
                    self.scheduler.step()
                is_best = self.best_accuracy is None or test_accuracy > self.best_accuracy
                self.epochs_done = epoch
                self.last_metrics = {
                    "train_loss": self.epoch_loss,
                    "train_accuracy": self.epoch_accuracy,
                    "test_loss": test_loss,
                    "test_accuracy": test_accuracy,
                }
                now = time.perf_counter()
                epoch_time = now - epoch_start - (self.paused_time - paused_before)
                if self.run_dir is not None:
                    self._log_epoch(epoch, lr, epoch_time, self._elapsed(now), is_best)
                yield EpochEnd(
                    epoch=epoch,
                    epochs=config.epochs,
                    train_loss=self.epoch_loss,
                    train_accuracy=self.epoch_accuracy,
                    test_loss=test_loss,
                    test_accuracy=test_accuracy,
                    epoch_time=epoch_time,
                    is_best=is_best,
                )
                if is_best:
                    self.best_accuracy, self.best_epoch = test_accuracy, epoch
                    if self.run_dir is not None:
                        self.best_path = self._save("best")
                        yield CheckpointSaved(str(self.best_path), epoch, test_accuracy)
                if self.control.stopped:
                    yield from self._finish("stopped", self._stopped_reason(epoch, None))
                    return
        except torch.OutOfMemoryError:
            outcome = ("failed", self._out_of_memory_reason())
        else:
            outcome = ("finished", f"trained {config.epochs} epochs")
        if outcome[0] == "failed" and self.device.type == "cuda":
            torch.cuda.empty_cache()
        yield from self._finish(*outcome)

    def _train_epoch(self, epoch: int) -> Generator[Event, None, tuple[str, str] | None]:
        """Train one epoch; return ``(status, reason)`` when the run must end, else None."""
        model, optimizer, scaler, control = self.model, self.optimizer, self.scaler, self.control
        scheduler = self.scheduler if self.per_batch_schedule else None
        batches, autocast = self.batches, self.autocast
        model.train()
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        loss_sum, seen = 0.0, 0
        window: deque[tuple[float, int]] = deque(maxlen=SPEED_WINDOW + 1)
        start = time.perf_counter()
        window.append((start, 0))
        paused_before = self.paused_time
        for batch, (x, y) in enumerate(self.train_loader, start=1):
            with autocast():
                out = model(x)
                loss = F.cross_entropy(out, y)
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            if scheduler is not None:
                scheduler.step()
            correct += (out.argmax(dim=1) == y).sum()
            value = loss.item()  # the one synchronisation per batch
            self.step += 1
            n = int(y.shape[0])
            if not math.isfinite(value):
                self._count_training(start, paused_before, seen)
                return "failed", self._diverged_reason(value, epoch, batch)
            loss_sum += value * n
            seen += n
            now = time.perf_counter()
            window.append((now, seen))
            then, seen_then = window[0]
            yield BatchEnd(
                epoch=epoch,
                batch=batch,
                batches=batches,
                step=self.step,
                loss=value,
                lr=float(optimizer.param_groups[0]["lr"]),
                samples_per_second=(seen - seen_then) / max(now - then, 1e-9),
            )
            if control.paused:
                yield from self._pause(epoch, batch)
                window.clear()
                window.append((time.perf_counter(), seen))
            if control.stopped:
                self._count_training(start, paused_before, seen)
                return "stopped", self._stopped_reason(epoch, batch)
            if batch >= batches:
                break
        self._count_training(start, paused_before, seen)
        self.epoch_loss = loss_sum / seen
        self.epoch_accuracy = correct.item() / seen
        return None

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
    def _evaluate(self) -> tuple[float, float]:
        """Mean loss and accuracy on the test split, read with one synchronisation."""
        model = self.model
        model.eval()
        loss_sum = torch.zeros((), dtype=torch.float32, device=self.device)
        correct = torch.zeros((), dtype=torch.float32, device=self.device)
        for x, y in self.test_loader:
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
        yield Finished(
            status=status,
            reason=reason,
            epochs_done=self.epochs_done,
            best_test_accuracy=self.best_accuracy,
            test_accuracy=self.last_metrics.get("test_accuracy"),
            checkpoint=str(self.best_path) if self.best_path is not None else None,
            elapsed=self._elapsed(time.perf_counter()),
            samples_per_second=self.train_samples / self.train_time if self.train_time else 0.0,
        )

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


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def _scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, batches: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule; ``onecycle`` steps per batch, the others per epoch."""
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
