"""Pause, resume and stop a training run from another thread."""

from __future__ import annotations

import threading


class TrainControl:
    """Thread-safe requests that the training loop reads between batches.

    Any thread may call :meth:`pause`, :meth:`resume` and :meth:`stop`; the training thread
    calls :meth:`wait_if_paused`. A stop also wakes a paused loop, and it is final.
    """

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stopped = threading.Event()

    def pause(self) -> None:
        """Ask the loop to wait after the current batch (ignored once stopped)."""
        if not self._stopped.is_set():
            self._running.clear()

    def resume(self) -> None:
        """Let a paused loop go on."""
        self._running.set()

    def stop(self) -> None:
        """Ask the loop to end after the current batch, paused or not."""
        self._stopped.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        """A pause was requested and neither resume nor stop followed."""
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def wait_if_paused(self, timeout: float | None = None) -> bool:
        """Block while paused (at most ``timeout`` seconds); ``True`` unless stopped."""
        self._running.wait(timeout)
        return not self._stopped.is_set()
