"""The live layer table, driven like a user: rows, deltas, the error row and banner, clicks."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt

from explorer.core import edit
from explorer.core.inspector import inspect_spec
from explorer.core.presets import preset_spec
from explorer.core.spec import ArchitectureSpec, BlockSpec
from explorer.core.summary import format_count
from explorer.ui.widgets.layer_table import (
    LAYER,
    MACS,
    OUTPUT,
    PARAMS,
    LayerTableView,
    size_formula,
)


@pytest.fixture
def table(qtbot):
    view = LayerTableView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def _top(view, column=LAYER):
    model = view.model
    return [model.index(r, column).data() for r in range(model.rowCount())]


def _find(view, text):
    model = view.model
    for item in model.iter_items():
        index = model.index_of(item)
        if index.data() == text:
            return index
    raise AssertionError(f"no row {text!r}")


def test_rows_of_an_inspected_preset(table, course):
    _, summary = course
    table.set_summary(summary)
    assert _top(table) == [f"{i}: {n}" for i, n in enumerate(
        ["conv1", "pool1", "relu1", "inception1", "conv2", "pool2", "relu2", "inception2",
         "flatten1", "fc1"])]
    inception = _find(table, "3: inception1")
    assert inception.siblingAtColumn(OUTPUT).data() == "88×12×12"
    assert inception.siblingAtColumn(PARAMS).data() == "19,104"
    assert table.tree.isExpanded(inception)  # blocks open, their layers listed
    assert [inception.model().index(r, 0, inception).data() for r in range(4)] == [
        "branch1x1", "branch5x5", "branch3x3dbl", "branch_pool"]
    assert _find(table, "0: conv1").siblingAtColumn(5).data() == "5  (stride 1)"
    text = table.totals.text()
    assert f"{summary.total_params:,}" in text and format_count(summary.mult_adds) in text
    assert "Output <b>10</b>" in text
    assert not table.banner.isVisible() and not table.warnings.isVisible()


def test_rows_that_changed_show_their_deltas(table, course):
    spec, before = course
    edited = edit.replace(spec, (4,), BlockSpec("conv2d", {"out_channels": 32, "kernel_size": 5}))
    after = inspect_spec(edited, depth=8)
    table.set_summary(before)
    table.set_summary(after, before)
    conv = _find(table, "4: conv2")
    assert conv.siblingAtColumn(OUTPUT).data() == "20×8×8 → 32×8×8"
    added = 32 * 88 * 25 + 32 - (20 * 88 * 25 + 20)
    assert conv.siblingAtColumn(PARAMS).data() == f"{32 * 88 * 25 + 32:,}  (+{added:,})"
    assert f"+{added:,} params" in conv.data(Qt.ItemDataRole.ToolTipRole)
    total = after.total_params - before.total_params  # conv2 and inception2 after it
    assert total == added + 864
    assert f"<b>{after.total_params:,} (+{total:,})</b>" in table.totals.text()
    assert conv.data(Qt.ItemDataRole.BackgroundRole) is not None
    flatten = _find(table, "8: flatten1")  # 88×4×4 either way
    assert flatten.siblingAtColumn(OUTPUT).data() == "1408"
    assert flatten.data(Qt.ItemDataRole.BackgroundRole) is None
    # a block added at the end is new
    longer = dataclasses.replace(spec, blocks=(*spec.blocks, BlockSpec("relu", {})))
    table.set_summary(inspect_spec(longer, depth=8), before)
    assert _top(table)[-1] == "10: relu3  (new)"
    # removing a block renumbers the ones after it, but they are not new: only what changed is
    shorter = dataclasses.replace(spec, blocks=(*spec.blocks[:2], *spec.blocks[3:]))
    table.set_summary(inspect_spec(shorter, depth=8), before)
    rows = _top(table)
    assert rows[2] == "2: inception1" and all("(new)" not in r for r in rows)
    assert _find(table, "5: relu1").siblingAtColumn(OUTPUT).data() == "20×4×4"
    # without a previous summary nothing is highlighted
    table.set_summary(after)
    assert _find(table, "4: conv2").siblingAtColumn(OUTPUT).data() == "32×8×8"


def test_a_change_in_parameters_alone_is_marked(table, course):
    """Dropping conv1's bias keeps every shape: the row is still changed, with its delta,
    and the rows after it (same shapes, same parameters) are not."""
    spec, before = course
    after = inspect_spec(edit.set_param(spec, (0,), "bias", False), depth=8)
    table.set_summary(before)
    table.set_summary(after, before)
    conv = _find(table, "0: conv1")
    assert conv.siblingAtColumn(OUTPUT).data() == "10×24×24"      # no arrow: same shape
    assert conv.siblingAtColumn(PARAMS).data() == f"{250:,}  (-10)"
    assert conv.data(Qt.ItemDataRole.BackgroundRole) is not None
    assert "-10 params (260 → 250)" in conv.data(Qt.ItemDataRole.ToolTipRole)
    pool = _find(table, "1: pool1")
    assert pool.data(Qt.ItemDataRole.BackgroundRole) is None
    assert pool.siblingAtColumn(PARAMS).data() == "–"
    assert "<b>" + f"{after.total_params:,} (-10)" + "</b>" in table.totals.text()


def test_error_row_banner_and_totals_up_to_the_failing_block(table, course):
    spec, _ = course
    broken = edit.replace(spec, (4,), BlockSpec("conv2d", {"out_channels": 20, "kernel_size": 13}))
    summary = inspect_spec(broken, depth=8)
    table.set_summary(summary)
    rows = _top(table)
    assert rows[:4] == ["0: conv1", "1: pool1", "2: relu1", "3: inception1"]  # still shown
    assert rows[4] == "✗ block 4 (conv2d)" and len(rows) == 5
    error = table.model.index(4, LAYER)
    assert error.data(Qt.ItemDataRole.ForegroundRole).red() > 200
    background = error.data(Qt.ItemDataRole.BackgroundRole)
    assert background.red() > background.green() + 20
    assert "kernel 13×13" in error.data(Qt.ItemDataRole.ToolTipRole)
    assert table.banner.isVisible()
    banner = table.banner.label.text()
    assert "kernel 13×13 is larger than the 12×12 input" in banner
    assert "Hint:" in banner and summary.error.hint in banner
    totals = table.totals.text()
    assert "Up to block 3" in totals and f"{summary.total_params:,}" in totals
    assert summary.total_params > 0 and "nan" not in totals.lower()
    # fixing the block clears the error
    table.set_summary(inspect_spec(spec, depth=8))
    assert not table.banner.isVisible() and "Up to" not in table.totals.text()


def test_warnings_are_shown(table, course):
    spec, _ = course
    summary = inspect_spec(dataclasses.replace(spec, blocks=spec.blocks[:4]), depth=8)
    assert summary.warnings
    table.set_summary(summary)
    assert table.warnings.isVisible()
    assert summary.warnings[0].split(";")[0] in table.warnings.label.text()


def test_select_block_and_clicks_round_trip(table, qtbot, course):
    _, summary = course
    table.set_summary(summary)
    table.select_block((7,))
    assert table.tree.currentIndex().data() == "7: inception2"
    assert table.selected_path() == (7,)
    index = _find(table, "1: pool1")
    rect = table.tree.visualRect(index)
    with qtbot.waitSignal(table.blockActivated, timeout=1000) as signal:
        qtbot.mouseClick(table.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == [(1,)]
    layer = _find(table, "branch5x5")  # a layer inside a block belongs to that block
    with qtbot.waitSignal(table.blockActivated, timeout=1000) as signal:
        qtbot.mouseClick(table.tree.viewport(), Qt.MouseButton.LeftButton,
                         pos=table.tree.visualRect(layer).center())
    assert signal.args == [(3,)]
    table.select_block(None)
    assert not table.tree.selectionModel().selectedRows()


def test_clicking_the_error_row_or_banner_activates_the_failing_block(table, qtbot, course):
    spec, _ = course
    broken = edit.replace(spec, (4,), BlockSpec("conv2d", {"out_channels": 20, "kernel_size": 13}))
    table.set_summary(inspect_spec(broken, depth=8))
    with qtbot.waitSignal(table.blockActivated, timeout=1000) as signal:
        qtbot.mouseClick(table.banner, Qt.MouseButton.LeftButton)
    assert signal.args == [(4,)]
    assert table.tree.currentIndex().data() == "✗ block 4 (conv2d)"


def test_expansion_and_scroll_kept_across_updates(table, course):
    spec, summary = course
    table.resize(700, 220)
    table.set_summary(summary)
    inception = _find(table, "3: inception1")
    table.tree.collapse(inception)
    inception2 = _find(table, "7: inception2")
    table.tree.expand(inception2.model().index(1, 0, inception2))  # its branch5x5
    table.tree.verticalScrollBar().setValue(3)
    table.set_summary(inspect_spec(spec, depth=8), summary)
    assert not table.tree.isExpanded(_find(table, "3: inception1"))
    inception2 = _find(table, "7: inception2")
    assert table.tree.isExpanded(inception2)
    assert table.tree.isExpanded(inception2.model().index(1, 0, inception2))
    assert table.tree.verticalScrollBar().value() == 3
    # another network starts with the default expansion
    other = preset_spec("lenet")
    table.set_summary(inspect_spec(other, depth=8))
    assert table.tree.verticalScrollBar().value() == 0


def test_size_formula_uses_the_layers_numbers():
    assert size_formula(28, 5, 1, 2) == "⌊(28 + 2·2 − 5) / 1⌋ + 1 = 28"
    assert size_formula(96, 7, 2, 3) == "⌊(96 + 2·3 − 7) / 2⌋ + 1 = 48"
    assert size_formula(12, 3) == "⌊(12 − 3) / 1⌋ + 1 = 10"
    assert size_formula(28, 3, 1, 0, 2) == "⌊(28 − 2·(3 − 1) − 1) / 1⌋ + 1 = 24"


def test_conv_and_pool_tooltips_explain_the_output_size(table, course):
    _, summary = course
    table.set_summary(summary)
    tip = _find(table, "0: conv1").data(Qt.ItemDataRole.ToolTipRole)
    assert "⌊(28 − 5) / 1⌋ + 1 = 24" in tip and "kernel 5×5" in tip
    pool = _find(table, "1: pool1").data(Qt.ItemDataRole.ToolTipRole)
    assert "⌊(24 − 2) / 2⌋ + 1 = 12" in pool
    inner = table.model.index(1, 0, _find(table, "3: inception1"))  # branch5x5
    conv = inner.model().index(1, 0, inner)
    assert conv.data() == "conv2"
    assert "⌊(12 + 2·2 − 5) / 1⌋ + 1 = 12" in conv.data(Qt.ItemDataRole.ToolTipRole)
    assert "⌊" not in _find(table, "2: relu1").data(Qt.ItemDataRole.ToolTipRole)


def test_nested_block_paths(table, qtbot):
    spec = preset_spec("googlenet")
    table.set_summary(inspect_spec(spec, depth=8))
    table.select_block((3, "blocks", 2))
    index = table.tree.currentIndex()
    assert index.data() == "inception3" and index.parent().data() == "3: stage4"
    assert [i.data() for i in table.tree.selectionModel().selectedRows()] == ["inception3"]
    with qtbot.waitSignal(table.blockActivated, timeout=1000) as signal:
        qtbot.mouseClick(table.tree.viewport(), Qt.MouseButton.LeftButton,
                         pos=table.tree.visualRect(index).center())
    assert signal.args == [(3, "blocks", 2)]


def test_error_inside_a_container(table, qtbot):
    spec = ArchitectureSpec.from_dict({
        "name": "nested", "input_shape": [1, 28, 28], "num_classes": 10, "blocks": [
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "group", "blocks": [
                {"type": "relu"},
                {"type": "residual", "body": [
                    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1}]}]},
            {"type": "flatten"}, {"type": "linear", "out_features": "classes"}]})
    table.set_summary(inspect_spec(spec, depth=8))
    assert _top(table) == ["0: conv1", "✗ block 1 (group) › blocks[1] (residual)"]
    table.select_block((1, "blocks", 1))
    assert table.tree.currentIndex().row() == 1
    with qtbot.waitSignal(table.blockActivated, timeout=1000) as signal:
        qtbot.mouseClick(table.banner, Qt.MouseButton.LeftButton)
    assert signal.args == [(1, "blocks", 1)]


def test_expand_to_depth_from_the_context_menu(table):
    spec = preset_spec("googlenet")
    table.set_summary(inspect_spec(spec, depth=8))
    stage3 = _find(table, "2: stage3")
    inception = stage3.model().index(0, 0, stage3)
    actions = {a.text(): a for a in table.tree.actions()}
    actions["Blocks only"].trigger()
    assert not table.tree.isExpanded(stage3)
    actions["Blocks and their layers"].trigger()
    assert table.tree.isExpanded(stage3) and not table.tree.isExpanded(inception)
    actions["Every row"].trigger()
    branch = inception.model().index(0, 0, inception)
    assert table.tree.isExpanded(inception) and table.tree.isExpanded(branch)


def test_invalid_block_and_error_at_the_first_block(table, course):
    spec, _ = course
    invalid = edit.replace(spec, (1,), BlockSpec("max_pool2d", {"kernel_size": 0}))
    table.set_summary(inspect_spec(invalid, depth=8))
    assert _top(table) == ["0: conv1", "✗ block 1 (max_pool2d)"]
    assert table.model.index(1, 1).data() == "invalid"
    assert "kernel_size = 0 is not valid" in table.banner.label.text()
    assert "Up to block 0" in table.totals.text()
    first = edit.replace(spec, (0,), BlockSpec("conv2d", {"out_channels": 10, "kernel_size": 50}))
    table.set_summary(inspect_spec(first, depth=8))
    assert _top(table) == ["✗ block 0 (conv2d)"]
    assert "Nothing is built" in table.totals.text() and "Parameters <b>0</b>" in \
        table.totals.text()


def test_tooltips_show_what_the_user_typed_literally(table, course):
    spec, _ = course
    named = edit.replace(spec, (1,), BlockSpec("group", {"name": "<img src=x>", "blocks": ()}))
    table.set_summary(inspect_spec(named, depth=8))
    tip = table.model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;img src=x&gt;" in tip and "<img" not in tip
    assert "&lt;img src=x&gt;" in table.banner.label.text()


def test_tooltip_shows_the_cost_run_in_a_blocks_own_forward(table):
    from functional_net import ATTENTION, CONV, FUNCTIONAL_TOTAL, MATMUL, Wrapper

    from explorer.core.inspector import inspect_module

    table.set_summary(inspect_module(Wrapper(), (3, 4, 4), depth=3))
    block = _find(table, "0: block")
    own = format_count(CONV + MATMUL + ATTENTION)
    assert block.siblingAtColumn(MACS).data() == format_count(FUNCTIONAL_TOTAL)
    assert (f"{own} of its {format_count(FUNCTIONAL_TOTAL)} mult-adds run in its own forward"
            in block.data(Qt.ItemDataRole.ToolTipRole))
    proj = table.model.index(0, 0, block)
    assert proj.data() == "proj"
    assert "own forward" not in proj.data(Qt.ItemDataRole.ToolTipRole)


def test_totals_show_the_trainable_parameters_of_a_partly_frozen_network(table):
    """A network whose first convolution is frozen: the totals bar says how many of its
    parameters train, not the total twice."""
    from torch import nn

    from explorer.core.inspector import inspect_module

    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    model[0].requires_grad_(False)
    table.set_summary(inspect_module(model, (1, 28, 28), name="frozen"))
    total, frozen = 4 * 9 + 4 + 4 * 26 * 26 * 10 + 10, 4 * 9 + 4
    text = table.totals.text()
    assert f"Parameters <b>{total:,}</b>" in text
    assert f"trainable <b>{total - frozen:,}</b>" in text
