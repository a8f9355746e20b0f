"""Work off the GUI thread: shape inspection and one-off background tasks.

Workers take frozen inputs (an immutable :class:`ArchitectureSpec`, a name) and hand back plain
values through queued signals; they never touch a widget. Inspection results carry the
document generation they were asked for, so the window can drop a stale one; requests that
arrive while an inspection runs are coalesced (only the latest is inspected next).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot


@dataclass(frozen=True)
class InspectJob:
    """What to inspect: a spec, or a torchvision model by name (``torchvision:resnet50``)."""

    generation: int
    spec: Any = None
    torchvision: str | None = None


@dataclass(frozen=True)
class InspectResult:
    """A finished inspection: the job's generation, the Summary and how long it took."""

    generation: int
    summary: Any
    seconds: float


class _InspectWorker(QObject):
    finished = Signal(object)   # InspectResult
    failed = Signal(int, str)   # generation, traceback text

    def __init__(self, owner: Inspector) -> None:
        super().__init__()
        self._owner = owner

    @Slot()
    def process(self) -> None:
        while True:
            job = self._owner._take()
            if job is None:
                return
            start = time.perf_counter()
            try:
                summary = _inspect(job)
            except Exception:  # noqa: BLE001 (a bug: the inspector never raises for user errors)
                self.failed.emit(job.generation, traceback.format_exc())
                continue
            self.finished.emit(InspectResult(job.generation, summary,
                                             time.perf_counter() - start))


def _inspect(job: InspectJob):
    from explorer.core.inspector import inspect_spec, inspect_torchvision

    if job.torchvision is not None:
        return inspect_torchvision(job.torchvision)
    return inspect_spec(job.spec)


class Inspector(QObject):
    """Runs inspections on one worker thread, latest request first, stale ones skipped.

    Signals
    -------
    finished(InspectResult) : on the GUI thread, for the latest job taken.
    failed(int, str) : the generation and a traceback, if the inspector itself broke.
    """

    finished = Signal(object)
    failed = Signal(int, str)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: InspectJob | None = None
        self._thread = QThread()
        self._thread.setObjectName("inspector")
        self._worker = _InspectWorker(self)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.process)
        self._worker.finished.connect(self.finished)
        self._worker.failed.connect(self.failed)
        app = QCoreApplication.instance()
        if app is not None:  # never left running when the application quits
            app.aboutToQuit.connect(self.stop)

    def request(self, job: InspectJob) -> None:
        """Inspect ``job`` soon; replaces a pending job that has not started yet."""
        with self._lock:
            self._pending = job
        if not self._thread.isRunning():  # started on first use
            self._thread.start()
        self._wake.emit()

    def _take(self) -> InspectJob | None:
        with self._lock:
            job, self._pending = self._pending, None
        return job

    def stop(self) -> None:
        """Drop pending work, let a running inspection end, and join the thread."""
        with self._lock:
            self._pending = None
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()

    def is_running(self) -> bool:
        return self._thread.isRunning()


class Task(QThread):
    """Run ``fn()`` once on its own thread; ``done(result)`` or ``error(text)`` after."""

    done = Signal(object)
    error = Signal(str)

    def __init__(self, fn: Callable[[], Any], name: str = "task",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception:  # noqa: BLE001 (reported to the window, which shows it)
            self.error.emit(traceback.format_exc())
            return
        self.done.emit(result)
