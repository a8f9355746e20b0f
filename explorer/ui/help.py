"""Help ▸ Keyboard shortcuts and Help ▸ Getting started.

The shortcut list is read from the window's actions when it opens (its menus, then any other
action with a key, named by the view it belongs to), so it cannot go stale; the guide quotes
the keys of the actions it mentions the same way.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def keys(action: QAction) -> str:
    """The action's shortcuts as the user types them (``Ctrl+Shift+Z or Ctrl+Y``)."""
    return " or ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                       for s in action.shortcuts() if not s.isEmpty())


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """``(keys, action, where)`` for every action of ``window`` that has a shortcut: the
    menus' first, in menu order, then actions of single views (``where``: the view)."""
    rows: list[tuple[str, str, str]] = []
    seen: set[int] = set()

    def walk(menu: QMenu, where: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{where} ▸ {_plain(action.text())}")
            elif keys(action) and id(action) not in seen:
                seen.add(id(action))
                rows.append((keys(action), _plain(action.text()), where))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), _plain(top.text()))
    for action in window.findChildren(QAction):
        if keys(action) and id(action) not in seen and not action.isSeparator():
            seen.add(id(action))
            rows.append((keys(action), _plain(action.text()), _view_of(window, action)))
    return rows


def _view_of(window, action: QAction) -> str:
    """The title of the view an action belongs to (the widget that owns it)."""
    owner = action.parent()
    for _area, title, widget in window.workspaces.views():
        if owner is widget or (hasattr(owner, "isWidgetType") and owner.isWidgetType()
                               and widget.isAncestorOf(owner)):
            return title
    return "Window"


def shortcuts_dialog(window) -> QDialog:
    """A dialog listing :func:`shortcut_rows` (not shown yet)."""
    dialog = QDialog(window)
    dialog.setWindowTitle("Keyboard shortcuts")
    rows = shortcut_rows(window)
    table = QTableWidget(len(rows), 3, dialog)
    table.setObjectName("shortcuts")
    table.setHorizontalHeaderLabels(["Keys", "Action", "Where"])
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    _with_close(dialog, table)
    dialog.resize(620, 560)
    return dialog


GUIDE = """
<h3>Build</h3>
<p>Start from a preset (<b>Presets</b> menu) or from nothing (<b>File ▸ New</b>, {new}).
Drag blocks from the <b>Blocks</b> palette into the tree, or double-click one to insert it
after the selected block; right-click a block for more. The layer table and the diagram show
every layer's output shape, parameters, mult-adds and receptive field after each edit, and
highlight what changed. A block that does not fit turns red, with the reason and a hint above
the table. Undo with {undo}.</p>
<h3>Train &amp; look</h3>
<p>{train} trains the network you are editing on the bundled digits (or a data set you
choose on the left); the <b>Curves</b> come forward, and the status bar shows the epoch, the
test accuracy and the time left. <b>Draw</b> a digit to see what the network reads and the
28×28 image it receives; <b>Feature maps</b> shows what each layer makes of it;
<b>Confusion</b> and <b>Runs</b> follow each run. Switch workspaces with {build} and
{look}.</p>
<h3>Take it away</h3>
<p><b>File ▸ Export</b> writes PyTorch code, a training script or ONNX; <b>File ▸ Save</b>
keeps the architecture as JSON. The <b>Code</b> tab beside the diagram shows the code as
you edit. Every key is listed in <b>Help ▸ Keyboard shortcuts</b>.</p>
"""


def guide_html(window) -> str:
    """The short guide, quoting the keys of the window's own actions."""
    def key(action: QAction) -> str:
        return f"<b>{keys(action)}</b>" if keys(action) else "its menu entry"

    training = getattr(window, "training", None)
    train = key(training.panel.start_action) if training is not None else "Train ▸ Start"
    return GUIDE.format(new=key(window.act_new), undo=key(window.act_undo), train=train,
                        build=key(window.act_build), look=key(window.act_train_look))


def guide_dialog(window) -> QDialog:
    dialog = QDialog(window)
    dialog.setWindowTitle("Getting started")
    text = QTextBrowser(dialog)
    text.setObjectName("guide")
    text.setHtml(guide_html(window))
    _with_close(dialog, text)
    dialog.resize(560, 520)
    return dialog


def _with_close(dialog: QDialog, body) -> None:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(body)
    layout.addWidget(buttons)
