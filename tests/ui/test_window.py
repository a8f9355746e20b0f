"""The workbench driven as a user drives it: mouse and keys on the real widgets.

Every test starts the window on its first launch (course-inception), in its own settings,
state and data folders; the conftest fails a test that leaves a thread running.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog
from ui_helpers import (
    SUMMARY_WAIT_MS,
    answer_dialog,
    click_tree,
    close_window,
    drop,
    fresh_summary,
    index_of,
    make_window,
)

from explorer.core.edit import block_at
from explorer.ui.style import ERROR_RED

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


def types(window) -> list[str]:
    return [b.type for b in window.document.spec.blocks]


def palette_item(window, name):
    item = window.palette_view.find(name)
    assert item is not None, name
    window.palette_view.tree.scrollToItem(item)
    return item


def test_first_launch_shows_course_inception_with_its_table(window):
    assert window.isVisible() and window.windowTitle() == "course-inception[*]"
    assert window.document.spec.name == "course-inception"
    assert not window.document.modified
    summary = window.latest_summary
    assert summary.ok and summary.total_params == 97_298 and window.table.model.rowCount() > 0
    assert "97,298" in window.params_label.text()
    assert window.device_label.text() in ("device: CPU",) or "device:" in window.device_label.text()
    groups = [window.palette_view.tree.topLevelItem(i).text(0)
              for i in range(window.palette_view.tree.topLevelItemCount())]
    assert groups == ["Layers", "Activations", "Inception", "Residual", "Dense", "NiN and VGG",
                      "Containers", "My blocks"]


def test_palette_search_tooltip_double_click_and_enter_insert_after_selection(qtbot, window):
    palette = window.palette_view
    qtbot.keyClicks(palette.search, "drop")
    shown = [i.text(0) for i in palette.items() if not i.isHidden()]
    assert shown == ["dropout"]
    assert "<b>p</b>" in palette.find("dropout").toolTip(0)
    assert "probability" in palette.find("dropout").toolTip(0) or "p</b>:" in \
        palette.find("dropout").toolTip(0)
    palette.search.clear()

    click_tree(qtbot, window, (1,))
    item = palette_item(window, "dropout")
    rect = palette.tree.visualItemRect(item)
    # a real double-click is a click, then a second press Qt reports as a double-click
    qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    fresh_summary(qtbot, window, lambda: qtbot.mouseDClick(
        palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()))
    assert types(window)[:4] == ["conv2d", "max_pool2d", "dropout", "relu"]
    assert window.tree.current_path() == (2,)           # the new block is selected

    palette.tree.setCurrentItem(palette_item(window, "batch_norm2d"))
    palette.tree.setFocus()
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(palette.tree, Qt.Key.Key_Return))
    assert types(window)[:5] == ["conv2d", "max_pool2d", "dropout", "batch_norm2d", "relu"]
    assert window.latest_summary.ok


def test_drag_from_palette_into_the_tree_and_into_a_container(qtbot, window):
    palette, tree = window.palette_view, window.tree
    mime = palette.tree.mimeData([palette_item(window, "residual")])
    rect = tree.visualRect(index_of(window, (0,)))
    # dropped on the upper edge of the first block: inserted before it
    fresh_summary(qtbot, window, lambda: drop(tree, mime, QPoint(rect.center().x(),
                                                                  rect.top() + 1)))
    assert types(window)[:2] == ["residual", "conv2d"]
    tree.expand(index_of(window, (0,)))
    body = index_of(window, (0, "body"), "list")
    mime = palette.tree.mimeData([palette_item(window, "conv2d")])
    fresh_summary(qtbot, window, lambda: drop(tree, mime, tree.visualRect(body).center()))
    residual = window.document.spec.blocks[0]
    assert [b.type for b in residual.params["body"]] == ["conv2d"]
    assert window.latest_summary.error.block_path == (0,)  # 16 channels: identity cannot add
    # dropped onto a block that is not a container: inserted after it
    mime = palette.tree.mimeData([palette_item(window, "relu")])
    target = tree.visualRect(index_of(window, (0, "body", 0)))
    fresh_summary(qtbot, window, lambda: drop(tree, mime, target.center()))
    assert [b.type for b in window.document.spec.blocks[0].params["body"]] == ["conv2d", "relu"]
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert types(window)[0] == "conv2d"


def test_reorder_by_drag_inside_the_tree(qtbot, window):
    tree = window.tree
    mime = tree.model_.mimeData([index_of(window, (2,))])            # relu
    rect = tree.visualRect(index_of(window, (0,)))
    fresh_summary(qtbot, window, lambda: drop(
        tree, mime, QPoint(rect.center().x(), rect.top() + 1), Qt.DropAction.MoveAction))
    assert types(window)[:3] == ["relu", "conv2d", "max_pool2d"]
    assert window.document.undo_stack.undoText().startswith("Move")
    # a block cannot be dropped into itself
    tree.expand(index_of(window, (3,)))
    assert not tree.model_.canDropMimeData(
        tree.model_.mimeData([index_of(window, (0,))]), Qt.DropAction.MoveAction, -1, 0,
        index_of(window, (0,))) or types(window)[0] != "residual"


def test_keys_delete_duplicate_move(qtbot, window):
    tree = window.tree
    click_tree(qtbot, window, (2,))                                   # relu
    tree.setFocus()
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(tree, Qt.Key.Key_D, CTRL))
    assert types(window)[:4] == ["conv2d", "max_pool2d", "relu", "relu"]
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(tree, Qt.Key.Key_Delete))
    assert types(window)[:4] == ["conv2d", "max_pool2d", "relu", "inception_a"]
    click_tree(qtbot, window, (1,))
    tree.setFocus()
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(tree, Qt.Key.Key_Up, ALT))
    assert types(window)[:2] == ["max_pool2d", "conv2d"]
    assert tree.current_path() == (0,)
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(tree, Qt.Key.Key_Down, ALT))
    assert types(window)[:2] == ["conv2d", "max_pool2d"]
    # Delete while typing in a field must not delete a block
    count = len(types(window))
    window.properties.name_edit.setFocus()
    qtbot.keyClick(window.properties.name_edit, Qt.Key.Key_Delete)
    assert len(types(window)) == count


def test_edit_a_property_then_undo_and_redo_with_keys(qtbot, window):
    click_tree(qtbot, window, (0,))
    field = window.properties.fields["out_channels"]
    spin = field.editor
    assert field.value() == 10
    spin.selectAll()

    def type_twelve():
        qtbot.keyClicks(spin, "12")
        qtbot.keyClick(spin, Qt.Key.Key_Return)

    summary = fresh_summary(qtbot, window, type_twelve)
    assert window.document.spec.blocks[0].params["out_channels"] == 12
    assert summary.layers[0].output_shape == (12, 24, 24)
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_Z, CTRL))
    assert window.document.spec.blocks[0].params["out_channels"] == 10
    assert window.latest_summary.layers[0].output_shape == (10, 24, 24)
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_Z, CTRL | SHIFT))
    assert window.document.spec.blocks[0].params["out_channels"] == 12


def test_invalid_values_are_refused_inline_with_the_reason(qtbot, window):
    click_tree(qtbot, window, (0,))
    before = window.document.spec
    kernel = window.properties.fields["kernel_size"]
    for text, reason in (("0", "kernel_size = 0 is not valid"), ("3x", "is not a size")):
        kernel.editor.selectAll()
        qtbot.keyClicks(kernel.editor, text)
        qtbot.keyClick(kernel.editor, Qt.Key.Key_Return)
        assert kernel.error.isVisibleTo(window) and reason in kernel.error.text()
        assert window.document.spec is before
    kernel.editor.selectAll()
    qtbot.keyClicks(kernel.editor, "3×3")
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(kernel.editor, Qt.Key.Key_Return))
    assert not kernel.error.isVisibleTo(window)
    assert window.document.spec.blocks[0].params["kernel_size"] == (3, 3)


def test_network_fields_edit_input_shape_and_classes(qtbot, window):
    spin = window.properties.classes_field.editor
    spin.selectAll()
    qtbot.keyClicks(spin, "7")
    summary = fresh_summary(qtbot, window, lambda: qtbot.keyClick(spin, Qt.Key.Key_Return))
    assert window.document.spec.num_classes == 7 and summary.output_shape == (7,)
    height = window.properties.shape_fields[1].editor
    height.selectAll()
    qtbot.keyClicks(height, "32")
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(height, Qt.Key.Key_Return))
    assert window.document.spec.input_shape == (1, 32, 28)


def test_open_a_preset_replaces_the_network_undoably(qtbot, window):
    action = next(a for a in window.presets_menu.actions() if a.text() == "lenet")
    summary = fresh_summary(qtbot, window, action.trigger)
    assert summary.name == "lenet" and window.document.spec.name == "lenet"
    assert window.tree.model_.rowCount() == len(window.document.spec.blocks)
    fresh_summary(qtbot, window, window.act_undo.trigger)
    assert window.document.spec.name == "course-inception"


def test_torchvision_model_is_shown_read_only(qtbot, window):
    summary = fresh_summary(qtbot, window,
                            lambda: window.open_torchvision("torchvision:resnet18"))
    assert summary.total_params == 11_689_512
    assert window.read_only_banner.isVisibleTo(window)
    assert not window.act_delete.isEnabled() and not window.tree.isEnabled()
    assert window.tree.model_.rowCount() == 0
    fresh_summary(qtbot, window, window.act_undo.trigger)
    assert window.tree.isEnabled() and window.latest_summary.name == "course-inception"


def break_first_conv(qtbot, window):
    click_tree(qtbot, window, (4,))                   # the second conv2d (20 channels, 5×5)
    kernel = window.properties.fields["kernel_size"]
    kernel.editor.selectAll()
    qtbot.keyClicks(kernel.editor, "13")
    return fresh_summary(qtbot, window, lambda: qtbot.keyClick(kernel.editor, Qt.Key.Key_Return))


def test_a_shape_error_shows_row_banner_and_red_boxes_and_fixing_clears_it(qtbot, window):
    summary = break_first_conv(qtbot, window)
    assert summary.error is not None and summary.error.block_path == (4,)
    # the rows above the failing block stay
    assert [r.block for r in summary.layers if r.depth == 1][:4] == [0, 1, 2, 3]
    assert window.table.banner.isVisibleTo(window)
    assert "kernel" in window.table.banner.label.text().lower()
    model = window.tree.model_
    assert model.data(index_of(window, (4,)), Qt.ItemDataRole.ForegroundRole).color() == ERROR_RED
    assert model.data(index_of(window, (4,)), Qt.ItemDataRole.BackgroundRole) is not None
    assert model.data(index_of(window, (0,)), Qt.ItemDataRole.ForegroundRole) is None
    assert [b.path for b in window.diagram.diagram_layout().boxes if b.error] == [(4,)]
    assert window.table.model.error_path() == (4,)
    kernel = window.properties.fields["kernel_size"]
    kernel.editor.selectAll()
    qtbot.keyClicks(kernel.editor, "5")
    summary = fresh_summary(qtbot, window, lambda: qtbot.keyClick(kernel.editor,
                                                                  Qt.Key.Key_Return))
    assert summary.ok and not window.table.banner.isVisibleTo(window)
    assert model.data(index_of(window, (4,)), Qt.ItemDataRole.ForegroundRole) is None
    assert not any(b.error for b in window.diagram.diagram_layout().boxes)


def test_selection_follows_between_tree_table_and_diagram(qtbot, window):
    click_tree(qtbot, window, (3,))
    assert window.table.selected_path() == (3,)
    assert window.properties.block_box.title() == "Block: inception_a"
    window.table.blockActivated.emit((7,))       # as a click on row 7 of the table does
    assert window.tree.current_path() == (7,)
    box = next(b for b in window.diagram.diagram_layout().boxes if b.path == (1,))
    pos = window.diagram.mapFromScene(*box.center)
    qtbot.mouseClick(window.diagram.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert window.tree.current_path() == (1,)


def test_wrap_a_selection_into_a_residual_and_unwrap(qtbot, window):
    click_tree(qtbot, window, (4,))
    click_tree(qtbot, window, (6,), SHIFT)              # conv2d, max_pool2d, relu
    assert window.tree.selected_paths() == [(4,), (5,), (6,)]
    window.tree.setFocus()
    summary = fresh_summary(qtbot, window, lambda: qtbot.keyClick(window.tree, Qt.Key.Key_R,
                                                                  CTRL | SHIFT))
    wrapped = window.document.spec.blocks[4]
    assert wrapped.type == "residual"
    assert [b.type for b in wrapped.params["body"]] == ["conv2d", "max_pool2d", "relu"]
    assert index_of(window, (4, "body", 2)).isValid()
    # the body changes the shape: the identity shortcut cannot be added, a 1×1 conv can
    assert summary.error.block_path == (4,) and window.table.banner.isVisibleTo(window)
    assert window.tree.current_path() == (4,)
    combo = window.properties.fields["shortcut"].editor
    assert combo.currentData() == "identity"
    summary = fresh_summary(qtbot, window, lambda: qtbot.keyClick(combo, Qt.Key.Key_Down))
    assert summary.ok and window.document.spec.blocks[4].params["shortcut"] == "conv1x1"
    click_tree(qtbot, window, (4,))
    fresh_summary(qtbot, window, window.act_unwrap.trigger)
    assert types(window)[4:7] == ["conv2d", "max_pool2d", "relu"]


def test_save_a_user_block_and_find_it_in_the_palette_after_a_restart(qtbot, window):
    click_tree(qtbot, window, (4,))
    click_tree(qtbot, window, (6,), SHIFT)
    fresh_summary(qtbot, window, window.act_wrap_group.trigger)
    click_tree(qtbot, window, (4,))
    answer_dialog("Ok", text="my_stage")
    assert window.save_user_block()
    assert window.palette_view.find("my_stage") is not None
    close_window(window, qtbot)
    window.shutdown()

    second = make_window(qtbot)
    try:
        item = second.palette_view.find("my_stage")
        assert item is not None and item.parent().text(0) == "My blocks"
        second.tree.select_block((0,))
        fresh_summary(qtbot, second, lambda: second.palette_view._request(item))
        added = second.document.spec.blocks[1]
        assert added.type == "group" and len(added.params["blocks"]) == 3
    finally:
        close_window(second, qtbot)
        second.shutdown()


def test_save_and_reopen(qtbot, window, tmp_path, monkeypatch):
    click_tree(qtbot, window, (2,))
    window.tree.setFocus()
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(window.tree, Qt.Key.Key_Delete))
    assert window.document.modified and window.isWindowModified()
    target = tmp_path / "mine"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.act_save.trigger()
    saved = tmp_path / "mine.json"
    assert saved.exists() and not window.document.modified and window.document.path == saved
    assert json.loads(saved.read_text())["blocks"][2]["type"] == "inception_a"
    fresh_summary(qtbot, window, lambda: window.open_preset("nin"))
    assert not window.document.modified  # a preset opened and not touched: nothing to ask
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(saved), ""))
    fresh_summary(qtbot, window, window.act_open.trigger)
    assert window.document.spec.name == "course-inception" and len(types(window)) == 9
    assert not window.document.modified
    assert window.recent_files()[0] == str(saved.resolve())


def test_a_corrupt_file_is_refused_with_a_dialog_and_nothing_changes(qtbot, window, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "network-explorer/architecture", "blocks": [}')
    before = window.document.spec
    log: list[str] = []
    answer_dialog("Ok", log=log)
    assert not window.open_file(bad)
    assert "not valid JSON" in log[0] and "bad.json" in log[0]
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"input_shape": [1, 28, 28], "num_classes": 10,
                                   "blocks": [{"type": "warp_drive"}]}))
    answer_dialog("Ok", log=log)
    assert not window.open_file(unknown)
    assert "unknown block type 'warp_drive'" in log[2]
    assert window.document.spec is before and window.document.undo_stack.count() == 0


def test_closing_with_unsaved_changes_asks(qtbot, window):
    click_tree(qtbot, window, (2,))
    window.tree.setFocus()
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(window.tree, Qt.Key.Key_Delete))
    log: list[str] = []
    answer_dialog("Cancel", log=log)
    window.close()
    assert window.isVisible() and "not saved" in log[0]
    answer_dialog("Discard")
    window.close()
    assert not window.isVisible()


def test_layout_and_last_network_are_remembered(qtbot, window):
    fresh_summary(qtbot, window, lambda: window.open_preset("lenet"))
    window.resize(700, 500)
    answer_dialog("Discard")
    window.close()
    window.shutdown()
    second = make_window(qtbot)
    try:
        assert second.document.spec.name == "lenet"
        assert (second.width(), second.height()) == (700, 500)
    finally:
        close_window(second, qtbot)
        second.shutdown()


def test_export_summary_as_markdown_and_csv(qtbot, window, tmp_path, monkeypatch):
    for kind in ("md", "csv"):
        out = tmp_path / f"summary.{kind}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, o=out, **k: (str(o), ""))
        (window.act_export_md if kind == "md" else window.act_export_csv).trigger()
        assert "inception" in out.read_text()


def test_stale_results_are_dropped(qtbot, window):
    """Edits made faster than the inspector: a summary reaches the views only if it is of the
    network as it is now."""
    spin = window.properties.classes_field.editor
    shown = []
    window.summary_ready.connect(
        lambda s: shown.append((s.output_shape, (window.document.spec.num_classes,))))
    for _classes in range(11, 21):
        spin.stepBy(1)  # the up arrow, ten times
        qtbot.wait(5)
    qtbot.waitUntil(lambda: window.latest_summary.output_shape == (20,), timeout=SUMMARY_WAIT_MS)
    assert shown and all(got == now for got, now in shown)
    assert window.dropped_results > 0
    assert block_at(window.document.spec, (9,)).type == "linear"


def test_the_torchvision_menu_says_when_torchvision_cannot_be_loaded(qtbot, monkeypatch):
    from explorer.ui import main_window

    def broken():
        raise ImportError("torchvision was built for another PyTorch")

    monkeypatch.setattr(main_window, "_torchvision_names", broken)
    window = make_window(qtbot)
    try:
        menu = window.torchvision_menu
        qtbot.waitUntil(lambda: menu.actions()[0].text() != "(loading…)", timeout=SUMMARY_WAIT_MS)
        (item,) = menu.actions()
        assert item.text() == "(torchvision is not available)" and not item.isEnabled()
        assert item.toolTip() == "ImportError: torchvision was built for another PyTorch"
    finally:
        close_window(window, qtbot)
