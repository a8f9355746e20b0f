"""The block palette: every registered block and the user's own, grouped and searchable.

A drag source: an item drags a block as JSON (:data:`BLOCK_MIME`), which the editor tree
accepts. Double-click or Enter asks for the block to be inserted after the selection
(:attr:`BlockPalette.blockRequested`). The palette is narrow: what a block does is not a
clipped column but a wrapped line under the list, for the entry selected or under the mouse.
"""

from __future__ import annotations

import html
import json

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDrag, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

BLOCK_MIME = "application/x-network-explorer-block"
"""Mime type of a dragged block: the UTF-8 JSON of one block dict (``{"type": ...}``)."""

GROUPS = (
    ("layer", "Layers"),
    ("activation", "Activations"),
    ("inception", "Inception"),
    ("residual", "Residual"),
    ("dense", "Dense"),
    ("classic", "NiN and VGG"),
    ("container", "Containers"),
)
USER_GROUP = "My blocks"
_BLOCK_ROLE = Qt.ItemDataRole.UserRole + 1
PALETTE_HINT = "Drag a block into the network, or double-click it to insert it."
"""What the description line says while no block is selected or under the mouse."""


def block_tooltip(definition) -> str:
    """The tooltip of a registered block: its description and every parameter with its range."""
    lines = [f"<b>{definition.name}</b> — {definition.doc}"]
    if definition.params:
        lines.append("<br>Parameters:<ul style='margin:0'>")
        for p in definition.params:
            default = "required" if p.required else f"default {json.dumps(p.default)}"
            help_text = f" — {p.help}" if p.help else ""
            lines.append(f"<li><b>{p.name}</b>: {p.describe()}; {default}{help_text}</li>")
        lines.append("</ul>")
    else:
        lines.append("<br>No parameters.")
    return "".join(lines)


def mime_for_block(block: dict) -> QMimeData:
    """Mime data carrying one block dict (what the palette drags)."""
    mime = QMimeData()
    mime.setData(BLOCK_MIME, json.dumps(block).encode("utf-8"))
    mime.setText(block.get("type", ""))
    return mime


class _PaletteTree(QTreeWidget):
    def __init__(self, palette: BlockPalette) -> None:
        super().__init__()
        self._palette = palette
        self.setHeaderLabels(["Block", "What it does"])
        self.setColumnHidden(1, True)  # searched, and shown under the list (the dock is narrow)
        self.setMouseTracking(True)  # itemEntered: the description follows the mouse
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)

    def mimeTypes(self) -> list[str]:
        return [BLOCK_MIME]

    def mimeData(self, items) -> QMimeData:
        block = items[0].data(0, _BLOCK_ROLE) if items else None
        return mime_for_block(block) if block else QMimeData()

    def startDrag(self, actions) -> None:
        item = self.currentItem()
        block = item.data(0, _BLOCK_ROLE) if item else None
        if not block:
            return
        drag = QDrag(self)
        drag.setMimeData(mime_for_block(block))
        drag.exec(Qt.DropAction.CopyAction)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem():
            self._palette._request(self.currentItem())
            return
        super().keyPressEvent(event)


class BlockPalette(QWidget):
    """Every block, grouped by family, with a search field.

    Signals
    -------
    blockRequested(dict) : the user asked to insert this block (double-click or Enter).
    """

    blockRequested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search blocks (name or description)…")
        self.search.setClearButtonEnabled(True)
        self.tree = _PaletteTree(self)
        self.description = QLabel(PALETTE_HINT)
        self.description.setWordWrap(True)
        self.description.setMinimumHeight(3 * self.fontMetrics().lineSpacing())
        self.description.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.description)
        self.search.textChanged.connect(self._filter)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._request(item))
        self.tree.currentItemChanged.connect(lambda item, _old: self._describe(item))
        self.tree.itemEntered.connect(lambda item, _col: self._describe(item))
        self.tree.setEnabled(False)
        self.tree.setHeaderLabels(["Loading blocks…", ""])

    def set_blocks(self, definitions, user_blocks=()) -> None:
        """Fill the palette from registered :class:`BlockDef` s and saved user blocks."""
        self.tree.clear()
        self.tree.setHeaderLabels(["Block", "What it does"])
        groups: dict[str, QTreeWidgetItem] = {}
        titles = dict(GROUPS)
        order = [c for c, _ in GROUPS]
        for definition in sorted(
            definitions,
            key=lambda d: (order.index(d.category) if d.category in order else len(order),
                           d.name),
        ):
            group = groups.get(definition.category)
            if group is None:
                group = QTreeWidgetItem(
                    self.tree, [titles.get(definition.category, definition.category.title())])
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
                groups[definition.category] = group
            item = QTreeWidgetItem(group, [definition.name, definition.doc])
            item.setData(0, _BLOCK_ROLE, starter_block_dict(definition))
            tip = block_tooltip(definition)
            item.setToolTip(0, tip)
            item.setToolTip(1, tip)
        mine = QTreeWidgetItem(self.tree, [USER_GROUP])
        mine.setFlags(Qt.ItemFlag.ItemIsEnabled)
        for user in user_blocks:
            item = QTreeWidgetItem(mine, [user.name, user.description or
                                          f"your {user.block.type} block"])
            item.setData(0, _BLOCK_ROLE, user.block.to_dict())
            item.setToolTip(0, f"<b>{user.name}</b> — saved {user.block.type} block"
                               + (f"<br>{user.description}" if user.description else ""))
        if not user_blocks:
            hint = QTreeWidgetItem(mine, ["(none yet)",
                                          "select a container and use Edit › Save as my block"])
            hint.setFlags(Qt.ItemFlag.NoItemFlags)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.tree.setEnabled(True)
        self._filter(self.search.text())

    def items(self) -> list[QTreeWidgetItem]:
        """Every block item (not the group headers), in display order."""
        out = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            out += [group.child(i) for i in range(group.childCount())
                    if group.child(i).data(0, _BLOCK_ROLE)]
        return out

    def find(self, name: str) -> QTreeWidgetItem | None:
        """The item named ``name`` (a block type or a user block's name)."""
        return next((i for i in self.items() if i.text(0) == name), None)

    def block_of(self, item: QTreeWidgetItem) -> dict | None:
        return item.data(0, _BLOCK_ROLE)

    def _request(self, item: QTreeWidgetItem) -> None:
        block = item.data(0, _BLOCK_ROLE)
        if block:
            self.blockRequested.emit(dict(block))

    def _describe(self, item: QTreeWidgetItem | None) -> None:
        """Show what ``item`` does under the list (the hint for a group header: no text)."""
        if item is None or not item.text(1):
            self.description.setText(PALETTE_HINT)
            return
        self.description.setText(f"<b>{html.escape(item.text(0))}</b>: "
                                 f"{html.escape(item.text(1))}")

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            shown = 0
            for i in range(group.childCount()):
                item = group.child(i)
                hay = f"{item.text(0)} {item.text(1)} {group.text(0)}".lower()
                hide = bool(words) and not all(w in hay for w in words)
                item.setHidden(hide)
                shown += not hide
            group.setHidden(bool(words) and shown == 0)


def starter_block_dict(definition) -> dict:
    """The block a palette entry inserts: its type and a sensible value for each required field."""
    from explorer.core.library import starter_params

    return {"type": definition.name, **starter_params(definition)}
