"""The digit canvas: draw with the mouse or a pen and watch the network read it.

:class:`DigitCanvas` only paints strokes; :class:`CanvasView` adds the brush, the 28×28 image
the model receives, and a bar per class. The prediction itself is computed by a worker (see
``explorer.ui.training_views``); this view emits :attr:`CanvasView.drawing_changed` with a
frozen copy of the pixels and shows whatever :meth:`CanvasView.set_prediction` brings.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeySequence, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.widgets.tiles import gray_image

CANVAS_SIZE = 280
DEFAULT_BRUSH = 18


class DigitCanvas(QWidget):
    """A square of black paper for white ink; strokes are kept so the last can be undone.

    Keys (with the canvas focused): Delete, Backspace, Escape or C clear; Ctrl+Z undoes the
    last stroke. A pen's pressure widens its stroke.
    """

    changed = Signal()
    """The drawing changed (a stroke grew, was undone, or everything was cleared)."""
    stroke_finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFixedSize(CANVAS_SIZE, CANVAS_SIZE)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit. Delete / Esc / C: clear · Ctrl+Z: undo the last stroke")
        self.brush = DEFAULT_BRUSH
        self._strokes: list[list[tuple[QPointF, float]]] = []  # (point, width) per stroke
        self._image = QImage(CANVAS_SIZE, CANVAS_SIZE, QImage.Format.Format_Grayscale8)
        self._image.fill(0)
        self._drawing = False

    # ----------------------------------------------------------------- state

    @property
    def stroke_count(self) -> int:
        return len(self._strokes)

    def pixels(self) -> np.ndarray:
        """The drawing as a new uint8 array (280, 280), white ink on black."""
        image = self._image
        stride = image.bytesPerLine()
        raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * image.height())
        return raw.reshape(image.height(), stride)[:, : image.width()].copy()

    def clear(self) -> None:
        self._strokes.clear()
        self._redraw()

    def undo(self) -> None:
        """Remove the last stroke."""
        if self._strokes:
            self._strokes.pop()
            self._redraw()

    def set_strokes(self, strokes: list[list[tuple[float, float]]], width: float | None = None):
        """Replace the drawing by polylines in canvas coordinates (screenshots, tests)."""
        w = float(width or self.brush)
        self._strokes = [[(QPointF(x, y), w) for x, y in stroke] for stroke in strokes]
        self._redraw()

    # ----------------------------------------------------------------- painting

    def _redraw(self) -> None:
        self._image.fill(0)
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for stroke in self._strokes:
            self._paint_stroke(painter, stroke)
        painter.end()
        self.update()
        self.changed.emit()

    @staticmethod
    def _paint_stroke(painter: QPainter, stroke: list[tuple[QPointF, float]],
                      start: int = 0) -> None:
        pen = QPen(QColor(255, 255, 255))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        if len(stroke) == 1:
            point, width = stroke[0]
            pen.setWidthF(width)
            painter.setPen(pen)
            painter.drawPoint(point)
            return
        for i in range(max(1, start), len(stroke)):
            (a, _), (b, width) = stroke[i - 1], stroke[i]
            pen.setWidthF(width)
            painter.setPen(pen)
            painter.drawLine(a, b)

    def _begin(self, point: QPointF, width: float) -> None:
        self._drawing = True
        self._strokes.append([(point, width)])
        self._extend_image(0)

    def _extend(self, point: QPointF, width: float) -> None:
        stroke = self._strokes[-1]
        stroke.append((point, width))
        self._extend_image(len(stroke) - 1)

    def _extend_image(self, start: int) -> None:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_stroke(painter, self._strokes[-1], start)
        painter.end()
        self.update()
        self.changed.emit()

    def _end(self) -> None:
        if self._drawing:
            self._drawing = False
            self.stroke_finished.emit()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self._image)
        painter.setPen(QColor(90, 90, 90))
        painter.drawRect(0, 0, self.width() - 1, self.height() - 1)
        if not self._strokes:
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "draw a digit here")

    # ----------------------------------------------------------------- input

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._begin(event.position(), float(self.brush))

    def mouseMoveEvent(self, event) -> None:
        if self._drawing and event.buttons() & Qt.MouseButton.LeftButton:
            self._extend(event.position(), float(self.brush))

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._end()

    def tabletEvent(self, event) -> None:
        width = float(self.brush) * (0.4 + 1.2 * event.pressure())
        kind = event.type()
        if kind == event.Type.TabletPress:
            self._begin(event.position(), width)
        elif kind == event.Type.TabletMove and self._drawing:
            self._extend(event.position(), width)
        elif kind == event.Type.TabletRelease:
            self._end()
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        elif event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Escape,
                             Qt.Key.Key_C):
            self.clear()
        else:
            super().keyPressEvent(event)


class ProbabilityBars(QWidget):
    """One horizontal bar per class, the top class highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._classes: tuple[str, ...] = tuple(str(i) for i in range(10))
        self._values: tuple[float, ...] | None = None
        self.setMinimumWidth(180)
        self.setMaximumHeight(300)

    def set_values(self, classes, values) -> None:
        self._classes = tuple(classes)
        self._values = None if values is None else tuple(values)
        self.setMaximumHeight(30 * max(10, len(self._classes)))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(220, 22 * max(10, len(self._classes)))

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        n = max(1, len(self._classes))
        row = self.height() / n
        label_w = min(90, max(24, max(painter.fontMetrics().horizontalAdvance(c)
                                      for c in self._classes) + 8))
        top = None if self._values is None else int(np.argmax(self._values))
        for i, name in enumerate(self._classes):
            y = i * row
            painter.setPen(palette.text().color())
            painter.drawText(QRectF(0, y, label_w - 6, row), Qt.AlignmentFlag.AlignRight
                             | Qt.AlignmentFlag.AlignVCenter, name)
            value = 0.0 if self._values is None or i >= len(self._values) else self._values[i]
            bar_w = (self.width() - label_w - 52) * value
            colour = palette.highlight().color() if i == top else QColor(130, 130, 130)
            painter.fillRect(QRectF(label_w, y + row * 0.2, max(1.0, bar_w), row * 0.6), colour)
            painter.setPen(palette.text().color())
            painter.drawText(QRectF(label_w + bar_w + 4, y, 50, row),
                             Qt.AlignmentFlag.AlignVCenter, f"{100 * value:.0f} %")


