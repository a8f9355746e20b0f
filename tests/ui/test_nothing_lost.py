"""Nothing the user made is lost: the canvas's own undo, "Discard" that really discards,
one autosave per running window with crash recovery across instances, closing during a run
or during start-up, and errors in worker threads reported on the GUI thread."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QThread
from PySide6.QtWidgets import QApplication
from ui_helpers import (
    ONE,
    TINY,
    answer_dialog,
    click_tree,
    close_window,
    crashed_instance,
    draw,
    fresh_summary,
    make_window,
    quick_settings,
)

from explorer.core.presets import preset_spec
from explorer.core.spec import ArchitectureSpec
from explorer.session import Work
from explorer.ui.background import detached_threads, wait_detached
from explorer.ui.training_runner import TrainingRunner
from explorer.ui.workspaces import BUILD

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
TIMEOUT = 30_000
ROOT = Path(__file__).resolve().parents[2]
BAR = [(60 + 10 * i, 60) for i in range(17)]  # a horizontal stroke at the top


def sessions_folder(isolated_folders) -> Path:
    return isolated_folders / "state" / "network-explorer" / "sessions"


def delete_block(qtbot, window, index: int) -> None:
    """Select top-level block ``index`` in the tree with the mouse and press Delete (in the
    active window, where the keys go)."""
    activate(qtbot, window)
    window.workspaces.setCurrentIndex(BUILD)  # where the tree is (a run shows Train & look)
    before = window.document.spec
    click_tree(qtbot, window, (index,))
    window.tree.setFocus()
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(window.tree, Qt.Key.Key_Delete))
    assert len(window.document.spec.blocks) == len(before.blocks) - 1


def activate(qtbot, window) -> None:
    """Make ``window`` the active window: shortcuts only reach the active window."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


# ------------------------------------------------------------------ 1. the canvas's keys


def test_ctrl_z_on_the_canvas_undoes_strokes_and_never_the_network(qtbot, app_window):
    window, controller = app_window
    delete_block(qtbot, window, 1)  # an edit of the network: relu removed
    edited, stack = window.document.spec, window.document.undo_stack
    index = stack.index()
    assert [b.type for b in edited.blocks] == ["conv2d", "max_pool2d", "flatten", "linear"]
    controller.show_view("canvas")
    canvas = controller.canvas.canvas
    draw(qtbot, canvas, ONE)
    draw(qtbot, canvas, BAR)

    def strokes_seen() -> tuple[bool, bool]:  # ink of the "1" (x = 140), of the bar (y = 60)
        pixels = canvas.pixels()
        return bool(pixels[100:250, 130:150].max()), bool(pixels[50:70, 180:230].max())

    assert strokes_seen() == (True, True)

    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert canvas.stroke_count == 1 and strokes_seen() == (True, False)
    assert window.document.spec is edited and stack.index() == index
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL | SHIFT)  # redo the stroke
    assert canvas.stroke_count == 2 and strokes_seen() == (True, True)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(canvas, Qt.Key.Key_Y, CTRL)  # the other redo key
    assert canvas.stroke_count == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)  # clearing is undoable too
    assert canvas.stroke_count == 0 and canvas.pixels().max() == 0
    qtbot.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert canvas.stroke_count == 2 and strokes_seen() == (True, True)
    assert window.document.spec is edited and stack.index() == index

    # the same key in the tree still undoes the network
    window.tree.setFocus()
    qtbot.keyClick(window.tree, Qt.Key.Key_Z, CTRL)
    assert stack.index() == index - 1 and window.document.spec.blocks[1].type == "relu"
    assert canvas.stroke_count == 2


# ------------------------------------------------------------------ 2. Discard


def test_discard_on_close_reopens_the_saved_file_attached_to_it(qtbot, window, tmp_path):
    file = tmp_path / "mine.json"
    assert window.save_to(file)
    saved = window.document.spec
    delete_block(qtbot, window, 2)
    assert window.document.modified and window.document.spec != saved
    log: list[str] = []
    answer_dialog("Discard", log=log)
    window.close()
    assert not window.isVisible() and "not saved" in log[0]
    second = make_window(qtbot)
    try:
        assert second.document.spec == saved and second.document.path == file
        assert not second.document.modified
        assert "mine.json" in second.windowTitle() and not second.isWindowModified()
    finally:
        close_window(second, qtbot)
        second.shutdown()


