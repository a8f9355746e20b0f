"""The gradient lab: two networks' gradient norms and activations against depth, and the
depth experiment (plain20, plain56, resnet20, resnet56 trained alike, curves overlaid).

The view only shows what it is given and says what the user asked for: the controller
(:mod:`explorer.ui.lab_views`) computes profiles and runs the experiment off the GUI thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.widgets.curves import SMOOTHING
from explorer.ui.widgets.lab_view import LabView

COLOURS = ("#1f5fbf", "#d95f02")
"""Network A, network B."""
EXPERIMENT_STYLE = {  # plain dashed, residual solid; 56 layers thick
    "plain20": ("#d95f02", Qt.PenStyle.DashLine, 1.5),
    "plain56": ("#a6361c", Qt.PenStyle.DashLine, 3),
    "resnet20": ("#1f78b4", Qt.PenStyle.SolidLine, 1.5),
    "resnet56": ("#08306b", Qt.PenStyle.SolidLine, 3),
}
REDRAW_MS = 200
PLOTS_MIN_HEIGHT = 260


@dataclass(frozen=True)
class LabSource:
    """What one side of the lab shows: the current network, a preset, or a run's weights.

    ``kind`` is ``current``, ``preset`` or ``run``; ``name`` the preset's name or the run
    folder; ``weights`` (runs) the sidecar of the chosen checkpoint, ``None`` for the
    initialisation; ``epoch`` that checkpoint's epoch.
    """

    kind: str
    name: str = ""
    weights: str | None = None
    epoch: int = 0
    label: str = ""


def index_of(combo: QComboBox, data) -> int:
    """The row whose item data equals ``data`` (``findData`` does not match tuples), or -1."""
    return next((i for i in range(combo.count()) if combo.itemData(i) == data), -1)


class SourcePicker(QWidget):
    """A network (current, a preset, a run) and, for a run, which of its weights."""

    changed = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.network = QComboBox()
        self.weights = QComboBox()
        for combo in (self.network, self.weights):
            combo.setMinimumContentsLength(8)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.weights.setToolTip("Which weights of the run: its initialisation, a kept epoch "
                                "(keep every epoch's weights when training), best or last")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(title)
        label.setStyleSheet("font-weight: bold")
        layout.addWidget(label)
        layout.addWidget(self.network, 2)
        layout.addWidget(self.weights, 1)
        self.network.currentIndexChanged.connect(self._network_changed)
        self.weights.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self._runs: dict[str, list] = {}
        self._picked: tuple[str, str] | None = None

    def fill(self, presets: list[str], runs: list[tuple[str, str, list]], select: str) -> None:
        """``runs``: ``(folder, title, weights choices)``; keeps the current pick if it is
        still offered, else picks the preset ``select``."""
        current = self.network.currentData()
        self.network.blockSignals(True)
        self.network.clear()
        self.network.addItem("Current network", ("current", ""))
        for name in presets:
            self.network.addItem(name, ("preset", name))
        self._runs = {}
        for folder, title, choices in runs:
            self.network.addItem(f"run: {title}", ("run", folder))
            self._runs[folder] = choices
        index = index_of(self.network, current) if current is not None else -1
        if index < 0:
            index = max(0, index_of(self.network, ("preset", select)))
        self.network.setCurrentIndex(index)
        self.network.blockSignals(False)
        self._network_changed()

    def _network_changed(self) -> None:
        """Offer the picked run's weights; the weights picked before stay picked while the
        same run is (say an epoch's, after the runs were read again), else its last."""
        kind, name = self.network.currentData() or ("current", "")
        kept = self.weights.currentData() if (kind, name) == self._picked else None
        self._picked = (kind, name)
        self.weights.blockSignals(True)
        self.weights.clear()
        for choice in self._runs.get(name, []) if kind == "run" else []:
            self.weights.addItem(choice.label, choice)
        if self.weights.count():
            self.weights.setCurrentIndex(next(
                (i for i in range(self.weights.count())
                 if kept is not None and self.weights.itemData(i).sidecar == kept.sidecar),
                self.weights.count() - 1))
        self.weights.blockSignals(False)
        self.weights.setVisible(kind == "run")
        self.changed.emit()

    def source(self) -> LabSource:
        kind, name = self.network.currentData() or ("current", "")
        if kind != "run":
            return LabSource(kind, name, label=self.network.currentText())
        choice = self.weights.currentData()
        title = self.network.currentText().removeprefix("run: ")
        if choice is None:
            return LabSource("run", name, None, 0, title)
        return LabSource("run", name, str(choice.sidecar) if choice.sidecar else None,
                         choice.epoch, f"{title}, {choice.label}")


class GradientLabView(LabView):
    """Gradient norms and activation spreads against depth for two networks, and the depth
    experiment.

    Signals
    -------
    requested() : the sources, batch or seed changed: compute the profiles again.
    experiment_requested(int, str) : run the depth experiment (epochs, data set).
    cancel_requested() : stop the experiment after the current batch.
    """

    requested = Signal()
    experiment_requested = Signal(int, str)
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profiles: list = [None, None]
        self.curves: list = []
        self.tabs = QTabWidget()
        self.tabs.addTab(self._profile_tab(), "Gradients by depth")
        self.tabs.addTab(self._experiment_tab(), "Depth experiment")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self._redraw_experiment)
        self._curves: dict[str, dict] = {}
        self._dirty = False

    # ----------------------------------------------------------------- profiles

    def _profile_tab(self) -> QWidget:
        tab = QWidget()
        self.pickers = [SourcePicker("A"), SourcePicker("B")]
        self.batch = QSpinBox()
        self.batch.setRange(1, 1024)
        self.batch.setValue(64)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.overlay = QCheckBox("Overlay")
        self.overlay.setToolTip("Both networks in one plot; unticked: side by side")
        self.overlay.setChecked(True)
        self.batch_norm = QCheckBox("Batch-norm layers")
        self.batch_norm.setToolTip("Show the batch-norm layers too (their gradients are "
                                   "those of their scale and shift)")
        options = QGridLayout()  # two short rows: the view fits a narrow window
        for column, widget in enumerate((QLabel("Batch"), self.batch, QLabel("Seed"),
                                         self.seed)):
            options.addWidget(widget, 0, column)
        options.addWidget(self.overlay, 1, 0, 1, 2)
        options.addWidget(self.batch_norm, 1, 2, 1, 2)
        options.setColumnStretch(4, 1)
        self.plots = _plots()
        self.plots.setBackground(self.palette().color(self.backgroundRole()))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.explanation = QLabel("")
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box = QVBoxLayout(tab)
        for picker in self.pickers:
            box.addWidget(picker)
            picker.changed.connect(self.requested)
        box.addLayout(options)
        box.addWidget(self.plots, 1)
        box.addWidget(self.status)
        box.addWidget(self.explanation)
        for widget in (self.batch, self.seed):
            widget.valueChanged.connect(lambda _v: self.requested.emit())
        self.overlay.toggled.connect(lambda _v: self._draw_profiles())
        self.batch_norm.toggled.connect(lambda _v: self._draw_profiles())
        self._draw_profiles()
        return tab

    def sources(self) -> tuple[LabSource, LabSource]:
        return self.pickers[0].source(), self.pickers[1].source()

    def set_choices(self, presets: list[str], runs: list[tuple[str, str, list]]) -> None:
        """Offer ``presets`` and ``runs`` (folder, title, weights) on both sides; plain56 and
        resnet56 at first."""
        from explorer.training.gradients import DEFAULT_PAIR

        for picker, default in zip(self.pickers, DEFAULT_PAIR):
            picker.blockSignals(True)
            picker.fill(presets, runs, default)
            picker.blockSignals(False)

    def show_busy(self, text: str) -> None:
        self.status.setText(text)

    def set_profile(self, side: int, profile) -> None:
        """Show side ``side``'s :class:`~explorer.training.gradients.GradientProfile`
        (``None``: nothing to show) and, with both, their spreads explained."""
        from explorer.training.gradients import explain_spreads

        self.profiles[side] = profile
        self._draw_profiles()
        shown = [p for p in self.profiles if p is not None]
        self.status.setText(" · ".join(_spread_text(p) for p in shown))
        a, b = self.profiles
        if a is not None and b is not None:
            plain, residual = (a, b) if (a.spread or 0) >= (b.spread or 0) else (b, a)
            self.explanation.setText(explain_spreads(plain, residual))
        else:
            self.explanation.setText("")

    def rows(self, profile) -> list:
        """The layers plotted: convolutions and linear layers (batch norm when asked)."""
        keep = ("Conv2d", "Linear", "BatchNorm2d") if self.batch_norm.isChecked() else \
            ("Conv2d", "Linear")
        return [layer for layer in profile.layers if layer.type in keep]

    def _draw_profiles(self) -> None:
        self.plots.clear()
        self.curves = []
        sides = [0, 1] if not self.overlay.isChecked() else [None]
        plots = {}
        for col, side in enumerate(sides):
            grad = self.plots.addPlot(row=0, col=col, title="Gradient norm (log)")
            act = self.plots.addPlot(row=1, col=col, title="Activation std (log)")
            for plot in (grad, act):
                plot.setLogMode(y=True)
                plot.showGrid(x=True, y=True, alpha=0.25)
                plot.setLabel("bottom", "depth (layers from the input)")
            act.setXLink(grad)
            grad.addLegend(offset=(-10, 10))
            plots[side] = (grad, act)
        for side, profile in enumerate(self.profiles):
            if profile is None:
                continue
            grad, act = plots[None] if None in plots else plots[side]
            rows = self.rows(profile)
            x = np.arange(1, len(rows) + 1, dtype=float)
            pen = pg.mkPen(COLOURS[side], width=2)
            name = f"{'AB'[side]}: {profile.label}"
            for plot, values in ((grad, [r.grad_norm for r in rows]),
                                 (act, [r.activation_std for r in rows])):
                y = np.array(values, dtype=float)
                y[~(y > 0)] = np.nan  # zero or nan cannot be drawn on a log scale
                self.curves.append(plot.plot(x, y, pen=pen, symbol="o", symbolSize=4,
                                             symbolBrush=COLOURS[side], name=name,
                                             connect="finite"))

    # ----------------------------------------------------------------- experiment

    def _experiment_tab(self) -> QWidget:
        tab = QWidget()
        intro = QLabel("Trains plain20, plain56, resnet20 and resnet56 one after another with "
                       "the same settings on the same data (He et al. 2015, Fig. 1 and 6): "
                       "the deeper plain net learns worse, the deeper residual net better. "
                       "Each is a normal run: compare them in Compare runs.")
        intro.setWordWrap(True)
        intro.setMinimumWidth(50)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 200)
        self.epochs.setValue(3)
        self.dataset = QComboBox()
        self.dataset.setEditable(True)
        self.run_button = QPushButton("Run the experiment")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(
            lambda: self.experiment_requested.emit(self.epochs.value(),
                                                   self.dataset.currentText().strip()))
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.dataset.setMinimumContentsLength(10)
        self.dataset.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        buttons = QGridLayout()
        for column, widget in enumerate((QLabel("Epochs"), self.epochs, QLabel("Data"),
                                         self.dataset)):
            buttons.addWidget(widget, 0, column)
        buttons.addWidget(self.run_button, 1, 0, 1, 3)
        buttons.addWidget(self.cancel_button, 1, 3)
        buttons.setColumnStretch(4, 1)
        self.legend = QLabel("  ".join(
            f'<span style="color:{colour}; font-weight:bold">'
            f'{"╍╍" if style == Qt.PenStyle.DashLine else "━━"}</span> {name}'
            for name, (colour, style, _width) in EXPERIMENT_STYLE.items()))
        self.experiment_plots = _plots()
        self.experiment_plots.setBackground(self.palette().color(self.backgroundRole()))
        self.loss_plot = self.experiment_plots.addPlot(row=0, col=0,
                                                       title="Training loss (smoothed)")
        self.accuracy_plot = self.experiment_plots.addPlot(row=1, col=0,
                                                           title="Test accuracy (%)")
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("bottom", "epoch")
        self.accuracy_plot.setXLink(self.loss_plot)
        self.progress = QLabel("")
        self.progress.setWordWrap(True)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box = QVBoxLayout(tab)
        box.addWidget(intro)
        box.addLayout(buttons)
        box.addWidget(self.legend)
        box.addWidget(self.experiment_plots, 1)
        box.addWidget(self.progress)
        box.addWidget(self.result)
        return tab

    def set_datasets(self, names: list[str]) -> None:
        self.dataset.clear()
        self.dataset.addItems(names)

    def experiment_started(self) -> None:
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.result.setText("")
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.clear()
        self._curves = {}
        self.progress.setText("loading the data…")
        self.redraw_timer.start()

    def _network_curves(self, network: str) -> dict:
        if network not in self._curves:
            colour, style, width = EXPERIMENT_STYLE.get(network, ("#555", Qt.PenStyle.SolidLine,
                                                                  1.5))
            pen = pg.mkPen(colour, width=width, style=style)
            self._curves[network] = {
                "loss": self.loss_plot.plot([], [], pen=pen, name=network),
                "accuracy": self.accuracy_plot.plot([], [], pen=pen, name=network, symbol="o",
                                                    symbolSize=6, symbolBrush=colour),
                "x": [], "loss_y": [], "epoch": [], "accuracy_y": [], "smoothed": math.nan,
            }
        return self._curves[network]

    def experiment_event(self, network: str, event) -> None:
        """One engine event of ``network``'s run (batches and epochs are drawn on a timer)."""
        name = type(event).__name__
        data = self._network_curves(network)
        if name == "BatchEnd":
            s = data["smoothed"]
            data["smoothed"] = event.loss if math.isnan(s) else SMOOTHING * s + (1 - SMOOTHING) \
                * event.loss
            data["x"].append(event.epoch - 1 + event.batch / max(1, event.batches))
            data["loss_y"].append(data["smoothed"])
            self.progress.setText(f"{network}: epoch {event.epoch}, batch {event.batch}/"
                                  f"{event.batches}, loss {event.loss:.3f}")
            self._dirty = True
        elif name == "EpochEnd":
            data["epoch"].append(event.epoch)
            data["accuracy_y"].append(100 * event.test_accuracy)
            self._dirty = True

    def experiment_measured(self, network: str, profile) -> None:
        self._network_curves(network)
        spread = f"{profile.spread:,.1f}×" if profile.spread is not None else "—"
        self.progress.setText(f"{network}: gradient spread at initialisation {spread}; "
                              "training…")

    def _redraw_experiment(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for data in self._curves.values():
            data["loss"].setData(np.array(data["x"]), np.array(data["loss_y"]))
            data["accuracy"].setData(np.array(data["epoch"], dtype=float),
                                     np.array(data["accuracy_y"]))

    def experiment_finished(self, done=None, message: str = "") -> None:
        """The end: ``done`` an :class:`~explorer.training.experiment.ExperimentDone`, or a
        ``message`` saying why there is none."""
        self._dirty = True
        self._redraw_experiment()
        self.redraw_timer.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if done is None:
            self.progress.setText(message)
            return
        self.progress.setText("Stopped: the networks trained so far are kept as runs."
                              if done.stopped else "Done: the four runs are in Compare runs.")
        lines = [done.explanation]
        lines += [f"{r.network}: {r.status}" for r in done.results if r.status != "finished"]
        self.result.setText("\n".join(lines))


def _spread_text(profile) -> str:
    if profile.spread is None:
        return f"{profile.label}: fewer than two convolutions"
    return (f"{profile.label}: gradient spread {profile.spread:,.1f}× (first/last conv "
            f"{profile.first_last_ratio:,.1f}×), loss {profile.loss:.3f}")


def _plots() -> pg.GraphicsLayoutWidget:
    """A plot area that takes the height left to it (at least two readable plots): its
    preferred height is not asked for, so that the text under it is not pushed out of a
    1366×768 window."""
    plots = pg.GraphicsLayoutWidget()
    plots.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
    plots.setMinimumHeight(PLOTS_MIN_HEIGHT)
    return plots
