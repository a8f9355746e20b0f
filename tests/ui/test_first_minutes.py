"""What a new user meets in the first minutes: an empty network says how to start, Help lists
the real shortcuts and a short guide, and right-click menus on the tree, the diagram and the
layer table do what they say."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QContextMenuEvent, QImage, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QMenu,
    QTableWidget,
    QTextBrowser,
)
from test_window import palette_item, types
from ui_helpers import fresh_summary, index_of

from explorer.core.summary_formats import summary_csv, summary_markdown
from explorer.ui.widgets.diagram import DIAGRAM_EMPTY_HINT
from explorer.ui.widgets.editor_tree import TREE_EMPTY_HINT


def _ink(widget) -> int:
    """Pixels of text (not the background colour) in the middle third of ``widget``."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    w, h = image.width(), image.height()
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    middle = pixels[h // 3: 2 * h // 3, : w * 4].reshape(-1, w, 4)[:, :, :3].astype(int)
    base = widget.palette().color(QPalette.ColorRole.Base)
    target = np.array([base.blue(), base.green(), base.red()])
    return int((np.abs(middle - target).sum(axis=2) > 60).sum())


def test_an_empty_network_says_how_to_start(qtbot, window):
    fresh_summary(qtbot, window, window.act_new.trigger)
    QApplication.processEvents()
    assert window.document.spec.blocks == ()
    assert window.tree.empty_hint() == TREE_EMPTY_HINT
    assert "Drag a block here" in TREE_EMPTY_HINT and "preset" in TREE_EMPTY_HINT
    assert window.diagram.is_empty() and "Presets menu" in DIAGRAM_EMPTY_HINT
    assert _ink(window.tree.viewport()) > 50          # the hint is painted
    assert _ink(window.diagram.viewport()) > 50
    item = palette_item(window, "conv2d")
    rect = window.palette_view.tree.visualItemRect(item)
    viewport = window.palette_view.tree.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    fresh_summary(qtbot, window, lambda: qtbot.mouseDClick(
        viewport, Qt.MouseButton.LeftButton, pos=rect.center()))
    QApplication.processEvents()
    assert types(window) == ["conv2d"]
    assert window.tree.empty_hint() == "" and not window.diagram.is_empty()
    assert _ink(window.tree.viewport()) < 20


def _open_dialog(qtbot, window, action) -> QDialog:
    action.trigger()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(QDialog)),
                    timeout=5000)
    return next(d for d in window.findChildren(QDialog) if d.isVisible())


def _table_rows(dialog) -> list[tuple[str, str, str]]:
    table = dialog.findChild(QTableWidget, "shortcuts")
    return [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]


def test_help_lists_the_real_shortcuts_and_a_short_guide(qtbot, window):
    dialog = _open_dialog(qtbot, window, window.act_shortcuts)
    rows = _table_rows(dialog)
    for row in (("Ctrl+Z", "Undo", "Edit"), ("Ctrl+Shift+Z or Ctrl+Y", "Redo", "Edit"),
                ("F5", "Start training", "Train"), ("Ctrl+1", "Build", "View"),
                ("Ctrl+2", "Train & look", "View"), ("Ctrl+Shift+R", "Wrap in residual", "Edit"),
                ("Ctrl+/", "Keyboard shortcuts", "Help")):
        assert row in rows
    dialog.close()
    # a new action with a key is listed by itself: the list cannot go stale
    extra = QAction("Frobnicate", window)
    extra.setShortcut(QKeySequence("Ctrl+Alt+K"))
    window.menu("&Train").addAction(extra)
    window.act_train_look.setShortcut(QKeySequence("Ctrl+9"))
    dialog = _open_dialog(qtbot, window, window.act_shortcuts)
    rows = _table_rows(dialog)
    assert ("Ctrl+Alt+K", "Frobnicate", "Train") in rows
    assert ("Ctrl+9", "Train & look", "View") in rows
    dialog.close()
    guide = _open_dialog(qtbot, window, window.act_guide)
    plain = guide.findChild(QTextBrowser, "guide").toPlainText()
    assert "F5 trains the network you are editing" in plain
    assert "Ctrl+9" in plain                              # the key the action has now
    guide.close()