def test_discard_on_close_reopens_the_preset_as_it_was_opened(qtbot, window):
    fresh_summary(qtbot, window, lambda: window.open_preset("lenet"))
    assert not window.document.modified  # opened and not touched: nothing to save
    delete_block(qtbot, window, 0)
    answer_dialog("Discard")
    window.close()
    assert not window.isVisible()
    second = make_window(qtbot)
    try:
        assert second.document.spec == preset_spec("lenet") and second.document.path is None
        assert not second.document.modified and second.windowTitle() == "lenet[*]"
    finally:
        close_window(second, qtbot)
        second.shutdown()


# ------------------------------------------------------------------ 3. instances


def saved_work(folder: Path, window) -> Work:
    return Work.from_dict(json.loads((folder / f"{window.session.id}.json").read_text())["work"])


def test_each_window_keeps_its_own_autosave_and_a_crashed_one_is_offered(
        qtbot, window, isolated_folders):
    folder = sessions_folder(isolated_folders)
    second = make_window(qtbot)
    try:
        delete_block(qtbot, window, 2)
        delete_block(qtbot, second, 0)
        first_spec, second_spec = window.document.spec, second.document.spec
        assert first_spec != second_spec
        # each window's autosave (the timer fires a few seconds after the change)
        qtbot.waitUntil(lambda: all(
            (folder / f"{w.session.id}.json").exists() and saved_work(folder, w).modified
            for w in (window, second)), timeout=10_000)
        assert saved_work(folder, window).spec == first_spec
        assert saved_work(folder, second).spec == second_spec
        assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".json", ".lock",
                                                               ".lock"]
        first_record = (folder / f"{window.session.id}.json").read_bytes()
        close_window(second, qtbot)  # Discard
        assert not (folder / f"{second.session.id}.json").exists()
        assert not (folder / f"{second.session.id}.lock").exists()
        assert (folder / f"{window.session.id}.json").read_bytes() == first_record
    finally:
        second.shutdown()

    # a third window crashed earlier with unsaved work; the first one is still running
    nin = preset_spec("nin")
    lost = ArchitectureSpec.from_dict({**nin.to_dict(), "num_classes": 7})
    crashed_instance(folder, "crashed-1", Work(lost, None, True, nin, None, time.time()))
    log: list[str] = []
    answer_dialog("Restore", log=log)
    third = make_window(qtbot)
    try:
        qtbot.waitUntil(lambda: third.document.spec == lost, timeout=10_000)
        assert "did not close properly" in log[0] and "“nin”" in log[0]
        assert third.document.modified and third.document.saved_spec == nin
        assert saved_work(folder, third).spec == lost  # this window protects it now
        assert not (folder / "crashed-1.json").exists()
        assert not (folder / "crashed-1.lock").exists()
        assert (folder / f"{window.session.id}.json").read_bytes() == first_record
    finally:
        close_window(third, qtbot)
        third.shutdown()
    assert not (folder / f"{third.session.id}.json").exists()
    assert (folder / f"{window.session.id}.json").read_bytes() == first_record


def test_a_crash_offer_left_for_later_comes_back_at_the_next_start(qtbot, isolated_folders):
    folder = sessions_folder(isolated_folders)
    lost = ArchitectureSpec.from_dict({**preset_spec("lenet").to_dict(), "num_classes": 3})
    crashed_instance(folder, "crashed-2", Work(lost, None, True, time=time.time()))
    for answer in ("Not now", "Discard"):
        log: list[str] = []
        answer_dialog(answer, log=log)
        window = make_window(qtbot)
        try:
            assert "did not close properly" in log[0]
            assert window.document.spec != lost
        finally:
            close_window(window, qtbot)
            window.shutdown()
    assert sorted(os.listdir(folder)) == []  # discarded: offered no more
    window = make_window(qtbot)  # no dialog: a question here would block the test
    try:
        assert window.document.spec.name == "course-inception"
    finally:
        close_window(window, qtbot)
        window.shutdown()


