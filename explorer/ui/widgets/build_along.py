"""The Build along view: a preset replayed block by block (Back / Next, a slider, keys), with
what the step changed, a note on what the block is for, and the step's code.

It only shows a :class:`~explorer.core.buildalong.StepView` and emits what the user asks for;
the window's diagram and layer table show the network of the step (the controller in
:mod:`explorer.ui.build_along` puts it there).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)


class BuildAlongPanel(QWidget):
    """Controls, the step's change, note and code.

    Signals
    -------
    preset_chosen(str) : the user picked another network to build along.
    step_requested(int) : show step ``index`` (0-based).
    edit_requested() : open the network of the step shown as an editable document.
    """

    preset_chosen = Signal(str)
    step_requested = Signal(int)
    edit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presets = QComboBox()
        self.presets.setToolTip("The network to build, block by block")
        self.back = QPushButton("◀ Back")
        self.back.setToolTip("The step before (Left, Page Up)")
        self.next = QPushButton("Next ▶")
        self.next.setToolTip("The next step (Right, Page Down)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimum(0)
        self.slider.setPageStep(1)
        self.slider.setToolTip("Drag to any step (Home: the first, End: the last)")
        self.edit = QPushButton("Edit from here")
        self.edit.setToolTip("Open the network up to this step as an editable network "
                             "(Edit › Undo goes back)")
        self.title = QLabel("Choose a network to build along.")
        self.title.setWordWrap(True)
        self.delta = QLabel()
        self.delta.setWordWrap(True)
        self.delta.setTextFormat(Qt.TextFormat.RichText)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code = QPlainTextEdit()
        self.code.setReadOnly(True)
        self.code.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        from explorer.ui.widgets.code_view import PythonHighlighter

        dark = self.palette().color(self.backgroundRole()).lightness() < 128
        self._highlighter = PythonHighlighter(self.code.document(), dark=dark)
        self._layout()
        self._connect()
        self.set_enabled(False)

    def _layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.presets, 1)
        row.addWidget(self.back)
        row.addWidget(self.next)
        nav = QHBoxLayout()
        nav.addWidget(self.slider, 1)
        nav.addWidget(self.edit)
        box = QVBoxLayout(self)
        box.addLayout(row)
        box.addLayout(nav)
        box.addWidget(self.title)
        box.addWidget(self.delta)
        box.addWidget(self.note)
        box.addWidget(self.code, 1)

    def _connect(self) -> None:
        self.presets.activated.connect(
            lambda i: self.preset_chosen.emit(self.presets.itemData(i)))
        self.back.clicked.connect(lambda: self.go(self.slider.value() - 1))
        self.next.clicked.connect(lambda: self.go(self.slider.value() + 1))
        self.slider.valueChanged.connect(self.step_requested)
        self.edit.clicked.connect(self.edit_requested)
        for keys, step in ((("Right", "PgDown"), 1), (("Left", "PgUp"), -1)):
            for key in keys:
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(lambda s=step: self.go(self.slider.value() + s))
        for key, where in (("Home", lambda: 0), ("End", lambda: self.slider.maximum())):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda w=where: self.go(w()))

    # ----------------------------------------------------------------- public API

    def set_presets(self, presets: list[tuple[str, str]], current: str | None = None) -> None:
        """``(name, description)`` pairs; ``current`` selected."""
        self.presets.blockSignals(True)
        self.presets.clear()
        for name, doc in presets:
            self.presets.addItem(name, name)
            self.presets.setItemData(self.presets.count() - 1, doc, Qt.ItemDataRole.ToolTipRole)
        if current is not None:
            self.presets.setCurrentIndex(max(0, self.presets.findData(current)))
        self.presets.blockSignals(False)

    def set_steps(self, count: int, index: int = 0) -> None:
        """A network of ``count`` steps is being built; the slider goes to ``index``."""
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(0, count - 1))
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.set_enabled(count > 0)
        self._update_buttons()

    def go(self, index: int) -> None:
        """Move to step ``index`` (clamped); emits :attr:`step_requested` once."""
        index = max(0, min(self.slider.maximum(), index))
        if index != self.slider.value():
            self.slider.setValue(index)  # emits step_requested
        self._update_buttons()

    def current(self) -> int:
        return self.slider.value()

    def show_step(self, view) -> None:
        """Show a :class:`~explorer.core.buildalong.StepView` (the step the slider is at)."""
        step = view.step
        self.title.setText(f"<b>Step {step.number} of {view.total}</b>: {html.escape(step.title, quote=False)}")
        head = ("<br><i>A temporary flatten → linear head (dashed) ends it in the class scores "
                "for now.</i>" if view.head_from is not None else "")
        self.delta.setText(html.escape(view.delta_text(), quote=False) + head)
        self.note.setText(view.note)
        self.code.setPlainText(view.code)
        self._update_buttons()

    def show_problem(self, text: str) -> None:
        self.title.setText(f"<b>Cannot show this step</b>: {html.escape(text, quote=False)}")

    def set_enabled(self, enabled: bool) -> None:
        for widget in (self.slider, self.edit, self.back, self.next):
            widget.setEnabled(enabled)
        if enabled:
            self._update_buttons()

    def _update_buttons(self) -> None:
        value, top = self.slider.value(), self.slider.maximum()
        self.back.setEnabled(self.slider.isEnabled() and value > 0)
        self.next.setEnabled(self.slider.isEnabled() and value < top)
