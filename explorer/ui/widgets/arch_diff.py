"""The architecture diff: two networks, their blocks aligned, what changed between them.

The view offers the two sides (the current network, its saved version, a preset, a run's
network, a file) and shows an :class:`~explorer.core.diff.ArchitectureDiff` computed by the
controller off the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.core.shapes import fmt_shape
from explorer.ui.widgets.gradient_lab import index_of
from explorer.ui.widgets.lab_view import LabView

KIND_COLOURS = {"changed": "#fff3bf", "expanded": "#d0ebff", "removed": "#ffd8d8",
                "inserted": "#d3f9d8", "same": None}
FILE_ITEM = ("file?", "")


class DiffSide(QWidget):
    """One side of the diff: which network."""

    changed = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(10)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(title)
        label.setMinimumWidth(34)
        layout.addWidget(label)
        layout.addWidget(self.combo, 1)
        self.combo.activated.connect(self._activated)
        self._files: list[str] = []

    def fill(self, presets: list[str], runs: list[tuple[str, str]], saved: bool,
             default: tuple[str, str]) -> None:
        """Offer the current network, its saved version (``saved``), ``presets``, ``runs``
        (folder, title), the files opened before and "File…"; keep the pick if offered (a
        run picked stays picked: it may be newer than the runs listed)."""
        current = self.combo.currentData() or default
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem("Current network", ("current", ""))
        if saved:
            self.combo.addItem("Saved version (the file on disk)", ("saved", ""))
        for name in presets:
            self.combo.addItem(f"preset: {name}", ("preset", name))
        for folder, title in runs:
            self.combo.addItem(f"run: {title}", ("run", folder))
        for path in self._files:
            self.combo.addItem(f"file: {Path(path).name}", ("file", path))
        self.combo.addItem("File…", FILE_ITEM)
        kept = index_of(self.combo, current) >= 0 or current[0] == "run"  # a run picked
        self.set_choice(current if kept else default)  # stays, even if not read yet
        self.combo.blockSignals(False)

    def set_choice(self, choice: tuple[str, str]) -> None:
        index = index_of(self.combo, tuple(choice))
        if index < 0 and choice[0] == "file":
            self._files.append(choice[1])
            self.combo.insertItem(self.combo.count() - 1, f"file: {Path(choice[1]).name}",
                                  tuple(choice))
            index = index_of(self.combo, tuple(choice))
        if index < 0 and choice[0] == "run":
            self.combo.insertItem(self.combo.count() - 1, f"run: {Path(choice[1]).name}",
                                  tuple(choice))
            index = index_of(self.combo, tuple(choice))
        self.combo.setCurrentIndex(max(0, index))

    def choice(self) -> tuple[str, str]:
        return tuple(self.combo.currentData() or ("current", ""))

    def _activated(self, _index: int) -> None:
        if self.choice() == FILE_ITEM:
            path, _ = QFileDialog.getOpenFileName(self, "Architecture to compare", "",
                                                  "Architectures and checkpoints (*.json);;"
                                                  "All files (*)")
            if not path:
                self.combo.setCurrentIndex(0)
                return
            self.set_choice(("file", path))
        self.changed.emit()


class ArchitectureDiffView(LabView):
    """Two architectures compared block by block.

    Signals
    -------
    requested() : a side changed: compare again.
    """

    requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.old_side, self.new_side = DiffSide("Old"), DiffSide("New")
        self.swap_button = QPushButton("Swap")
        self.swap_button.clicked.connect(self.swap)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setMinimumWidth(50)
        self.blocks = QTreeWidget()
        self.blocks.setHeaderLabels(["", "Old block", "New block", "What changed"])
        self.blocks.setAlternatingRowColors(False)
        header = self.blocks.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.layers = QTreeWidget()
        self.layers.setHeaderLabels(["Block", "Output", "Parameters", "Mult-adds"])
        self.layers.setRootIsDecorated(False)
        self.layers.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.layers_title = QLabel("Blocks whose output, parameters or multiply-adds differ")
        self.layers_title.setWordWrap(True)
        for side in (self.old_side, self.new_side):
            side.changed.connect(self.requested)
        sides = QGridLayout()  # one under the other: the view fits narrow columns
        sides.addWidget(self.old_side, 0, 0)
        sides.addWidget(self.new_side, 1, 0)
        sides.addWidget(self.swap_button, 0, 1, 2, 1)
        sides.setColumnStretch(0, 1)
        lower = QWidget()
        lower_box = QVBoxLayout(lower)
        lower_box.setContentsMargins(0, 0, 0, 0)
        lower_box.addWidget(self.layers_title)
        lower_box.addWidget(self.layers)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.blocks)
        split.addWidget(lower)
        split.setSizes([320, 160])
        layout = QVBoxLayout(self)
        layout.addLayout(sides)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self.diff = None

    def sides(self) -> tuple[tuple[str, str], tuple[str, str]]:
        return self.old_side.choice(), self.new_side.choice()

    def set_sides(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        for side, choice in ((self.old_side, old), (self.new_side, new)):
            side.combo.blockSignals(True)
            side.set_choice(choice)
            side.combo.blockSignals(False)
        self.requested.emit()

    def swap(self) -> None:
        old, new = self.sides()
        self.set_sides(new, old)

    def show_message(self, text: str) -> None:
        self.summary.setText(text)
        self.blocks.clear()
        self.layers.clear()
        self.diff = None

    def set_diff(self, diff) -> None:
        """Show an :class:`~explorer.core.diff.ArchitectureDiff`."""
        from explorer.core.diff import KINDS
        from explorer.core.summary import format_count

        self.diff = diff
        counts = diff.counts()
        totals = ""
        if diff.old_summary is not None and diff.new_summary is not None:
            a, b = diff.old_summary, diff.new_summary
            totals = (f" Parameters {a.total_params:,} → {b.total_params:,}; mult-adds "
                      f"{format_count(a.mult_adds)} → {format_count(b.mult_adds)}.")
        words = ", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k] and k != "same")
        text = (f"{diff.old.name} → {diff.new.name}: "
                + ("identical." if diff.identical else f"{words or 'same blocks'}.") + totals)
        if diff.network:
            text += " Network: " + "; ".join(p.text() for p in diff.network) + "."
        self.summary.setText(text)
        self.blocks.clear()
        for change in diff.blocks:
            self.blocks.addTopLevelItem(self._block_item(diff, change))
        self.blocks.expandAll()
        self.layers.clear()
        for layer in diff.layers:
            old, new = layer.old, layer.new
            item = QTreeWidgetItem([
                layer.label, _pair(fmt_shape(old.output_shape), fmt_shape(new.output_shape)),
                _pair(f"{old.params:,}", f"{new.params:,}"),
                _pair(format_count(old.mult_adds), format_count(new.mult_adds))])
            self.layers.addTopLevelItem(item)
        self.layers_title.setVisible(bool(diff.layers))
        self.layers.setVisible(bool(diff.layers))

    def _block_item(self, diff, change) -> QTreeWidgetItem:
        from explorer.core.diff import SYMBOLS, location

        old = location(diff.old, change.old_path) if change.old_path is not None else ""
        new = location(diff.new, change.new_path) if change.new_path is not None else ""
        what = change.kind
        if change.kind == "changed":
            what = "; ".join(p.text() for p in change.params) or "changed inside"
        elif change.kind == "expanded":
            what = f"expanded into a {change.new.type} of layers"
        item = QTreeWidgetItem([SYMBOLS[change.kind], old, new, what])
        colour = KIND_COLOURS[change.kind]
        if colour is not None:
            for column in range(4):
                item.setBackground(column, QBrush(QColor(colour)))
                item.setForeground(column, QBrush(QColor("#202020")))
        item.setToolTip(3, what)
        item.setData(0, Qt.ItemDataRole.UserRole, change.kind)
        for child in change.children:
            item.addChild(self._block_item(diff, child))
        return item


def _pair(old: str, new: str) -> str:
    return old if old == new else f"{old} → {new}"
