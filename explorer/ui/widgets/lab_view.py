"""The base of the Lab's views: a widget that says when it comes forward."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget


class LabView(QWidget):
    """A Lab view (gradient lab, run comparison, diff), brought up to date only when seen.

    Signals
    -------
    shown() : the view came forward (its tab and workspace are current).
    """

    shown = Signal()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.shown.emit()
