"""The layer table's right-click entry copies torchinfo's own table of the network shown."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QApplication


def _copy(qtbot, window) -> str:
    QApplication.clipboard().setText("")
    assert window.act_copy_torchinfo in window.table.tree.actions()  # the table's menu
    window.act_copy_torchinfo.trigger()
    qtbot.waitUntil(lambda: QApplication.clipboard().text() != "", timeout=30000)
    return QApplication.clipboard().text()


def test_copy_a_preset_and_a_torchvision_model(qtbot, window):
    with qtbot.waitSignal(window.summary_ready, timeout=30000):
        window.open_preset("lenet")
    text = _copy(qtbot, window)
    assert "Total params: 61,706" in text and "├─Conv2d (conv1)" in text
    with qtbot.waitSignal(window.summary_ready, timeout=30000):
        window.open_torchvision("torchvision:resnet18")
    text = _copy(qtbot, window)
    assert "Total params: 11,689,512" in text and "BasicBlock (0)" in text


def test_a_network_torchinfo_cannot_take_is_refused_with_the_reason(tmp_path):
    from explorer.core.spec import ArchitectureSpec
    from explorer.ui.main_window import _torchinfo_or_reason

    block = {"type": "conv2d", "out_channels": 2}
    for _ in range(16):
        block = {"type": "group", "blocks": [block]}
    spec = ArchitectureSpec.from_json(json.dumps({"input_shape": [1, 12, 12],
                                                  "blocks": [block]}))
    text, reason = _torchinfo_or_reason(spec, None)
    assert text == "" and "17 deep" in reason
