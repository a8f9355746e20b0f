"""A run is visible wherever the user is: F5 brings the curves forward, the status bar, the
title and the Train & look tab follow it, and its end is announced with its best accuracy."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from test_training_views import TIMEOUT
from ui_helpers import quick_settings

from explorer.ui.workspaces import BUILD, TRAIN

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # from the UI conftest


def test_f5_brings_the_curves_forward_and_the_window_follows_the_run(qtbot, app_window):
    window, controller = app_window
    window.show_view("Code")              # the user is reading the code
    assert window.workspaces.currentIndex() == BUILD
    quick_settings(controller.panel, epochs=2, batches=4)
    seen = []

    def record(event):
        if type(event).__name__ == "EpochEnd":
            seen.append((event, controller.run_status.text(), window.windowTitle(),
                         window.workspaces.tabText(TRAIN)))

    controller.runner.event.connect(record)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window.tree, Qt.Key.Key_F5)
    started = controller.runner.running
    shown = (window.workspaces.currentIndex(), window.workspaces.current_view("look"))
    qtbot.waitUntil(lambda: not controller.runner.running, timeout=TIMEOUT)
    assert started                                   # (checked after the run: a failing
    assert shown == (TRAIN, "Curves")                # check must not leave it running)

    first, status, title, tab = seen[0]
    accuracy = f"{100 * first.test_accuracy:.1f} %"
    assert re.fullmatch(rf"Training: epoch 1/2 · batch 4/4 · test accuracy {accuracy} "
                        r"\(epoch 1\) · ETA \d+:\d\d", status), status
    assert "training 50 %" in title             # 4 of 8 batches
    assert tab == "Train && look · training 50 %"
    best = max(seen, key=lambda s: s[0].test_accuracy)[0]
    end = controller.run_status.text()
    assert end.startswith(f"Training {controller.job.label} finished: best test accuracy "
                          f"{100 * best.test_accuracy:.2f} % (epoch {best.epoch}), 2 epochs in ")
    assert controller.run_status.isVisible()          # in the status bar until the next run
    assert "training" not in window.windowTitle()
    assert window.workspaces.tabText(TRAIN) == "Train && look"
