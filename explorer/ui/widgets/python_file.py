"""The Python file view: which file and network the window shows, its input shape, the
problem in the code (with the traceback on demand) and what the code printed (on demand).

It shows a :class:`~explorer.core.pyfile.FileReport` and emits what the user asks for; the
controller (:mod:`explorer.ui.python_file`) does the work.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.shapes import fmt_shape
from explorer.ui.style import ERROR_RED, ERROR_STYLE


def parse_shape(text: str) -> tuple[int, ...] | None:
    """``1×28×28``, ``1x28x28`` or ``1, 28, 28`` as a shape; ``None`` if it is not one."""
    parts = [p for p in text.replace("×", ",").replace("x", ",").replace(" ", ",").split(",")
             if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        return None
    return shape if 1 <= len(shape) <= 3 and min(shape) >= 1 else None


class PythonFilePanel(QWidget):
    """The file, its networks, input shape, problem and output.

    Signals
    -------
    target_chosen(str) : the user picked another network of the file.
    input_edited(object) : a valid input shape was entered (a tuple).
    reload_requested() : inspect the file again now.
    convert_requested() : open the network as an editable one.
    """

    target_chosen = Signal(str)
    input_edited = Signal(object)
    reload_requested = Signal()
    convert_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No Python file is open. File › Open… a .py file, or drop one "
                            "on the window.")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.networks = QComboBox()
        self.networks.setToolTip("The networks the file offers (remembered for this file)")
        self.networks.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.input = QLineEdit()
        self.input.setPlaceholderText("1×28×28")
        self.input.setMaximumWidth(110)
        self.reload = QPushButton("Reload")
        self.reload.setToolTip("Inspect the file again (saving it does this by itself)")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.RichText)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.setStyleSheet(ERROR_STYLE)
        self.details_button = QPushButton("Traceback")
        self.details_button.setCheckable(True)
        self.output_button = QPushButton("Output")
        self.output_button.setCheckable(True)
        self.output_button.setToolTip("What the code printed (stdout and stderr) on the last "
                                      "inspection")
        self.convert = QPushButton("Convert to an editable network")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.hide()
        self._report = None
        self._layout()
        self._connect()
        self.set_file(None)

    def _layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(QLabel("Network:"))
        row.addWidget(self.networks, 1)
        shape = QHBoxLayout()
        shape.addWidget(QLabel("Input:"))
        shape.addWidget(self.input)
        shape.addWidget(self.reload)
        shape.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.details_button)
        buttons.addWidget(self.output_button)
        buttons.addStretch(1)
        buttons.addWidget(self.convert)
        box = QVBoxLayout(self)
        box.addWidget(self.title)
        box.addWidget(self.status)
        box.addLayout(row)
        box.addLayout(shape)
        box.addWidget(self.problem)
        box.addLayout(buttons)
        box.addWidget(self.text, 1)
        box.addStretch(0)

    def _connect(self) -> None:
        self.networks.activated.connect(
            lambda i: self.target_chosen.emit(self.networks.itemData(i)))
        self.input.editingFinished.connect(self._input_done)
        self.reload.clicked.connect(self.reload_requested)
        self.convert.clicked.connect(self.convert_requested)
        self.details_button.toggled.connect(lambda on: self._show_text("details" if on else ""))
        self.output_button.toggled.connect(lambda on: self._show_text("output" if on else ""))

    # ----------------------------------------------------------------- public API

    def set_file(self, path: str | None, input_shape=None) -> None:
        """The file shown (``None``: none); ``input_shape`` the one the user gave."""
        enabled = path is not None
        for widget in (self.networks, self.input, self.reload):
            widget.setEnabled(enabled)
        if path is None:
            self._report = None
            self.status.clear()
            self.problem.hide()
            self.convert.setEnabled(False)
            self.details_button.hide()
            self.output_button.setEnabled(False)
            self.text.hide()
            return
        self.title.setText(f"<b>{html.escape(Path(path).name)}</b> — "
                           f"{html.escape(str(Path(path).parent))}")
        if input_shape:
            self.input.setText(fmt_shape(input_shape))
        self.status.setText("Inspecting…")

    def show_report(self, report, seconds_after_save: float | None = None) -> None:
        """Show a :class:`~explorer.core.pyfile.FileReport` of the file."""
        self._report = report
        self._set_networks(report)
        self._set_input(report)
        when = (f" {seconds_after_save:.2f} s after the save" if seconds_after_save is not None
                else "")
        ok = report.problem is None
        self.status.setText(f"{html.escape(report.name)}: "
                            + ("inspected" if ok else "not inspected to the end")
                            + f"{when} (the code ran for {report.seconds:.2f} s in a child "
                            "process)")
        self._show_problem(report.problem)
        lines = (report.stdout + report.stderr).count("\n")
        self.output_button.setText(f"Output ({lines} line{'s' if lines != 1 else ''})")
        self.output_button.setEnabled(True)
        self.convert.setEnabled(report.spec_json is not None)
        self.convert.setToolTip("Open this network as blocks you can edit (same layers)"
                                if report.spec_json else
                                f"Cannot convert: {report.not_convertible}")
        self._show_text(self._shown)

    @property
    def _shown(self) -> str:
        if self.details_button.isChecked():
            return "details"
        return "output" if self.output_button.isChecked() else ""

    def output_text(self) -> str:
        """What the code printed: stdout, then stderr."""
        report = self._report
        if report is None:
            return ""
        parts = [report.stdout]
        if report.stderr:
            parts.append(("" if report.stdout.endswith("\n") or not report.stdout else "\n")
                         + "--- stderr ---\n" + report.stderr)
        return "".join(parts)

    # ----------------------------------------------------------------- internals

    def _set_networks(self, report) -> None:
        self.networks.blockSignals(True)
        self.networks.clear()
        for candidate in report.candidates:
            self.networks.addItem(candidate.label(), candidate.name)
            if candidate.doc:
                self.networks.setItemData(self.networks.count() - 1, candidate.doc,
                                          Qt.ItemDataRole.ToolTipRole)
        if report.target:
            index = self.networks.findData(report.target)
            if index < 0:
                self.networks.addItem(report.target, report.target)
                index = self.networks.count() - 1
            self.networks.setCurrentIndex(index)
        else:
            self.networks.setCurrentIndex(-1)
        self.networks.blockSignals(False)

    def _set_input(self, report) -> None:
        from_file = report.input_from.startswith("INPUT_SHAPE")
        self.input.setText(fmt_shape(report.input_shape))
        self.input.setEnabled(not from_file)
        self.input.setToolTip(
            f"Set by {report.input_from} in the file" if from_file else
            "The input shape, C×H×W (remembered for this file; a module-level INPUT_SHAPE in "
            "the file sets it instead)")

    def _input_done(self) -> None:
        shape = parse_shape(self.input.text())
        if shape is None:
            self.input.setStyleSheet(f"border: 1px solid {ERROR_RED.name()}")
            self.input.setToolTip("Write channels×height×width, e.g. 1×28×28 or 3,32,32")
            return
        self.input.setStyleSheet("")
        if self._report is None or tuple(shape) != tuple(self._report.input_shape):
            self.input_edited.emit(shape)

    def _show_problem(self, problem) -> None:
        self.details_button.setVisible(bool(problem and problem.details))
        if problem is None:
            self.problem.hide()
            return
        where = problem.where()
        text = f"<b>✗ {html.escape(problem.message)}</b>"
        if where:
            text += f"<br><tt>{html.escape(where)}</tt>"
        if problem.hint:
            text += f"<br><b>Hint:</b> {html.escape(problem.hint)}"
        self.problem.setText(text)
        self.problem.show()

    def _show_text(self, what: str) -> None:
        for button, name in ((self.details_button, "details"), (self.output_button, "output")):
            button.blockSignals(True)
            button.setChecked(what == name)
            button.blockSignals(False)
        if not what or self._report is None:
            self.text.hide()
            return
        problem = self._report.problem
        self.text.setPlainText(problem.details if what == "details" and problem else
                               self.output_text())
        self.text.show()
