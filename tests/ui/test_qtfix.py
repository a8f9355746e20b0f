"""PySide6 must not use up the references to None and True (the 6.12.0 bug, see qtfix)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressBar

import explorer.ui  # noqa: F401  (installs the fix)
from explorer.ui.qtfix import RESERVE, leaks


class _Emitter(QObject):
    value = Signal(object)


def test_thousands_of_calls_leave_none_and_true_alive(qtbot):
    bar = QProgressBar()
    qtbot.addWidget(bar)
    emitter = _Emitter()
    seen = []
    emitter.value.connect(seen.append)
    for i in range(20_000):  # several times what None holds without the fix
        bar.setValue(i % 100)
        emitter.value.emit(i)
    assert len(seen) == 20_000
    if sys.version_info < (3, 12) and any(leaks().values()):
        assert sys.getrefcount(None) > RESERVE // 2
        assert sys.getrefcount(True) > RESERVE // 2
