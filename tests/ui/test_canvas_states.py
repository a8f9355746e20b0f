"""The canvas says when a drawing is not a digit instead of reading it with confidence."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from test_training_views import ONE, TIMEOUT, draw


def test_a_dot_is_not_read_as_a_digit(qtbot, app_window):
    _window, controller = app_window
    view = controller.canvas
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 140))  # a dot
    qtbot.waitUntil(lambda: view.prediction is not None, timeout=TIMEOUT)
    assert view.top.text() == "?"
    assert view.confidence.text() == ""
    assert view.note.text() == ("Not a digit: this looks like a dot or a blob. Draw the digit "
                                "with strokes.")
    assert view.bars._values is None                 # no bars: no answer
    qtbot.keyClick(view.canvas, Qt.Key.Key_Delete)
    draw(qtbot, view.canvas, ONE)                    # a stroke is read again
    qtbot.waitUntil(lambda: view.top.text() == "1", timeout=TIMEOUT)
    assert view.note.text() == "" and "% sure" in view.confidence.text()


def test_the_top_class_and_its_confidence_are_the_most_likely(qtbot):
    """Probabilities with class 7 highest: the canvas names 7 with 70.0 % and draws the bar
    of 7 as the highlighted one."""
    import numpy as np

    from explorer.training.analysis import DrawingPrediction
    from explorer.ui.widgets.canvas import CanvasView

    view = CanvasView()
    qtbot.addWidget(view)
    probabilities = (0.05, 0.1, 0.0, 0.05, 0.0, 0.0, 0.1, 0.7, 0.0, 0.0)
    view.set_prediction(DrawingPrediction(np.zeros((28, 28), np.float32), probabilities,
                                          tuple("0123456789"), "", "a run"))
    assert view.top.text() == "7"
    assert view.confidence.text() == "70.0 % sure"
    assert view.bars._values == probabilities
