"""The command line's training progress bar (tqdm): live on a terminal, silent elsewhere."""

from __future__ import annotations

import sys
from typing import TextIO

from explorer.textout import clean


class TrainProgress:
    """One bar over all batches of a run, with the loss and speed; epoch lines above it.

    On a stream that is not a terminal (a log file, a pipe, CI) the bar is off and
    :meth:`line` is a plain print, so logs hold the epoch lines only.
    """

    def __init__(self, epochs: int, *, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.epochs = epochs
        self.bar = None
        try:
            self.live = self.stream.isatty()
        except (AttributeError, ValueError):
            self.live = False

    def update(self, event) -> None:
        """Advance on a ``BatchEnd`` event; other events are ignored."""
        from explorer.training import BatchEnd

        if not self.live or not isinstance(event, BatchEnd):
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=event.batches * self.epochs, file=self.stream, unit="batch",
                            dynamic_ncols=True, leave=False, mininterval=0.2)
        done = (event.epoch - 1) * event.batches + event.batch
        self.bar.set_description_str(f"epoch {event.epoch}/{self.epochs}", refresh=False)
        self.bar.set_postfix_str(
            f"loss {event.loss:.4f}, {event.samples_per_second:,.0f} img/s", refresh=False)
        self.bar.update(done - self.bar.n)

    def line(self, text: str, file: TextIO) -> None:
        """Print a line (cleaned of control characters) without breaking the bar."""
        text = clean(text)
        if self.bar is not None:
            self.bar.write(text, file=file)
        else:
            print(text, file=file, flush=True)

    def close(self) -> None:
        """Remove the bar from the terminal."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
