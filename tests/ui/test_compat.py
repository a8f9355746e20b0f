"""PySide6 must not use up the references to None and True (the 6.12.0 bug, see compat)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressBar

import explorer.ui  # noqa: F401  (applies the work-around)


class _Emitter(QObject):
    value = Signal(object)


def test_thousands_of_calls_leave_none_and_true_alive(qtbot):
    bar = QProgressBar()
    qtbot.addWidget(bar)
    emitter = _Emitter()
    seen = []
    emitter.value.connect(seen.append)
    for i in range(20_000):  # several times what None and True hold without the work-around
        bar.setValue(i % 100)
        emitter.value.emit(i)
    assert len(seen) == 20_000
    if sys.version_info < (3, 12):
        assert sys.getrefcount(None) > 2**39 and sys.getrefcount(True) > 2**39