def _context_menu(qtbot, view, pos, choose: tuple[str, ...] = ()) -> list[str]:
    """Right-click ``view`` at ``pos``; return the menu's entries, and trigger the entry at
    the end of ``choose`` (through its submenus) before the menu closes."""
    seen: dict[str, list[str]] = {}

    def answer() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(20, answer)
            return
        seen["entries"] = _entries(menu)
        current, action = menu, None
        for text in choose:
            action = next(a for a in current.actions() if a.text().replace("&", "") == text)
            current = action.menu() or current
        menu.close()
        if action is not None:
            action.trigger()

    QTimer.singleShot(20, answer)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, view.mapToGlobal(pos))
    QApplication.sendEvent(view, event)  # a menu made of the view's actions runs in here
    qtbot.waitUntil(lambda: "entries" in seen, timeout=5000)
    return seen["entries"]


def _entries(menu) -> list[str]:
    return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]


def test_the_trees_menu_inserts_deletes_and_wraps_the_block_under_the_mouse(qtbot, window):
    tree = window.tree
    pos = tree.visualRect(index_of(window, (2,))).center()          # relu1
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    with qtbot.waitSignal(window.summary_ready, timeout=30000):
        entries = _context_menu(qtbot, tree.viewport(), pos, ("Insert after", "Layers",
                                                               "dropout"))
    for entry in ("Insert after", "Delete", "Duplicate", "Wrap in residual", "Wrap in group",
                  "Unwrap", "Save as my block…"):
        assert entry in entries
    assert types(window)[:5] == ["conv2d", "max_pool2d", "relu", "dropout", "inception_a"]
    pos = tree.visualRect(index_of(window, (3,))).center()
    fresh_summary(qtbot, window, lambda: _context_menu(qtbot, tree.viewport(), pos,
                                                       ("Delete",)))
    assert types(window)[:4] == ["conv2d", "max_pool2d", "relu", "inception_a"]
    # a block with required settings gets the palette's starting values: a valid network
    pos = tree.visualRect(index_of(window, (0,))).center()          # conv1
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    fresh_summary(qtbot, window, lambda: _context_menu(qtbot, tree.viewport(), pos, (
        "Insert after", "Layers", "conv2d")))
    inserted = window.document.spec.blocks[1]
    assert inserted.type == "conv2d" and inserted.params["out_channels"] == 16
    assert window.latest_summary.error is None
    # on empty space: only Insert, at the end
    bottom = QPoint(10, tree.viewport().height() - 5)
    assert _context_menu(qtbot, tree.viewport(), bottom) == ["Insert"]


def test_the_diagram_saves_itself_as_png_and_svg(qtbot, window, tmp_path, monkeypatch):
    diagram = window.diagram
    entries = _context_menu(qtbot, diagram.viewport(), QPoint(20, 20))
    assert entries[:2] == ["Save diagram as PNG…", "Save diagram as SVG…"]
    layout = diagram.diagram_layout()
    for kind in ("png", "svg"):
        target = tmp_path / f"net.{kind}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            lambda *a, t=target, **k: (str(t.with_suffix("")), ""))
        diagram.save_actions[kind].trigger()
        assert target.is_file()
    image = QImage(str(tmp_path / "net.png"))
    assert (image.width(), image.height()) == (round(2 * layout.width), round(2 * layout.height))
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 3                                 # boxes and text, not a blank page
    svg = (tmp_path / "net.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "conv1" in svg
    # a folder that cannot be written: a dialog names the file, nothing else happens
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "no" / "such" / "x.png"), ""))
    from ui_helpers import answer_dialog

    log: list[str] = []
    answer_dialog("OK", log=log)
    diagram.save_actions["png"].trigger()
    assert "x.png could not be written" in log[0]


def test_the_layer_table_copies_itself_as_markdown_and_csv(qtbot, window):
    table = window.table
    entries = _context_menu(qtbot, table.tree.viewport(), QPoint(30, 30),
                            ("Copy table as Markdown",))
    assert "Copy table as CSV" in entries
    summary = window.latest_summary
    assert QApplication.clipboard().text() == summary_markdown(summary)
    assert "| conv1 | conv2d | 10×24×24 | 260 |" in QApplication.clipboard().text()
    table.copy_actions["csv"].trigger()
    assert QApplication.clipboard().text() == summary_csv(summary)
    assert QApplication.clipboard().text().splitlines()[1] == "1,conv1,conv2d,10×24×24,260,149760,5,1"