class CanvasView(QWidget):
    """The canvas with its brush, the image the model receives, and the prediction.

    Signals
    -------
    drawing_changed(object) : a uint8 (280, 280) copy of the drawing, after every change.
    """

    drawing_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = DigitCanvas()
        self.brush = QSlider(Qt.Orientation.Horizontal)
        self.brush.setRange(4, 40)
        self.brush.setValue(DEFAULT_BRUSH)
        self.brush.setToolTip("Brush width")
        self.brush.valueChanged.connect(lambda v: setattr(self.canvas, "brush", v))
        clear = QPushButton("Clear")
        clear.setToolTip("Clear the canvas (Delete, Esc or C)")
        clear.clicked.connect(self.canvas.clear)
        undo = QPushButton("Undo stroke")
        undo.setToolTip("Remove the last stroke (Ctrl+Z on the canvas)")
        undo.clicked.connect(self.canvas.undo)

        self.seen = QLabel()
        self.seen.setFixedSize(112, 112)
        self.seen.setStyleSheet("background: black; border: 1px solid gray")
        self.seen.setToolTip("The exact 28×28 image the network receives: cropped, fitted in "
                             "20×20 and centred on its centre of mass, like MNIST")
        self.top = QLabel("–")
        font = QFont(self.font())
        font.setPointSize(font.pointSize() * 4)
        font.setBold(True)
        self.top.setFont(font)
        self.top.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence = QLabel("")
        self.confidence.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.bars = ProbabilityBars()
        self.source = QLabel("")
        self.source.setWordWrap(True)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #b36b00")

        brush_row = QHBoxLayout()
        brush_row.addWidget(QLabel("Brush"))
        brush_row.addWidget(self.brush, 1)
        brush_row.addWidget(undo)
        brush_row.addWidget(clear)
        left = QVBoxLayout()
        left.addWidget(self.canvas)
        left.addLayout(brush_row)
        left.addStretch(1)
        seen_box = QVBoxLayout()
        seen_box.addWidget(QLabel("The network sees"))
        seen_box.addWidget(self.seen)
        seen_box.addWidget(self.top)
        seen_box.addWidget(self.confidence)
        seen_box.addStretch(1)
        middle = QHBoxLayout()
        middle.addLayout(seen_box)
        middle.addWidget(self.bars, 1)
        right = QVBoxLayout()
        right.addLayout(middle)
        right.addWidget(self.source)
        right.addWidget(self.note)
        right.addStretch(1)
        self.bars.setMaximumWidth(480)
        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addLayout(right, 1)
        self.canvas.changed.connect(self._emit)
        self.prediction = None

    def _emit(self) -> None:
        self.drawing_changed.emit(self.canvas.pixels())

    def set_source(self, text: str) -> None:
        """Say which network reads the drawing."""
        self.source.setText(f"Read by: {text}")

    def set_prediction(self, prediction) -> None:
        """Show a :class:`~explorer.training.analysis.DrawingPrediction` (``None``: empty)."""
        self.prediction = prediction
        if prediction is None:
            self.seen.clear()
            self.top.setText("–")
            self.confidence.setText("")
            self.bars.set_values(self.bars._classes, None)
            self.note.setText("")
            return
        self.seen.setPixmap(_pixmap(prediction.digit, 112))
        self.note.setText(prediction.note)
        self.set_source(prediction.source)
        if prediction.probabilities is None:
            self.top.setText("?")
            self.confidence.setText("")
            self.bars.set_values(prediction.classes, None)
            return
        top = prediction.top
        self.top.setText(prediction.classes[top])
        self.confidence.setText(f"{100 * prediction.probabilities[top]:.1f} % sure")
        self.bars.set_values(prediction.classes, prediction.probabilities)


def _pixmap(pixels: np.ndarray, size: int) -> QPixmap:
    image = gray_image(pixels).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.FastTransformation)
    return QPixmap.fromImage(image)
