"""The property editor: a form generated from the selected block's parameter schema.

Spin boxes take the schema's ranges, choices become combo boxes, booleans check boxes; a
class-count integer has a "classes" option, a size takes ``3`` or ``3×5``. A value the
schema refuses is not applied: the reason (from :func:`explorer.core.spec.validate_block`)
is shown under the field. The network's name, input shape and class count are edited too.
The form never changes the network itself: it emits what the user asked for, and the window
turns that into a document command.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

INT_MAX = 1_000_000
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
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    return str(value)


def _shrinkable(widget: QWidget) -> None:
    """Let a field be narrower than its size hint (a wide range makes spin boxes wide)."""
    widget.setMinimumWidth(60)
    widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)


class ParamField(QWidget):
    """One parameter's editor with an inline error line; emits ``edited(value)`` when valid."""

    edited = Signal(object)

    def __init__(self, param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.setStyleSheet("color: #c62828;")
        self.error.setWordWrap(True)
        self.error.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.alt: QCheckBox | None = None
        kind = param.kind
        lo = param.minimum if param.minimum is not None else -INT_MAX
        hi = param.maximum if param.maximum is not None else INT_MAX
        if kind == "int":
            self.editor = QSpinBox()
            self.editor.setRange(int(lo), int(hi))
            self.editor.setKeyboardTracking(False)
            self.editor.valueChanged.connect(self._commit)
            if param.classes or param.default is None:
                self.alt = QCheckBox("classes" if param.classes else "auto")
                self.alt.toggled.connect(self._commit)
        elif kind == "float":
            self.editor = QDoubleSpinBox()
            self.editor.setDecimals(4)
            top = hi - 1e-4 if param.maximum_exclusive and param.maximum is not None else hi
            self.editor.setRange(float(lo), float(top))
            self.editor.setSingleStep(0.1 if hi > 1 else 0.05)
            self.editor.setKeyboardTracking(False)
            self.editor.valueChanged.connect(self._commit)
        elif kind == "bool":
            self.editor = QCheckBox()
            self.editor.toggled.connect(self._commit)
        elif kind == "choice":
            self.editor = QComboBox()
            for choice in param.choices:
                self.editor.addItem(str(choice), choice)
            self.editor.activated.connect(self._commit)
        else:  # size, str
            self.editor = QLineEdit()
            if kind == "size":
                self.editor.setPlaceholderText(
                    "default" if param.default is None else "e.g. 3 or 3×5")
            self.editor.editingFinished.connect(self._commit)
        self.editor.setObjectName(f"param_{param.name}")
        _shrinkable(self.editor)
        self.editor.setToolTip(f"{param.help}\nValid: {param.describe()}".strip())
        row.addWidget(self.editor, 1)
        if self.alt is not None:
            self.alt.setObjectName(f"alt_{param.name}")
            row.addWidget(self.alt)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addLayout(row)
        box.addWidget(self.error)
        self._validator = None

    def set_validator(self, validator) -> None:
        """``validator(value) -> str | None``: an error message, or ``None`` when valid."""
        self._validator = validator

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting ``edited``."""
        blockers = [QSignalBlocker(self.editor)]
        if self.alt is not None:
            blockers.append(QSignalBlocker(self.alt))
        kind = self.param.kind
        if kind == "int":
            special = value is None or value == "classes"
            if self.alt is not None:
                self.alt.setChecked(special)
            self.editor.setEnabled(not special)
            if not special:
                self.editor.setValue(int(value))
        elif kind == "float":
            self.editor.setValue(float(value if value is not None else 0.0))
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
        """The value the editor shows; ``ValueError`` for a size that cannot be parsed."""
        kind = self.param.kind
        if kind == "int":
            if self.alt is not None and self.alt.isChecked():
                return "classes" if self.param.classes else None
            return self.editor.value()
        if kind == "float":
            return float(self.editor.value())
        if kind == "bool":
            return self.editor.isChecked()
        if kind == "choice":
            return self.editor.currentData()
        if kind == "size":
            return parse_size(self.editor.text())
        return self.editor.text()

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def _commit(self, *_args) -> None:
        if self.param.kind == "int" and self.alt is not None:
            self.editor.setEnabled(not self.alt.isChecked())
        try:
            value = self.value()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        message = self._validator(value) if self._validator else None
        self.show_error(message)
        if message is None:
            self.edited.emit(value)


class PropertiesPanel(QScrollArea):
    """The network's fields and the selected block's parameters.

    Signals
    -------
    paramEdited(path, name, value) : a valid new value for a parameter of the block at path.
    networkEdited(field, value) : ``name``, ``input_shape`` (a 3-tuple) or ``num_classes``.
    """

    paramEdited = Signal(object, str, object)
    networkEdited = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.setWidget(body)
        layout = QVBoxLayout(body)

        net = QGroupBox("Network")
        form = QFormLayout(net)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("network_name")
        self.name_edit.editingFinished.connect(self._name_done)
        form.addRow("Name", self.name_edit)
        shape_row = QHBoxLayout()
        self.shape_spins = []
        for label, hi in (("C", 4096), ("H", 4096), ("W", 4096)):
            spin = QSpinBox()
            spin.setRange(1, hi)
            spin.setPrefix(f"{label} ")
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(self._shape_done)
            _shrinkable(spin)
            shape_row.addWidget(spin)
            self.shape_spins.append(spin)
        form.addRow("Input shape", shape_row)
        self.classes_spin = QSpinBox()
        self.classes_spin.setObjectName("num_classes")
        self.classes_spin.setRange(1, 100_000)
        self.classes_spin.setKeyboardTracking(False)
        self.classes_spin.valueChanged.connect(
            lambda v: self.networkEdited.emit("num_classes", int(v)))
        form.addRow("Classes", self.classes_spin)
        layout.addWidget(net)

        self.block_box = QGroupBox("Block")
        self.block_form = QFormLayout(self.block_box)
        self.block_title = QLabel("Select a block in the editor to edit its parameters.")
        self.block_title.setWordWrap(True)
        self.block_form.addRow(self.block_title)
        layout.addWidget(self.block_box)
        layout.addStretch(1)
        self.fields: dict[str, ParamField] = {}
        self._path = None
        self._block = None
        self.setEnabled(False)

    # ------------------------------------------------------------------ network
    def set_network(self, spec) -> None:
        """Show the network's name, input shape and class count (no signal emitted)."""
        self.show_network(spec.name, spec.input_shape, spec.num_classes)

    def show_network(self, name: str, input_shape=None, classes: int | None = None) -> None:
        """Show a name, and an input shape and class count where known (no signal)."""
        self.setEnabled(True)
        with QSignalBlocker(self.name_edit):
            self.name_edit.setText(name)
        for spin, value in zip(self.shape_spins, input_shape or ()):
            with QSignalBlocker(spin):
                spin.setValue(int(value))
        if classes is not None:
            with QSignalBlocker(self.classes_spin):
                self.classes_spin.setValue(int(classes))

    def set_read_only(self, read_only: bool) -> None:
        self.widget().setEnabled(not read_only)

    def _name_done(self) -> None:
        text = self.name_edit.text().strip()
        if text:
            self.networkEdited.emit("name", text)

    def _shape_done(self, *_args) -> None:
        self.networkEdited.emit("input_shape", tuple(s.value() for s in self.shape_spins))

    # ------------------------------------------------------------------ block
    def set_block(self, path, block, definition) -> None:
        """Show the form of ``block`` (at ``path``) from its ``definition``; ``None`` clears it.

        The same block type at the same path keeps its form (values refreshed in place), so a
        field being typed in is not destroyed under the user's cursor.
        """
        same = (block is not None and definition is not None and path == self._path
                and self._block is not None and self._block.type == block.type and self.fields
                and block.type != "parallel")
        self._path, self._block = path, block
        if same:
            for name, field in self.fields.items():
                param = field.param
                field.set_value(block.params.get(name, None if param.required
                                                 else param.default))
            return
        while self.block_form.rowCount() > 1:
            row = self.block_form.takeRow(1)  # widgets deleted later: one may be signalling
            for item in (row.labelItem, row.fieldItem):
                if item is not None and item.widget() is not None:
                    item.widget().hide()
                    item.widget().deleteLater()
        self.fields = {}
        if block is None or definition is None:
            self.block_box.setTitle("Block")
            self.block_title.setText("Select a block in the editor to edit its parameters."
                                     if block is None else f"Unknown block type {block.type!r}.")
            return
        self.block_box.setTitle(f"Block: {definition.name}")
        self.block_title.setText(definition.doc)
        for param in definition.params:
            if param.kind in ("blocks", "branches"):
                continue
            field = ParamField(param)
            field.set_value(block.params.get(param.name, param.default
                                             if not param.required else None))
            field.set_validator(self._validator_for(param.name))
            field.edited.connect(lambda value, n=param.name: self._edited(n, value))
            label = QLabel(param.name.replace("_", " "))
            label.setToolTip(param.help)
            self.block_form.addRow(label, field)
            self.fields[param.name] = field
        if definition.name == "parallel":
            count = len(block.params.get("branches", ()))
            self.block_form.addRow(QLabel(f"{count} branch{'es' if count != 1 else ''} "
                                          "(add branches with Edit › Add branch)"))

    def _validator_for(self, name: str):
        def check(value: Any) -> str | None:
            from explorer.core.spec import SpecError, validate_block

            try:
                validate_block(self._block.with_params(**{name: value}))
            except SpecError as exc:
                return exc.message
            return None

        return check

    def _edited(self, name: str, value: Any) -> None:
        if self._block.params.get(name) == value:
            return
        self.paramEdited.emit(self._path, name, value)
