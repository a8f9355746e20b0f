"""Training and look-inside work off the GUI thread.

:class:`TrainingRunner` runs the engine's generator (:func:`explorer.training.train`) in a
``QThread`` on a frozen :class:`TrainJob` and forwards its events — frozen records of plain
values — as signals; at the start, at every epoch end and at the end it also sends a
:class:`~explorer.training.analysis.Snapshot` of the weights (CPU copies) for the feature maps
and the canvas. Short jobs over a snapshot (predictions, feature maps) run on a
:class:`~explorer.ui.background.LatestJobs` thread and build their models in a
:class:`ModelCache`.

No worker touches a widget. Closing: :meth:`TrainingRunner.shutdown` requests a stop, which
the engine honours between batches (and the confusion pass between its batches), then waits
a bounded time for the thread; one still busy is detached and ends by itself — a running
``QThread`` is never destroyed.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from explorer.core.spec import ArchitectureSpec

SAMPLE_IMAGES = 64
"""Test images sent to the window for the feature maps and the confusion view."""


@dataclass(frozen=True)
class TrainJob:
    """Everything one run needs, frozen on the GUI thread before it starts.

    ``spec`` is an ``ArchitectureSpec``, or a
    :class:`~explorer.core.pyfile.network.FileNetwork` (a user's file, built in the worker);
    ``label`` names the network being trained (e.g. ``"course-resnet"``);
    ``dataset`` is a data set already in memory (tests, benchmarks), else
    ``config.dataset`` is loaded in the worker.
    """

    spec: ArchitectureSpec  # or a FileNetwork
    config: Any  # explorer.training.TrainConfig (imported lazily: torch)
    run_dir: Path | None
    label: str
    generation: int = 0
    dataset: Any = None


@dataclass(frozen=True)
class DataInfo:
    """What the window learns about the run's data once it is loaded: plain values."""

    name: str
    classes: tuple[str, ...]
    input_shape: tuple[int, int, int]
    images: Any  # uint8 ndarray (N, C, H, W): the first test images
    labels: Any  # int64 ndarray (N,)


@dataclass(frozen=True)
class ConfusionReady:
    """The confusion matrix of the final weights on the whole test split."""

    label: str
    confusion: Any  # explorer.training.analysis.Confusion
    images: Any  # uint8 ndarray (N, C, H, W): the test images, for the cells


class _TrainWorker(QObject):
    event = Signal(object)
    snapshot = Signal(object)
    data_ready = Signal(object)
    confusion_ready = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    loading = Signal(int, int)
    done = Signal()

    def __init__(self, job: TrainJob, control) -> None:
        super().__init__()
        self.job = job
        self.control = control

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - the run must end with a message, never kill the thread
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.failed.emit(detail)
        finally:
            self.done.emit()

    def _run(self) -> None:
        import torch

        lower_priority()  # the GUI thread gets a core first

        from explorer.core.pyfile.network import build_network
        from explorer.data import DataError, LoadCancelled, load_dataset
        from explorer.training import ConfigError, TrainError, train
        from explorer.training.analysis import Snapshot, confusion
        from explorer.training.events import EpochEnd, Finished, Started

        job = self.job
        try:
            dataset = job.dataset
            if dataset is None:
                dataset = load_dataset(job.config.dataset, progress=self.loading.emit,
                                       cancel=lambda: self.control.stopped)
            self.data_ready.emit(_data_info(dataset, job.spec))
            # the engine's first weights for this seed, without touching the global RNG
            seeded = torch.Generator().manual_seed(job.config.seed)
            model = build_network(job.spec, "cpu", generator=seeded)  # a spec or a .py
            events = train(job.spec, job.config, dataset=dataset, run_dir=job.run_dir,
                           control=self.control, model=model)
        except LoadCancelled:
            self.cancelled.emit()
            return
        except (ConfigError, DataError, TrainError, ValueError) as exc:
            self.failed.emit(str(exc))
            return

        def snap(epoch: int, when: str) -> None:
            self.snapshot.emit(Snapshot.of_model(
                model, job.spec, mean=dataset.mean, std=dataset.std, classes=dataset.classes,
                label=f"{job.label}, {when}", epoch=epoch,
            ))

        last = None
        for event in events:
            if isinstance(event, Finished):
                last = event
                if event.status != "failed":
                    snap(event.epochs_done, event.status)
            self.event.emit(event)
            if isinstance(event, Started):
                snap(0, "untrained")
            elif isinstance(event, EpochEnd):
                snap(event.epoch, f"epoch {event.epoch}")
        if last is None or last.status == "failed" or self.control.closing:
            return
        model.eval()
        result = confusion(model.to("cpu"), dataset.test, input_shape=job.spec.input_shape,
                           mean=dataset.mean, std=dataset.std, classes=dataset.classes,
                           cancel=lambda: self.control.closing)
        if result is None:
            return
        self.confusion_ready.emit(
            ConfusionReady(job.label, result, dataset.test.images.numpy().copy())
        )


def lower_priority(nice: int = 10) -> bool:
    """Give the calling thread (and the compute threads it starts) a lower CPU priority, so
    the GUI thread gets a core first (Linux: priorities are per thread); ``False`` where
    the system does not allow it."""
    if not hasattr(os, "setpriority") or not sys.platform.startswith("linux"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       os.getpriority(os.PRIO_PROCESS, 0) + nice)
    except OSError:
        return False
    return True


def _data_info(dataset, spec: ArchitectureSpec) -> DataInfo:
    n = min(SAMPLE_IMAGES, len(dataset.test))
    return DataInfo(
        name=dataset.name,
        classes=tuple(dataset.classes),
        input_shape=tuple(int(v) for v in spec.input_shape),
        images=dataset.test.images[:n].numpy().copy(),
        labels=dataset.test.labels[:n].numpy().copy(),
    )


def _control():
    """The engine's :class:`TrainControl` plus a flag: the window is closing."""
    from explorer.training import TrainControl

    control = TrainControl()
    control.closing = False
    return control


_FORWARDED = ("event", "snapshot", "data_ready", "confusion_ready", "failed", "cancelled",
              "loading")


class TrainingRunner(QObject):
    """Runs one training job at a time in its own ``QThread``; lives on the GUI thread.

    Signals
    -------
    event(object) : every engine event (Started, BatchEnd, EpochEnd, CheckpointSaved,
        Paused, Resumed, Finished), in order.
    snapshot(object) : a Snapshot of the weights (start, each epoch end, the end).
    data_ready(object) : a DataInfo once the data set is loaded.
    confusion_ready(object) : a ConfusionReady after a run that did not fail.
    failed(str) : the run could not start or broke unexpectedly.
    cancelled() : stopped while the data set was loading (before any event).
    loading(int, int) : data set loading progress (done, total).
    running_changed(bool)
    """

    event = Signal(object)
    snapshot = Signal(object)
    data_ready = Signal(object)
    confusion_ready = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    loading = Signal(int, int)
    running_changed = Signal(bool)
    stop_wait_ms = 3000
    """How long closing waits for the run to stop before leaving it to end by itself."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _TrainWorker | None = None
        self._control = None
        self.job: TrainJob | None = None
        self.paused = False

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, job: TrainJob) -> None:
        """Start ``job`` (its spec and configuration are frozen values).

        Raises
        ------
        RuntimeError
            When a run is already going.
        """
        if self.running:
            raise RuntimeError("a training run is already going; stop it first")
        self.job = job
        self.paused = False
        self._control = _control()
        thread = QThread()
        thread.setObjectName("training")
        worker = _TrainWorker(job, self._control)
        worker.moveToThread(thread)
        for name in _FORWARDED:
            getattr(worker, name).connect(getattr(self, name))
        worker.event.connect(self._track)
        thread.started.connect(worker.run)
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)  # GUI may be waiting
        thread.finished.connect(self._cleanup)
        self._thread, self._worker = thread, worker
        thread.start()
        self.running_changed.emit(True)

    def _track(self, event) -> None:
        name = type(event).__name__
        if name == "Paused":
            self.paused = True
        elif name in ("Resumed", "Finished"):
            self.paused = False

    def pause(self) -> None:
        if self._control is not None:
            self._control.pause()

    def resume(self) -> None:
        if self._control is not None:
            self._control.resume()

    def stop(self) -> None:
        """Ask the run to stop after the current batch (keeps its checkpoints)."""
        if self._control is not None:
            self._control.stop()

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Stop the run and wait for its thread, at most ``timeout_ms`` (default
        :attr:`stop_wait_ms`); ``True`` when it ended in time.

        A thread still busy (a batch or the confusion pass longer than the wait) is
        disconnected from this runner and detached (see
        :func:`~explorer.ui.background.finish_or_detach`): it ends by itself after the
        current batch, touching nothing of the window, and the process waits for it at exit.
        """
        from explorer.ui.background import finish_or_detach

        thread, worker = self._thread, self._worker
        if thread is None:
            return True
        self._control.closing = True
        self._control.stop()
        if finish_or_detach(thread, self.stop_wait_ms if timeout_ms is None else timeout_ms,
                            worker):
            self._cleanup()
            return True
        for name in _FORWARDED:
            getattr(worker, name).disconnect(getattr(self, name))
        worker.event.disconnect(self._track)
        thread.finished.disconnect(self._cleanup)
        self._thread = self._worker = None
        self.paused = False
        self.running_changed.emit(False)
        return False

    @Slot()
    def _cleanup(self) -> None:
        thread = self._thread
        if thread is None:
            return
        thread.wait()
        # both are Python's: freed here, once the thread has ended (never by Qt as well)
        self._thread = self._worker = None
        self.paused = False
        self.running_changed.emit(False)


class ModelCache:
    """Built models for snapshots, the last few; used by the inference jobs only (they run
    one at a time on the inference thread)."""

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._items: list[tuple[Any, Any]] = []

    def model(self, snapshot):
        for snap, model in self._items:
            if snap is snapshot:
                return model
        model = snapshot.build()
        self._items = [(snapshot, model), *self._items][: self.size]
        return model
