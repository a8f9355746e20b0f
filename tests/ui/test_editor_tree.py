"""The editor tree on its own document: how many undo steps an action makes, moves inside
a parallel branch, the error mark on the failing block's own row, and the detail column."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from explorer.core.edit import block_at
from explorer.core.presets import preset_spec
from explorer.core.registry import describe_block
from explorer.core.spec import ArchitectureSpec
from explorer.ui.document import Document
from explorer.ui.style import ERROR_RED
from explorer.ui.widgets.editor_tree import EditorTree


def _conv(out: int, k: int = 3) -> dict:
    return {"type": "conv2d", "out_channels": out, "kernel_size": k, "padding": k // 2}


BRANCHY = ArchitectureSpec.from_dict({
    "name": "branchy", "input_shape": [1, 12, 12], "num_classes": 4, "blocks": [
        _conv(4),
        {"type": "parallel", "branches": [
            [_conv(2, 1), {"type": "relu"}, _conv(3, 3)],
            [_conv(5, 1)],
        ]},
        {"type": "flatten"},
        {"type": "linear", "out_features": "classes"},
    ]})


@pytest.fixture
def tree(qtbot):
    doc = Document()
    doc.open_spec(BRANCHY, undoable=False)
    view = EditorTree(doc)
    qtbot.addWidget(view)
    view.expandAll()
    return view


def _select(tree, *paths):
    tree.select_block(paths[0])
    for path in paths[1:]:
        tree.selectionModel().select(tree.model_.index_of_path(path),
                                     QItemSelectionModel.SelectionFlag.Select
                                     | QItemSelectionModel.SelectionFlag.Rows)


def test_moves_that_change_nothing_make_no_undo_step(tree):
    doc = tree.document
    tree.select_block((0,))
    assert not tree.move_selected(-1)                       # the first block cannot go up
    tree.select_block((1, "branches", 0, 2))
    assert not tree.move_selected(1)                        # last of its branch
    tree.select_block((3,))
    assert not tree.move_selected(1)
    assert doc.undo_stack.count() == 0 and doc.spec is BRANCHY and not doc.modified


def test_moving_inside_a_parallel_branch_stays_in_that_branch(tree):
    doc = tree.document
    tree.select_block((1, "branches", 0, 2))                # the 3×3 conv, last of branch 0
    assert tree.move_selected(-1)
    branch = block_at(doc.spec, (1,)).params["branches"]
    assert [b.type for b in branch[0]] == ["conv2d", "conv2d", "relu"]
    assert branch[0][1].params["out_channels"] == 3          # the moved one, one place up
    assert branch[1] == BRANCHY.blocks[1].params["branches"][1]   # the other branch untouched
    assert [b.type for b in doc.spec.blocks] == [b.type for b in BRANCHY.blocks]
    assert tree.current_path() == (1, "branches", 0, 1)     # the selection follows it
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.spec == BRANCHY


def test_a_wrap_is_one_undo_step_and_undo_restores_exactly(tree):
    doc = tree.document
    _select(tree, (2,), (3,))
    assert tree.selected_paths() == [(2,), (3,)]
    assert tree.wrap_selected("group")
    assert [b.type for b in doc.spec.blocks] == ["conv2d", "parallel", "group"]
    assert [b.type for b in doc.spec.blocks[2].params["blocks"]] == ["flatten", "linear"]
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Wrap in group"
    doc.undo_stack.undo()
    assert doc.spec == BRANCHY and doc.undo_stack.count() == 1 and not doc.modified
    doc.undo_stack.redo()
    tree.select_block((2,))
    assert tree.unwrap_selected()
    assert doc.spec == BRANCHY and doc.undo_stack.count() == 2


def test_the_error_mark_is_on_the_failing_blocks_own_row(tree):
    model = tree.model_
    failing = (1, "branches", 0, 1)
    model.set_error_path(failing)

    def colour(path):
        brush = model.data(model.index_of_path(path), Qt.ItemDataRole.ForegroundRole)
        return brush.color() if brush is not None else None

    def background(path):
        return model.data(model.index_of_path(path), Qt.ItemDataRole.BackgroundRole)

    assert colour(failing) == ERROR_RED and background(failing) is not None
    assert colour((1,)) == ERROR_RED and background((1,)) is None   # the container around it
    for other in [(0,), (2,), (1, "branches", 0, 0), (1, "branches", 0, 2),
                  (1, "branches", 1, 0)]:
        assert colour(other) != ERROR_RED and background(other) is None, other
    model.set_error_path(None)
    assert colour(failing) != ERROR_RED


def test_the_detail_column_is_the_blocks_description(tree):
    model = tree.model_
    for path in [(0,), (1,), (1, "branches", 0, 2), (3,)]:
        index = model.index_of_path(path).siblingAtColumn(1)
        assert index.data() == describe_block(block_at(tree.document.spec, path))
    assert model.index_of_path((0,)).siblingAtColumn(1).data() == "3×3, 4 ch, p1"


def test_the_detail_column_follows_an_edit(qtbot):
    doc = Document()
    doc.open_spec(preset_spec("lenet"), undoable=False)
    tree = EditorTree(doc)
    qtbot.addWidget(tree)
    from explorer.core.edit import set_param

    doc.edit("kernel", set_param(doc.spec, (0,), "kernel_size", [3, 5]))
    assert tree.model_.index_of_path((0,)).siblingAtColumn(1).data() == "3×5, 6 ch, p2"


def test_dragging_to_the_same_index_of_another_branch_moves_it(tree):
    """The first block of branch 0 dragged to the end of branch 1 (index 1, as it had in its
    own branch plus one): it moves, one undo step; dropped back where it was, nothing."""
    doc, model = tree.document, tree.model_
    src = (1, "branches", 0, 0)
    mime = model.mimeData([model.index_of_path(src)])
    other = model.index_of_path((1, "branches", 1), kind="list")
    assert model.dropMimeData(mime, Qt.DropAction.MoveAction, 1, 0, other)
    branches = block_at(doc.spec, (1,)).params["branches"]
    assert [b.type for b in branches[0]] == ["relu", "conv2d"]
    assert [b.params["out_channels"] for b in branches[1]] == [5, 2]
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    own = model.index_of_path((1, "branches", 0), kind="list")
    assert not model.dropMimeData(model.mimeData([model.index_of_path(src)]),
                                  Qt.DropAction.MoveAction, 1, 0, own)
    assert doc.spec == BRANCHY and doc.undo_stack.count() == 1
