"""The training panel: settings generated from the engine's schema, Start / Pause / Stop, and
a progress bar with epoch, batch, samples/s and ETA.

The panel never trains: :meth:`TrainingPanel.job_settings` freezes what the form says into a
``TrainConfig`` and the spec's initialisation; the window's controller starts the run and
feeds the events back through :meth:`TrainingPanel.on_event`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.spec import INITS
from explorer.training.config import SETTINGS, ConfigError, TrainConfig, check_setting
from explorer.ui.style import ERROR_STYLE
from explorer.ui.widgets.fields import ParamField

LABELS = {
    "dataset": "Data set", "epochs": "Epochs", "batch_size": "Batch size",
    "optimizer": "Optimizer", "lr": "Learning rate", "momentum": "Momentum",
    "weight_decay": "Weight decay", "schedule": "Schedule", "step_size": "Step every (epochs)",
    "gamma": "Step factor", "seed": "Seed", "augment": "Augmentation", "device": "Device",
    "amp": "Mixed precision (CUDA)", "eval_batch_size": "Evaluation batch",
    "max_batches_per_epoch": "Batches per epoch", "init": "Initialisation",
    "keep_epochs": "Keep every epoch's weights",
}
ADVANCED = ("amp", "eval_batch_size", "max_batches_per_epoch", "keep_epochs")
ORDER = ("dataset", "init", "optimizer", "lr", "momentum", "weight_decay", "schedule",
         "step_size", "gamma", "batch_size", "epochs", "augment", "seed", "device")
CHOOSE_FOLDER = "\x00folder"


NONE_TEXT = {"step_size": "auto (a third of the epochs)", "max_batches_per_epoch": "all"}
"""What the check box beside a setting whose default is ``None`` says."""
CHECK_TEXT = {"augment": "random rotations, scales, shifts"}


def device_choices() -> list[tuple[str, str]]:
    """``(value, label)`` for the device list: auto, CPU, every CUDA GPU by name, Apple MPS."""
    import torch

    gpus = [(f"cuda:{i}", f"GPU {i}: {torch.cuda.get_device_name(i)}")
            for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    mps = [("mps", "Apple GPU (MPS)")] if torch.backends.mps.is_available() else []
    auto = gpus[0][1] if gpus else mps[0][1] if mps else "CPU"
    return [("auto", f"Automatic ({auto})"), ("cpu", "CPU"), *gpus, *mps]


def dataset_choices() -> list[tuple[str, str]]:
    """``(source, label)`` for every source the engine offers, full-size folders it finds by
    itself named with their place."""
    from explorer.data import default_data_dir, list_sources
    from explorer.data.datasets import DEBIAN_FASHION_MNIST

    root = default_data_dir()
    downloaded = {"mnist": root / "MNIST", "fashion-mnist": root / "FashionMNIST",
                  "cifar10": root / "cifar-10-batches-py"}
    labels = {"mnist-sample": "MNIST sample: 4,000 train, 500 test"}
    result = []
    for source in list_sources():
        if source in labels:
            label = labels[source]
        elif source == "fashion-mnist" and DEBIAN_FASHION_MNIST.is_dir():
            label = f"Fashion-MNIST, full (found in {DEBIAN_FASHION_MNIST})"
        elif source in downloaded and downloaded[source].is_dir():
            label = f"{source}, full (downloaded in {downloaded[source]})"
        else:
            label = f"{source} (needs internet once)"
        result.append((source, label))
    return result


class TrainingPanel(QWidget):
    """Settings, the Start/Pause/Stop actions and the run's progress.

    Signals
    -------
    start_requested, pause_requested, resume_requested, stop_requested
    """

    start_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.schema = {param.name: param for param in SETTINGS}
        self.editors: dict[str, QWidget] = {}
        self.fields: dict[str, ParamField] = {}
        self.rows: dict[str, tuple[QLabel, QWidget]] = {}
        self.state = "idle"
        self.total_steps = 0
        self.batch_size = 0
        self._started_label = ""

        self._make_actions()
        form = self._make_form()
        buttons = QHBoxLayout()
        for action in (self.start_action, self.pause_action, self.stop_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.network = QLabel("")
        self.network.setWordWrap(True)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("not started")
        self.status = QLabel("")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.advanced)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        layout.addWidget(self.network)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self._update_applicable()
        self.set_state("idle")

    def _make_actions(self) -> None:
        self.start_action = QAction("&Start training", self)
        self.start_action.setShortcut(QKeySequence(Qt.Key.Key_F5))
        self.start_action.setToolTip("Train a frozen copy of the current network (F5)")
        self.start_action.triggered.connect(self.start_requested)
        self.pause_action = QAction("&Pause", self)
        self.pause_action.setToolTip("Pause after the current batch; press again to resume")
        self.pause_action.triggered.connect(self._pause_or_resume)
        self.stop_action = QAction("S&top", self)
        self.stop_action.setToolTip("Stop after the current batch; checkpoints are kept")
        self.stop_action.triggered.connect(self.stop_requested)

    def _make_form(self) -> QFormLayout:
        """The settings' form (returned) and the collapsed "Advanced" group (``advanced``)."""
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        advanced_form = QFormLayout()
        for name in ORDER + ADVANCED:
            editor = self._editor(name)
            label = QLabel(LABELS.get(name, name))
            self.editors[name] = editor.editor if isinstance(editor, ParamField) else editor
            self.rows[name] = (label, editor)
            (advanced_form if name in ADVANCED else form).addRow(label, editor)
        advanced = QGroupBox("Advanced")
        advanced.setCheckable(True)
        advanced.setChecked(False)
        advanced.setLayout(advanced_form)
        advanced.toggled.connect(lambda on: [w.setVisible(on) for pair in
                                             (self.rows[n] for n in ADVANCED) for w in pair])
        for name in ADVANCED:
            for widget in self.rows[name]:
                widget.setVisible(False)
        self.advanced = advanced
        for editor in self.editors.values():  # long choices must not widen the panel
            if isinstance(editor, QComboBox):
                editor.setSizeAdjustPolicy(
                    QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
                editor.setMinimumContentsLength(12)
        return form

    # ----------------------------------------------------------------- editors

    def _editor(self, name: str) -> QWidget:
        if name == "init":
            return _combo([(value, {"default": "PyTorch default"}.get(value, value.capitalize()))
                           for value in INITS],
                          "The network's weight initialisation (saved with it)")
        if name == "dataset":
            folder = (CHOOSE_FOLDER, "Your folder (IDX or class folders)…")
            combo = _combo([*dataset_choices(), folder],
                           "Every data set the engine offers; the bundled sample is offline")
            combo.activated.connect(self._maybe_choose_folder)
            return combo
        if name == "device":
            return _combo(device_choices(), "")
        param = self.schema[name]
        field = ParamField(param, none_text=NONE_TEXT.get(name, "default"),
                           check_text=CHECK_TEXT.get(name, ""))
        field.set_value(param.default)
        field.set_validator(lambda value, p=param: _setting_problem(p, value))
        field.editor.setToolTip(param.help)
        if param.kind == "choice":
            field.editor.currentIndexChanged.connect(self._update_applicable)
        self.fields[name] = field
        return field

    def _maybe_choose_folder(self, index: int) -> None:
        combo = self.editors["dataset"]
        if combo.itemData(index) != CHOOSE_FOLDER:
            return
        folder = QFileDialog.getExistingDirectory(self, "Choose a data set folder")
        if folder:
            self.add_dataset_folder(folder)
        else:
            combo.setCurrentIndex(0)

    def add_dataset_folder(self, folder: str | Path) -> None:
        """Offer a folder of IDX files or class sub-folders, and select it."""
        combo = self.editors["dataset"]
        folder = str(folder)
        index = combo.findData(folder)
        if index < 0:
            combo.insertItem(combo.count() - 1, f"{Path(folder).name} ({folder})", folder)
            index = combo.findData(folder)
        combo.setCurrentIndex(index)

    def _update_applicable(self) -> None:
        """Enable the settings that apply to the others' current values (momentum: SGD)."""
        values = {name: editor.currentData() for name, editor in self.editors.items()
                  if isinstance(editor, QComboBox)}
        for name, param in self.schema.items():
            if name not in self.rows or not param.applies_when:
                continue
            on = param.applies(values)
            for widget in self.rows[name]:
                widget.setEnabled(on)
            self.editors[name].setToolTip(
                param.help + ("" if on else f" (used only when {param.condition()})"))

    # ----------------------------------------------------------------- values

    def set_value(self, name: str, value: Any) -> None:
        """Set a field as a user would (tests, restoring settings)."""
        editor = self.editors[name]
        if isinstance(editor, QComboBox):
            index = editor.findData(value)
            if index < 0:
                raise ValueError(f"{name}: {value!r} is not one of the choices")
            editor.setCurrentIndex(index)
        else:
            self.fields[name].set_value(value)

    def value(self, name: str) -> Any:
        """The field's value; ``ConfigError`` naming it when its text is not a number."""
        if name not in self.fields:
            return self.editors[name].currentData()
        try:
            return self.fields[name].value()
        except ValueError as exc:
            raise ConfigError(f"{LABELS.get(name, name)}: {exc}", field=name) from None

    def set_init(self, init: str) -> None:
        """Show the network's initialisation."""
        self.set_value("init", init if init in INITS else "default")

    def job_settings(self) -> tuple[TrainConfig, str]:
        """The form frozen into a validated configuration, and the initialisation.

        Raises
        ------
        ConfigError
            Naming the field; the panel shows it inline too.
        """
        try:
            config = TrainConfig(**{name: self.value(name) for name in self.schema})
        except ConfigError as exc:
            self.show_error(exc)
            raise
        self.error.setText("")
        return config, self.value("init")

    def show_error(self, error: Exception | str) -> None:
        """Show why a run cannot start (inline, under the form)."""
        field = getattr(error, "field", "")
        text = str(error)
        if field and field in LABELS:
            text = f"{LABELS[field]}: {text}"
            self.editors[field].setFocus()
        self.error.setProperty("field", field)
        self.error.setText(text)

    # ----------------------------------------------------------------- the run

    def set_network(self, text: str) -> None:
        """Say which network a Start would train, or is training."""
        self.network.setText(text)

    def set_state(self, state: str) -> None:
        """``idle``, ``loading``, ``running``, ``paused`` or ``stopping``."""
        self.state = state
        busy = state != "idle"
        self.start_action.setEnabled(not busy)
        self.pause_action.setEnabled(state in ("running", "paused"))
        self.pause_action.setText("&Resume" if state == "paused" else "&Pause")
        self.stop_action.setEnabled(state in ("loading", "running", "paused"))
        for name, (label, editor) in self.rows.items():
            if name != "init":  # the network's own setting: editable during a run
                editor.setEnabled(not busy)
                label.setEnabled(not busy)
        if not busy:
            self._update_applicable()

    def _pause_or_resume(self) -> None:
        if self.state == "paused":
            self.resume_requested.emit()
        else:
            self.pause_requested.emit()

    def on_loading(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, total))
        self.progress.setFormat("loading the data set… %p%")

    def on_event(self, event) -> None:
        """Follow the run: every engine event passes here."""
        name = type(event).__name__
        if name == "Started":
            self.total_steps = event.epochs * event.batches_per_epoch
            self.progress.setRange(0, max(1, self.total_steps))
            self.progress.setValue(0)
            self.progress.setFormat(f"epoch 1/{event.epochs} · starting on {event.device}")
            self.status.setText(f"{event.params:,} parameters on {event.device}"
                                + (f" · run folder {Path(event.run_dir).name}"
                                   if event.run_dir else ""))
            self.status.setToolTip(str(event.run_dir or ""))
            self.set_state("running")
        elif name == "BatchEnd":
            step = (event.epoch - 1) * event.batches + event.batch
            self.progress.setValue(step)
            remaining = max(0, self.total_steps - step)
            eta = (remaining * self.batch_size / event.samples_per_second
                   if event.samples_per_second > 0 and self.batch_size else math.nan)
            epochs = self.total_steps // max(1, event.batches)
            self.progress.setFormat(
                f"epoch {event.epoch}/{epochs} · batch {event.batch}/{event.batches} · "
                f"{event.samples_per_second:,.0f} samples/s · ETA {_duration(eta)}")
        elif name == "EpochEnd":
            self.status.setText(
                f"epoch {event.epoch}: train loss {event.train_loss:.4f}, test accuracy "
                f"{100 * event.test_accuracy:.2f} %" + (" (best)" if event.is_best else ""))
        elif name == "Paused":
            self.set_state("paused")
            self.progress.setFormat(f"paused after batch {event.batch} of epoch {event.epoch}")
        elif name == "Resumed":
            self.set_state("running")
        elif name == "Finished":
            self.set_state("idle")
            best = (f", best test accuracy {100 * event.best_test_accuracy:.2f} %"
                    if event.best_test_accuracy is not None else "")
            n = event.epochs_done
            self.progress.setFormat(f"{event.status} · {n} epoch{'s' if n != 1 else ''}{best}")
            if event.status == "finished":
                self.progress.setValue(self.progress.maximum())
            self.status.setText(f"{event.status}: {event.reason}{best} · "
                                f"{event.samples_per_second:,.0f} samples/s")
            if event.status == "failed":
                self.error.setText(event.reason)

    def on_failed(self, message: str) -> None:
        self.set_state("idle")
        self.progress.setFormat("could not train")
        self.error.setText(message)


def _combo(items: list[tuple[Any, str]], tooltip: str) -> QComboBox:
    """A combo box of ``(value, label)`` items; its tooltip starts with the current choice in
    full (a long one, such as a folder, may be cut in the box)."""
    combo = QComboBox()
    for value, label in items:
        combo.addItem(label, value)
    combo.currentTextChanged.connect(
        lambda text: combo.setToolTip("\n".join(filter(None, (text, tooltip)))))
    combo.setToolTip("\n".join(filter(None, (combo.currentText(), tooltip))))
    return combo


def _setting_problem(param, value: Any) -> str | None:
    try:
        check_setting(param, value)
    except ConfigError as exc:
        return str(exc)
    return None


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "…"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