def test_an_autosave_folder_that_cannot_be_written_is_shown_and_the_work_kept(
        qtbot, isolated_folders, monkeypatch):
    state = isolated_folders / "state" / "network-explorer"
    state.mkdir(parents=True)
    (state / "sessions").write_text("a file where the sessions folder should be")
    window = make_window(qtbot)
    try:
        assert window.storage_label.isVisible()
        assert "Autosave off" in window.storage_label.text()
        assert str(state / "sessions") in window.storage_label.toolTip()
        assert "kept in this window" in window.storage_label.toolTip()
        delete_block(qtbot, window, 2)
        window.autosave_now()
        assert window.storage_label.isVisible() and window.document.modified
        assert len(window.document.spec.blocks) == 9
    finally:
        close_window(window, qtbot)
        window.shutdown()


def test_settings_that_cannot_be_written_are_shown(qtbot, isolated_folders):
    (isolated_folders / "config" / "network-explorer-tests").write_text("in the way")
    window = make_window(qtbot)
    try:
        assert window.storage_label.isVisible()
        assert "Settings not saved" in window.storage_label.text()
        assert "layout and recent files will be forgotten" in window.storage_label.toolTip()
    finally:
        close_window(window, qtbot)
        window.shutdown()


# ------------------------------------------------------------------ 4. closing


def test_closing_during_a_run_with_unsaved_changes_asks_once_and_cancel_keeps_it_all(
        qtbot, qtlog, app_window, monkeypatch):
    window, controller = app_window
    quick_settings(controller.panel, epochs=50, batches=10)
    events: list = []
    controller.runner.event.connect(events.append)
    controller.panel.start_action.trigger()
    qtbot.waitUntil(lambda: controller.panel.state == "running", timeout=TIMEOUT)
    delete_block(qtbot, window, 1)
    edited = window.document.spec
    log: list[str] = []
    answer_dialog("Cancel", log=log)
    assert not window.close()
    assert window.isVisible() and len(log) == 2  # one question (its text and details)
    assert "tiny-digits, run of" in log[0] and "is training" in log[0]
    assert "has changes that are not saved" in log[0]
    assert "checkpoints so far are kept" in log[0]
    # nothing was stopped: the run goes on, the edit is still there
    count = len(events)
    qtbot.waitUntil(lambda: len(events) > count + 2, timeout=TIMEOUT)
    assert controller.panel.state == "running" and controller.runner.running
    assert window.document.spec is edited and window.document.modified

    answer_dialog("Discard changes and close", log=log)
    before = len(qtlog.records)
    window.close()
    assert not window.isVisible() and len(log) == 4
    wait_detached()
    assert not controller.runner.running
    warnings = [r.message for r in qtlog.records[before:]
                if "propagateSizeHints" not in r.message]  # the offscreen plugin's own note
    assert warnings == []
    from explorer.training import load_checkpoint

    load_checkpoint(controller.job.run_dir / "last.json")  # kept, intact
    remembered = QSettings().value("last/spec")
    assert ArchitectureSpec.from_json(remembered) == ArchitectureSpec.from_dict(TINY)


def _slow_forward(model, seconds: float, when, entered: threading.Event, calls: list):
    forward = model.forward

    def slow(x):
        if when(model):
            calls.append(1)
            entered.set()
            time.sleep(seconds)
        return forward(x)

    model.forward = slow  # an instance attribute: the weights' names do not change
    return model


