"""The property editor: a form generated from the selected block's parameter schema.

Every field is a :class:`~explorer.ui.widgets.fields.ParamField`. A value the schema refuses
(out of range, not a number, or one :func:`explorer.core.spec.validate_block` refuses) is not
applied: the reason is shown under the field, and what was typed stays there. The network's
name, input shape and class count are edited the same way.
The form never changes the network itself: it emits what the user asked for, and the window
turns that into a document command.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from explorer.core.limits import MAX_CLASSES, MAX_INPUT_CHANNELS, MAX_INPUT_SIZE
from explorer.core.registry import Param
from explorer.ui.widgets.fields import ParamField

_NETWORK = {
    "channels": Param("channels", "int", 1, minimum=1, maximum=MAX_INPUT_CHANNELS,
                      help="channels of the input image (1: grey, 3: colour)"),
    "height": Param("height", "int", 28, minimum=1, maximum=MAX_INPUT_SIZE,
                    help="height of the input image in pixels"),
    "width": Param("width", "int", 28, minimum=1, maximum=MAX_INPUT_SIZE,
                   help="width of the input image in pixels"),
    "num_classes": Param("num_classes", "int", 10, minimum=1, maximum=MAX_CLASSES,
                         help="how many classes the network tells apart"),
}
"""The network's sizes as parameters, so that their fields refuse what validation would."""


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
        self.shape_fields = []
        for name in ("channels", "height", "width"):
            field = ParamField(_NETWORK[name])
            field.edited.connect(self._shape_done)
            shape_row.addWidget(QLabel(name[0].upper()))
            shape_row.addWidget(field)
            self.shape_fields.append(field)
        form.addRow("Input shape", shape_row)
        self.classes_field = ParamField(_NETWORK["num_classes"])
        self.classes_field.editor.setObjectName("num_classes")
        self.classes_field.edited.connect(
            lambda v: self.networkEdited.emit("num_classes", int(v)))
        form.addRow("Classes", self.classes_field)
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
        self.setEnabled(True)
        with QSignalBlocker(self.name_edit):
            self.name_edit.setText(spec.name)
        for field, value in zip(self.shape_fields, spec.input_shape):
            field.set_value(int(value))
        self.classes_field.set_value(int(spec.num_classes))

    def set_read_only(self, read_only: bool) -> None:
        self.widget().setEnabled(not read_only)

    def _name_done(self) -> None:
        text = self.name_edit.text().strip()
        if text:
            self.networkEdited.emit("name", text)

    def _shape_done(self, *_args) -> None:
        if all(field.problem() is None for field in self.shape_fields):
            self.networkEdited.emit("input_shape", tuple(f.value() for f in self.shape_fields))

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
