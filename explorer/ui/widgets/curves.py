"""Live training curves: loss per batch (raw and smoothed), accuracy and test loss per epoch,
learning rate.

Each curve is created once; events append to numpy buffers and a timer (15 Hz) calls
``setData`` only when something changed, never per event. Peak downsampling and clipping
to the view keep 100 epochs of batches cheap to draw.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from explorer.core.spec import atomic_write_text

REDRAW_HZ = 10
SMOOTHING = 0.9  # exponential moving average of the batch loss
EPOCH_COLUMNS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr")
BATCH_COLUMNS = ("step", "epoch", "batch", "loss", "smoothed_loss", "lr")


class _Buffer:
    """Columns of float64 that grow by doubling."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.size = 0
        self._data = np.empty((len(names), 1024), dtype=np.float64)

    def append(self, *values: float) -> None:
        if self.size == self._data.shape[1]:
            self._data = np.concatenate([self._data, np.empty_like(self._data)], axis=1)
        self._data[:, self.size] = values
        self.size += 1

    def column(self, name: str) -> np.ndarray:
        return self._data[self.names.index(name), : self.size]

    def rows(self) -> np.ndarray:
        return self._data[:, : self.size].T

    def clear(self) -> None:
        self.size = 0


class CurvesView(QWidget):
    """Three linked plots over epochs: loss, accuracy, learning rate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(self.palette().color(self.backgroundRole()))
        self.loss_plot = self.plots.addPlot(row=0, col=0, title="Loss")
        self.accuracy_plot = self.plots.addPlot(row=1, col=0, title="Accuracy (%)")
        self.lr_plot = self.plots.addPlot(row=2, col=0, title="Learning rate")
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("bottom", "epoch")
        self.loss_plot.addLegend(offset=(-10, 10))
        self.accuracy_plot.addLegend(offset=(-10, -10))
        self.accuracy_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)
        self.plots.ci.layout.setRowStretchFactor(0, 3)
        self.plots.ci.layout.setRowStretchFactor(1, 2)
        self.plots.ci.layout.setRowStretchFactor(2, 1)
        self._fixed_axes = False
        self._loss_top = 0.0

        def curve(plot, name, colour, width=2, symbol=None, alpha=255):
            pen_colour = pg.mkColor(colour)
            pen_colour.setAlpha(alpha)
            item = plot.plot([], [], name=name, pen=pg.mkPen(pen_colour, width=width),
                             symbol=symbol, symbolSize=6, symbolBrush=colour if symbol else None)
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            return item

        self.loss_raw = curve(self.loss_plot, "batch", "#7f9fcf", width=1, alpha=110)
        self.loss_smooth = curve(self.loss_plot, "batch (smoothed)", "#1f5fbf")
        self.test_loss = curve(self.loss_plot, "test (epoch)", "#d62728", symbol="o")
        self.train_accuracy = curve(self.accuracy_plot, "train", "#1f5fbf", symbol="o")
        self.test_accuracy = curve(self.accuracy_plot, "test", "#d62728", symbol="o")
        self.lr_curve = curve(self.lr_plot, None, "#2ca02c")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plots)

        self.batches = _Buffer(("x", "step", "epoch", "batch", "loss", "smoothed", "lr"))
        self.epochs = _Buffer(EPOCH_COLUMNS)
        self._smoothed = math.nan
        self._dirty = False
        self.redraws = 0
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / REDRAW_HZ))
        self.timer.timeout.connect(self.redraw)
        self.timer.start()

    # ----------------------------------------------------------------- data

    def clear(self) -> None:
        self._fixed_axes = False
        self.batches.clear()
        self.epochs.clear()
        self._smoothed = math.nan
        self._dirty = True

    def start_run(self, epochs: int, lr: float) -> None:
        """Clear, and fix the axes a run will fill: epochs 0 to ``epochs``, accuracy 0–100 %,
        rate 0 to ``lr`` (no schedule goes above it). Fixed axes keep their cached ticks,
        so a redraw paints only the curves (the loss axis still follows the data)."""
        self.clear()
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.setXRange(0, max(1, epochs), padding=0.02)
        self.accuracy_plot.setYRange(0, 100, padding=0.02)
        self.lr_plot.setYRange(0, lr, padding=0.05)
        self._fixed_axes = True
        self._loss_top = 0.0

    def add_batch(self, event) -> None:
        """Append a :class:`~explorer.training.events.BatchEnd`."""
        loss = event.loss
        self._smoothed = loss if math.isnan(self._smoothed) else \
            SMOOTHING * self._smoothed + (1 - SMOOTHING) * loss
        x = event.epoch - 1 + event.batch / max(1, event.batches)
        self.batches.append(x, event.step, event.epoch, event.batch, loss, self._smoothed,
                            event.lr)
        self._dirty = True

    def add_epoch(self, event, lr: float | None = None) -> None:
        """Append an :class:`~explorer.training.events.EpochEnd` (``lr``: the epoch's rate)."""
        if lr is None:
            lr = self.batches.column("lr")[-1] if self.batches.size else math.nan
        self.epochs.append(event.epoch, event.train_loss, event.train_accuracy,
                           event.test_loss, event.test_accuracy, lr)
        self._dirty = True

    def set_history(self, rows: list[dict]) -> None:
        """Show a finished run from its per-epoch metrics (``metrics.jsonl`` rows)."""
        from explorer.training.runs import metric_columns

        self.clear()
        for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
            plot.enableAutoRange()
        columns = metric_columns(rows, EPOCH_COLUMNS)
        for i in range(len(rows)):
            self.epochs.append(*(columns[name][i] for name in EPOCH_COLUMNS))
        self.redraw()

    # ----------------------------------------------------------------- drawing

    def redraw(self) -> None:
        """Push the buffers to the curves if anything changed (called by the timer)."""
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        b, e = self.batches, self.epochs
        x = b.column("x")
        self.loss_raw.setData(x, b.column("loss"))
        self.loss_smooth.setData(x, b.column("smoothed"))
        epoch = e.column("epoch")
        if b.size:
            self.lr_curve.setData(x, b.column("lr"))
        else:
            self.lr_curve.setData(epoch, e.column("lr"))
        self.test_loss.setData(epoch, e.column("test_loss"))
        self.train_accuracy.setData(epoch, 100 * e.column("train_accuracy"))
        self.test_accuracy.setData(epoch, 100 * e.column("test_accuracy"))
        if not b.size and e.size:  # a reopened run: the epoch train loss stands in for batches
            self.loss_smooth.setData(epoch, e.column("train_loss"))
        if self._fixed_axes and b.size:
            self._fit_loss_axis(b.column("loss"), e.column("test_loss"))

    def _fit_loss_axis(self, *columns: np.ndarray) -> None:
        """Grow the loss axis only when a value leaves it (by a quarter), so that its ticks
        stay cached between redraws instead of being laid out again every time."""
        finite = [c[np.isfinite(c)] for c in columns]
        top = max((float(c.max()) for c in finite if c.size), default=0.0)
        if top > self._loss_top or top < self._loss_top / 4:
            self._loss_top = 1.25 * top if top > 0 else 1.0
            self.loss_plot.setYRange(0, self._loss_top, padding=0)

    # ----------------------------------------------------------------- export

    def export_png(self, path: str | Path) -> Path:
        """Save the three plots as one PNG."""
        from pyqtgraph.exporters import ImageExporter

        self._dirty = True
        self.redraw()
        path = Path(path)
        exporter = ImageExporter(self.plots.scene())
        exporter.parameters()["width"] = max(800, self.plots.width())
        exporter.export(str(path))
        return path

    def export_csv(self, path: str | Path) -> list[Path]:
        """Save the per-epoch metrics at ``path`` and, when there are any, the per-batch loss
        and rate beside it as ``<stem>-batches.csv``; return the files written."""
        path = Path(path)
        written = [path]
        atomic_write_text(path, _csv(EPOCH_COLUMNS, self.epochs.rows(), integer=(0,)))
        if self.batches.size:
            batches = path.with_name(f"{path.stem}-batches.csv")
            rows = self.batches.rows()[:, 1:]
            atomic_write_text(batches, _csv(BATCH_COLUMNS, rows, integer=(0, 1, 2)))
            written.append(batches)
        return written


def _csv(header: tuple[str, ...], rows: np.ndarray, integer: tuple[int, ...]) -> str:
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([
            "" if not math.isfinite(v) else int(v) if i in integer else repr(float(v))
            for i, v in enumerate(row)
        ])
    return buffer.getvalue()
