"""A user's Python file in the window: open, every save re-inspects (rename included), bad
files end in a banner naming the line and a window that still works, the choice and the
input shape remembered per file, output on demand, conversion, training, drag-and-drop."""

from __future__ import annotations

import os
import time

import pytest
from pyfile_sources import BAD_FILES, COURSE_NET, COURSE_NET_PARAMS, WRONG_LINEAR, write
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from ui_helpers import answer_dialog

from explorer.ui import python_file
from explorer.ui.python_file import PythonFileView

TIMEOUT = 60_000


def open_and_wait(qtbot, window, path, **kw):
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT) as blocker:
        assert window.open_file(path, **kw)
    return blocker.args[0]


def save_by_rename(path, text: str) -> None:
    """As editors that write a new file and rename it over the old one save."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_open_shows_the_files_network_read_only(qtbot, window, tmp_path):
    spec_before = window.document.spec
    report = open_and_wait(qtbot, window, write(tmp_path, "net.py", COURSE_NET))
    assert report.problem is None and report.target == "Net"
    assert window.document.read_only and isinstance(window.document.view, PythonFileView)
    assert window.windowTitle().startswith("net.py:Net")
    summary = window.latest_summary
    assert summary.total_params == COURSE_NET_PARAMS and summary.output_shape == (10,)
    assert [r.name for r in summary.layers] == ["conv1", "pooling", "conv2", "pooling (2)",
                                                "fc"]
    keys = {b.key for b in window.diagram.diagram_layout().boxes}
    assert {"conv1", "conv2", "fc"} <= keys
    assert not window.table.banner.isVisible() and window.read_only_banner.isVisible()
    panel = window.python_files.panel
    assert panel.isVisible() and not window.tree.isVisible()  # in the tree's place
    assert "inspected" in panel.status.text() and panel.output_button.text() == \
        "Output (2 lines)"
    panel.output_button.click()  # what the code printed, on demand
    assert panel.text.isVisible()
    assert panel.text.toPlainText() == "module level\nafter conv2 torch.Size([1, 20, 4, 4])\n"
    with qtbot.waitSignal(window.summary_ready, timeout=TIMEOUT):
        window.document.undo_stack.undo()  # back to the editable network, as it was
    assert window.document.spec is spec_before and not window.document.read_only
    assert window.tree.isVisible() and not panel.isVisible()


def test_every_save_reinspects_a_rename_included(qtbot, window, tmp_path):
    path = write(tmp_path, "net.py", COURSE_NET)
    open_and_wait(qtbot, window, path)
    wider = COURSE_NET.replace("nn.Conv2d(10, 20", "nn.Conv2d(10, 40").replace(
        "nn.Linear(320", "nn.Linear(640")
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT) as blocker:
        save_by_rename(path, wider)
    assert blocker.args[0].summary.layers[2].output_shape == (40, 8, 8)
    row = window.table.model.root.children[2]
    assert row.status == "changed" and row.old_shape == (20, 8, 8)  # the delta of the save
    # the watch survives the rename: a second save is seen as well (in place, this time)
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT) as blocker:
        path.write_text(COURSE_NET, encoding="utf-8")
    assert blocker.args[0].summary.total_params == COURSE_NET_PARAMS


def test_bad_files_banner_with_the_line_and_the_window_still_works(qtbot, window, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setattr(python_file, "TIME_LIMIT", 2.0)  # the loop waits this long
    path = tmp_path / "net.py"
    path.write_text(COURSE_NET, encoding="utf-8")
    open_and_wait(qtbot, window, path)
    for name in sorted(BAD_FILES):
        source, kind, line, words = BAD_FILES[name]
        with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT) as blocker:
            save_by_rename(path, source)
        report = blocker.args[0]
        assert report.problem is not None and report.problem.kind == kind, (name, report)
        banner = window.table.banner
        assert banner.isVisible(), name
        assert f"net.py, line {line}: {source.splitlines()[line - 1].strip()}" in \
            banner.label.text().replace("&gt;", ">").replace("&lt;", "<"), name
        assert all(w in banner.label.text() for w in words), (name, banner.label.text())
        error_row = window.table.model.root.children[-1]
        assert error_row.status == "error"
    # the same window, the same inspector: the fixed file is inspected as before
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT) as blocker:
        save_by_rename(path, COURSE_NET)
    assert blocker.args[0].problem is None and not window.table.banner.isVisible()
    assert window.latest_summary.total_params == COURSE_NET_PARAMS


def test_forward_error_keeps_rows_and_marks_the_module_red(qtbot, window, tmp_path):
    report = open_and_wait(qtbot, window, write(tmp_path, "wrong.py", WRONG_LINEAR))
    assert report.problem.kind == "forward"
    model = window.table.model
    names = [item.row.name for item in model.root.children if item.row is not None]
    assert names == ["conv1", "pooling", "conv2", "pooling (2)"]
    error = model.root.children[-1]
    index = model.index_of(error)
    assert model.data(index) == "✗ fc"
    assert model.data(index, Qt.ItemDataRole.ForegroundRole).red() > 200
    assert "in_features should be 320" in window.table.banner.label.text()
    red = [b for b in window.diagram.diagram_layout().boxes if b.error]
    assert [b.title for b in red] == ["fc"]


def test_a_newer_save_stops_a_file_that_loops(qtbot, window, tmp_path):
    path = write(tmp_path, "net.py", COURSE_NET)
    open_and_wait(qtbot, window, path)
    save_by_rename(path, BAD_FILES["loop"][0])
    qtbot.wait(600)  # the loop is running in the inspection child
    start = time.perf_counter()
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT,
                          check_params_cb=lambda r: r.problem is None) as blocker:
        save_by_rename(path, COURSE_NET)
    assert blocker.args[0].summary.total_params == COURSE_NET_PARAMS
    assert time.perf_counter() - start < python_file.TIME_LIMIT - 2  # not the loop's limit


TWO = """\
from torch import nn


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))


