"""The live layer table: per block and per layer shapes, parameters, cost and receptive field.

A :class:`LayerTableView` shows one :class:`~explorer.core.summary.Summary`: a collapsible
tree of rows, a totals bar below (totals of the rows that exist, even when a block fails),
an error banner above with the message and the hint, the failing block as a red row under
the rows that still fit, and the rows that changed since the previous summary highlighted
with their deltas. It never writes back to any model.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

ERROR_RED = QColor(214, 57, 57)

COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "Mult-adds", "Receptive field")
LAYER, TYPE, OUTPUT, PARAMS, MACS, RF = range(len(COLUMNS))

_ROOT = QModelIndex()


def shape_text(shape) -> str:
    """``(16, 14, 14)`` as ``16×14×14``."""
    if shape is None:
        return "?"
    return "×".join(str(int(s)) for s in shape)


def size_formula(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> str:
    """The output size of a convolution or pooling along one axis, written out with its numbers.

    ``size_formula(28, 5, 1, 2)`` is ``⌊(28 + 2·2 − 5) / 1⌋ + 1 = 28``; with a dilation ``d``
    the kernel term is ``d·(k − 1) − 1`` written out.
    """
    out = (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    pad = f" + 2·{padding}" if padding else ""
    if dilation == 1:
        return f"⌊({n}{pad} − {kernel}) / {stride}⌋ + 1 = {out}"
    return f"⌊({n}{pad} − {dilation}·({kernel} − 1) − 1) / {stride}⌋ + 1 = {out}"


def geometry_tooltip(row: Any) -> str:
    """Why a conv/pool row has its output size: the formula with the layer's own numbers.

    Empty when the row carries no geometry (not a conv/pool row, or an older summary).
    """
    geometry = getattr(row, "geometry", None)
    in_shape = getattr(row, "input_shape", None)
    if not geometry or not in_shape or len(in_shape) != 3:
        return ""
    k, s = tuple(geometry["kernel"]), tuple(geometry["stride"])
    p = tuple(geometry.get("padding", (0, 0)))
    d = tuple(geometry.get("dilation", (1, 1)))
    head = (f"{row.type}: kernel {k[0]}×{k[1]}, stride {_pair(s)}, padding {_pair(p)}"
            + (f", dilation {_pair(d)}" if d != (1, 1) else ""))
    lines = [head, f"input {shape_text(in_shape)} → output {shape_text(row.output_shape)}",
             "output size = ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1"
             if d != (1, 1) else "output size = ⌊(n + 2p − k) / s⌋ + 1"]
    h = size_formula(in_shape[1], k[0], s[0], p[0], d[0])
    w = size_formula(in_shape[2], k[1], s[1], p[1], d[1])
    if h == w:
        lines.append(f"height and width: {h}")
    else:
        lines += [f"height: {h}", f"width: {w}"]
    return "\n".join(lines)


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip shown literally: Qt would render a ``<`` … ``>`` as rich text.

    Messages quote what the user typed (a block name, a value), so they are escaped.
    """
    if not text:
        return text
    return "<p style='white-space:pre'>" + _esc(text).replace("\n", "<br>") + "</p>"


def _pair(value: tuple) -> str:
    return str(value[0]) if len(set(value)) == 1 else "×".join(str(v) for v in value)


def row_path(row: Any) -> tuple | None:
    """The block path a row belongs to (its spec block), or ``(block,)`` for older rows."""
    path = getattr(row, "block_path", None)
    if path is not None:
        return tuple(path)
    return (row.block,) if row.block is not None else None


def row_key(row: Any) -> tuple:
    """How a row is matched with the same row of the previous summary: block path + name."""
    return (row_path(row), row.name)


