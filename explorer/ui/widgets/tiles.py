"""Images as tiles: grey pixmaps and labelled grids, shared by the look-inside views."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette


def gray_image(pixels: np.ndarray) -> QImage:
    """A QImage (Grayscale8) holding its own copy of float (H, W) pixels in [0, 1]."""
    data = np.ascontiguousarray(np.clip(pixels, 0.0, 1.0) * 255, dtype=np.uint8)
    h, w = data.shape
    return QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def rgb_image(pixels: np.ndarray) -> QImage:
    """A QImage (RGB888) of float (H, W, 3) pixels in [0, 1]."""
    data = np.ascontiguousarray(np.clip(pixels, 0.0, 1.0) * 255, dtype=np.uint8)
    h, w, _ = data.shape
    return QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def stretch(values: np.ndarray) -> np.ndarray:
    """Values scaled to [0, 1] by their own minimum and maximum (a constant map is 0)."""
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values, dtype=np.float32)


def image_of(picture: np.ndarray) -> QImage:
    """An image (H, W) or (C, H, W) (uint8, or float already in [0, 1]) as a QImage; three
    channels are shown in colour, any other count as its first channel."""
    pixels = np.asarray(picture)
    if pixels.dtype == np.uint8:
        pixels = pixels.astype(np.float32) / 255
    if pixels.ndim == 3:
        if pixels.shape[0] == 3:
            return rgb_image(np.transpose(pixels, (1, 2, 0)))
        pixels = pixels[0]
    return gray_image(pixels)


def tile_grid(
    images: Sequence[QImage],
    captions: Sequence[str],
    *,
    tile: int,
    width: int,
    palette: QPalette,
    caption_lines: int = 1,
) -> QImage:
    """Lay ``images`` out in rows as tiles of ``tile`` pixels, each with its caption below,
    filling ``width`` pixels; nearest-neighbour scaling keeps pixels visible."""
    gap = 6
    line = 13
    cell_w, cell_h = tile + gap, tile + gap + line * caption_lines
    columns = max(1, (width - gap) // cell_w)
    rows = max(1, -(-len(images) // columns))
    grid = QImage(max(width, cell_w + gap), rows * cell_h + gap, QImage.Format.Format_RGB32)
    grid.fill(palette.color(QPalette.ColorRole.Base))
    painter = QPainter(grid)
    font = painter.font()
    font.setPixelSize(10)
    painter.setFont(font)
    painter.setPen(palette.color(QPalette.ColorRole.Text))
    for i, (image, caption) in enumerate(zip(images, captions)):
        x = gap + (i % columns) * cell_w
        y = gap + (i // columns) * cell_h
        target = QRect(x, y, tile, tile)
        painter.drawImage(target, image.scaled(tile, tile, Qt.AspectRatioMode.IgnoreAspectRatio,
                                               Qt.TransformationMode.FastTransformation))
        painter.setPen(QColor(128, 128, 128))
        painter.drawRect(target.adjusted(0, 0, -1, -1))
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(QRect(x - 2, y + tile + 1, tile + gap, line * caption_lines),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, caption)
    painter.end()
    return grid
