"""The training views in a window: a short real training from the panel, pause/resume/stop,
closing mid-run, the canvas, feature maps, runs and the confusion matrix."""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import Qt
from ui_helpers import ONE, draw, quick_settings, select_run

from explorer.ui.training_views import BUNDLED_LABEL

TIMEOUT = 30_000


def test_a_short_training_from_the_panel(qtbot, app_window):
    _window, controller = app_window
    panel = controller.panel
    quick_settings(panel)
    events = []
    controller.runner.event.connect(events.append)
    with qtbot.waitSignal(controller.runner.confusion_ready, timeout=TIMEOUT):
        qtbot.mouseClick(_button(panel, "Start"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not controller.runner.running, timeout=TIMEOUT)
    names = [type(e).__name__ for e in events]
    assert names[0] == "Started" and names[-1] == "Finished"
    assert names.count("BatchEnd") == 8 and names.count("EpochEnd") == 2
    assert events[-1].status == "finished"
    # curves and progress followed
    controller.curves.redraw()
    x, y = controller.curves.loss_raw.xData, controller.curves.loss_raw.yData
    assert len(x) == 8 and np.allclose(y, [e.loss for e in events if type(e).__name__ ==
                                           "BatchEnd"])
    assert len(controller.curves.test_accuracy.xData) == 2
    assert panel.progress.value() == panel.progress.maximum() == 8
    assert "finished" in panel.progress.text()
    assert re.fullmatch(r"tiny-digits, run of \d\d:\d\d:\d\d", controller.job.label)
    # the run folder is listed, with its checkpoints
    run_dir = controller.job.run_dir
    assert (run_dir / "best.json").is_file() and (run_dir / "last.json").is_file()
    qtbot.waitUntil(lambda: controller.runs.selected() is not None, timeout=TIMEOUT)
    assert controller.runs.selected().path == run_dir
    # the confusion matrix counts the 500 test digits; a cell shows its images
    confusion = controller.confusion
    assert confusion.result.matrix.sum() == 500
    t, p = _off_diagonal(confusion.result.matrix)
    item = confusion.table.item(t, p)
    qtbot.mouseClick(confusion.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=confusion.table.visualItemRect(item).center())
    assert f"{confusion.result.matrix[t, p]} images of {t} predicted {p}" in \
        confusion.cell_title.text()
    assert not confusion.images.pixmap().isNull()
    # the canvas and the feature maps now use the trained snapshot
    assert controller.snapshot.label.startswith(controller.job.label)
    maps = controller.feature_maps
    maps.inputs.setCurrentIndex(maps.inputs.findData("test:0"))
    qtbot.waitUntil(lambda: maps.result is not None and maps.result.maps is not None
                    and maps.result.source == controller.snapshot.label, timeout=TIMEOUT)
    assert maps.result.layer == "conv1" and maps.result.maps.shape == (4, 24, 24)


def _button(panel, text):
    from PySide6.QtWidgets import QToolButton

    return next(b for b in panel.findChildren(QToolButton) if b.text().replace("&", "")
                .startswith(text))


def _off_diagonal(matrix):
    off = matrix.copy()
    np.fill_diagonal(off, -1)
    return np.unravel_index(int(np.argmax(off)), off.shape)


def test_pause_resume_and_stop(qtbot, app_window):
    _window, controller = app_window
    panel = controller.panel
    quick_settings(panel, epochs=50, batches=10)
    events = []
    controller.runner.event.connect(events.append)
    panel.start_action.trigger()
    qtbot.waitUntil(lambda: any(type(e).__name__ == "BatchEnd" for e in events),
                    timeout=TIMEOUT)
    qtbot.mouseClick(_button(panel, "Pause"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=TIMEOUT)
    assert _button(panel, "Resume").isEnabled()
    count = len(events)
    qtbot.wait(150)
    assert len(events) == count  # nothing happens while paused
    qtbot.mouseClick(_button(panel, "Resume"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(events) > count + 1, timeout=TIMEOUT)
    assert "Resumed" in [type(e).__name__ for e in events[count:]]
    qtbot.mouseClick(_button(panel, "Stop"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not controller.runner.running, timeout=TIMEOUT)
    assert events[-1].status == "stopped"
    assert panel.state == "idle" and panel.start_action.isEnabled()
    assert (controller.job.run_dir / "last.json").is_file()


def test_drawing_gives_a_prediction_from_the_bundled_model(qtbot, app_window):
    _window, controller = app_window
    view = controller.canvas
    with qtbot.waitSignal(controller.inference.result, timeout=TIMEOUT):
        draw(qtbot, view.canvas, ONE)
    qtbot.waitUntil(lambda: view.prediction is not None and
                    view.canvas.stroke_count == 1, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: view.top.text() == "1", timeout=TIMEOUT)
    assert BUNDLED_LABEL in view.source.text()
    assert view.prediction.digit.shape == (28, 28)
    assert not view.seen.pixmap().isNull()
    # undo the stroke with Ctrl+Z, draw again, clear with Delete
    qtbot.keyClick(view.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert view.canvas.stroke_count == 0
    qtbot.waitUntil(lambda: view.prediction is None, timeout=TIMEOUT)
    draw(qtbot, view.canvas, ONE)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Delete)
    assert view.canvas.stroke_count == 0 and view.canvas.pixels().max() == 0


def test_feature_maps_switch_layers(qtbot, app_window):
    _window, controller = app_window
    draw(qtbot, controller.canvas.canvas, ONE)
    maps = controller.feature_maps
    qtbot.waitUntil(lambda: maps.result is not None and maps.result.maps is not None,
                    timeout=TIMEOUT)
    first = maps.result
    assert first.source == BUNDLED_LABEL and first.layer == "conv1"
    assert first.maps.shape == (16, 24, 24) and first.filters.shape == (16, 1, 5, 5)
    assert "16 channels of 24×24" in maps.heading.text()
    index = next(i for i in range(maps.layers.count()) if maps.layers.itemData(i) == "pool2")
    maps.layers.setCurrentIndex(index)
    qtbot.waitUntil(lambda: maps.result.layer == "pool2", timeout=TIMEOUT)
    assert maps.result.maps.shape == (32, 4, 4)
    assert not maps.maps_view.pixmap().isNull()


def test_open_a_finished_run_and_load_its_weights(qtbot, app_window, tmp_path):
    window, controller = app_window
    from explorer.core.presets import preset_spec
    from explorer.training import TrainConfig, train
    from explorer.training.runs import default_run_dir

    spec = preset_spec("lenet")
    run_dir = default_run_dir("lenet", root=controller.runs_root)
    config = TrainConfig(epochs=2, batch_size=32, max_batches_per_epoch=3, device="cpu")
    list(train(spec, config, run_dir=run_dir))
    select_run(qtbot, controller.runs, run_dir)
    assert controller.runs.selected().name == "lenet"
    qtbot.mouseClick(controller.runs.curves_button, Qt.MouseButton.LeftButton)
    controller.curves.redraw()
    assert len(controller.curves.test_accuracy.xData) == 2
    qtbot.mouseClick(controller.runs.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.document.spec.name == "lenet", timeout=TIMEOUT)
    assert controller.snapshot.spec == window.document.spec
    assert "from run" in controller.canvas.source.text()
    window.document.undo_stack.undo()
    assert window.document.spec.name == "tiny-digits"

def test_the_train_menu_and_the_version_being_trained(qtbot, app_window):
    window, controller = app_window
    actions = window.menu("&Train").actions()
    assert controller.panel.start_action in actions and controller.panel.stop_action in actions
    assert controller.panel.start_action.shortcut().toString() == "F5"
    assert controller.panel.network.text() == "Start (F5) trains tiny-digits as it is now."
    quick_settings(controller.panel, epochs=50, batches=10)
    controller.panel.start_action.trigger()
    qtbot.waitUntil(lambda: controller.panel.state == "running", timeout=TIMEOUT)
    # the initialisation is the network's: choosing one is an undoable edit, not a run change
    init = controller.panel.editors["init"]
    assert init.isEnabled()
    init.setFocus()
    qtbot.keyClick(init, Qt.Key.Key_Down)  # default → xavier, as a user picks it
    assert window.document.spec.init == "xavier"
    assert controller.job.spec.init == "default"
    text = controller.panel.network.text()
    assert text.startswith(f"Training {controller.job.label}: a copy of the network")
    assert "edited since" in text and " v" not in text  # no internal version numbers
    assert controller.job.label.startswith("tiny-digits, run of ")
    controller.stop()
    qtbot.waitUntil(lambda: not controller.runner.running, timeout=TIMEOUT)
    assert controller.panel.network.text() == "Start (F5) trains tiny-digits as it is now."
    window.document.undo_stack.undo()
    assert window.document.spec.init == "default"


def test_the_runs_list_is_read_off_the_gui_thread_and_selects_a_new_run_once_listed(
        qtbot, app_window, monkeypatch):
    """A run folder appears after the list was filled: select_run waits for the worker's
    reading (done on an ``explorer-`` thread), then selects it."""
    import threading

    from explorer.core.presets import preset_spec
    from explorer.training import TrainConfig, train
    from explorer.training.runs import all_runs, default_run_dir
    from explorer.ui.widgets import runs as runs_module

    _window, controller = app_window
    view = controller.runs
    readers = []

    def reading(*args):
        readers.append(threading.current_thread().name)
        return all_runs(*args)

    monkeypatch.setattr(runs_module, "all_runs", reading)
    run_dir = default_run_dir("lenet", root=controller.runs_root)
    list(train(preset_spec("lenet"), TrainConfig(epochs=1, batch_size=32,
                                                 max_batches_per_epoch=2, device="cpu"),
               run_dir=run_dir))
    assert run_dir not in [item.path for item in _listed(view)]
    select_run(qtbot, view, run_dir)  # asked before the list is read again
    assert readers and all(name.startswith("explorer-runs") for name in readers)
    assert view.tree.currentItem().text(1) == "finished"


def _listed(view) -> list:
    return [view.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
            for i in range(view.tree.topLevelItemCount())]


def test_the_runs_list_keeps_the_users_pick_until_the_run_asked_for_is_listed(
        qtbot, tmp_path, monkeypatch):
    """A run asked to be selected before it exists does not take the user's pick away; once
    listed it is selected. A failed reading says so until one succeeds; after shutdown
    nothing is read again."""
    from explorer.training.runs import RunInfo
    from explorer.ui.widgets import runs as runs_module
    from explorer.ui.widgets.runs import RunsView

    def info(name, started):
        return RunInfo(tmp_path / name, name, started, "mnist-sample", "cpu", 2, 2, 0.9,
                       None, None, {})

    listed = [info("a", "2026-01-02"), info("b", "2026-01-01")]
    failing = []

    def reading(*_args):
        if failing:
            raise OSError(failing.pop())
        return list(listed)

    monkeypatch.setattr(runs_module, "all_runs", reading)
    view = RunsView(tmp_path)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.jobs.result):
        view.refresh()
    view.tree.setCurrentItem(view.tree.topLevelItem(1))  # the user picks b
    view.select_run(tmp_path / "c")  # not made yet
    with qtbot.waitSignal(view.jobs.result):
        view.refresh()
    assert view.selected().name == "b"
    failing.append("disk gone")
    with qtbot.waitSignal(view.jobs.error):
        view.refresh()
    assert view.message.text() == "The runs could not be read: OSError: disk gone"
    listed.insert(0, info("c", "2026-01-03"))
    with qtbot.waitSignal(view.jobs.result):
        view.refresh()
    assert view.selected().name == "c" and view.message.text() == ""
    view.shutdown()
    view.refresh()
    assert not view.jobs.running