def previous_rows(previous: Any, summary: Any) -> dict[tuple, Any]:
    """The rows of ``previous`` keyed as the same rows would be keyed in ``summary``.

    An insertion or a deletion renumbers the blocks after it (``relu2`` becomes ``relu1``,
    block 5 becomes block 4), so the top-level blocks of the two summaries are aligned by
    their types first; the rows of a block are then matched within it.
    """
    old_top = [r for r in previous.layers if r.depth == 1]
    new_top = [r for r in summary.layers if r.depth == 1]
    matcher = difflib.SequenceMatcher(
        a=[r.type for r in old_top], b=[r.type for r in new_top], autojunk=False)
    renamed: dict[tuple, tuple] = {}  # (old path head, old name) -> (new path head, new name)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for old, new in zip(old_top[i1:i2], new_top[j1:j2]):
                renamed[(_head(old), old.name)] = (_head(new), new.name)
    out: dict[tuple, Any] = {}
    for row in previous.layers:
        top, _, rest = row.name.partition(".")
        path = row_path(row)
        head = path[:1] if path else None
        target = renamed.get((head, top))
        if target is None:
            continue
        new_head, new_top_name = target
        new_path = (*new_head, *path[1:]) if path and new_head else path
        out[(new_path, new_top_name + ("." + rest if rest else ""))] = row
    return out


def _head(row: Any) -> tuple | None:
    path = row_path(row)
    return path[:1] if path else None


@dataclass
class _Item:
    row: Any  # a LayerRow, or None for the error row
    parent: _Item | None
    children: list[_Item] = field(default_factory=list)
    status: str = ""  # "" | "new" | "changed" | "error"
    old_shape: tuple | None = None
    old_params: int | None = None

    def index_in_parent(self) -> int:
        return self.parent.children.index(self) if self.parent is not None else 0