class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(),
                                  nn.Linear(100, 10))

    def forward(self, x):
        return self.body(x)
"""


def test_the_choice_is_asked_once_and_remembered(qtbot, window, tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(window.python_files, "choose_network",
                        lambda report: asked.append([c.name for c in report.candidates])
                        or "Wide")
    path = write(tmp_path, "two.py", TWO)
    first = open_and_wait(qtbot, window, path)
    assert first.problem.kind == "choose"
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT) as blocker:
        pass  # the choice dialog answers, the file is inspected with it
    assert asked == [["Small", "Wide"]] and blocker.args[0].target == "Wide"
    assert window.latest_summary.total_params == 784 * 100 + 100 + 1010
    panel = window.python_files.panel
    assert panel.networks.currentData() == "Wide"
    # another time: no question, the same network
    with qtbot.waitSignal(window.summary_ready, timeout=TIMEOUT):
        window.document.undo_stack.undo()
    report = open_and_wait(qtbot, window, path)
    assert report.target == "Wide" and asked == [["Small", "Wide"]]
    # the other one, from the view's list
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT) as blocker:
        panel.networks.activated.emit(panel.networks.findData("Small"))
    assert blocker.args[0].target == "Small"


def test_a_second_network_added_to_the_file_keeps_the_one_shown(qtbot, window, tmp_path,
                                                                 monkeypatch):
    asked = []
    monkeypatch.setattr(window.python_files, "choose_network",
                        lambda report: asked.append(report) or None)
    path = write(tmp_path, "net.py", COURSE_NET)
    assert open_and_wait(qtbot, window, path).target == "Net"
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT) as blocker:
        save_by_rename(path, COURSE_NET + "\n\nclass Other(nn.Module):\n    pass\n")
    report = blocker.args[0]
    assert [c.name for c in report.candidates] == ["Net", "Other"]
    assert report.target == "Net" and report.problem is None and asked == []


def test_the_input_shape_field_is_remembered_per_file(qtbot, window, tmp_path):
    path = write(tmp_path, "mlp.py", "from torch import nn\nnet = nn.Sequential(nn.Conv2d(3, 4,"
                                     " 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), "
                                     "nn.Linear(4, 10))\n")
    report = open_and_wait(qtbot, window, path)
    assert report.problem.kind == "forward"  # 1×28×28 by default, the conv wants 3 channels
    panel = window.python_files.panel
    assert panel.input.text() == "1×28×28" and panel.input.isEnabled()
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT) as blocker:
        panel.input.setText("3×32×32")
        panel.input.editingFinished.emit()
    assert blocker.args[0].problem is None and blocker.args[0].input_shape == (3, 32, 32)
    with qtbot.waitSignal(window.summary_ready, timeout=TIMEOUT):
        window.document.undo_stack.undo()
    report = open_and_wait(qtbot, window, path)  # opened again: the shape it had
    assert report.input_shape == (3, 32, 32) and panel.input.text() == "3×32×32"
    # a file with INPUT_SHAPE decides for itself; the field says so
    fixed = write(tmp_path, "fixed.py", "INPUT_SHAPE = (3, 16, 16)\n" + path.read_text())
    report = open_and_wait(qtbot, window, fixed)
    assert report.input_shape == (3, 16, 16) and not panel.input.isEnabled()
    assert "INPUT_SHAPE (line 1)" in panel.input.toolTip()


def test_convert_to_an_editable_network(qtbot, window, tmp_path):
    report = open_and_wait(qtbot, window, write(tmp_path, "net.py", COURSE_NET))
    assert window.python_files.convert_action.isEnabled()
    with qtbot.waitSignal(window.summary_ready, timeout=TIMEOUT):
        window.python_files.convert_action.trigger()
    assert not window.document.read_only
    assert window.latest_summary.total_params == report.summary.total_params
    assert [b.type for b in window.document.spec.blocks][:3] == ["conv2d", "max_pool2d", "relu"]
    # a network that is no plain stack: the menu entry says which module and why
    open_and_wait(qtbot, window, write(tmp_path, "res.py", """\
        from torch import nn
        class Res(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 1, 3, padding=1)
                self.fc = nn.Linear(784, 10)
            def forward(self, x):
                return self.fc((x + self.conv(x)).flatten(1))
        """))
    assert "Res" in window.python_files.convert_action.toolTip()
    assert "combines several tensors" in window.python_files.convert_action.toolTip()
    log: list = []
    answer_dialog("Ok", log=log)
    assert not window.python_files.convert()
    assert "combines several tensors" in log[0]


def test_drop_a_python_file_on_the_window(qtbot, window, tmp_path):
    path = write(tmp_path, "net.py", COURSE_NET)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.file_inspected, timeout=TIMEOUT):
        QApplication.sendEvent(window, drop)
    assert window.document.view.path == str(path.resolve())


def test_train_the_files_network_and_look_inside(qtbot, window, tmp_path, one_torch_thread):
    from explorer.training.analysis import layer_choices

    path = write(tmp_path, "net.py", COURSE_NET)
    open_and_wait(qtbot, window, path)
    controller = window.training
    panel = controller.panel
    for name, value in (("dataset", "mnist-sample"), ("device", "cpu"), ("epochs", 1),
                        ("batch_size", 32), ("max_batches_per_epoch", 3)):
        panel.set_value(name, value)
    with qtbot.waitSignal(controller.runner.running_changed, timeout=TIMEOUT,
                          check_params_cb=lambda running: not running):
        panel.start_action.trigger()
    snapshot = controller.snapshot
    assert snapshot is not None and snapshot.spec.target == "Net"
    assert "net.Net" in snapshot.label
    model = snapshot.build()  # the file's module, with the trained weights
    assert sum(p.numel() for p in model.parameters()) == COURSE_NET_PARAMS
    assert {c.name for c in layer_choices(model, (1, 28, 28))} == {"conv1", "conv2", "pooling"}
    # a file that does not end in class scores cannot be trained; the panel says why
    open_and_wait(qtbot, window, write(tmp_path, "maps.py",
                                       "from torch import nn\nnet = nn.Conv2d(1, 4, 3)\n"))
    panel.start_action.trigger()
    assert not controller.runner.running
    assert "not one score per class" in panel.error.text()


def test_explorer_net_py_opens_the_file(qtbot, tmp_path):
    """``explorer net.py:Net``: the window starts with the file shown."""
    from ui_helpers import close_window, make_window

    path = write(tmp_path, "net.py", COURSE_NET)
    window = make_window(qtbot, f"{path}:Net")
    try:
        qtbot.waitUntil(lambda: window.file_report is not None, timeout=TIMEOUT)
        assert window.file_report.target == "Net" and window.file_report.problem is None
        assert window.document.view.path == str(path.resolve())
        assert window.latest_summary.total_params == COURSE_NET_PARAMS
    finally:
        close_window(window, qtbot)
        window.shutdown()


def test_export_onnx_of_the_files_network(qtbot, window, tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    from PySide6.QtWidgets import QFileDialog

    open_and_wait(qtbot, window, write(tmp_path, "net.py", COURSE_NET))
    target = tmp_path / "net.onnx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    with qtbot.waitSignal(window.python_files.exported, timeout=TIMEOUT) as blocker:
        window.export_actions["onnx"].trigger()  # File › Export ONNX…
    assert blocker.args == [True, str(target)]
    model = onnx.load(str(target))
    assert model.graph.input[0].name == "images"
    shapes = {tuple(t.dims) for t in model.graph.initializer}  # the file's layers
    assert {(10, 1, 5, 5), (20, 10, 5, 5), (10, 320)} <= shapes
