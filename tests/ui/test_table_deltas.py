"""The "(new)" marker and the deltas land on the right rows after an edit in the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from ui_helpers import drop, fresh_summary, index_of

from explorer.ui.widgets.layer_table import LAYER, OUTPUT, PARAMS
from explorer.ui.widgets.palette import mime_for_block


def _rows(window):
    model = window.table.model
    out = []
    for r in range(model.rowCount()):
        index = model.index(r, LAYER)
        out.append((index.data(), index.siblingAtColumn(OUTPUT).data(),
                    index.siblingAtColumn(PARAMS).data(),
                    index.data(Qt.ItemDataRole.BackgroundRole) is not None))
    return out


def test_a_conv_inserted_after_conv1_is_the_only_new_row(qtbot, window):
    before = _rows(window)
    assert before[0] == ("0: conv1", "10×24×24", "260", False)
    same_shape = {"type": "conv2d", "out_channels": 10, "kernel_size": 3, "padding": 1}
    target = window.tree.visualRect(index_of(window, (0,))).center()   # dropped on conv1:
    fresh_summary(qtbot, window, lambda: drop(window.tree, mime_for_block(same_shape), target))
    rows = _rows(window)
    assert [b.type for b in window.document.spec.blocks[:3]] == ["conv2d", "conv2d",
                                                                  "max_pool2d"]
    assert rows[0] == ("0: conv1", "10×24×24", "260", False)                # unchanged
    assert rows[1] == ("1: conv2  (new)", "10×24×24", "910", True)          # 10·10·9 + 10
    assert [r[0] for r in rows if "(new)" in r[0]] == ["1: conv2  (new)"]
    # every block after it keeps its shape and parameters: nothing else highlighted
    assert [r[1:] for r in rows[2:]] == [r[1:] for r in before[1:]]
    assert rows[5] == ("5: conv3", "20×8×8", "44,020", False)               # the old conv2


def test_a_conv_that_changes_the_shapes_after_it_shows_signed_deltas(qtbot, window):
    wider = {"type": "conv2d", "out_channels": 16, "kernel_size": 3}
    target = window.tree.visualRect(index_of(window, (0,))).center()
    fresh_summary(qtbot, window, lambda: drop(window.tree, mime_for_block(wider), target))
    rows = _rows(window)
    assert rows[0] == ("0: conv1", "10×24×24", "260", False)
    assert rows[1] == ("1: conv2  (new)", "16×22×22", "1,456", True)        # 16·10·9 + 16
    assert rows[2] == ("2: pool1", "10×12×12 → 16×11×11", "–", True)
    # the inception block sees 16 channels instead of 10: 6 more input channels for each
    # of its four 1×1 convolutions (16, 16, 16 and 24 outputs): +6·72 = +432 parameters
    assert rows[4] == ("4: inception1", "88×12×12 → 88×11×11", "19,536  (+432)", True)
    assert rows[5] == ("5: conv3", "20×8×8 → 20×7×7", "44,020", True)       # same weights
    assert [r[0] for r in rows if "(new)" in r[0]] == ["1: conv2  (new)"]
    # a removal: conv1 deleted, nothing is new, the blocks after it are not renamed "new"
    window.tree.select_block((0,))
    window.tree.setFocus()
    fresh_summary(qtbot, window, lambda: qtbot.keyClick(window.tree, Qt.Key.Key_Delete))
    rows = _rows(window)
    assert not any("(new)" in r[0] for r in rows)
    # the remaining conv is the one inserted above (16 channels, 3×3), now on the input
    assert rows[0] == ("0: conv1", "16×22×22 → 16×26×26", "160  (-1,296)", True)
