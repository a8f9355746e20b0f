"""Work off the GUI thread: shape inspection (in a child process) and one-off tasks.

Workers take frozen inputs (an immutable :class:`ArchitectureSpec`, a name) and hand back plain
values through queued signals; they never touch a widget. Inspection results carry the
document generation they were asked for, so the window can drop a stale one; requests that
arrive while an inspection runs are coalesced (only the latest is inspected next).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
    """Lives on the inspector thread; hands each job to the child process and waits (the
    wait releases the GIL, so the window's thread runs freely meanwhile)."""

    finished = Signal(object)   # InspectResult
    failed = Signal(int, str)   # generation, traceback text

    def __init__(self, owner: Inspector) -> None:
        super().__init__()
        self._owner = owner
        self._child: subprocess.Popen | None = None

    @Slot()
    def process(self) -> None:
        while True:
            job = self._owner._take()
            if job is None:
                return
            try:
                result = self._ask(job)
            except (OSError, EOFError):  # the child died: start a new one for the next job
                self.close()
                if not self._owner._stopping:
                    self.failed.emit(job.generation, "the inspector process ended unexpectedly")
                continue
            if result[0] == "ok":
                self.finished.emit(InspectResult(job.generation, result[1], result[2]))
            else:
                self.failed.emit(job.generation, result[1])

    @Slot()
    def spawn(self) -> None:
        """Start the child process (it imports torch meanwhile) if it is not running."""
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "explorer.ui.inspector_child"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env())

    def _ask(self, job: InspectJob):
        from explorer.ui.inspector_child import read_frame, write_frame

        self.spawn()
        request = ("torchvision", job.torchvision) if job.torchvision is not None else \
            ("spec", job.spec.to_json())
        write_frame(self._child.stdin, request)
        return read_frame(self._child.stdout)

    @Slot()
    def close(self) -> None:
        """End the child process (EOF on its input; killed if it does not go in 5 s)."""
        child, self._child = self._child, None
        if child is None:
            return
        try:
            child.stdin.close()
            child.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()
        child.stdout.close()


def _child_env() -> dict:
    """The child finds this copy of ``explorer`` even when it runs from a source checkout."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class Inspector(QObject):
    """Runs inspections in a child process driven from one worker thread; only the latest
    request waiting is taken, the ones it replaced are skipped.

    Signals
    -------
    finished(InspectResult) : on the GUI thread, for the latest job taken.
    failed(int, str) : the generation and a traceback, if the inspector itself broke.
    """

    finished = Signal(object)
    failed = Signal(int, str)
    _wake = Signal()
    _spawn = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: InspectJob | None = None
        self._stopping = False
        self._thread = QThread()
        self._thread.setObjectName("inspector")
        self._worker = _InspectWorker(self)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.process)
        self._spawn.connect(self._worker.spawn)
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

    def warm_up(self) -> None:
        """Start the child process now, so that it loads PyTorch while the window starts."""
        if not self._thread.isRunning():
            self._thread.start()
        self._spawn.emit()

    def _take(self) -> InspectJob | None:
        with self._lock:
            job, self._pending = self._pending, None
        return job

    def stop(self) -> None:
        """Drop pending work, end the child process (abandoning a running inspection), join
        the thread."""
        with self._lock:
            self._pending = None
        self._stopping = True
        child = self._worker._child
        if child is not None and child.poll() is None:
            child.kill()  # a running inspection is abandoned: the worker's read ends at once
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()
        self._worker.close()

    def is_running(self) -> bool:
        return self._thread.isRunning()


_DETACHED: list[tuple[QThread, tuple]] = []


def finish_or_detach(thread: QThread, timeout_ms: int, *keep: QObject) -> bool:
    """Wait up to ``timeout_ms`` for ``thread`` to end; ``True`` if it did.

    A thread still running is detached: it loses its parent and is kept alive here with the
    objects in ``keep`` until :func:`wait_detached` joins it, so that no running ``QThread``
    is ever destroyed (Qt would abort the process). The caller disconnects it first, so
    that nothing of the window runs when it ends.
    """
    if not thread.isRunning() or thread.wait(timeout_ms):
        return True
    thread.setParent(None)
    _DETACHED.append((thread, keep))
    return False


def detached_threads() -> list[QThread]:
    """Threads left running by :func:`finish_or_detach` that have not ended yet."""
    return [thread for thread, _keep in _DETACHED if thread.isRunning()]


def wait_detached() -> None:
    """Join every detached thread (after the window has gone: the process ends after)."""
    while _DETACHED:
        thread, _keep = _DETACHED.pop()
        thread.wait()


class Task(QThread):
    """Run ``fn()`` once on its own thread; ``done(result)`` or ``error(text)`` after."""

    done = Signal(object)
    error = Signal(str)

    def __init__(self, fn: Callable[[], Any], name: str = "task",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._fn = fn
        self._dropped = False

    def detach(self) -> bool:
        """Drop this task's result (nothing more is sent) and let it end by itself; ``True``
        when it had already ended. A result sent just before is the receiver's to ignore."""
        self._dropped = True
        return finish_or_detach(self, 0)

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception:  # noqa: BLE001 (reported to the window, which shows it)
            if not self._dropped:
                self.error.emit(traceback.format_exc())
            return
        if not self._dropped:
            self.done.emit(result)