def test_a_batch_slower_than_the_closing_wait_is_left_to_end_by_itself(
        qtbot, qtlog, app_window, monkeypatch):
    window, controller = app_window
    from explorer.core import builder

    slow_now, entered, calls = threading.Event(), threading.Event(), []
    real_build = builder.build_model
    monkeypatch.setattr(builder, "build_model", lambda *a, **k: _slow_forward(
        real_build(*a, **k), 1.5, lambda m: m.training and slow_now.is_set(), entered, calls))
    monkeypatch.setattr(TrainingRunner, "stop_wait_ms", 100)
    quick_settings(controller.panel, epochs=50, batches=10)
    events: list = []
    controller.runner.event.connect(events.append)
    controller.panel.start_action.trigger()
    qtbot.waitUntil(lambda: any(type(e).__name__ == "BatchEnd" for e in events),
                    timeout=TIMEOUT)
    slow_now.set()
    qtbot.waitUntil(entered.is_set, timeout=TIMEOUT)  # a 1.5 s batch has begun
    answer_dialog("Stop and close")
    before = len(qtlog.records)
    window.close()
    assert not window.isVisible() and not controller.runner.running
    assert [t.objectName() for t in detached_threads()] == ["training"]  # still in its batch
    count = len(events)
    qtbot.waitUntil(lambda: not detached_threads(), timeout=TIMEOUT)
    qtbot.wait(100)  # anything it sent would arrive now
    wait_detached()
    assert len(calls) == 1  # it stopped after the batch it was in
    assert len(events) == count  # and nothing of it reached the closed window
    warnings = [r.message for r in qtlog.records[before:]
                if "propagateSizeHints" not in r.message]
    assert warnings == []
    from explorer.training import load_checkpoint

    load_checkpoint(controller.job.run_dir / "last.json")  # the run still saved its end


def test_the_confusion_pass_stops_when_the_window_closes(qtbot, app_window, monkeypatch):
    window, controller = app_window
    from explorer.training import analysis

    entered, calls = threading.Event(), []
    real_confusion = analysis.confusion

    def slow_confusion(model, split, **kwargs):  # 10 batches of 0.4 s: 4 s uninterrupted
        _slow_forward(model, 0.4, lambda m: True, entered, calls)
        return real_confusion(model, split, batch_size=50, **kwargs)

    monkeypatch.setattr(analysis, "confusion", slow_confusion)
    monkeypatch.setattr(TrainingRunner, "stop_wait_ms", 100)
    quick_settings(controller.panel, epochs=1, batches=2)
    controller.panel.start_action.trigger()
    # the run ended (the window has its end: nothing to ask on close); its pass is going
    qtbot.waitUntil(lambda: entered.is_set() and controller.active_run() is None,
                    timeout=TIMEOUT)
    window.close()
    assert not window.isVisible()
    qtbot.waitUntil(lambda: not detached_threads(), timeout=TIMEOUT)
    qtbot.wait(100)
    wait_detached()
    assert len(calls) <= 2  # it saw the window close between two batches
    assert controller.confusion.result is None


def test_closing_during_start_up_is_immediate_and_the_late_result_is_dropped(qtbot):
    from explorer.ui.main_window import MainWindow

    window = MainWindow(QSettings())
    window.show()
    window.start(None)
    assert window.close()  # nothing loaded yet: nothing to ask
    assert not window.isVisible()
    qtbot.waitUntil(lambda: not detached_threads(), timeout=TIMEOUT)
    qtbot.wait(200)  # a result sent by the loader would be delivered now
    wait_detached()
    assert window.training is None and window.document.spec is None
    assert window.inspector._child._process is None and not window.inspector.is_running()
    assert "Loading" in window.statusBar().currentMessage()


# ------------------------------------------------------------------ crash reports


def test_an_error_in_a_worker_thread_is_reported_on_the_gui_thread(
        qtbot, window, isolated_folders, monkeypatch):
    from explorer.ui.app import install_exception_hook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    install_exception_hook(window)
    gui = QThread.currentThread()
    on_gui_thread: list[bool] = []
    real_autosave = window.autosave_now

    def autosave():
        on_gui_thread.append(QThread.currentThread() is gui)
        real_autosave()

    monkeypatch.setattr(window, "autosave_now", autosave)
    log: list[str] = []
    answer_dialog("Ok", log=log)

    def fail():
        raise RuntimeError("boom in a worker")

    worker = threading.Thread(target=fail)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(log) == 2, timeout=10_000)
    assert on_gui_thread and all(on_gui_thread)  # the hook's autosave (and the timer's)
    assert "internal error: boom in a worker" in log[0] and "autosaved" in log[0]
    crashes = list((isolated_folders / "state" / "network-explorer" / "crashes").iterdir())
    assert len(crashes) == 1 and "RuntimeError: boom in a worker" in crashes[0].read_text()
    assert str(crashes[0]) in log[0]


@pytest.fixture(autouse=True)
def _no_thread_left_detached():
    yield
    wait_detached()
