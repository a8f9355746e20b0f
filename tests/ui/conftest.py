"""Qt test set-up: offscreen rendering, an isolated settings/state/data folder per test, a
window fixture, dialog answering, simulated drag-and-drop, and a check that fails any test
that leaves a thread running."""

from __future__ import annotations

import os
import threading
import weakref

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QThread, QTimer
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QInputDialog,
    QMessageBox,
)

_started: list[weakref.ref] = []
_original_start = QThread.start


def _tracking_start(self, *args):
    _started.append(weakref.ref(self))
    return _original_start(self, *args)


QThread.start = _tracking_start


@pytest.fixture(autouse=True)
def no_thread_left():
    """Fail the test if a QThread or a Python thread it started is still running after it."""
    before = set(threading.enumerate())
    _started.clear()
    yield
    app = QApplication.instance()
    if app is not None:
        app.processEvents()
    running = [t for ref in _started if (t := ref()) is not None and t.isRunning()]
    extra = [t for t in threading.enumerate() if t not in before and t.is_alive()
             and not t.daemon]
    for t in running:  # stop them so the next test starts clean, then fail
        t.quit()
        t.wait(5000)
    assert not running, f"threads left running: {[t.objectName() for t in running]}"
    assert not extra, f"Python threads left running: {extra}"


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch):
    """Settings, state (autosave) and data (user blocks) in the test's own folder."""
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                     ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))
    QApplication.setOrganizationName("network-explorer-tests")
    QApplication.setApplicationName("Network Explorer")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


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
    with qtbot.waitSignal(window.summary_ready, timeout=30000):
        window.start(path)
    return window


def close_window(window, qtbot, answer: str = "Discard") -> None:
    if window.document.modified:
        answer_dialog(answer)
    window.close()


@pytest.fixture
def window(qtbot):
    """The main window, started and with its first table filled; closed (changes discarded)
    and its threads joined at the end."""
    win = make_window(qtbot)
    yield win
    if win.isVisible():
        close_window(win, qtbot)
    win.shutdown()
