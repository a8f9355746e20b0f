"""Where a run stands, in words: what the window's status bar, title and tabs say.

:class:`RunMonitor` follows a run's events (plain values, no Qt) and phrases its progress:
epoch, batch, the latest test accuracy and the time left while it runs, and the best accuracy
when it ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def duration(seconds: float) -> str:
    """``75`` → ``"1:15"``, ``3725`` → ``"1:02:05"``; ``"…"`` when unknown."""
    if not math.isfinite(seconds):
        return "…"
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(fraction: float | None, digits: int = 1) -> str:
    return "–" if fraction is None else f"{100 * fraction:.{digits}f} %"


@dataclass
class RunMonitor:
    """The state of one run, updated by :meth:`update` with each engine event.

    ``batch_size`` turns samples per second into the time left.
    """

    label: str
    batch_size: int
    state: str = "loading"          # loading, running, paused, finished, stopped, failed
    epochs: int = 0
    batches: int = 0
    epoch: int = 0
    batch: int = 0
    samples_per_second: float = 0.0
    test_accuracy: float | None = None
    tested_epoch: int = 0
    best_accuracy: float | None = None
    best_epoch: int = 0
    epochs_done: int = 0
    elapsed: float = 0.0
    reason: str = ""

    @property
    def steps_done(self) -> int:
        return max(0, (self.epoch - 1) * self.batches + self.batch) if self.epoch else 0

    @property
    def fraction(self) -> float:
        """How much of the run's batches are done, 0 to 1."""
        total = self.epochs * self.batches
        return min(1.0, self.steps_done / total) if total else 0.0

    @property
    def seconds_left(self) -> float:
        """Training time left at the current speed (evaluation not counted); ``nan`` if not
        known yet."""
        if self.samples_per_second <= 0 or not self.batch_size:
            return math.nan
        left = self.epochs * self.batches - self.steps_done
        return left * self.batch_size / self.samples_per_second

    def update(self, event) -> None:
        """Follow one engine event."""
        name = type(event).__name__
        if name == "Started":
            self.state, self.epochs, self.batches = "running", event.epochs, event.batches_per_epoch
        elif name == "BatchEnd":
            self.epoch, self.batch, self.batches = event.epoch, event.batch, event.batches
            self.samples_per_second = event.samples_per_second
        elif name == "EpochEnd":
            self.test_accuracy, self.tested_epoch = event.test_accuracy, event.epoch
            if event.is_best:
                self.best_accuracy, self.best_epoch = event.test_accuracy, event.epoch
        elif name == "Paused":
            self.state = "paused"
        elif name == "Resumed":
            self.state = "running"
        elif name == "Finished":
            self.state, self.reason = event.status, event.reason
            self.epochs_done, self.elapsed = event.epochs_done, event.elapsed
            if event.best_test_accuracy is not None:
                self.best_accuracy = event.best_test_accuracy

    @property
    def running(self) -> bool:
        return self.state in ("loading", "running", "paused")

    def status_text(self) -> str:
        """One line for the status bar: epoch, batch, accuracy and time left."""
        if self.state == "loading":
            return f"Training {self.label}: loading the data set…"
        if not self.epoch:
            return f"Training {self.label}: starting…"
        accuracy = (f"test accuracy {percent(self.test_accuracy)} (epoch {self.tested_epoch})"
                    if self.test_accuracy is not None else "test accuracy after epoch 1")
        text = (f"epoch {self.epoch}/{self.epochs} · batch {self.batch}/{self.batches} · "
                f"{accuracy} · ETA {duration(self.seconds_left)}")
        return ("Paused: " if self.state == "paused" else "Training: ") + text

    def short_text(self) -> str:
        """A few words for the window title and the workspace tab."""
        if self.state == "loading":
            return "loading data"
        if self.state == "paused":
            return f"paused at {100 * self.fraction:.0f} %"
        return f"training {100 * self.fraction:.0f} %"

    def end_text(self) -> str:
        """What the window announces when the run ends."""
        best = (f"best test accuracy {percent(self.best_accuracy, 2)}"
                + (f" (epoch {self.best_epoch})" if self.best_epoch else "")
                if self.best_accuracy is not None else "no epoch completed")
        epochs = f"{self.epochs_done} epoch{'s' if self.epochs_done != 1 else ''}"
        head = {"finished": "finished", "stopped": "stopped", "failed": "failed"}.get(
            self.state, self.state)
        text = f"Training {self.label} {head}: {best}, {epochs} in {duration(self.elapsed)}"
        return text + (f" — {self.reason}" if self.state == "failed" and self.reason else "")
