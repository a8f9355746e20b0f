"""Start-up: `explorer` opens the window, window before torch, crash hook, palette, form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from ui_helpers import answer_dialog

import explorer.cli
from explorer.core.presets import preset_spec
from explorer.core.registry import get_block, list_blocks
from explorer.core.spec import BlockSpec
from explorer.ui.widgets.fields import parse_size
from explorer.ui.widgets.palette import BLOCK_MIME, PALETTE_HINT, BlockPalette
from explorer.ui.widgets.properties import PropertiesPanel

ROOT = Path(__file__).resolve().parents[2]


def test_no_subcommand_or_a_file_opens_the_window_and_subcommands_still_work(monkeypatch,
                                                                            tmp_path):
    opened = []
    monkeypatch.setattr("explorer.ui.app.main", lambda argv: opened.append(argv) or 0)
    assert explorer.cli.main([]) == 0
    net = tmp_path / "net.json"
    net.write_text("{}")
    assert explorer.cli.main([str(net)]) == 0
    assert opened == [[], [str(net)]]
    assert explorer.cli.main(["presets"]) == 0 and len(opened) == 2
    assert explorer.cli.main(["no-such-command"]) == 2 and len(opened) == 2


def test_the_window_is_created_and_shown_before_torch_is_imported(tmp_path):
    code = (
        "import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from explorer.ui.app import create_app\n"
        "app = create_app([])\n"
        "from explorer.ui.main_window import MainWindow\n"
        "w = MainWindow(); w.show(); app.processEvents()\n"
        "print('torch' in sys.modules, w.isVisible(), flush=True)\n"
        "w.shutdown()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_exception_hook_autosaves_logs_and_shows_a_copyable_dialog(qtbot, isolated_folders,
                                                                   monkeypatch):
    from ui_helpers import close_window, make_window

    window = make_window(qtbot)
    try:
        from explorer.ui.app import install_exception_hook

        monkeypatch.setattr(sys, "excepthook", sys.excepthook)
        install_exception_hook(window)
        log: list[str] = []
        answer_dialog("Ok", log=log)
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: len(log) == 2)  # shown on the GUI thread, once posted
        crashes = list((isolated_folders / "state" / "network-explorer" / "crashes").iterdir())
        assert len(crashes) == 1 and "RuntimeError: boom" in crashes[0].read_text()
        assert "internal error: boom" in log[0] and "RuntimeError: boom" in log[1]
        record = (isolated_folders / "state" / "network-explorer" / "sessions"
                  / f"{window.session.id}.json")
        assert json.loads(record.read_text())["work"]["spec"]["name"] == "course-inception"
    finally:
        import threading

        from explorer.ui.background import wait_detached

        monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)
        close_window(window, qtbot)
        window.shutdown()
        wait_detached()  # the torchvision list, left to end by itself, as the app does


def test_palette_groups_tooltips_and_drag_data(qtbot):
    palette = BlockPalette()
    qtbot.addWidget(palette)
    palette.set_blocks(list_blocks())
    assert {i.text(0) for i in palette.items()} == {b.name for b in list_blocks()}
    conv = palette.find("conv2d")
    assert conv.parent().text(0) == "Layers"
    tip = conv.toolTip(0)
    assert "<b>out_channels</b>: an integer ≥ 1" in tip and "<b>kernel_size</b>" in tip
    mime = palette.tree.mimeData([conv])
    assert json.loads(bytes(mime.data(BLOCK_MIME)).decode()) == {"type": "conv2d",
                                                                "out_channels": 16}
    palette.search.setText("concaten")
    visible = {i.text(0) for i in palette.items() if not i.isHidden()}
    assert "parallel" in visible and "conv2d" not in visible


def test_palette_says_what_the_selected_block_does_under_the_list(qtbot):
    palette = BlockPalette()
    qtbot.addWidget(palette)
    palette.set_blocks(list_blocks())
    assert palette.tree.isColumnHidden(1)  # no clipped column in a narrow dock
    assert palette.description.text() == PALETTE_HINT
    dropout = palette.find("dropout")
    palette.tree.setCurrentItem(dropout)
    assert palette.description.text() == f"<b>dropout</b>: {get_block('dropout').doc}"
    palette.tree.setCurrentItem(dropout.parent())  # a group header: back to the hint
    assert palette.description.text() == PALETTE_HINT


def test_property_form_follows_the_schema(qtbot):
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    block = BlockSpec("dropout", {"p": 0.3})
    panel.set_block((2,), block, get_block("dropout"))
    field = panel.fields["p"]
    assert field.value() == 0.3 and "≥ 0 and < 1" in field.editor.toolTip()
    linear = BlockSpec("linear", {"out_features": "classes"})
    panel.set_block((3,), linear, get_block("linear"))
    field = panel.fields["out_features"]
    assert field.alt.isChecked() and not field.editor.isEnabled()
    edits = []
    panel.paramEdited.connect(lambda *a: edits.append(a))
    field.alt.setChecked(False)
    assert edits == [((3,), "out_features", field.editor.number())]
    residual = BlockSpec("residual", {"body": ()})
    panel.set_block((0,), residual, get_block("residual"))
    combo = panel.fields["shortcut"].editor
    assert [combo.itemText(i) for i in range(combo.count())] == ["identity", "conv1x1", "pad",
                                                                 "none"]
    assert "body" not in panel.fields
    assert parse_size("3×5") == [3, 5] and parse_size(" 7 ") == 7 and parse_size("") is None
    QApplication.processEvents()


@pytest.mark.parametrize("name, text, reason", [
    ("out_channels", "-5", "out_channels = -5 is not valid; expected an integer ≥ 1 and ≤ 65536"),
    ("out_channels", "1000000000", "out_channels = 1000000000 is not valid; expected an int"),
    ("kernel_size", "0", "kernel_size = 0 is not valid"),
    ("out_channels", "many", "'many' is not an integer"),
])
def test_out_of_range_block_values_are_refused_with_the_range(qtbot, name, text, reason):
    """Issue 13: a spin box clamped −5 to 5 and 10⁹ to its maximum without a word."""
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    panel.set_network(preset_spec("lenet"))
    panel.set_block((0,), BlockSpec("conv2d", {"out_channels": 10, "kernel_size": 5}),
                    get_block("conv2d"))
    panel.show()
    edits = []
    panel.paramEdited.connect(lambda *a: edits.append(a))
    field = panel.fields[name]
    field.editor.selectAll()
    qtbot.keyClicks(field.editor, text)
    qtbot.keyClick(field.editor, Qt.Key.Key_Return)
    assert edits == []
    assert field.editor.text() == text                   # what was typed stays
    assert field.error.text().startswith(reason) and field.error.isVisibleTo(panel)


@pytest.mark.parametrize("index, text, reason", [
    (None, "0", "num_classes = 0 is not valid; expected an integer ≥ 1"),
    (None, "-3", "num_classes = -3 is not valid"),
    (1, "0", "height = 0 is not valid; expected an integer ≥ 1"),
    (0, "99999999", "channels = 99999999 is not valid; expected an integer ≥ 1 and ≤ 65536"),
])
def test_out_of_range_network_sizes_are_refused(qtbot, index, text, reason):
    """Issue 13: classes 0 silently reverted to 10."""
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    panel.set_network(preset_spec("lenet"))
    panel.show()
    edits = []
    panel.networkEdited.connect(lambda *a: edits.append(a))
    field = panel.classes_field if index is None else panel.shape_fields[index]
    field.editor.selectAll()
    qtbot.keyClicks(field.editor, text)
    qtbot.keyClick(field.editor, Qt.Key.Key_Return)
    assert edits == [] and field.editor.text() == text
    assert field.error.text().startswith(reason)
    field.editor.selectAll()
    qtbot.keyClicks(field.editor, "3")
    qtbot.keyClick(field.editor, Qt.Key.Key_Return)
    assert edits and edits[-1][1] in (3, (3, 28, 28), (1, 3, 28)) and not field.error.text()
