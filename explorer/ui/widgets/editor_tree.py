"""The network editor: a tree of the document's blocks, containers expandable to their slots.

:class:`NetworkModel` is a read-only view of :attr:`Document.spec`: every change it offers (a
drop, a reorder) goes through :meth:`Document.edit` as one undoable command built from a pure
edit of :mod:`explorer.core.edit`. :class:`EditorTree` adds the editing actions (insert after
the selection, delete, duplicate, move, wrap, unwrap) and keeps selection and expansion by
:data:`BlockPath` across edits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView

from explorer.core.registry import describe_block
from explorer.ui.style import ERROR_RED, paint_hint
from explorer.ui.widgets.palette import BLOCK_MIME

PATH_MIME = "application/x-network-explorer-path"
"""Mime type of a block dragged inside the tree: the JSON list of its :data:`BlockPath`."""

TREE_EMPTY_HINT = ("This network has no blocks yet.\n\nDrag a block here from the Blocks "
                   "palette, or double-click one there; or open a preset from the Presets "
                   "menu.")
ERROR_BG = QColor(ERROR_RED.red(), ERROR_RED.green(), ERROR_RED.blue(), 40)
_NO_INDEX = QModelIndex()


@dataclass(eq=False)
class _Node:
    kind: str                       # "root", "block", "list" (a slot's list of blocks), "info"
    path: tuple                     # block: its BlockPath; list: the prefix of its items
    label: str = ""
    detail: str = ""
    block: Any = None
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)

    @property
    def row(self) -> int:
        return self.parent.children.index(self) if self.parent else 0

    def key(self) -> tuple:
        return (self.kind, self.path)


def block_label(block) -> str:
    if block.type == "group" and block.params.get("name"):
        return f"group {block.params['name']}"
    return block.type


class NetworkModel(QAbstractItemModel):
    """Blocks in order; a container's children are its slots (body, blocks, branch 1 …)."""

    def __init__(self, document, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self._root = _Node("root", ())
        self._error_path: tuple | None = None
        self._by_key: dict[tuple, _Node] = {}
        document.changed.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ building
    def refresh(self) -> None:
        self.beginResetModel()
        self._root = _Node("root", ())
        self._by_key = {}
        spec = self.document.spec
        if spec is not None and not self.document.read_only:
            self._fill(self._root, (), spec.blocks)
        self.endResetModel()

    def _fill(self, parent: _Node, prefix: tuple, blocks) -> None:
        from explorer.core.edit import slots

        for i, block in enumerate(blocks):
            path = (*prefix, i)
            label = f"{i}  {block_label(block)}" if not prefix else block_label(block)
            node = self._add(parent, _Node("block", path, label, describe_block(block), block))
            for name, kind in slots(block):
                if kind == "blocks":
                    items = block.params.get(name, ())
                    lst = self._add(node, _Node("list", (*path, name), name,
                                                f"{len(items)} block(s)"))
                    self._fill(lst, (*path, name), items)
                else:
                    for b, branch in enumerate(block.params.get(name, ())):
                        lst = self._add(node, _Node(
                            "list", (*path, name, b), f"branch {b + 1}",
                            f"{len(branch)} block(s)" if branch else "identity"))
                        self._fill(lst, (*path, name, b), branch)
            if block.type == "residual":
                self._add(node, _Node("info", (*path, "shortcut"), "shortcut",
                                      str(block.params.get("shortcut", "identity (default)"))))

    def _add(self, parent: _Node, node: _Node) -> _Node:
        node.parent = parent
        parent.children.append(node)
        self._by_key[node.key()] = node
        return node

    # ------------------------------------------------------------------ lookups
    def node(self, index: QModelIndex) -> _Node:
        return index.internalPointer() if index.isValid() else self._root

    def index_of_path(self, path: tuple, kind: str = "block") -> QModelIndex:
        node = self._by_key.get((kind, tuple(path)))
        if node is None:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    def set_error_path(self, path: tuple | None) -> None:
        """Mark the block at ``path`` (and the containers around it) as failing."""
        old, self._error_path = self._error_path, tuple(path) if path else None
        if old != self._error_path:
            self._emit_all_changed()

    def error_path(self) -> tuple | None:
        return self._error_path

    def _emit_all_changed(self) -> None:
        def walk(parent: QModelIndex) -> None:
            rows = self.rowCount(parent)
            if rows:
                self.dataChanged.emit(self.index(0, 0, parent), self.index(rows - 1, 1, parent))
                for r in range(rows):
                    walk(self.index(r, 0, parent))

        walk(QModelIndex())

    # ------------------------------------------------------------------ Qt model API
    def index(self, row: int, column: int, parent: QModelIndex = _NO_INDEX) -> QModelIndex:
        node = self.node(parent)
        if 0 <= row < len(node.children) and 0 <= column < 2:
            return self.createIndex(row, column, node.children[row])
        return QModelIndex()

    def parent(self, index: QModelIndex = _NO_INDEX) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        node = index.internalPointer().parent
        if node is None or node is self._root:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    def rowCount(self, parent: QModelIndex = _NO_INDEX) -> int:
        if parent.column() > 0:
            return 0
        return len(self.node(parent).children)

    def columnCount(self, parent: QModelIndex = _NO_INDEX) -> int:
        return 2

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Block", "Settings")[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        node = index.internalPointer()
        if role == Qt.ItemDataRole.DisplayRole:
            return node.label if index.column() == 0 else node.detail
        failing = self._is_failing(node)
        if role == Qt.ItemDataRole.ForegroundRole:
            if failing:
                return QBrush(ERROR_RED)
            if node.kind in ("list", "info"):
                return QBrush(QColor("#777777"))
        if role == Qt.ItemDataRole.BackgroundRole and failing == "self":
            return QBrush(ERROR_BG)
        if role == Qt.ItemDataRole.FontRole and (failing == "self" or node.kind == "list"):
            font = QFont()
            font.setBold(failing == "self")
            font.setItalic(node.kind == "list")
            return font
        if role == Qt.ItemDataRole.ToolTipRole and failing == "self":
            return "This block does not fit: see the banner above the layer table."
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and failing:
            return "failing block"
        return None

    def _is_failing(self, node: _Node) -> str | None:
        err = self._error_path
        if err is None or node.kind != "block":
            return None
        if node.path == err:
            return "self"
        if err[: len(node.path)] == node.path:
            return "inside"
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        node = index.internalPointer()
        if node.kind == "block":
            return base | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        if node.kind == "list":
            return base | Qt.ItemFlag.ItemIsDropEnabled
        return Qt.ItemFlag.ItemIsEnabled

    # ------------------------------------------------------------------ drag and drop
    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [PATH_MIME, BLOCK_MIME]

    def mimeData(self, indexes) -> QMimeData:
        nodes = [self.node(i) for i in indexes if i.isValid() and i.column() == 0]
        nodes = [n for n in nodes if n.kind == "block"]
        mime = QMimeData()
        if nodes:
            mime.setData(PATH_MIME, json.dumps(list(nodes[0].path)).encode())
            mime.setData(BLOCK_MIME, json.dumps(nodes[0].block.to_dict()).encode())
        return mime

    def drop_target(self, row: int, parent: QModelIndex) -> tuple | None:
        """The position a drop at ``row`` under ``parent`` inserts at, or ``None`` if none."""
        node = self.node(parent)
        if node.kind == "root":
            return (len(node.children) if row < 0 else row,)
        if node.kind == "list":
            count = len(node.children)
            return (*node.path, count if row < 0 else min(row, count))
        if node.kind == "block":
            lists = [c for c in node.children if c.kind == "list"]
            if lists:  # onto a container: into its first slot, at the end
                return (*lists[0].path, len(lists[0].children))
            return (*node.path[:-1], node.path[-1] + 1)  # onto a block: right after it
        return None

    def canDropMimeData(self, data, action, row, column, parent) -> bool:
        if self.document.read_only or self.drop_target(row, parent) is None:
            return False
        if data.hasFormat(PATH_MIME):
            src = tuple(json.loads(bytes(data.data(PATH_MIME)).decode()))
            dst = self.drop_target(row, parent)
            return dst[: len(src)] != src  # not into itself
        return data.hasFormat(BLOCK_MIME)

    def dropMimeData(self, data, action, row, column, parent) -> bool:
        from explorer.core.edit import EditError, insert, move, shift_after_removal
        from explorer.core.spec import BlockSpec, SpecError

        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        dst = self.drop_target(row, parent)
        spec = self.document.spec
        try:
            if data.hasFormat(PATH_MIME) and action == Qt.DropAction.MoveAction:
                src = tuple(json.loads(bytes(data.data(PATH_MIME)).decode()))
                if dst[:-1] == src[:-1] and dst[-1] in (src[-1], src[-1] + 1):
                    return False  # dropped where it already is
                target = shift_after_removal(dst, src)
                new = move(spec, src, target)
                self.pending_selection = target
                return self.document.edit(f"Move {spec_type(spec, src)}", new)
            block = BlockSpec.from_dict(json.loads(bytes(data.data(BLOCK_MIME)).decode()))
            self.pending_selection = dst
            return self.document.edit(f"Add {block.type}", insert(spec, dst, block))
        except (EditError, SpecError, ValueError):
            return False

    pending_selection: tuple | None = None


def spec_type(spec, path) -> str:
    from explorer.core.edit import block_at

    return block_at(spec, path).type


class EditorTree(QTreeView):
    """The tree view with the editing actions; selection and expansion kept across edits.

    Signals
    -------
    blockSelected(path or None) : the current block changed (by the user).
    """

    blockSelected = Signal(object)
    problem = Signal(str)  # an edit that could not be done, in words (for the status bar)

    def __init__(self, document, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.model_ = NetworkModel(document, self)
        self._expanded: set[tuple] = set()
        self._current: tuple | None = None
        self.setModel(self.model_)
        # after setModel, so that these run after the view's own reset (which clears it all)
        self.model_.modelAboutToBeReset.connect(self._remember)
        self.model_.modelReset.connect(self._restore)
        self.setHeaderHidden(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setAnimated(False)
        self.setUniformRowHeights(True)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(True)
        self.selectionModel().currentRowChanged.connect(self._current_changed)
        self.expanded.connect(lambda i: self._expanded.add(self.model_.node(i).key()))
        self.collapsed.connect(lambda i: self._expanded.discard(self.model_.node(i).key()))

    def empty_hint(self) -> str:
        """What the tree says when the network has no blocks yet ("" otherwise)."""
        spec = self.document.spec
        if spec is None or spec.blocks:
            return ""
        return TREE_EMPTY_HINT

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        hint = self.empty_hint()
        if hint:
            paint_hint(self, hint, 16)

    # ------------------------------------------------------------------ selection
    def current_path(self) -> tuple | None:
        """The BlockPath of the current block (a slot row gives ``None``)."""
        node = self.model_.node(self.currentIndex())
        return node.path if node.kind == "block" else None

    def current_node(self):
        return self.model_.node(self.currentIndex())

    def selected_paths(self) -> list[tuple]:
        """The selected blocks' paths, in document order."""
        rows = self.selectionModel().selectedRows(0)
        paths = [self.model_.node(i).path for i in rows if self.model_.node(i).kind == "block"]
        return sorted(paths, key=_sort_key)

    def select_block(self, path: tuple | None) -> None:
        """Make the block at ``path`` current (expanding what contains it); no signal."""
        index = self.model_.index_of_path(path) if path is not None else QModelIndex()
        self.blockSignals(True)
        try:
            if index.isValid():
                parent = index.parent()
                while parent.isValid():
                    self.expand(parent)
                    parent = parent.parent()
                self.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows)
                self.scrollTo(index)
            else:
                self.selectionModel().clearSelection()
                self.selectionModel().setCurrentIndex(
                    QModelIndex(), QItemSelectionModel.SelectionFlag.Clear)
        finally:
            self.blockSignals(False)
        self._current = tuple(path) if path is not None else None

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        node = self.model_.node(current)
        path = node.path if node.kind == "block" else None
        self._current = path
        self.blockSelected.emit(path)

    def _remember(self) -> None:
        self._current = self.current_path()

    def _restore(self) -> None:
        for key in list(self._expanded):
            node = self.model_._by_key.get(key)
            if node is None:
                self._expanded.discard(key)
                continue
            self.blockSignals(True)
            self.setExpanded(self.model_.createIndex(node.row, 0, node), True)
            self.blockSignals(False)
        target = self.model_.pending_selection or self._current
        self.model_.pending_selection = None
        if target is not None and not self.model_.index_of_path(target).isValid():
            target = _nearest(self.model_, target)
        self.select_block(target)
        self.blockSelected.emit(self._current)

    def expand_path(self, path: tuple) -> None:
        """Expand the block at ``path`` and all its slots."""
        index = self.model_.index_of_path(path)
        if index.isValid():
            self.expandRecursively(index)
            for r in range(self.model_.rowCount(index)):
                self._expanded.add(self.model_.node(self.model_.index(r, 0, index)).key())
            self._expanded.add(("block", tuple(path)))

    # ------------------------------------------------------------------ edits
    def _edit(self, text: str, fn, *args, select: tuple | None = None) -> bool:
        from explorer.core.edit import EditError

        if self.document.read_only or self.document.spec is None:
            return False
        try:
            new = fn(self.document.spec, *args)
        except (EditError, ValueError) as exc:
            self.problem.emit(f"{text}: {exc}")
            return False
        self.model_.pending_selection = select
        done = self.document.edit(text, new)
        if not done:
            self.model_.pending_selection = None
        return done

    def insertion_point(self) -> tuple:
        """Where a new block goes: after the current block, into a current slot, or at the end."""
        node = self.current_node()
        if node.kind == "block":
            return (*node.path[:-1], node.path[-1] + 1)
        if node.kind == "list":
            return (*node.path, len(node.children))
        return (len(self.document.spec.blocks),)

    def insert_block(self, block: dict) -> bool:
        """Insert ``block`` (a block dict) after the selection; it becomes the selection."""
        from explorer.core.edit import insert
        from explorer.core.spec import BlockSpec

        spec_block = BlockSpec.from_dict(block)
        at = self.insertion_point()
        return self._edit(f"Add {spec_block.type}", insert, at, spec_block, select=at)

    def delete_selected(self) -> bool:
        from explorer.core.edit import remove

        paths = self.selected_paths()
        if not paths:
            return False

        def remove_all(spec, paths):
            for p in reversed(paths):  # later paths first, so earlier ones stay valid
                spec = remove(spec, p)
            return spec

        first = paths[0]
        what = spec_type(self.document.spec, first) if len(paths) == 1 else f"{len(paths)} blocks"
        nested = [p for p in paths if not any(q != p and p[: len(q)] == q for q in paths)]
        return self._edit(f"Delete {what}", remove_all, nested, select=first)

    def duplicate_selected(self) -> bool:
        from explorer.core.edit import block_at, insert

        path = self.current_path()
        if path is None:
            return False
        block = block_at(self.document.spec, path)
        at = (*path[:-1], path[-1] + 1)
        return self._edit(f"Duplicate {block.type}", insert, at, block, select=at)

    def move_selected(self, delta: int) -> bool:
        from explorer.core.edit import move

        path = self.current_path()
        if path is None:
            return False
        siblings = _sibling_count(self.document.spec, path)
        target = path[-1] + delta
        if not 0 <= target < siblings:
            return False
        dst = (*path[:-1], target)
        return self._edit("Move up" if delta < 0 else "Move down", move, path, dst, select=dst)

    def wrap_selected(self, container: str) -> bool:
        from explorer.core.edit import wrap

        paths = self.selected_paths()
        if not paths:
            return False
        return self._edit(f"Wrap in {container}", wrap, paths, container, select=paths[0])

    def unwrap_selected(self) -> bool:
        from explorer.core.edit import unwrap

        path = self.current_path()
        if path is None:
            return False
        return self._edit("Unwrap", unwrap, path, select=path)

    def add_branch(self) -> bool:
        from explorer.core.edit import block_at, insert_branch

        path = self.current_path()
        if path is None or block_at(self.document.spec, path).type != "parallel":
            return False
        count = len(block_at(self.document.spec, path).params.get("branches", ()))
        return self._edit("Add branch", insert_branch, path, count, select=path)


def _sort_key(path: tuple) -> tuple:
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in path)


def _sibling_count(spec, path: tuple) -> int:
    from explorer.core.edit import block_at

    if len(path) == 1:
        return len(spec.blocks)
    parent = block_at(spec, path[:-2] if isinstance(path[-2], str) else path[:-3])
    items = parent.params.get(path[-2]) if isinstance(path[-2], str) else \
        parent.params.get(path[-3])[path[-2]]
    return len(items)


def _nearest(model: NetworkModel, path: tuple) -> tuple | None:
    """The closest existing block to a path that no longer exists (previous sibling, parent)."""
    path = tuple(path)
    while path:
        if isinstance(path[-1], int):
            for i in range(path[-1], -1, -1):
                candidate = (*path[:-1], i)
                if model.index_of_path(candidate).isValid():
                    return candidate
        path = path[:-1]
        while path and not isinstance(path[-1], int):
            path = path[:-1]
        if path and model.index_of_path(path).isValid():
            return path
    return None
