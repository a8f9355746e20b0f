"""The training views in a window: a short real training from the panel, pause/resume/stop,
closing mid-run, the canvas, feature maps, runs and the confusion matrix."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from explorer.core.spec import ArchitectureSpec
from explorer.ui.training_views import BUNDLED_LABEL

TIMEOUT = 30_000


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


@pytest.fixture
def app_window(window, isolated_folders):
    """The main window (see conftest) holding a tiny digit network; runs go to the test's
    own data folder."""
    window.document.open_spec(ArchitectureSpec.from_dict(TINY), undoable=False)
    controller = window.training
    assert controller.runs_root == isolated_folders / "data" / "network-explorer" / "runs"
    return window, controller


def quick_settings(panel, epochs=2, batches=4):
    panel.set_value("dataset", "mnist-sample")
    panel.set_value("device", "cpu")
    panel.set_value("epochs", epochs)
    panel.set_value("batch_size", 32)
    panel.set_value("max_batches_per_epoch", batches)
    panel.set_value("optimizer", "adam")
    panel.set_value("lr", 0.01)


def draw(qtbot, canvas, points):
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[0]))
    for point in points[1:]:
        qtbot.mouseMove(canvas, QPoint(*point))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(*points[-1]))


ONE = [(140, 40 + 10 * i) for i in range(21)]


def test_a_short_training_from_the_panel(qtbot, app_window):
    _window, controller = app_window
    panel = controller.panel
    quick_settings(panel)
    generation = _window.document.generation
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
    assert controller.job.label == f"tiny-digits v{generation}"
    # the run folder is listed, with its checkpoints
    run_dir = controller.job.run_dir
    assert (run_dir / "best.json").is_file() and (run_dir / "last.json").is_file()
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


def test_closing_mid_run_asks_then_stops_cleanly(qtbot, qtlog, app_window, monkeypatch):
    window, controller = app_window
    quick_settings(controller.panel, epochs=50, batches=10)
    controller.panel.start_action.trigger()
    qtbot.waitUntil(lambda: controller.panel.state == "running", timeout=TIMEOUT)
    asked = []

    def answer(choice):
        def question(*args, **kwargs):
            asked.append(args[2])
            return choice
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    assert not window.close()
    assert window.isVisible() and controller.runner.running and len(asked) == 1
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    before = len(qtlog.records)
    assert window.close()
    assert not controller.runner.running and "is training" in asked[-1]
    qtbot.waitUntil(lambda: not controller.inference.running, timeout=TIMEOUT)
    qtbot.wait(50)
    warnings = [r.message for r in qtlog.records[before:]
                if "propagateSizeHints" not in r.message]  # the offscreen plugin's own note
    assert warnings == []
    run_dir = controller.job.run_dir
    sidecar = json.loads((run_dir / "last.json").read_text())
    assert sidecar["format"] == "network-explorer/checkpoint"
    from explorer.training import load_checkpoint

    load_checkpoint(run_dir / "last.json")  # intact


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
    controller.runs.refresh()
    controller.runs.select_run(run_dir)
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
    version = window.document.generation
    assert f"trains tiny-digits v{version}" in controller.panel.network.text()
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
    assert f"Training tiny-digits v{version}" in controller.panel.network.text()
    assert "edited since" in controller.panel.network.text()
    controller.stop()
    qtbot.waitUntil(lambda: not controller.runner.running, timeout=TIMEOUT)
    window.document.undo_stack.undo()
    assert window.document.spec.init == "default"
