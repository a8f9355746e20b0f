"""The window's layout at the sizes people use it: a maximized window on a 1366×768 laptop and
on a 1920×1080 screen (the client areas openbox leaves under its title bar)."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QStyle,
    QStyleOptionComboBox,
    QTabBar,
    QToolButton,
)
from ui_helpers import close_window, make_window

from explorer.ui.workspaces import BUILD, TRAIN

LAPTOP = (1366, 749)
DESKTOP = (1920, 1061)


def _at_size(qtbot, window, size) -> None:
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=2000)
    QApplication.processEvents()


def _sizes(window) -> dict[str, list[int]]:
    """Every splitter's sizes, each read while its workspace is shown."""
    sizes, current = {}, window.workspaces.currentIndex()
    for workspace, names in ((BUILD, ("build_split", "centre_split", "top_split")),
                             (TRAIN, ("train_split",))):
        window.workspaces.setCurrentIndex(workspace)
        QApplication.processEvents()
        sizes.update({name: window.workspaces.splitters[name].sizes() for name in names})
    window.workspaces.setCurrentIndex(current)
    return sizes


def _hidden_tab_titles(window) -> list[str]:
    """Tab titles that are elided, cut or scrolled away in the visible tab bars."""
    bad = []
    for bar in window.findChildren(QTabBar):
        if not bar.isVisible():
            continue
        shown = QRect(bar.mapTo(window, bar.rect().topLeft()), bar.size()) & window.rect()
        scrolled = any(b.isVisible() for b in bar.findChildren(QToolButton))
        for i in range(bar.count()):
            text = bar.tabText(i).replace("&&", "\0").replace("&", "").replace("\0", "&")
            rect = bar.tabRect(i)
            where = QRect(bar.mapTo(window, rect.topLeft()), rect.size())
            needed = bar.fontMetrics().horizontalAdvance(text)
            if scrolled or not shown.contains(where) or rect.width() < needed:
                bad.append(text)
    return bad


@pytest.mark.parametrize("size", [LAPTOP, DESKTOP], ids=["1366x768", "1920x1080"])
def test_every_tab_title_is_shown_in_full(qtbot, window, size):
    _at_size(qtbot, window, size)
    titles = []
    for workspace in (BUILD, TRAIN):
        window.workspaces.setCurrentIndex(workspace)
        QApplication.processEvents()
        titles += [bar.tabText(i) for bar in window.findChildren(QTabBar) if bar.isVisible()
                   for i in range(bar.count())]
        assert _hidden_tab_titles(window) == []
    for title in ("Build", "Train && look", "Diagram", "Code", "Diff", "Curves", "Draw",
                  "Feature maps", "Confusion", "Runs", "Gradient lab", "Compare runs"):
        assert title in titles


def test_the_draw_view_shows_canvas_bars_and_image_together(qtbot, window):
    _at_size(qtbot, window, LAPTOP)
    canvas = window.training.canvas
    window.training.show_view("canvas")
    QApplication.processEvents()
    assert window.workspaces.currentIndex() == TRAIN
    for part in (canvas.canvas, canvas.bars, canvas.seen, canvas.top):
        assert part.isVisible()
        assert part.visibleRegion().boundingRect() == part.rect(), part
    assert canvas.bars.height() >= 10 * 18   # ten readable rows


def test_the_training_panel_never_scrolls_sideways(qtbot, window):
    from explorer.training.events import BatchEnd, Started

    _at_size(qtbot, window, LAPTOP)
    window.training.show_view("training")
    area = window.training.views["training"]
    panel = window.training.panel
    long_folder = "/home/a-student/" + "network-explorer-runs-" * 8 + "course-inception-1"
    for event in (Started(device="cpu", params=97298, batches_per_epoch=63, epochs=10,
                          run_dir=long_folder),
                  BatchEnd(epoch=1, batch=7, batches=63, step=7, loss=2.3, lr=0.01,
                           samples_per_second=12345.6)):
        panel.on_event(event)                        # what a run shows in the panel
        QApplication.processEvents()
        assert panel.minimumSizeHint().width() <= area.viewport().width()
        assert panel.width() <= area.viewport().width()
        assert not area.horizontalScrollBar().isVisible()
    assert "course-inception-1" in panel.status.text()
    assert area.width() <= 440                       # it fits its column: no wider panel
    assert window.workspaces.areas["look"].width() >= 900
    panel.set_state("idle")


