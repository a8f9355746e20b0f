"""A stand-in for the main window's public API, for the training views' tests."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from explorer.core.spec import ArchitectureSpec

TINY = {
    "name": "tiny-digits",
    "input_shape": [1, 28, 28],
    "num_classes": 10,
    "blocks": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 5},
        {"type": "relu"},
        {"type": "max_pool2d", "kernel_size": 4},
        {"type": "flatten"},
        {"type": "linear", "out_features": "classes"},
    ],
}


class _Replace(QUndoCommand):
    def __init__(self, document, text, spec):
        super().__init__(text)
        self.document, self.new, self.old = document, spec, document.spec

    def redo(self):
        self.document._set(self.new)

    def undo(self):
        self.document._set(self.old)


class HostDocument(QObject):
    changed = Signal()

    def __init__(self, spec):
        super().__init__()
        self._spec = spec
        self.generation = 0
        self.path = None
        self.undo_stack = QUndoStack(self)

    @property
    def spec(self):
        return self._spec

    def _set(self, spec):
        self._spec = spec
        self.generation += 1
        self.changed.emit()

    def edit(self, text, new_spec):
        self.undo_stack.push(_Replace(self, text, new_spec))

    def open_spec(self, spec, path=None):
        self.path = path
        self.edit(f"Open {spec.name}", spec)


class HostWindow(QMainWindow):
    def __init__(self, spec=None):
        super().__init__()
        self.document = HostDocument(spec or ArchitectureSpec.from_dict(TINY))
        self.messages = []
        self._menus = {}

    def add_view(self, title, widget):
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        others = [d for d in self.findChildren(QDockWidget) if d is not dock]
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        if others:
            self.tabifyDockWidget(others[0], dock)
        return dock

    def menu(self, title) -> QMenu:
        if title not in self._menus:
            self._menus[title] = self.menuBar().addMenu(title)
        return self._menus[title]

    def status_message(self, text):
        self.messages.append(text)
        self.statusBar().showMessage(text)


def running_qthreads() -> list[QThread]:
    """Every QThread object still running (the tests end with none)."""
    return [obj for obj in gc.get_objects()
            if isinstance(obj, QThread) and obj.isRunning()]
