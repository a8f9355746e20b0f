"""The confusion matrix of the test set; a cell opens the images it counts."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.widgets.tiles import image_of, tile_grid

MAX_IMAGES = 120


class ConfusionView(QWidget):
    """Rows are true classes, columns predicted ones; click a cell for its images.

    Signals
    -------
    cell_selected(int, int) : ``(true, predicted)`` of the clicked cell.
    """

    cell_selected = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("The confusion matrix of the test set appears after training.")
        self.title.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Rows: the true class · columns: what the network said. "
                              "Click a cell to see its images.")
        self.cell_title = QLabel("")
        self.cell_title.setWordWrap(True)
        self.images = QLabel()
        self.images.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.images)
        self._scroll = scroll
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.cell_title)
        lower_layout.addWidget(scroll, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(splitter, 1)
        self.result = None
        self._images: np.ndarray | None = None
        self.table.cellClicked.connect(self.show_cell)

    def set_confusion(self, label: str, result, images: np.ndarray) -> None:
        """Show a :class:`~explorer.training.analysis.Confusion` of ``label``'s weights;
        ``images`` are the test split's images (uint8 (N, C, H, W))."""
        self.result, self._images = result, images
        matrix = result.matrix
        k = matrix.shape[0]
        self.title.setText(
            f"{label}: {100 * result.accuracy:.1f} % of {int(matrix.sum())} test images right. "
            "Rows: true class · columns: predicted.")
        self.table.clear()
        self.table.setRowCount(k)
        self.table.setColumnCount(k)
        self.table.setHorizontalHeaderLabels(list(result.classes))
        self.table.setVerticalHeaderLabels(list(result.classes))
        row_totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        share = matrix / row_totals
        for t in range(k):
            for p in range(k):
                item = QTableWidgetItem(str(int(matrix[t, p])))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                strength = float(share[t, p])
                if t == p:
                    colour = QColor(40, 140, 60, int(40 + 200 * strength))
                else:
                    colour = QColor(200, 50, 40, int(255 * min(1.0, 4 * strength)))
                item.setBackground(colour)
                item.setToolTip(f"true {result.classes[t]}, predicted {result.classes[p]}: "
                                f"{int(matrix[t, p])} ({100 * strength:.1f} % of the row)")
                self.table.setItem(t, p, item)
        self.cell_title.setText("Click a cell to see its images.")
        self.images.clear()

    def show_cell(self, true: int, predicted: int) -> None:
        """List the images counted in a cell with their predicted probabilities."""
        result = self.result
        if result is None:
            return
        index = result.cell(true, predicted)
        classes = result.classes
        kind = "right" if true == predicted else "misclassified"
        shown = index[:MAX_IMAGES]
        self.cell_title.setText(
            f"{len(index)} images of {classes[true]} predicted {classes[predicted]} ({kind})"
            + (f", the {MAX_IMAGES} most confident shown" if len(index) > MAX_IMAGES else ""))
        if len(shown):
            pictures = [image_of(self._images[i]) for i in shown]
            captions = [f"{classes[predicted]} {100 * result.probabilities[i, predicted]:.0f}%\n"
                        f"{classes[true]} {100 * result.probabilities[i, true]:.0f}%"
                        for i in shown]
            width = max(300, self._scroll.viewport().width() - 12)
            grid = tile_grid(pictures, captions, tile=56, width=width, palette=self.palette(),
                             caption_lines=2)
            self.images.setPixmap(QPixmap.fromImage(grid))
        else:
            self.images.clear()
        self.cell_selected.emit(true, predicted)