class LayerTableModel(QAbstractItemModel):
    """A read-only tree model over a summary's rows (plus one row for a failing block)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.root = _Item(None, None)
        self.summary = None
        self.palette = QPalette()
        self._positions: dict[int, int] = {}

    # -- content
    def set_summary(self, summary, previous=None) -> None:
        self.beginResetModel()
        self.summary = summary
        self.root = _Item(None, None)
        old = previous_rows(previous, summary) if previous is not None else None
        by_name: dict[str, _Item] = {}
        for row in summary.layers:
            parent_name = row.name.rsplit(".", 1)[0] if "." in row.name else ""
            parent = by_name.get(parent_name, self.root) if parent_name else self.root
            item = _Item(row, parent)
            if old is not None:
                before = old.get(row_key(row))
                if before is None:
                    item.status = "new"
                elif (tuple(before.output_shape) != tuple(row.output_shape)
                      or before.params != row.params):
                    item.status = "changed"
                    item.old_shape = tuple(before.output_shape)
                    item.old_params = before.params
            parent.children.append(item)
            by_name[row.name] = item
        if summary.error is not None:
            self.root.children.append(_Item(None, self.root, status="error"))
        self._positions = {}
        self._index_positions(self.root)
        self.endResetModel()

    def _index_positions(self, item: _Item) -> None:
        for i, child in enumerate(item.children):
            self._positions[id(child)] = i
            self._index_positions(child)

    def item(self, index: QModelIndex) -> _Item:
        return index.internalPointer() if index.isValid() else self.root

    def path_of(self, index: QModelIndex) -> tuple | None:
        """The block path of the row at ``index`` (the failing block for the error row)."""
        item = self.item(index)
        if item.status == "error":
            return self.error_path()
        return row_path(item.row) if item.row is not None else None

    def error_path(self) -> tuple | None:
        error = self.summary.error if self.summary is not None else None
        if error is None:
            return None
        path = getattr(error, "block_path", None)
        if path is not None:
            return tuple(path)
        return (error.block,) if error.block is not None else None

    def iter_items(self, item: _Item | None = None):
        for child in (item or self.root).children:
            yield child
            yield from self.iter_items(child)

    def index_of(self, item: _Item, column: int = 0) -> QModelIndex:
        if item is self.root:
            return QModelIndex()
        return self.createIndex(self._positions[id(item)], column, item)

    # -- QAbstractItemModel
    def index(self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = _ROOT
              ) -> QModelIndex:
        item = self.item(parent)
        if 0 <= row < len(item.children) and 0 <= column < len(COLUMNS):
            return self.createIndex(row, column, item.children[row])
        return QModelIndex()

    def parent(self, index: QModelIndex = _ROOT):
        if not index.isValid():
            return QModelIndex()
        parent = self.item(index).parent
        if parent is None or parent is self.root:
            return QModelIndex()
        return self.createIndex(self._positions[id(parent)], 0, parent)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self.item(parent).children)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.item(index)
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._error_text(col) if item.status == "error" else self._text(item, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self._tooltip(item))
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= PARAMS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            if not item.status:
                return None
            base = self.palette.color(QPalette.ColorRole.Base)
            if item.status == "error":
                return _blend(base, ERROR_RED, 0.18)
            if item.status in ("new", "changed"):
                return _blend(base, self.palette.color(QPalette.ColorRole.Highlight), 0.2)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if item.status == "error":
                return ERROR_RED
            return None
        if role == Qt.ItemDataRole.FontRole:
            if item.status == "error" or (item.row is not None and item.row.depth == 1
                                          and col == LAYER):
                font = QFont()
                font.setBold(True)
                return font
            return None
        return None

    def _text(self, item: _Item, col: int) -> str:
        row = item.row
        if col == LAYER:
            label = row.name.rsplit(".", 1)[-1]
            if row.depth == 1 and row.block is not None:
                label = f"{row.block}: {label}"
            return label + ("  (new)" if item.status == "new" else "")
        if col == TYPE:
            return row.type
        if col == OUTPUT:
            now = shape_text(row.output_shape)
            if item.status == "changed" and item.old_shape != tuple(row.output_shape):
                return f"{shape_text(item.old_shape)} → {now}"
            return now
        if col == PARAMS:
            text = f"{row.params:,}" if row.params else "–"
            if item.status == "changed" and item.old_params != row.params:
                text += f"  ({row.params - item.old_params:+,})"
            return text
        if col == MACS:
            from explorer.core.summary import format_count

            return format_count(row.mult_adds) if row.mult_adds else "–"
        if col == RF:
            if row.receptive_field is None:
                return ""
            stride = f"  (stride {row.effective_stride})" if row.effective_stride else ""
            return f"{row.receptive_field}{stride}"
        return ""

    def _error_text(self, col: int) -> str:
        error = self.summary.error
        if col == LAYER:
            where = error.path or (f"block {error.block}" if error.block is not None else
                                   "network")
            return f"✗ {where}"
        if col == TYPE:
            return "does not fit" if error.kind == "shape" else "invalid"
        if col == OUTPUT:
            return "?"
        return ""

    def _tooltip(self, item: _Item) -> str:
        if item.status == "error":
            error = self.summary.error
            return error.text() + (f"\nHint: {error.hint}" if error.hint else "")
        row = item.row
        lines = [f"{row.name} ({row.type})"]
        formula = geometry_tooltip(row)
        if formula:
            lines.append(formula)
        if item.status == "new":
            lines.append("new since the last edit")
        elif item.status == "changed":
            if item.old_shape != tuple(row.output_shape):
                lines.append(f"output {shape_text(item.old_shape)} → "
                             f"{shape_text(row.output_shape)}")
            if item.old_params != row.params:
                lines.append(f"{row.params - item.old_params:+,} params "
                             f"({item.old_params:,} → {row.params:,})")
        if row.own_mult_adds:
            from explorer.core.summary import format_count

            lines.append(f"{format_count(row.own_mult_adds)} of its "
                         f"{format_count(row.mult_adds)} mult-adds run in its own forward, "
                         "outside the layers listed (e.g. an attention product)")
        if row.receptive_field is not None:
            lines.append(f"each output sees {row.receptive_field} input pixels along the "
                         f"height; effective stride {row.effective_stride}")
        return "\n".join(lines)


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


class _Banner(QFrame):
    """A coloured message bar (the error, or the warnings); clicking it emits ``clicked``."""

    clicked = Signal()

    def __init__(self, tint: QColor | None, parent=None) -> None:
        super().__init__(parent)
        self.tint = tint
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label)
        self.hide()
        self.restyle()

    def restyle(self) -> None:
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Window)
        tint = self.tint or pal.color(QPalette.ColorRole.Highlight)
        self.setStyleSheet(
            f"_Banner {{ background: {_blend(base, tint, 0.16).name()}; "
            f"border: 1px solid {tint.name()}; border-radius: 4px; }}"
        )

    def mousePressEvent(self, event) -> None:
        self.clicked.emit()
        super().mousePressEvent(event)


class LayerTableView(QWidget):
    """The summary as a tree of rows, with a totals bar below and an error banner above.

    Signals
    -------
    blockActivated(object) : the ``BlockPath`` of the row the user clicked (or of the failing
        block when the error row or the banner is clicked).
    """

    blockActivated = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = LayerTableModel(self)
        self.banner = _Banner(ERROR_RED, self)
        self.warnings = _Banner(None, self)
        self.tree = QTreeView(self)
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.totals = QLabel(self)
        self.totals.setWordWrap(True)
        self.totals.setTextFormat(Qt.TextFormat.RichText)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals.setContentsMargins(6, 4, 6, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.banner)
        layout.addWidget(self.warnings)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.totals)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for text, depth in (("Blocks only", 1), ("Blocks and their layers", 2),
                            ("Three levels", 3), ("Every row", None)):
            action = QAction(text, self.tree)
            action.triggered.connect(lambda _=False, d=depth: self.expand_to_depth(d))
            self.tree.addAction(action)
        self.tree.clicked.connect(self._on_clicked)
        self.tree.activated.connect(self._on_clicked)
        self.banner.clicked.connect(self._on_banner)
        self._shown_name: str | None = None
        self._apply_palette()

    # ---------------------------------------------------------------- public API
    def set_summary(self, summary, previous=None) -> None:
        """Show ``summary``; rows that differ from ``previous`` are highlighted with deltas.

        The expansion of the tree and the scroll position are kept when ``summary`` is of the
        network shown before (same name).
        """
        same = self._shown_name is not None and summary.name == self._shown_name
        expanded = self._expanded_names() if same else None
        scroll = self.tree.verticalScrollBar().value()
        selected = self._selected_paths()
        self.model.set_summary(summary, previous)
        self._restore_expansion(expanded)
        if not same:
            for col in range(len(COLUMNS)):
                self.tree.resizeColumnToContents(col)
            self.tree.setColumnWidth(LAYER, max(self.tree.columnWidth(LAYER), 180))
        elif any(item.status for item in self.model.iter_items()):
            # deltas make cells wider; never narrow what the user set
            for col in (LAYER, OUTPUT, PARAMS):
                width = self.tree.columnWidth(col)
                self.tree.resizeColumnToContents(col)
                self.tree.setColumnWidth(col, max(width, self.tree.columnWidth(col)))
        self._shown_name = summary.name
        if selected:
            self._select_paths(selected, scroll_to=False)
        if same:
            self.tree.verticalScrollBar().setValue(scroll)
        self._show_banner(summary)
        self._show_totals(summary, previous)

    def select_block(self, path) -> None:
        """Select the rows of the block at ``path`` and scroll to them (``None`` clears)."""
        if path is None:
            self.tree.clearSelection()
            return
        self._select_paths([tuple(path)], scroll_to=True)

    def expand_to_depth(self, depth: int | None) -> None:
        """Show the rows down to ``depth`` (1: one row per block; ``None``: every row)."""
        if depth is None:
            self.tree.expandAll()
        else:
            self.tree.collapseAll()
            if depth > 1:
                self.tree.expandToDepth(depth - 2)

    def selected_path(self) -> tuple | None:
        """The block path of the current row, if any."""
        index = self.tree.currentIndex()
        return self.model.path_of(index) if index.isValid() else None

    # ---------------------------------------------------------------- internals
    def _on_clicked(self, index: QModelIndex) -> None:
        path = self.model.path_of(index)
        if path is not None:
            self.blockActivated.emit(path)

    def _on_banner(self) -> None:
        path = self.model.error_path()
        if path is not None:
            self.select_block(path)
            self.blockActivated.emit(path)

    def _expanded_names(self) -> set[str]:
        names = set()
        for item in self.model.iter_items():
            if item.row is not None and item.children and \
                    self.tree.isExpanded(self.model.index_of(item)):
                names.add(item.row.name)
        return names

    def _restore_expansion(self, names: set[str] | None) -> None:
        for item in self.model.iter_items():
            if item.row is None or not item.children:
                continue
            expand = item.row.depth == 1 if names is None else item.row.name in names
            if expand:
                self.tree.setExpanded(self.model.index_of(item), True)

    def _selected_paths(self) -> list[tuple]:
        paths = []
        for index in self.tree.selectionModel().selectedRows():
            path = self.model.path_of(index)
            if path is not None and path not in paths:
                paths.append(path)
        return paths

    def _matches(self, path: tuple) -> list[_Item]:
        """The rows of the block at ``path`` (its own, not its layers'), else its ancestor's."""
        error_path = self.model.error_path()
        for n in range(len(path), 0, -1):
            prefix = path[:n]
            found = []
            for item in self.model.iter_items():
                if item.status == "error":
                    if error_path is not None and error_path[:n] == prefix:
                        found.append(item)
                elif row_path(item.row) == prefix and not (
                    item.parent.row is not None and row_path(item.parent.row) == prefix
                ):
                    found.append(item)
            if found:
                return found
        return []

    def _select_paths(self, paths: list[tuple], scroll_to: bool) -> None:
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        selection = QItemSelection()
        first = None
        for path in paths:
            for item in self._matches(path):
                left = self.model.index_of(item, 0)
                right = self.model.index_of(item, len(COLUMNS) - 1)
                selection.select(left, right)
                first = first or left
        sel = self.tree.selectionModel()
        sel.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if first is not None:
            sel.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)
            parent = first.parent()
            while parent.isValid():
                self.tree.setExpanded(parent, True)
                parent = parent.parent()
            if scroll_to:
                self.tree.scrollTo(first, QAbstractItemView.ScrollHint.EnsureVisible)

    def _show_banner(self, summary) -> None:
        error = summary.error
        if error is None:
            self.banner.hide()
        else:
            what = " does not fit" if error.kind == "shape" else ""  # a spec error says why
            where = error.path or (f"block {error.block}" if error.block is not None else
                                   "the network")
            text = f"<b>✗ {_esc(where)}{what}:</b> {_esc(error.message)}"
            if error.in_shape and error.kind == "shape":
                text += f" <span>(input {shape_text(error.in_shape)})</span>"
            if error.hint:
                text += f"<br><b>Hint:</b> {_esc(error.hint)}"
            self.banner.label.setText(text)
            self.banner.show()
        if summary.warnings:
            self.warnings.label.setText("<br>".join(f"⚠ {_esc(w)}" for w in summary.warnings))
            self.warnings.show()
        else:
            self.warnings.hide()

    def _show_totals(self, summary, previous=None) -> None:
        from explorer.core.summary import format_bytes, format_count

        error = summary.error
        change = ""
        if previous is not None and previous.total_params != summary.total_params:
            change = f" ({summary.total_params - previous.total_params:+,})"
        parts = [
            ("Parameters", f"{summary.total_params:,}{change}"),
            ("trainable", f"{summary.trainable_params:,}"),
            ("Mult-adds", format_count(summary.mult_adds)),
            ("Activations", format_bytes(summary.activation_bytes)),
            ("Parameter memory", format_bytes(summary.param_bytes)),
            ("Output", shape_text(summary.output_shape)),
        ]
        text = " · ".join(f"{name} <b>{value}</b>" for name, value in parts)
        if error is not None and error.block is not None:
            if error.block == 0:
                text = "Nothing is built (block 0 has the error): " + text
            else:
                text = f"Up to block {error.block - 1} (the rows that fit): " + text
        self.totals.setText(text)

    def _apply_palette(self) -> None:
        self.model.palette = self.palette()
        self.banner.restyle()
        self.warnings.restyle()
        self.tree.viewport().update()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
        super().changeEvent(event)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
