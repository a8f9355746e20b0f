"""Run comparison: a table of runs, their curves overlaid, and best test accuracy against
parameters, multiply-adds or training time with the Pareto front marked.

The view draws what the controller computed (:class:`RunData`, off the GUI thread); a click
on a point selects its run, a double click opens it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.training.compare import COSTS, pareto_front
from explorer.ui.widgets.lab_view import LabView

METRICS = {"test_accuracy": "Test accuracy (%)", "train_accuracy": "Training accuracy (%)",
           "test_loss": "Test loss", "train_loss": "Training loss"}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
MAX_FIRST_CHECKED = 4
"""Runs ticked when the view first fills (newest first)."""
COLUMNS = ("Run", "Data", "Epochs", "Best test", "Parameters", "Mult-adds", "Time (s)", "Front")


@dataclass(frozen=True)
class RunData:
    """A run as the view shows it: its point and its curves ``{(metric, by): (x, y)}``."""

    point: object  # explorer.training.compare.RunPoint
    curves: dict = field(default_factory=dict)


def run_data(info) -> RunData:
    """What the view needs of one run (reads its files, each once; for the worker thread)."""
    from explorer.training.compare import ALIGNMENTS, CURVE_METRICS, curve, run_point
    from explorer.training.runs import read_metrics

    rows = read_metrics(info.path)
    curves = {(m, by): curve(info, m, by, rows) for m in CURVE_METRICS for by in ALIGNMENTS}
    return RunData(run_point(info, rows), curves)


class RunCompareView(LabView):
    """Runs side by side.

    Signals
    -------
    refresh_requested() : read the runs again.
    open_run(object) : a RunInfo to open (its network and best weights).
    diff_runs(object, object) : two RunInfos whose networks to diff.
    """

    refresh_requested = Signal()
    open_run = Signal(object)
    diff_runs = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunData] = []
        self.front: list = []
        self._scatter_runs: list[RunData] = []
        self._checked: set[Path] = set()
        self._seen: set[Path] = set()
        self.table = QTreeWidget()
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setRootIsDecorated(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(False)
        self.table.itemChanged.connect(self._item_changed)
        self.table.itemDoubleClicked.connect(lambda item, _c: self._open(item))
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.metric_box = QComboBox()
        for key, title in METRICS.items():
            self.metric_box.addItem(title, key)
        self.align_box = QComboBox()
        self.align_box.addItem("by epoch", "epoch")
        self.align_box.addItem("by time", "time")
        self.cost_box = QComboBox()
        for key, title in COSTS.items():
            self.cost_box.addItem(f"against {title}", key)
        for box in (self.metric_box, self.align_box, self.cost_box):
            box.currentIndexChanged.connect(lambda _i: self.redraw())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.open_button = QPushButton("Open run")
        self.open_button.setToolTip("Open the run's network with its best weights")
        self.open_button.clicked.connect(lambda: self._open(self.table.currentItem()))
        self.diff_button = QPushButton("Diff their networks")
        self.diff_button.clicked.connect(self._diff)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setMinimumWidth(50)
        self._make_plots()
        self._lay_out()
        self._selection_changed()

    def _make_plots(self) -> None:
        self.curve_plot = pg.PlotWidget()
        self.scatter_plot = pg.PlotWidget()
        for plot in (self.curve_plot, self.scatter_plot):
            plot.setBackground(self.palette().color(self.backgroundRole()))
            plot.showGrid(x=True, y=True, alpha=0.25)
        self.scatter_plot.setLabel("left", "best test accuracy (%)")
        self.scatter = pg.ScatterPlotItem(size=11, hoverable=True, tip=self._tip)
        self.scatter.sigClicked.connect(self._point_clicked)
        self.front_line = pg.PlotDataItem(pen=pg.mkPen("#2ca02c", width=2,
                                                       style=Qt.PenStyle.DashLine))
        self.scatter_plot.addItem(self.front_line)
        self.scatter_plot.addItem(self.scatter)

    def _lay_out(self) -> None:
        controls = QHBoxLayout()
        for widget in (self.metric_box, self.align_box, self.cost_box):
            controls.addWidget(widget)
        controls.addStretch(1)
        buttons = QHBoxLayout()
        for widget in (self.refresh_button, self.open_button, self.diff_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.curve_plot)
        plots.addWidget(self.scatter_plot)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(plots)
        split.setSizes([200, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)

    # ----------------------------------------------------------------- contents

    def set_runs(self, runs: list[RunData]) -> None:
        """Show ``runs`` (newest first); new runs are ticked, and the ticks a user made stay."""
        self.runs = list(runs)
        known = [r.point.info.path for r in self.runs]
        new = [p for p in known if p not in self._seen]
        if not self._seen:  # at first, the newest few; later, every run that appears
            new = new[:MAX_FIRST_CHECKED]
        self._seen |= set(known)
        self._checked = {p for p in self._checked if p in known} | set(new)
        self.table.blockSignals(True)
        self.table.clear()
        for data in self.runs:
            self.table.addTopLevelItem(self._item(data))
        self.table.blockSignals(False)
        for column in range(len(COLUMNS)):
            self.table.resizeColumnToContents(column)
        self.redraw()

    def _item(self, data: RunData) -> QTreeWidgetItem:
        p = data.point
        item = QTreeWidgetItem([
            f"{p.info.name} · {p.label}", p.info.dataset,
            f"{p.info.epochs_done}/{p.info.epochs_planned}", *p.figures(), ""])
        for column in range(2, len(COLUMNS) - 1):
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
        item.setTextAlignment(len(COLUMNS) - 1, Qt.AlignmentFlag.AlignLeft)  # under "Front"
        item.setData(0, Qt.ItemDataRole.UserRole, data)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, Qt.CheckState.Checked if p.info.path in self._checked
                           else Qt.CheckState.Unchecked)
        item.setToolTip(0, str(p.info.path))
        return item

    def checked(self) -> list[RunData]:
        return [r for r in self.runs if r.point.info.path in self._checked]

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != 0:
            return
        path = item.data(0, Qt.ItemDataRole.UserRole).point.info.path
        if item.checkState(0) == Qt.CheckState.Checked:
            self._checked.add(path)
        else:
            self._checked.discard(path)
        self.redraw()

    # ----------------------------------------------------------------- drawing

    def redraw(self) -> None:
        metric, by, cost = (self.metric_box.currentData(), self.align_box.currentData(),
                            self.cost_box.currentData())
        chosen = self.checked()
        self.curve_plot.clear()
        self.curve_plot.setLabel("left", METRICS[metric])
        self.curve_plot.setLabel("bottom", "epoch" if by == "epoch" else "time (s)")
        scale = 100.0 if metric.endswith("accuracy") else 1.0
        for data in chosen:
            x, y = data.curves.get((metric, by), (np.array([]), np.array([])))
            colour = self.colour(data)
            self.curve_plot.plot(x, y * scale, pen=pg.mkPen(colour, width=2), symbol="o",
                                 symbolSize=5, symbolBrush=colour, name=data.point.label)
        self._swatches()
        self._draw_scatter(chosen, cost)
        self._selection_changed()

    def _draw_scatter(self, chosen: list[RunData], cost: str) -> None:
        points = [d.point for d in chosen]
        front = pareto_front(points, cost)
        on_front = {id(p) for p in front}
        spots = []
        for i, data in enumerate(chosen):
            p = data.point
            if p.best_test_accuracy is None or p.cost(cost) is None:
                continue
            colour = self.colour(data)
            spots.append({"pos": (p.cost(cost), 100 * p.best_test_accuracy), "data": i,
                          "brush": pg.mkBrush(colour),
                          "pen": pg.mkPen("#2ca02c" if id(p) in on_front else colour,
                                          width=3 if id(p) in on_front else 1),
                          "symbol": "star" if id(p) in on_front else "o",
                          "size": 16 if id(p) in on_front else 11})
        self.scatter.setData(spots)
        self.front_line.setData([p.cost(cost) for p in front],
                                [100 * p.best_test_accuracy for p in front])
        self.scatter_plot.setLabel("bottom", COSTS[cost])
        self.front = front
        self._scatter_runs = chosen
        # the front column of the table follows the cost shown
        for row in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(row)
            point = item.data(0, Qt.ItemDataRole.UserRole).point
            self.table.blockSignals(True)
            item.setText(len(COLUMNS) - 1, "★" if id(point) in on_front else "")
            self.table.blockSignals(False)

    def _tip(self, x: float, y: float, data) -> str:
        p = self._scatter_runs[data].point
        return f"{p.label}\n{p.info.name} · best {y:.2f} %\n{self.cost_box.currentText()}: {x:,.6g}"

    def colour(self, data: RunData) -> str:
        """A run's colour in both plots and its swatch in the table (by its place among the
        ticked runs)."""
        chosen = [r.point.info.path for r in self.checked()]
        index = chosen.index(data.point.info.path) if data.point.info.path in chosen else 0
        return PALETTE[index % len(PALETTE)]

    def _swatches(self) -> None:
        """Each ticked run's row shows its colour (the plots have no legend to hide them)."""
        self.table.blockSignals(True)
        for row in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(row)
            data = item.data(0, Qt.ItemDataRole.UserRole)
            ticked = item.checkState(0) == Qt.CheckState.Checked
            icon = QPixmap(12, 12)
            icon.fill(QColor(self.colour(data)) if ticked else QColor(0, 0, 0, 0))
            item.setIcon(0, QIcon(icon))
        self.table.blockSignals(False)

    def _point_clicked(self, _item, points, _event=None) -> None:
        if not points:
            return
        data = self._scatter_runs[points[0].data()]
        self.select(data.point.info.path)
        self.message.setText(f"{data.point.label}: double-click it in the table, or Open run, "
                             "to open its network with its best weights")

    def select(self, path: Path) -> None:
        for row in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(row)
            if item.data(0, Qt.ItemDataRole.UserRole).point.info.path == Path(path):
                self.table.setCurrentItem(item)
                return

    def selected(self) -> RunData | None:
        item = self.table.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    # ----------------------------------------------------------------- actions

    def _selection_changed(self) -> None:
        selected = self.selected()
        self.open_button.setEnabled(selected is not None and
                                    selected.point.info.best is not None)
        self.diff_button.setEnabled(len(self.checked()) == 2)
        self.diff_button.setToolTip("Diff these two runs' networks (tick exactly two runs)")

    def _open(self, item) -> None:
        if item is None:
            return
        info = item.data(0, Qt.ItemDataRole.UserRole).point.info
        if info.best is None:
            self.message.setText(f"{info.path.name} has no checkpoint yet")
            return
        self.open_run.emit(info)

    def _diff(self) -> None:
        chosen = self.checked()
        if len(chosen) == 2:
            self.diff_runs.emit(chosen[0].point.info, chosen[1].point.info)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
