"""The network diagram: one box per block, drawn top to bottom, with the shape on every edge.

The layout is computed by :func:`explorer.ui.diagram_layout.layout_network` (pure Python);
this view paints it with the palette's colours, one scene item for the whole drawing (only
the exposed part is painted), and turns clicks into block paths. Double-click a block, or
click its ± toggle, to expand or collapse it; Ctrl+wheel zooms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsScene,
    QGraphicsView,
    QMessageBox,
    QToolTip,
    QWidget,
)

from explorer.ui.diagram_layout import HEAD_H, TOGGLE_W, Box, Layout, layout_network
from explorer.ui.style import ERROR_RED, blend, paint_hint, plain_tooltip

MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
DIAGRAM_EMPTY_HINT = ("No blocks yet. Drag a block from the Blocks palette into the tree on "
                      "the left (or double-click one there), or open a preset from the "
                      "Presets menu.")


@dataclass(frozen=True)
class _Ink:
    """The palette's colours and the view's fonts, read once per paint."""

    text: QColor
    base: QColor
    button: QColor
    accent: QColor
    faint: QColor
    link: QColor
    fonts: dict

    @classmethod
    def of(cls, view: QWidget) -> _Ink:
        pal, role = view.palette(), QPalette.ColorRole
        return cls(pal.color(role.Text), pal.color(role.Base), pal.color(role.Button),
                   pal.color(role.Highlight), pal.color(role.PlaceholderText),
                   pal.color(role.Link), view.fonts)


def _edge(painter: QPainter, e, ink: _Ink) -> None:
    """An edge with its arrow and the shape it carries."""
    colour = ink.link if e.kind == "shortcut" else blend(ink.base, ink.text, 0.55)
    pen = QPen(colour, 1.6 if e.kind == "shortcut" else 1.3)
    if e.pending:
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(_rounded(e.points))
    _arrow(painter, e.points, colour)
    if e.label and e.label_pos is not None:
        painter.setFont(ink.fonts["label"])
        painter.setPen(ERROR_RED if e.error else ink.link if e.kind == "shortcut" else
                       ink.faint if not e.pending else blend(ink.base, ink.faint, 0.5))
        x, y = e.label_pos
        painter.drawText(QRectF(x, y - 8, 400, 16),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, e.label)


def _round_box(painter: QPainter, b: Box, ink: _Ink) -> None:
    """A merge node (a circle: +, concat) or the input/output terminal (a pill)."""
    rect = QRectF(b.x, b.y, b.w, b.h)
    if b.kind == "merge":
        painter.setPen(QPen(blend(ink.base, ink.text, 0.6), 1.3))
        painter.setBrush(blend(ink.base, ERROR_RED, 0.2) if b.error else ink.base)
        painter.drawEllipse(rect)
    else:
        painter.setPen(QPen(blend(ink.base, ink.text, 0.5), 1.2))
        painter.setBrush(blend(ink.base, ink.accent, 0.12))
        painter.drawRoundedRect(rect, b.h / 2, b.h / 2)
    painter.setFont(ink.fonts["title"])
    painter.setPen(ink.text)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, b.title)


class _Drawing(QGraphicsObject):
    """Paints a :class:`Layout`: frames, edges, boxes, labels (only what is exposed)."""

    def __init__(self, view: DiagramView) -> None:
        super().__init__()
        self.view = view
        self.layout_ = Layout()
        self.selected: set[str] = set()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_layout(self, layout: Layout) -> None:
        self.prepareGeometryChange()
        self.layout_ = layout
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.layout_.width, self.layout_.height)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        exposed = option.exposedRect.adjusted(-40, -40, 40, 40)
        ink = _Ink.of(self.view)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        boxes = [b for b in self.layout_.boxes
                 if exposed.intersects(QRectF(b.x, b.y, b.w, b.h))]
        for b in boxes:  # frames first, behind everything
            if b.kind == "frame":
                self._frame(painter, b, ink)
        for e in self.layout_.edges:
            xs = [p[0] for p in e.points]
            ys = [p[1] for p in e.points]
            if exposed.intersects(QRectF(min(xs), min(ys), max(xs) - min(xs) + 1,
                                         max(ys) - min(ys) + 1)):
                _edge(painter, e, ink)
        for b in boxes:
            if b.kind in ("merge", "terminal"):
                _round_box(painter, b, ink)
            elif b.kind != "frame":
                self._box(painter, b, ink)

    def _box(self, painter: QPainter, b: Box, ink: _Ink) -> None:
        """A block or layer: a rounded box with its title and, below, its detail."""
        rect = QRectF(b.x, b.y, b.w, b.h)
        fill = ink.button if b.kind == "block" else blend(ink.base, ink.button, 0.55)
        border, width = blend(ink.base, ink.text, 0.45), 1.2
        if b.error:
            fill = blend(fill, ERROR_RED, 0.22)
            border, width = ERROR_RED, 2.2
        if b.key in self.selected:
            fill = blend(fill, ink.accent, 0.25)
            border, width = ink.accent, 2.6
        pen = QPen(border, width)
        if (b.pending or b.dashed) and not b.error:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 5, 5)
        inner = rect.adjusted(8, 3, -8 - (TOGGLE_W if b.expandable else 0), -3)
        painter.setFont(ink.fonts["title"])
        painter.setPen(ink.text if (b.error or not b.pending) else
                       blend(ink.base, ink.text, 0.6))
        if b.detail:
            painter.drawText(QRectF(inner.x(), inner.y(), inner.width(), inner.height() / 2 + 1),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                             b.title)
            painter.setFont(ink.fonts["detail"])
            painter.setPen(ink.faint)
            painter.drawText(QRectF(inner.x(), inner.center().y() + 1, inner.width(),
                                    inner.height() / 2),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, b.detail)
        else:
            painter.drawText(inner, Qt.AlignmentFlag.AlignCenter, b.title)
        if b.expandable:
            self._toggle(painter, toggle_rect(b), b.expanded, border if b.error else
                         blend(ink.base, ink.text, 0.5), ink.text)

    def _frame(self, painter: QPainter, b: Box, ink: _Ink) -> None:
        text, base, accent, fonts = ink.text, ink.base, ink.accent, ink.fonts
        rect = QRectF(b.x, b.y, b.w, b.h)
        selected = b.key in self.selected
        border = ERROR_RED if b.error else accent if selected else blend(base, text, 0.3)
        pen = QPen(border, 2.4 if (b.error or selected) else 1.1)
        if (b.pending or b.dashed) and not b.error:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(blend(base, text, 0.035))
        painter.drawRoundedRect(rect, 7, 7)
        head = QRectF(b.x, b.y, b.w, HEAD_H)
        painter.setPen(Qt.PenStyle.NoPen)
        tint = ERROR_RED if b.error else accent
        painter.setBrush(blend(base, tint, 0.3 if selected or b.error else 0.12))
        path = QPainterPath()
        path.addRoundedRect(head.adjusted(1, 1, -1, 0), 6, 6)
        painter.drawPath(path)
        inner = head.adjusted(10, 0, -10 - TOGGLE_W, 0)
        painter.setFont(fonts["title"])
        painter.setPen(ERROR_RED if b.error else text)
        fm = QFontMetricsF(fonts["title"])
        painter.drawText(inner, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         b.title)
        painter.setFont(fonts["detail"])
        painter.setPen(ink.faint)
        rest = inner.adjusted(fm.horizontalAdvance(b.title) + 10, 0, 0, 0)
        detail = QFontMetricsF(fonts["detail"]).elidedText(b.detail, Qt.TextElideMode.ElideRight,
                                                          rest.width())
        painter.drawText(rest, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, detail)
        self._toggle(painter, toggle_rect(b), True, border, text)

    @staticmethod
    def _toggle(painter: QPainter, r: QRectF, expanded: bool, border: QColor,
                text: QColor) -> None:
        painter.setPen(QPen(border, 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(r, 2, 2)
        painter.setPen(QPen(text, 1.3))
        c = r.center()
        painter.drawLine(QPointF(c.x() - 3.5, c.y()), QPointF(c.x() + 3.5, c.y()))
        if not expanded:
            painter.drawLine(QPointF(c.x(), c.y() - 3.5), QPointF(c.x(), c.y() + 3.5))


def toggle_rect(b: Box) -> QRectF:
    """The ± toggle of an expandable box (or of a frame's title bar)."""
    h = HEAD_H if b.kind == "frame" else b.h
    size = 12.0
    return QRectF(b.x + b.w - size - 7, b.y + (h - size) / 2, size, size)


def _rounded(points: list[tuple[float, float]], radius: float = 7.0) -> QPainterPath:
    path = QPainterPath(QPointF(*points[0]))
    for i in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = points[i - 1], points[i], points[i + 1]
        d0 = math.hypot(x1 - x0, y1 - y0)
        d1 = math.hypot(x2 - x1, y2 - y1)
        r = min(radius, d0 / 2, d1 / 2)
        if r < 0.5:
            path.lineTo(x1, y1)
            continue
        a = (x1 - (x1 - x0) * r / d0, y1 - (y1 - y0) * r / d0)
        c = (x1 + (x2 - x1) * r / d1, y1 + (y2 - y1) * r / d1)
        path.lineTo(*a)
        path.quadTo(x1, y1, *c)
    path.lineTo(*points[-1])
    return path


def _arrow(painter: QPainter, points: list[tuple[float, float]], colour: QColor) -> None:
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = math.hypot(x1 - x0, y1 - y0)
    if length < 1:
        return
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    size = 6.0
    left = QPointF(x1 - ux * size - uy * size * 0.55, y1 - uy * size + ux * size * 0.55)
    right = QPointF(x1 - ux * size + uy * size * 0.55, y1 - uy * size - ux * size * 0.55)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawPolygon(QPolygonF([QPointF(x1, y1), left, right]))


class DiagramView(QGraphicsView):
    """The network as a graph: click a box to select its block; ± or double-click expands it.

    Signals
    -------
    blockClicked(object) : the ``BlockPath`` of the box the user clicked.
    """

    blockClicked = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setMouseTracking(True)
        self.fonts: dict[str, QFont] = {}
        self._update_fonts()
        self._drawing = _Drawing(self)
        self.scene().addItem(self._drawing)
        self._spec = None
        self._summary = None
        self._expanded: dict[str, bool] = {}
        self._selected_path = None
        self._temporary_from: int | None = None
        self._layout = Layout()
        self._apply_palette()
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.save_actions = {}
        for kind, text in (("png", "Save diagram as &PNG…"), ("svg", "Save diagram as &SVG…")):
            action = QAction(text, self)
            action.triggered.connect(lambda _=False, k=kind: self.save_dialog(k))
            self.addAction(action)
            self.save_actions[kind] = action
        fit = QAction("&Fit the whole network", self)
        fit.triggered.connect(self.fit)
        self.addAction(fit)

    # ---------------------------------------------------------------- public API
    def set_network(self, spec, summary=None, temporary_from: int | None = None) -> None:
        """Draw ``spec`` with the shapes of ``summary`` (``None``: not inspected yet); its
        top-level blocks from ``temporary_from`` on are dashed (a temporary head)."""
        same = self._spec is not None and spec is not None and spec.name == self._spec.name
        centre = self.mapToScene(self.viewport().rect().center())
        if not same:
            self._expanded = {}
        self._spec, self._summary = spec, summary
        self._temporary_from = temporary_from
        self._relayout()
        if same:
            self.centerOn(centre)
        else:
            self.centerOn(self._layout.width / 2, 0)

    def diagram_layout(self) -> Layout:
        """The current layout (boxes and edges in scene coordinates)."""
        return self._layout

    def select_block(self, path) -> None:
        """Highlight the block at ``path`` (``None`` clears); centre it unless it is in view.

        A box already fully visible (e.g. the one the user just clicked) does not move.
        """
        self._selected_path = tuple(path) if path is not None else None
        boxes = self._mark_selection()
        if boxes:
            b = boxes[0]
            visible = self.mapToScene(self.viewport().rect()).boundingRect()
            head = QRectF(b.x, b.y, b.w, HEAD_H if b.kind == "frame" else b.h)
            if visible.contains(head):
                return
            if b.kind == "frame":
                self.centerOn(b.x + b.w / 2, b.y + min(b.h, self.viewport().height()
                                                         / max(self.zoom(), 1e-3)) / 2)
            else:
                self.centerOn(b.x + b.w / 2, b.y + b.h / 2)

    def selected_keys(self) -> set[str]:
        """Keys of the highlighted boxes."""
        return set(self._drawing.selected)

    def set_expanded(self, key: str, expanded: bool) -> None:
        """Expand or collapse the box ``key`` (as the ± toggle does)."""
        anchor = self._layout.box(key)
        before = self.mapFromScene(QPointF(anchor.x, anchor.y)) if anchor else None
        self._expanded[key] = expanded
        self._relayout()
        after = self._layout.box(key)
        if before is not None and after is not None:
            shift = self.mapFromScene(QPointF(after.x, after.y)) - before
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + shift.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + shift.y())

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_in(self) -> None:
        self._zoom_by(1.25)

    def zoom_out(self) -> None:
        self._zoom_by(0.8)

    def fit(self) -> None:
        """Show the whole network (never magnified above 100 %)."""
        rect = QRectF(0, 0, self._layout.width, self._layout.height)
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.resetTransform()
        self.centerOn(rect.center())

    def save_image(self, path: str | Path) -> Path:
        """Write the whole diagram to ``path``: SVG for ``.svg``, else PNG at twice the
        screen's pixels. Raises ``OSError`` naming the file when it cannot be written."""
        path = Path(path)
        rect = QRectF(0, 0, max(1.0, self._layout.width), max(1.0, self._layout.height))
        base = self.palette().color(QPalette.ColorRole.Base)
        if path.suffix.lower() == ".svg":
            from PySide6.QtSvg import QSvgGenerator

            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(rect.size().toSize())
            generator.setViewBox(rect)
            generator.setTitle(self._spec.name if self._spec is not None else "network")
            painter = QPainter(generator)
            painter.fillRect(rect, base)
            self.scene().render(painter, rect, rect)
            ok = painter.end()
            ok = ok and path.is_file() and path.stat().st_size > 0
        else:
            image = QImage((rect.size() * 2).toSize(), QImage.Format.Format_ARGB32)
            image.fill(base)
            painter = QPainter(image)
            painter.setRenderHints(self.renderHints())
            self.scene().render(painter, QRectF(image.rect()), rect)
            painter.end()
            ok = image.save(str(path), "PNG")
        if not ok:
            raise OSError(f"{path} could not be written")
        return path

    def save_dialog(self, kind: str) -> Path | None:
        """Ask where to save the diagram as PNG or SVG and save it; errors in a dialog."""
        name = self._spec.name if self._spec is not None else "network"
        pattern = "SVG image (*.svg)" if kind == "svg" else "PNG image (*.png)"
        path, _ = QFileDialog.getSaveFileName(self, "Save the diagram",
                                              str(Path.cwd() / f"{name}.{kind}"), pattern)
        if not path:
            return None
        if Path(path).suffix.lower() != f".{kind}":
            path += f".{kind}"
        try:
            return self.save_image(path)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save the diagram", str(exc))
            return None

    def is_empty(self) -> bool:
        """An editable network without blocks (the view then says how to start)."""
        return self._spec is not None and not self._spec.blocks

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.is_empty():
            paint_hint(self, DIAGRAM_EMPTY_HINT, 20)

    # ---------------------------------------------------------------- internals
    def _zoom_by(self, factor: float) -> None:
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        factor = target / self.zoom()
        self.scale(factor, factor)

    def _measure(self, text: str, bold: bool) -> float:
        return self._metrics["title" if bold else "detail"].horizontalAdvance(text)

    def _update_fonts(self) -> None:
        base = QFont(self.font())
        size = base.pointSizeF() if base.pointSizeF() > 0 else 9.0
        title = QFont(base)
        title.setBold(True)
        title.setPointSizeF(size)
        detail = QFont(base)
        detail.setPointSizeF(max(6.5, size - 1.0))
        label = QFont(base)
        label.setPointSizeF(max(6.5, size - 1.0))
        self.fonts = {"title": title, "detail": detail, "label": label}
        self._metrics = {k: QFontMetricsF(f) for k, f in self.fonts.items()}

    def _relayout(self) -> None:
        self._layout = layout_network(self._spec, self._summary, self._expanded, self._measure,
                                      self._temporary_from) \
            if (self._spec is not None or self._summary is not None) else Layout()
        self._drawing.set_layout(self._layout)
        self.scene().setSceneRect(QRectF(0, 0, self._layout.width, self._layout.height))
        self._mark_selection()

    def _mark_selection(self) -> list[Box]:
        boxes = self._layout.boxes_for(self._selected_path)
        self._drawing.selected = {b.key for b in boxes}
        self._drawing.update()
        return boxes

    def _apply_palette(self) -> None:
        self.setBackgroundBrush(QBrush(self.palette().color(QPalette.ColorRole.Base)))
        self._drawing.update()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
        elif event.type() in (QEvent.Type.FontChange, QEvent.Type.ApplicationFontChange):
            self._update_fonts()
            self._relayout()
        super().changeEvent(event)

    def _box_at(self, pos) -> Box | None:
        p = self.mapToScene(pos)
        return self._layout.hit(p.x(), p.y())

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            box = self._box_at(event.position().toPoint())
            if box is not None and box.kind in ("block", "layer", "frame", "merge"):
                p = self.mapToScene(event.position().toPoint())
                if box.expandable and toggle_rect(box).adjusted(-3, -3, 3, 3).contains(p):
                    self.set_expanded(box.key, not box.expanded)
                    event.accept()
                    return
                if box.path is not None:
                    self._selected_path = tuple(box.path)
                    self._mark_selection()
                    self.blockClicked.emit(tuple(box.path))
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        box = self._box_at(event.position().toPoint())
        if box is not None and box.expandable:
            self.set_expanded(box.key, not box.expanded)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self._zoom_by(1.15 ** steps)
            event.accept()
            return
        super().wheelEvent(event)

    def tooltip_at(self, pos) -> str:
        """The tooltip for a viewport position (escaped: it quotes what the user typed)."""
        box = self._box_at(pos)
        if box is None:
            return ""
        tip = box.tooltip or box.title
        if box.error and self._summary is not None and self._summary.error is not None:
            tip += "\n\n" + self._summary.error.text()
            if self._summary.error.hint:
                tip += "\nHint: " + self._summary.error.hint
        return plain_tooltip(tip)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            tip = self.tooltip_at(event.pos())
            if tip:
                QToolTip.showText(event.globalPos(), tip, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)