@pytest.mark.parametrize("size", [LAPTOP, DESKTOP], ids=["1366x768", "1920x1080"])
def test_the_training_panels_choices_are_not_cut(qtbot, window, size):
    """Every choice the settings offer by default reads in full in its closed box (a folder's
    path may not: the box's tooltip then says it)."""
    _at_size(qtbot, window, size)
    window.training.show_view("training")
    QApplication.processEvents()
    panel = window.training.panel
    cut = []
    for name, combo in panel.editors.items():
        if not isinstance(combo, QComboBox) or not combo.isVisible():
            continue
        option = QStyleOptionComboBox()
        combo.initStyleOption(option)
        room = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, combo)
        for i in range(combo.count()):
            text = combo.itemText(i)
            has_path = re.search(r"(^|[ (])/\w", text)
            if not has_path and combo.fontMetrics().horizontalAdvance(text) > room.width():
                cut.append(f"{name}: {text}")
    assert cut == []
    dataset = panel.editors["dataset"]
    assert dataset.currentText() == "MNIST sample: 4,000 train, 500 test"
    assert dataset.toolTip().startswith(dataset.currentText())
    dataset.setCurrentIndex(dataset.findData("cifar10"))
    assert dataset.toolTip().startswith("cifar10 (needs internet once)")


def test_the_lab_views_fit_a_laptop_screen(qtbot, window):
    """At 1366×768 the gradient lab's plots and explanation need no scrolling, nor does the
    run comparison."""
    from explorer.ui.widgets.gradient_lab import index_of

    _at_size(qtbot, window, LAPTOP)
    lab = window.lab
    view = lab.gradients
    qtbot.waitUntil(lambda: view.pickers[0].network.count() > 1, timeout=60_000)
    view.batch.setValue(4)
    for picker, name in zip(view.pickers, ("plain20", "resnet20"), strict=True):
        picker.network.setCurrentIndex(index_of(picker.network, ("preset", name)))
    lab.show_view("gradients")
    qtbot.waitUntil(lambda: None not in view.profiles and "shortcuts" in
                    view.explanation.text(), timeout=60_000)
    QApplication.processEvents()
    area = lab.tabs["gradients"]
    assert not area.verticalScrollBar().isVisible()
    assert view.explanation.visibleRegion().boundingRect() == view.explanation.rect()
    assert view.explanation.height() >= 2 * view.fontMetrics().height()  # not squeezed
    assert view.plots.height() >= 300
    lab.show_view("compare")
    QApplication.processEvents()
    assert not lab.tabs["compare"].verticalScrollBar().isVisible()


def test_the_layout_is_remembered_and_view_reset_layout_restores_it(qtbot, window):
    _at_size(qtbot, window, LAPTOP)
    default = _sizes(window)
    window.training.show_view("runs")
    build = window.workspaces.splitters["build_split"]
    build.setSizes([400, 600, 366])
    moved = build.sizes()
    close_window(window, qtbot)
    window.shutdown()
    second = make_window(qtbot)
    try:
        _at_size(qtbot, second, LAPTOP)
        assert second.workspaces.currentIndex() == TRAIN
        assert second.workspaces.current_view("look") == "Runs"
        second.act_build.trigger()
        QApplication.processEvents()
        assert second.workspaces.splitters["build_split"].sizes() == moved
        second.act_train_look.trigger()
        second.act_reset_layout.trigger()
        QApplication.processEvents()
        assert second.workspaces.currentIndex() == BUILD
        assert second.workspaces.current_view("look") == "Curves"
        assert second.workspaces.current_view("build") == "Diagram"
        assert _sizes(second) == default
    finally:
        close_window(second, qtbot)
        second.shutdown()


def test_train_and_look_says_it_is_loading_until_its_views_are_in(qtbot):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QLabel

    from explorer.ui.main_window import MainWindow

    window = MainWindow(QSettings())  # not started: PyTorch's views are not in yet
    qtbot.addWidget(window)
    window.show()
    window.workspaces.setCurrentIndex(TRAIN)
    waiting = window.findChild(QLabel, "waiting_area_look")
    assert waiting.isVisible() and "Loading PyTorch" in waiting.text()
    assert not window.workspaces.areas["look"].isVisible()
    window.workspaces.add_view("Curves", QLabel("curves"))  # the first view arrives
    assert not waiting.isVisible() and window.workspaces.areas["look"].isVisible()
    assert window.workspaces.areas["look"].currentWidget().text() == "curves"
