"""One editor per :class:`~explorer.core.registry.Param`, for every form in the window (a
block's parameters, the network's sizes, the training settings).

Numbers are typed freely and never changed behind the user's back: a value outside the
schema's range stays in the field and is refused under it with the valid range, exactly as
text that is not a number is (a ``QSpinBox`` would turn −5 into 5, 10⁹ into its maximum and
0 classes back into the previous value). The arrows and the wheel step within the range.
Choices become combo boxes, booleans check boxes, a size takes ``3`` or ``3×5``; an integer
that may also be ``"classes"`` or ``None`` gets a check box for that.
"""

from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.style import ERROR_STYLE

_SIZE = re.compile(r"^\s*(\d+)\s*(?:[x×*,]\s*(\d+))?\s*$")


def parse_size(text: str) -> int | list[int] | None:
    """``"3"`` → 3, ``"3x5"`` / ``"3×5"`` → [3, 5], ``""`` → None; ``ValueError`` otherwise."""
    if not text.strip():
        return None
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size: write one integer (3) or h×w (3×5)")
    h, w = match.groups()
    return int(h) if w is None else [int(h), int(w)]


def format_size(value: Any) -> str:
    """A size as the field shows it (``3``, ``3×5``); ``None`` as empty."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    return str(value)


def format_number(value: float | None) -> str:
    """``0.01`` as ``0.01``, ``1e-05`` as ``1e-05``, ``7`` as ``7``; ``None`` as empty."""
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


class NumberEdit(QAbstractSpinBox):
    """A number field with step arrows that keeps whatever was typed.

    Signals
    -------
    stepped() : the arrows, the wheel or the Up/Down keys changed the value.
    """

    stepped = Signal()

    def __init__(self, param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self.integer = param.kind == "int"
        self.step = 1 if self.integer else (0.1 if (param.maximum or 2) > 1 else 0.05)
        self.setKeyboardTracking(False)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)

    def number(self) -> int | float:
        """The typed number; ``ValueError`` naming the text when it is not one."""
        text = self.text().strip().replace("−", "-")
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            kind = "an integer" if self.integer else "a number"
            raise ValueError(f"{text!r} is not {kind}") from None
        if not self.integer and not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        return value

    def set_number(self, value: float | None) -> None:
        self.lineEdit().setText(format_number(value))

    def validate(self, text: str, pos: int) -> QValidator.State:
        return QValidator.State.Acceptable  # any text: the form says what is wrong with it

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        flags = QAbstractSpinBox.StepEnabledFlag
        return flags.StepUpEnabled | flags.StepDownEnabled

    def stepBy(self, steps: int) -> None:
        try:
            value = self.number() + steps * self.step
        except ValueError:
            return
        low, high = self.param.minimum, self.param.maximum
        if low is not None and value < low:
            value = low if not self.param.minimum_exclusive else value - steps * self.step
        if high is not None and value > high:
            value = high if not self.param.maximum_exclusive else value - steps * self.step
        self.set_number(int(value) if self.integer else round(value, 10))
        self.stepped.emit()


class ParamField(QWidget):
    """One parameter's editor with an inline error line; emits ``edited(value)`` when valid.

    A value outside the parameter's range, or text that is not one, is shown under the field
    with what would be valid, and not emitted; ``validator(value) -> message | None`` (see
    :meth:`set_validator`) adds the owner's own checks.
    """

    edited = Signal(object)

    def __init__(self, param, parent: QWidget | None = None, *, none_text: str = "auto",
                 check_text: str = "") -> None:
        super().__init__(parent)
        self.param = param
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        self.alt: QCheckBox | None = None
        self.editor = self._make_editor(param, check_text)
        if param.kind == "int" and (param.classes or param.default is None):
            self.alt = QCheckBox("classes" if param.classes else none_text)
            self.alt.setObjectName(f"alt_{param.name}")
            self.alt.toggled.connect(self._commit)
        self.editor.setObjectName(f"param_{param.name}")
        self.editor.setMinimumWidth(60)  # a wide range must not make the form wide
        self.editor.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.editor.setToolTip(f"{param.help}\nValid: {param.describe()}".strip())
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.editor, 1)
        if self.alt is not None:
            row.addWidget(self.alt)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addLayout(row)
        box.addWidget(self.error)
        self._validator = None

    def _make_editor(self, param, check_text: str) -> QWidget:
        if param.kind in ("int", "float"):
            editor = NumberEdit(param)
            editor.editingFinished.connect(self._commit)
            editor.stepped.connect(self._commit)
        elif param.kind == "bool":
            editor = QCheckBox(check_text)
            editor.toggled.connect(self._commit)
        elif param.kind == "choice":
            editor = QComboBox()
            for choice in param.choices:
                editor.addItem(str(choice), choice)
            editor.activated.connect(self._commit)
        else:  # size, str
            editor = QLineEdit()
            if param.kind == "size":
                editor.setPlaceholderText("default" if param.default is None else "e.g. 3 or 3×5")
            editor.editingFinished.connect(self._commit)
        return editor

    def set_validator(self, validator) -> None:
        """``validator(value) -> str | None``: an error message, or ``None`` when valid."""
        self._validator = validator

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting ``edited``."""
        blockers = [QSignalBlocker(self.editor)]
        if self.alt is not None:
            blockers.append(QSignalBlocker(self.alt))
        kind = self.param.kind
        if kind in ("int", "float"):
            special = value is None or value == "classes"
            if self.alt is not None:
                self.alt.setChecked(special)
                self.editor.setEnabled(not special)
            if not special:
                self.editor.set_number(value)
            elif self.alt is not None and not self.editor.text():
                self.editor.set_number(self.param.minimum)
        elif kind == "bool":
            self.editor.setChecked(bool(value))
        elif kind == "choice":
            self.editor.setCurrentIndex(max(0, self.editor.findData(value)))
        elif kind == "size":
            self.editor.setText(format_size(value))
        else:
            self.editor.setText("" if value is None else str(value))
        self.show_error(None)

    def value(self) -> Any:
        """The value the editor shows; ``ValueError`` for text that is not one."""
        kind = self.param.kind
        if kind in ("int", "float"):
            if self.alt is not None and self.alt.isChecked():
                return "classes" if self.param.classes else None
            return self.editor.number()
        if kind == "bool":
            return self.editor.isChecked()
        if kind == "choice":
            return self.editor.currentData()
        if kind == "size":
            return parse_size(self.editor.text())
        return self.editor.text()

    def problem(self) -> str | None:
        """Why the field's value cannot be used, or ``None``."""
        try:
            value = self.value()
        except ValueError as exc:
            return str(exc)
        return self.problem_with(value)

    def problem_with(self, value: Any) -> str | None:
        param = self.param
        if param.kind in ("int", "float") and isinstance(value, (int, float)) \
                and not param.in_range(value):
            return f"{param.name} = {format_number(value)} is not valid; expected " \
                   f"{param.describe()}"
        return self._validator(value) if self._validator else None

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def _commit(self, *_args) -> None:
        if self.alt is not None:
            self.editor.setEnabled(not self.alt.isChecked())
        message = self.problem()
        self.show_error(message)
        if message is None:
            self.edited.emit(self.value())
