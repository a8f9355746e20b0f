"""Helpers for the Qt tests: answering dialogs, simulated drag-and-drop, opening and closing
the main window."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QInputDialog,
    QMessageBox,
)

SUMMARY_WAIT_MS = 90_000
"""How long a test waits for a window's summary: the inspector process imports PyTorch first,
which took over 30 s on the shared 2-core machine under a load of 10."""


def answer_dialog(button: str | None = None, *, text: str | None = None, log: list | None = None,
                  timeout_ms: int = 5000) -> None:
    """When the next modal dialog opens, record its text in ``log``, type ``text`` into an
    input dialog, and press the button labelled ``button`` (ignoring '&'); OK by default."""
    waited = [0]

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QDialog):
            waited[0] += 20
            if waited[0] < timeout_ms:
                QTimer.singleShot(20, poll)
            return
        if log is not None:
            log.append(dialog.text() if isinstance(dialog, QMessageBox)
                       else dialog.labelText() if isinstance(dialog, QInputDialog) else "")
            if isinstance(dialog, QMessageBox):
                log.append(dialog.detailedText())
        if isinstance(dialog, QInputDialog):
            if text is not None:
                dialog.setTextValue(text)
            dialog.accept() if button in (None, "OK", "Ok") else dialog.reject()
            return
        standard = getattr(QMessageBox.StandardButton, button or "Ok", None)
        if isinstance(dialog, QMessageBox) and standard is not None and dialog.button(standard):
            dialog.button(standard).click()
            return
        for b in dialog.findChildren(QAbstractButton):
            if b.text().replace("&", "") == (button or "OK"):
                b.click()
                return
        raise AssertionError(f"no button {button!r} in dialog: "
                             f"{[b.text() for b in dialog.findChildren(QAbstractButton)]}")

    QTimer.singleShot(20, poll)


def drop(view, mime, pos: QPoint, action=Qt.DropAction.CopyAction) -> bool:
    """Deliver drag-enter, drag-move and drop events to ``view``'s viewport at ``pos``, as Qt
    does at the end of a real drag; returns whether the drop was accepted."""
    target = view.viewport()
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    enter = QDragEnterEvent(pos, actions, mime, buttons, mods)
    QApplication.sendEvent(target, enter)
    move = QDragMoveEvent(pos, actions, mime, buttons, mods)
    move.setDropAction(action)
    QApplication.sendEvent(target, move)
    if not move.isAccepted():
        return False
    event = QDropEvent(pos.toPointF(), actions, mime, buttons, mods)
    event.setDropAction(action)
    QApplication.sendEvent(target, event)
    return event.isAccepted()


def make_window(qtbot, path=None):
    from explorer.ui.main_window import MainWindow

    window = MainWindow(QSettings())  # not qtbot.addWidget: its close at teardown would come
    window.show()                     # before ours and block on the unsaved-changes question
    with qtbot.waitSignal(window.summary_ready, timeout=SUMMARY_WAIT_MS):
        window.start(path)
    return window


def close_window(window, qtbot, answer: str = "Discard") -> None:
    if window.document.modified:
        answer_dialog(answer)
    window.close()
