"""The Code view: the exported PyTorch code follows the network as it is edited; File ▸
Export writes the three formats off the GUI thread and shows errors in a dialog."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog
from ui_helpers import answer_dialog, close_window

from explorer.core.edit import insert, set_param
from explorer.core.presets import preset_spec
from explorer.core.spec import BlockSpec
from explorer.ui.widgets import code_view
from explorer.ui.widgets.code_view import CodeView, PythonHighlighter


@pytest.fixture
def view(qtbot):
    widget = CodeView()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def _show(qtbot, view, spec):
    with qtbot.waitSignal(view.updated, timeout=20000):
        view.set_spec(spec)


def test_code_updates_after_an_edit(qtbot, view):
    spec = preset_spec("course-inception")
    _show(qtbot, view, spec)
    assert "class InceptionA(nn.Module):" in view.code()
    assert "self.fc1 = nn.Linear(1408, 10)" in view.code()
    edited = set_param(spec, (0,), "out_channels", 12)
    _show(qtbot, view, edited)
    assert "self.conv1 = nn.Conv2d(1, 12, kernel_size=5)" in view.code()
    assert "self.inception1 = InceptionA(12)" in view.code()
    edited = insert(edited, (3,), BlockSpec("simple_residual"))
    _show(qtbot, view, edited)
    assert "class SimpleResidual(nn.Module):" in view.code()


def test_a_network_that_does_not_build_keeps_the_last_code(qtbot, view):
    spec = preset_spec("lenet")
    _show(qtbot, view, spec)
    good = view.code()
    _show(qtbot, view, set_param(spec, (0,), "kernel_size", 40))
    assert view.code() == good
    assert "Does not build yet" in view.status.text() and "larger" in view.status.text()


def test_a_result_one_generation_old_is_dropped(qtbot, view, monkeypatch):
    """The code of the previous network finishes after the next edit: it is not shown."""
    first = preset_spec("resnet56")
    last = dataclasses.replace(preset_spec("lenet"), num_classes=3)
    started, release = threading.Event(), threading.Event()
    real = code_view.generate_code

    def gated(spec):
        if spec is first:
            started.set()
            assert release.wait(10)
        return real(spec)

    monkeypatch.setattr(code_view, "generate_code", gated)
    shown = []
    view.updated.connect(shown.append)
    view.set_spec(first)
    assert started.wait(10)
    view.set_spec(last)  # while the first one is being generated
    release.set()
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    qtbot.wait(50)
    assert shown == [view.generation]
    assert "nn.Linear(84, 3)" in view.code() and "Stage1" not in view.code()


def test_hidden_view_generates_when_shown(qtbot, view):
    view.hide()
    view.set_spec(preset_spec("lenet"))
    qtbot.wait(50)
    assert view.code() == ""
    with qtbot.waitSignal(view.updated, timeout=20000):
        view.show()
    assert "class Lenet" in view.code()


def test_copy_and_highlighting(qtbot, view):
    _show(qtbot, view, preset_spec("lenet"))
    view.copy_button.click()
    assert QApplication.clipboard().text() == view.code()
    assert isinstance(view.highlighter, PythonHighlighter)
    block = view.editor.document().findBlockByLineNumber(0)  # the module docstring
    formats = block.layout().formats()
    assert formats and formats[0].format.foreground().color().name() in ("#067d17", "#6aab73")


def test_window_has_the_code_view_and_export_entries(qtbot, window, tmp_path, monkeypatch):
    code_view = window.code_view
    window.show_view("Code")  # a tab beside the diagram; it writes code only when shown
    assert code_view.code() or code_view.generation
    with qtbot.waitSignal(code_view.updated, timeout=20000):
        spec = window.document.spec
        window.document.edit("Set classes", dataclasses.replace(spec, num_classes=4))
    assert "NUM_CLASSES = 4" in code_view.code()
    target = tmp_path / "exported" / "model.py"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.export_actions["pytorch"].trigger()
    qtbot.waitUntil(lambda: target.exists() and not window._code_exports, timeout=20000)
    assert "NUM_CLASSES = 4" in target.read_text()
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(blocker / "train.py"), ""))
    log: list[str] = []
    answer_dialog("OK", log=log)
    window.export_actions["script"].trigger()
    qtbot.waitUntil(lambda: bool(log), timeout=20000)
    assert "cannot be written" in log[0]
    close_window(window, qtbot)  # discard the edit (else closing asks whether to save)
