"""The diagram view, driven like a user: clicks, double-clicks, zoom, the red failing block."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor

from explorer.core.inspector import inspect_spec
from explorer.core.presets import preset_spec
from explorer.core.spec import BlockSpec
from explorer.ui.widgets.diagram import DiagramView, toggle_rect


@pytest.fixture
def view(qtbot):
    v = DiagramView()
    qtbot.addWidget(v)
    v.resize(600, 700)
    v.show()
    qtbot.waitExposed(v)
    return v


def _pos(view, box, dx=0.0, dy=0.0) -> QPoint:
    view.centerOn(box.x + box.w / 2, box.y + box.h / 2)
    return view.mapFromScene(QPointF(box.x + box.w / 2 + dx, box.y + box.h / 2 + dy))


def test_boxes_for_every_top_level_block(view, googlenet):
    spec, summary = googlenet
    view.set_network(spec, summary)
    layout = view.diagram_layout()
    assert all(layout.boxes_for((i,)) for i in range(len(spec.blocks)))
    assert view.sceneRect().height() == layout.height


def test_inception_expands_to_branches_side_by_side(view, qtbot, googlenet):
    spec, summary = googlenet
    view.set_network(spec, summary)
    box = view.diagram_layout().box("stage3.inception1")
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=_pos(view, box))
    layout = view.diagram_layout()
    assert layout.box("stage3.inception1").kind == "frame"
    firsts = [layout.box(f"stage3.inception1.{n}") for n in (
        "branch1x1.conv", "branch3x3.conv1", "branch5x5.conv1", "branch_pool.pool")]
    assert len({b.y for b in firsts}) == 1 and len({b.x for b in firsts}) == 4
    # the ± toggle collapses it again
    frame = layout.box("stage3.inception1")
    toggle = toggle_rect(frame).center()
    view.centerOn(toggle)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(toggle))
    assert view.diagram_layout().box("stage3.inception1").kind == "block"


def test_residual_arcs(view):
    spec = preset_spec("resnet56")
    view.set_network(spec, inspect_spec(spec, depth=8))
    assert len([e for e in view.diagram_layout().edges if e.kind == "shortcut"]) == 27


def test_click_a_box_emits_its_path_and_selects_it(view, qtbot, googlenet):
    spec, summary = googlenet
    view.set_network(spec, summary)
    box = view.diagram_layout().box("stage4.inception2")
    with qtbot.waitSignal(view.blockClicked, timeout=1000) as signal:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=_pos(view, box))
    assert signal.args == [(3, "blocks", 1)]
    assert view.selected_keys() == {"stage4.inception2"}


def test_select_block_highlights_and_centres_it(view, googlenet):
    spec, summary = googlenet
    view.set_network(spec, summary)
    view.verticalScrollBar().setValue(0)
    view.select_block((3, "blocks", 4))  # far below the top: scrolled to the centre
    box = view.diagram_layout().box("stage4.inception5")
    assert view.selected_keys() == {"stage4.inception5"}
    centre = view.mapFromScene(QPointF(*box.center))
    assert abs(centre.y() - view.viewport().height() / 2) < 30
    scroll = view.verticalScrollBar().value()
    view.select_block((3, "blocks", 3))  # in view already: nothing moves
    assert view.selected_keys() == {"stage4.inception4"}
    assert view.verticalScrollBar().value() == scroll
    view.select_block(None)
    assert view.selected_keys() == set()


def test_ctrl_wheel_zooms_and_plain_wheel_scrolls(view, googlenet):
    from PySide6.QtCore import QPointF as P
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    spec, summary = googlenet
    view.set_network(spec, summary)

    def wheel(modifiers) -> None:
        centre = P(view.viewport().rect().center())
        event = QWheelEvent(centre, P(view.viewport().mapToGlobal(centre.toPoint())), QPoint(),
                            QPoint(0, -120), Qt.MouseButton.NoButton, modifiers,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(view.viewport(), event)

    zoom, scroll = view.zoom(), view.verticalScrollBar().value()
    wheel(Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() < zoom
    zoom = view.zoom()
    wheel(Qt.KeyboardModifier.NoModifier)
    assert view.zoom() == zoom and view.verticalScrollBar().value() > scroll


def test_failing_block_is_painted_red(view, course):
    spec, _ = course
    blocks = list(spec.blocks)
    blocks[4] = BlockSpec("conv2d", {"out_channels": 20, "kernel_size": 13})
    broken = dataclasses.replace(spec, blocks=tuple(blocks))
    view.set_network(broken, inspect_spec(broken, depth=8))
    failing = view.diagram_layout().boxes_for((4,))[0]
    assert failing.error
    ok = view.diagram_layout().boxes_for((0,))[0]

    def colour(box) -> QColor:
        pos = _pos(view, box, dx=-box.w / 2 + 6)  # inside the box, left of its text
        return view.viewport().grab().toImage().pixelColor(pos)

    red, plain = colour(failing), colour(ok)
    assert red.red() > red.green() + 25 and red.red() > red.blue() + 25
    assert abs(plain.red() - plain.green()) < 15


def test_zoom_and_fit(view, googlenet):
    spec, summary = googlenet
    view.set_network(spec, summary)
    start = view.zoom()
    view.zoom_in()
    assert view.zoom() > start
    view.zoom_out()
    view.zoom_out()
    assert view.zoom() < start
    view.fit()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.height() >= view.diagram_layout().height - 1


def test_expansion_kept_across_updates_of_the_same_network(view, googlenet):
    spec, summary = googlenet
    view.set_network(spec, summary)
    view.set_expanded("stage3.inception2", True)
    view.set_network(spec, summary)
    assert view.diagram_layout().box("stage3.inception2").expanded
    other = preset_spec("lenet")
    view.set_network(other, None)
    assert all(b.pending is False for b in view.diagram_layout().boxes)
    assert {e.label for e in view.diagram_layout().edges if e.label} == {"1×28×28", "?"}


def test_box_tooltip_with_the_error_shown_literally(view, course):
    spec, _ = course
    blocks = list(spec.blocks)
    blocks[1] = BlockSpec("group", {"name": "<img src=x>", "blocks": ()})
    named = dataclasses.replace(spec, blocks=tuple(blocks))
    view.set_network(named, inspect_spec(named, depth=8))
    box = view.diagram_layout().boxes_for((1,))[0]
    tip = view.tooltip_at(_pos(view, box))
    assert "is not valid" in tip  # the error, with the block
    assert "&lt;img src=x&gt;" in tip and "<img" not in tip
    ok = view.diagram_layout().boxes_for((0,))[0]
    assert "output 10×24×24" in view.tooltip_at(_pos(view, ok))
    assert view.tooltip_at(QPoint(1, 1)) == ""
