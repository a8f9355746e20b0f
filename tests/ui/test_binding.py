"""The Qt binding must not use up the references to None and True.

PySide6 6.12.0 under Python < 3.12 drops one on every void call and on every emit; the
interpreter then aborts ("none_dealloc") after a few thousand calls. pyproject excludes it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressBar


class _Emitter(QObject):
    value = Signal(object)


def test_thousands_of_calls_leave_none_and_true_alive(qtbot):
    bar = QProgressBar()
    qtbot.addWidget(bar)
    emitter = _Emitter()
    seen = []
    emitter.value.connect(seen.append)
    for i in range(20_000):  # several times what None and True hold under the broken binding
        bar.setValue(i % 100)
        emitter.value.emit(i)
    assert len(seen) == 20_000
