"""What every view draws with: the error colour, colour blending, literal tooltips, the hint
an empty view paints.

One place, so that the failing block reads the same red in the tree, the table, the diagram
and the forms.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QAbstractScrollArea

ERROR_RED = QColor(214, 57, 57)
"""The one accent colour for what is wrong: the failing block, an invalid value."""

ERROR_STYLE = f"color: {ERROR_RED.name()};"
"""A style sheet rule for error text (labels under a field)."""


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip shown literally: Qt would render a ``<`` … ``>`` as rich text.

    Messages quote what the user typed (a block name, a value), so they are escaped.
    """
    if not text:
        return text
    return "<p style='white-space:pre'>" + html.escape(text).replace("\n", "<br>") + "</p>"


def paint_hint(view: QAbstractScrollArea, text: str, margin: int) -> None:
    """Paint ``text`` centred and wrapped in ``view``'s viewport in the placeholder colour
    (from its ``paintEvent``): what an empty view says to do."""
    painter = QPainter(view.viewport())
    painter.setPen(view.palette().color(QPalette.ColorRole.PlaceholderText))
    painter.drawText(view.viewport().rect().adjusted(margin, margin, -margin, -margin),
                     Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
    painter.end()
