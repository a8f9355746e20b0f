"""Work off the GUI thread: one generic "latest job only" worker, shape inspection (in a
child process) on top of it, and one-off tasks.

:class:`LatestJobs` is the one worker the views use (the inspector, the Code view, the
predictions and feature maps): jobs are frozen inputs and a plain function; each carries a
generation number; of the jobs of one key waiting, only the newest runs; a result reaches
the window only if it is of the newest job of its key (anything older is dropped, on the GUI
thread, where nothing newer can slip in between); :meth:`LatestJobs.stop` is bounded, and a
job that outlives it is abandoned — its thread ends by itself after it and never reports.
No worker touches a widget.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from explorer.ui.inspection_process import InspectionProcess, InspectJob, JobFailed

THREAD_PREFIX = "explorer-"
"""Every worker thread's name starts with this (the test suite checks none is left)."""


class _Run(threading.Thread):
    """One worker thread and its waiting jobs (newest per key); once stopped, it never
    reports again and ends after the job it is running."""

    def __init__(self, name: str, report: Callable) -> None:
        super().__init__(name=THREAD_PREFIX + name, daemon=True)
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[int, Callable, tuple]] = {}
        self._report = report
        self.stopped = False

    def put(self, key: str, generation: int, fn: Callable, args: tuple) -> None:
        with self._cond:
            self._pending[key] = (generation, fn, args)  # replaces a waiting job of the key
            self._cond.notify()
        if self.ident is None:  # started at its first job
            self.start()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._pending.clear()
            self._cond.notify()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self.stopped:
                    self._cond.wait()
                if self.stopped:
                    return
                key = next(iter(self._pending))
                generation, fn, args = self._pending.pop(key)
            try:
                ok, value = True, fn(*args)
            except JobFailed as exc:
                ok, value = False, str(exc)
            except Exception as exc:  # noqa: BLE001 - a job failure is reported, the thread lives on
                ok, value = False, f"{type(exc).__name__}: {exc}"
            with self._cond:  # stop() cannot pass between this check and the report
                if self.stopped:
                    return
                try:
                    self._report(self, key, generation, ok, value)
                except RuntimeError:  # the owner is gone
                    return


class LatestJobs(QObject):
    """Runs jobs on one background thread, the newest of each key only; lives on the GUI
    thread.

    ``submit(fn, *args, key=..., generation=...)`` runs ``fn(*args)`` there. A job still
    waiting when a newer one of its key arrives is dropped; a result whose generation is not
    the newest submitted for its key is dropped when it arrives. The thread starts at the
    first job and again after :meth:`stop`.

    Signals
    -------
    result(str, int, object) : key, generation, the job's return value.
    error(str, int, str) : key, generation, one line (a :class:`JobFailed`'s own text).
    """

    result = Signal(str, int, object)
    error = Signal(str, int, str)
    _finished = Signal(object, str, int, bool, object)

    def __init__(self, name: str, parent: QObject | None = None, *,
                 interrupt: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.dropped = 0
        """Results that arrived for an older job than the newest of their key."""
        self._interrupt = interrupt
        self._latest: dict[str, int] = {}
        self._counter = 0
        self._run: _Run | None = None
        self._finished.connect(self._deliver)
        app = QCoreApplication.instance()
        if app is not None:  # never left running when the application quits
            app.aboutToQuit.connect(self.stop)

    def submit(self, fn: Callable, *args, key: str = "", generation: int | None = None) -> int:
        """Run ``fn(*args)`` soon; return the job's generation (``generation``, or the next
        number). Generations of one key must increase."""
        if generation is None:
            generation = self._counter + 1
        self._counter = max(self._counter, generation)
        self._latest[key] = generation
        if self._run is None:
            self._run = _Run(self.name, self._finished.emit)
        self._run.put(key, generation, fn, args)
        return generation

    def latest(self, key: str = "") -> int:
        """The generation of the newest job submitted with ``key`` (0: none)."""
        return self._latest.get(key, 0)

    @property
    def running(self) -> bool:
        return self._run is not None and self._run.is_alive()

    def stop(self, timeout: float = 5.0) -> bool:
        """Drop waiting jobs, interrupt the running one (if the owner said how) and wait up
        to ``timeout`` seconds for the thread; ``False`` if the job outlived the wait (it is
        abandoned: it never reports, and its thread ends after it)."""
        run, self._run = self._run, None
        if run is None:
            return True
        run.stop()
        if self._interrupt is not None:
            self._interrupt()
        if run.ident is not None:
            run.join(timeout)
        return not run.is_alive()

    def _deliver(self, run: _Run, key: str, generation: int, ok: bool, value) -> None:
        if run is not self._run or generation != self._latest.get(key):
            self.dropped += 1
            return
        if ok:
            self.result.emit(key, generation, value)
        else:
            self.error.emit(key, generation, value)


# --------------------------------------------------------------------------- inspection


class Inspector(QObject):
    """Runs inspections in a child process driven from a :class:`LatestJobs` thread, so
    that their work never holds the window's GIL; only the latest request waiting is taken.

    Signals
    -------
    finished(InspectResult) : on the GUI thread, for the newest job only.
    failed(int, str) : the generation and the reason, if the inspector itself broke.
    called(str, object) : the key and the :class:`~explorer.core.pyfile.isolate.Isolated`
        outcome of a :meth:`call`.
    call_failed(str, str) : the key and the reason, if a call could not be made.
    """

    finished = Signal(object)
    failed = Signal(int, str)
    called = Signal(str, object)
    call_failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None, *,
                 process: InspectionProcess | None = None) -> None:
        super().__init__(parent)
        self._child = process or InspectionProcess()
        self._jobs = LatestJobs("inspector", self, interrupt=lambda: self._child.close())
        self._jobs.result.connect(self._result)
        self._jobs.error.connect(self._error)

    @property
    def dropped(self) -> int:
        """Results that arrived after a newer request, dropped."""
        return self._jobs.dropped

    def request(self, job: InspectJob) -> None:
        """Inspect ``job`` soon; replaces a pending job that has not started yet (and stops a
        running file inspection: its result would be dropped anyway)."""
        self._jobs.submit(self._child.inspect, job, key="inspect", generation=job.generation)
        self._child.cancel_older(job.generation)

    def warm_up(self) -> None:
        """Start the child process now, so that it loads PyTorch while the window starts."""
        self._jobs.submit(self._child.spawn, key="spawn")

    def stop(self, timeout: float = 5.0) -> bool:
        """Drop pending work, end the child process (abandoning a running inspection, or one
        being started) and join the thread; a later request starts them again."""
        stopped = self._jobs.stop(timeout)
        self._child = InspectionProcess()
        return stopped

    def is_running(self) -> bool:
        return self._jobs.running

    def call(self, key: str, fn: Callable, *args, time_limit: float) -> None:
        """Run ``fn(*args)`` in a child forked from the inspection process (warm: PyTorch is
        loaded there), with the limits of :func:`explorer.core.pyfile.isolate.run_isolated`;
        ``called(key, outcome)`` after. ``fn`` is a module-level function; it and its
        arguments travel pickled. For work on a user's code that is not an inspection (an
        ONNX export of a Python file's network)."""
        self._jobs.submit(self._child.call, fn, args, time_limit, key=key)

    def _result(self, key: str, _generation: int, value) -> None:
        if key == "inspect":
            self.finished.emit(value)
        elif key != "spawn":
            self.called.emit(key, value)

    def _error(self, key: str, generation: int, text: str) -> None:
        if key == "inspect":
            self.failed.emit(generation, text)
        elif key != "spawn":
            self.call_failed.emit(key, text)


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
