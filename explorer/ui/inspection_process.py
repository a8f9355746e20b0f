"""The inspection process as seen from the window's side, without Qt (so that a launch can
start it before importing Qt): the jobs and results, and :class:`InspectionProcess`, which
starts ``explorer.ui.inspector_child`` and exchanges frames with it. The Qt side, the
:class:`~explorer.ui.background.Inspector` worker, drives it from a thread."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class JobFailed(Exception):
    """Raised by a job whose failure has its own text (shown as it is)."""


@dataclass(frozen=True)
class InspectJob:
    """What to inspect: a spec, a torchvision model by name (``torchvision:resnet50``) or a
    user's Python file (a :class:`~explorer.core.pyfile.FileRequest`, inspected in a child of
    the inspection process within ``time_limit`` seconds; the result is a ``FileReport``)."""

    generation: int
    spec: Any = None
    torchvision: str | None = None
    file: Any = None
    time_limit: float = 10.0


@dataclass(frozen=True)
class InspectResult:
    """A finished inspection: the job's generation, the Summary and how long it took."""

    generation: int
    summary: Any
    seconds: float


def _child_env() -> dict:
    """The child finds this copy of ``explorer`` even when it runs from a source checkout."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _cancel_pipe() -> tuple[int, int] | None:
    """``(read, write)`` ends of a non-blocking pipe for :meth:`InspectionProcess.cancel_older`
    (where processes can inherit one)."""
    if sys.platform == "win32":
        return None
    read, write = os.pipe()
    os.set_blocking(write, False)
    return read, write


def _end(process: subprocess.Popen) -> None:
    """Kill ``process`` and reap it (a running inspection is abandoned)."""
    if process.poll() is None:
        process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout):
        pipe.close()


def start_inspection_process() -> InspectionProcess:
    """The inspection process, started now, for an :class:`Inspector` to use: it loads
    PyTorch on another core while the window starts, and makes the first table."""
    process = InspectionProcess()
    try:
        process.spawn()
    except OSError:
        pass  # tried again at the first request, whose failure the window then shows
    return process


class InspectionProcess:
    """The inspection child process, started when first needed and again after it died.
    Thread-safe: :meth:`close` (GUI thread) ends it even while the worker is starting it,
    and once closed it is never started again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._closed = False
        self._cancel: tuple[int, int] | None = None  # a pipe: newer file generations
        self._running_file: int | None = None  # the generation of the file job in flight

    def spawn(self) -> subprocess.Popen:
        with self._lock:
            if self._closed:
                raise JobFailed("the inspector was stopped")
            if self._process is not None and self._process.poll() is None:
                return self._process
        from explorer.ui.inspector_child import command

        cancel = _cancel_pipe()
        process = subprocess.Popen(  # outside the lock: close() never waits for a start
            command() + (["--cancel-fd", str(cancel[0])] if cancel else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env(),
            pass_fds=cancel[:1] if cancel else ())
        if cancel:
            os.close(cancel[0])  # the child's end
        with self._lock:
            if not self._closed:
                self._close_cancel()
                self._process, self._cancel = process, cancel
                return process
        _end(process)  # closed while it was starting
        if cancel:
            os.close(cancel[1])
        raise JobFailed("the inspector was stopped")

    def cancel_older(self, generation: int) -> None:
        """Stop a running file inspection older than ``generation`` (it loops, say)."""
        with self._lock:
            cancel = self._cancel
            if cancel is None or self._running_file is None or \
                    self._running_file >= generation:
                return
            try:
                os.write(cancel[1], f"{generation}\n".encode())
            except OSError:  # full (nobody reads: no file job runs) or the child is gone
                pass

    def _close_cancel(self) -> None:
        if self._cancel is not None:
            os.close(self._cancel[1])
            self._cancel = None

    def inspect(self, job: InspectJob) -> InspectResult:
        if job.file is not None:
            request = ("file", (job.file, job.time_limit, job.generation))
        elif job.torchvision is not None:
            request = ("torchvision", job.torchvision)
        else:
            request = ("spec", job.spec.to_json())
        reply = self._ask(request, job.generation if job.file is not None else None)
        return InspectResult(job.generation, reply[0], reply[1])

    def _ask(self, request: tuple, file_generation: int | None = None) -> tuple:
        """Send ``request`` to the child process and return its answer (value, seconds)."""
        from explorer.ui.inspector_child import read_frame, write_frame

        process = self.spawn()
        with self._lock:
            self._running_file = file_generation
        try:
            write_frame(process.stdin, request)
            reply = read_frame(process.stdout)
        except (OSError, EOFError, ValueError):  # it died: the next job starts a new one
            with self._lock:
                if self._process is process:
                    self._process = None
            _end(process)
            raise JobFailed("the inspector process ended unexpectedly") from None
        finally:
            with self._lock:
                self._running_file = None
        if reply[0] != "ok":
            raise JobFailed(reply[1])
        return reply[1], reply[2]

    def call(self, fn: Callable, args: tuple, time_limit: float):
        """``fn(*args)`` forked from the child process: its ``Isolated`` outcome."""
        return self._ask(("call", (fn, args, time_limit)))[0]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            process, self._process = self._process, None
            self._close_cancel()
        if process is not None:
            _end(process)  # a read in the worker ends at once (EOF)
