"""Helpers for the Qt tests: answering dialogs, simulated drag-and-drop, opening and closing
the main window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


_ANSWERS: list[list[bool]] = []
"""Each waiting answer's "cancelled" flag: the UI conftest cancels them after every test, so
an answer meant for a dialog that never came cannot answer the next test's dialog."""


def cancel_dialog_answers() -> None:
    """Cancel every answer still waiting for its dialog."""
    for cancelled in _ANSWERS:
        cancelled[0] = True
    _ANSWERS.clear()


def answer_dialog(button: str | None = None, *, text: str | None = None, log: list | None = None,
                  timeout_ms: int = 5000) -> None:
    """When the next modal dialog opens, record its text in ``log``, type ``text`` into an
    input dialog, and press the button labelled ``button`` (ignoring '&'); OK by default."""
    waited = [0]
    cancelled = [False]
    _ANSWERS.append(cancelled)

    def poll() -> None:
        if cancelled[0]:
            return
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


def index_of(window, path, kind="block"):
    index = window.tree.model_.index_of_path(path, kind)
    assert index.isValid(), f"no {kind} row for {path}"
    return index


def click_tree(qtbot, window, path, modifier=Qt.KeyboardModifier.NoModifier, kind="block"):
    index = index_of(window, path, kind)
    window.tree.scrollTo(index)
    rect = window.tree.visualRect(index)
    qtbot.mouseClick(window.tree.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())
    QApplication.processEvents()  # as the event loop would between a click and the next key


def fresh_summary(qtbot, window, action):
    """Run ``action`` and wait for the summary of the edit it made."""
    with qtbot.waitSignal(window.summary_ready, timeout=SUMMARY_WAIT_MS):
        action()
    assert window.latest_summary is not None
    return window.latest_summary


def make_window(qtbot, path=None):
    from explorer.ui.main_window import MainWindow

    window = MainWindow(QSettings())  # not qtbot.addWidget: its close at teardown would come
    window.show()                     # before ours and block on the unsaved-changes question
    with qtbot.waitSignal(window.summary_ready, timeout=SUMMARY_WAIT_MS):
        window.start(path)
    return window


def close_window(window, qtbot, answer: str = "Discard") -> None:
    """Close ``window``, answering its question: unsaved changes discarded (``answer``) and a
    run going stopped."""
    training = getattr(window, "training", None)
    if training is not None and training.active_run() is not None:
        answer_dialog("Discard changes and close" if window.document.modified
                      else "Stop and close")
    elif window.document.modified:
        answer_dialog(answer)
    window.close()


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


def quick_settings(panel, epochs=2, batches=4):
    panel.set_value("dataset", "mnist-sample")
    panel.set_value("device", "cpu")
    panel.set_value("epochs", epochs)
    panel.set_value("batch_size", 32)
    panel.set_value("max_batches_per_epoch", batches)
    panel.set_value("optimizer", "adam")
    panel.set_value("lr", 0.01)


def select_run(qtbot, runs, run_dir) -> None:
    """Read the Runs view's folders again and select ``run_dir`` once it is listed."""
    runs.refresh()
    runs.select_run(run_dir)
    qtbot.waitUntil(lambda: runs.selected() is not None and runs.selected().path == run_dir,
                    timeout=10_000)


def draw(qtbot, canvas, points):
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, QPoint(*point))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[-1]))


ONE = [(140, 40 + 10 * i) for i in range(21)]


ROOT = Path(__file__).resolve().parents[2]


def crashed_instance(folder: Path, instance_id: str, work) -> None:
    """What a killed window leaves behind: its record (of ``work``, a ``session.Work``), and a
    QLockFile whose process is gone (taken by a child process that then dies without
    unlocking)."""
    folder.mkdir(parents=True, exist_ok=True)
    code = ("import os, sys\nfrom PySide6.QtCore import QLockFile\n"
            "lock = QLockFile(sys.argv[1])\nassert lock.tryLock(0)\nos._exit(9)\n")
    subprocess.run([sys.executable, "-c", code, str(folder / f"{instance_id}.lock")],
                   check=False, timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert (folder / f"{instance_id}.lock").is_file()
    record = {"format": "network-explorer/session", "pid": 1, "started": 0.0,
              "work": work.to_dict()}
    (folder / f"{instance_id}.json").write_text(json.dumps(record))
