"""Presets › Build along…: the window's table and diagram show the network up to the step,
its head dashed and its block selected; Back / Next, the slider and keys move; Edit from
here opens the step as an editable network; Undo goes back to what the user had."""

from __future__ import annotations

from PySide6.QtCore import Qt

from explorer.ui.build_along import StepShown

TIMEOUT = 60_000


def wait_step(qtbot, window, number):
    qtbot.waitUntil(lambda: isinstance(window.document.view, StepShown)
                    and window.document.view.number == number
                    and window.latest_summary is window.document.view.summary, timeout=TIMEOUT)
    return window.document.view


def test_build_along_resnet18(qtbot, window):
    before = window.document.spec
    controller = window.build_along
    action = controller.action
    assert action in window.menu("&Presets").actions()[:1]
    controller.open("resnet18")
    panel = controller.panel
    shown = wait_step(qtbot, window, 1)
    assert panel.isVisible() and not window.tree.isVisible()  # in the tree's place
    assert shown.total == 13 and panel.slider.maximum() == 12
    assert "Step 1 of 13" in panel.title.text() and "64×48×48" in panel.delta.text()
    assert "X = torch.rand(size=(1, 1, 96, 96))" in panel.code.toPlainText()
    # the table: the stem's conv, BN, ReLU, and the temporary head after them
    assert window.latest_summary.output_shape == (10,)
    boxes = window.diagram.diagram_layout().boxes
    assert {b.title for b in boxes if b.dashed} == {"flatten1", "fc1"}
    assert not any(b.dashed for b in boxes if b.path and b.path[0] == 0)
    assert window.table.selected_path() == (0, "blocks", 0)

    panel.next.click()
    wait_step(qtbot, window, 2)
    panel.next.click()
    shown = wait_step(qtbot, window, 3)
    assert shown.paths == ((1, "blocks", 0),) and window.table.selected_path() == shown.paths[0]
    # the step's block is new in the table since the step before
    statuses = {item.row.name: item.status for item in window.table.model.iter_items()
                if item.row is not None and item.row.depth == 1}
    # (the first residual block keeps 64×24×24: the head does not change)
    assert statuses == {"stem": "", "stage1": "new", "flatten1": "", "fc1": ""}
    panel.slider.setFocus()
    qtbot.keyClick(panel.slider, Qt.Key.Key_End)
    shown = wait_step(qtbot, window, 13)
    assert shown.head_from is None and not any(b.dashed for b in
                                               window.diagram.diagram_layout().boxes)
    qtbot.keyClick(panel.slider, Qt.Key.Key_Left)
    wait_step(qtbot, window, 12)
    assert panel.next.isEnabled() and panel.back.isEnabled()

    panel.slider.setValue(4)  # the stride-2 block with its 1×1 shortcut
    shown = wait_step(qtbot, window, 5)
    assert "1×1 convolution with stride 2" in panel.note.text()
    with qtbot.waitSignal(window.summary_ready, timeout=TIMEOUT):
        panel.edit.click()
    assert not window.document.read_only and window.tree.isVisible()
    assert [b.type for b in window.document.spec.blocks] == ["group", "group", "group"]
    assert window.latest_summary.output_shape == (128, 12, 12)  # no head: the real network
    with qtbot.waitSignal(window.summary_ready, timeout=TIMEOUT):
        window.document.undo_stack.undo()  # back to the step
    assert isinstance(window.document.view, StepShown)
    with qtbot.waitSignal(window.summary_ready, timeout=TIMEOUT):
        window.document.undo_stack.undo()  # all the steps were one undo step
    assert window.document.spec is before and not window.document.read_only
