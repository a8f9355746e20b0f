"""The confusion view reads as it says: rows are the true class, columns the predicted one,
the cell at row t column p counts images of t predicted p, and a click lists those images."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.training.analysis import Confusion
from explorer.ui.widgets.confusion import ConfusionView

# 3 classes; true labels and predictions chosen so that no cell equals its mirror
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 1, 2], dtype=np.int64)
PREDICTED = np.array([0, 0, 1, 2, 1, 1, 0, 2, 1, 1, 2, 2], dtype=np.int64)


def _confusion() -> Confusion:
    k = 3
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (LABELS, PREDICTED), 1)
    probabilities = np.full((len(LABELS), k), 0.1, dtype=np.float32)
    probabilities[np.arange(len(LABELS)), PREDICTED] = np.linspace(0.5, 0.8, len(LABELS))
    return Confusion(matrix, LABELS, PREDICTED, probabilities, ("cat", "dog", "eel"))


@pytest.fixture
def view(qtbot):
    widget = ConfusionView()
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    images = np.arange(len(LABELS) * 28 * 28, dtype=np.uint8).reshape(len(LABELS), 1, 28, 28)
    widget.set_confusion("tiny v3", _confusion(), images)
    return widget


def test_the_cell_at_row_t_column_p_counts_t_predicted_p(view):
    table = view.table
    expected = {(0, 0): 2, (0, 1): 2, (0, 2): 1, (1, 0): 1, (1, 1): 2, (1, 2): 1,
                (2, 0): 0, (2, 1): 1, (2, 2): 2}
    for (t, p), count in expected.items():
        item = table.item(t, p)
        assert item.text() == str(count), (t, p)
        assert item.toolTip().startswith(f"true {('cat', 'dog', 'eel')[t]}, predicted "
                                          f"{('cat', 'dog', 'eel')[p]}: {count} (")
    assert [table.verticalHeaderItem(i).text() for i in range(3)] == ["cat", "dog", "eel"]
    assert [table.horizontalHeaderItem(i).text() for i in range(3)] == ["cat", "dog", "eel"]
    assert "6 of 12" not in view.title.text() and "50.0 % of 12 test images right" in \
        view.title.text()


def test_shares_are_of_the_true_classs_row(view):
    # cat's row: 2 of 5 right (40 %), 2 as dog (40 %), 1 as eel (20 %)
    assert "(40.0 % of the row)" in view.table.item(0, 1).toolTip()
    assert "(20.0 % of the row)" in view.table.item(0, 2).toolTip()
    assert "(0.0 % of the row)" in view.table.item(2, 0).toolTip()
    right = view.table.item(1, 1).background().color().green()
    wrong = view.table.item(1, 0).background().color().green()
    assert right > wrong                                  # the diagonal is the green one


def test_a_click_lists_the_cells_own_images(qtbot, view):
    with qtbot.waitSignal(view.cell_selected) as signal:
        view.table.cellClicked.emit(0, 1)
    assert signal.args == [0, 1]
    assert view.cell_title.text().startswith("2 images of cat predicted dog (misclassified)")
    view.show_cell(2, 0)
    assert view.cell_title.text().startswith("0 images of eel predicted cat")
    view.show_cell(2, 2)
    assert "2 images of eel predicted eel (right)" in view.cell_title.text()
