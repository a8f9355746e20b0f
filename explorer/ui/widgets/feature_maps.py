"""Feature maps: every channel of a chosen layer for a chosen input, and the first filters.

The view asks (:attr:`FeatureMapsView.requested`) and shows what comes back
(:meth:`FeatureMapsView.set_result`); the activations are computed by a worker on a snapshot
of the weights (:func:`compute_feature_maps`), so during training they refresh at every
epoch end without touching the model being trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.widgets.tiles import gray_image, image_of, stretch, tile_grid

DRAWING = "drawing"
MAX_CHANNELS = 256
"""Channels drawn at most (the rest are counted in the heading)."""


@dataclass(frozen=True)
class FeatureMaps:
    """A worker's answer: plain arrays and names.

    ``choices`` are ``(name, label)`` of every layer with feature maps; ``maps`` is float32
    (C, H, W) of ``layer``; ``filters`` float32 (out, in, kh, kw) of the first convolution
    named ``filters_name``; ``image`` the input as shown (H, W) or (C, H, W) in [0, 1].
    """

    source: str
    choices: tuple[tuple[str, str], ...]
    layer: str
    maps: np.ndarray | None
    filters_name: str
    filters: np.ndarray | None
    image: np.ndarray | None
    note: str = ""


def compute_feature_maps(cache, snapshot, picture, layer: str | None) -> FeatureMaps:
    """Run ``snapshot``'s network on ``picture`` and collect ``layer``'s channels.

    ``picture`` is a uint8 drawing (H, W) (preprocessed the MNIST way) or a test image
    (C, H, W) uint8; ``layer`` ``None`` picks the first layer. Runs in a worker thread;
    ``cache`` is its :class:`~explorer.ui.training_runner.ModelCache`.
    """
    import torch

    from explorer.data import preprocess_drawing
    from explorer.data.loader import normalisation, prepare_batch
    from explorer.training.analysis import (
        activations,
        drawing_input,
        first_conv_filters,
        layer_choices,
    )

    model = cache.model(snapshot)
    spec = snapshot.spec
    choices = layer_choices(model, spec.input_shape)
    pairs = tuple((c.name, c.label) for c in choices)
    filters = first_conv_filters(model)
    filters_name, filter_weights = filters if filters is not None else ("", None)
    note = ""
    if picture is None:
        x, image = None, None
    elif picture.ndim == 2:
        image = preprocess_drawing(picture)
        x, note = (None, "draw something on the canvas first") if image is None else \
            drawing_input(snapshot, image)
    else:
        image = picture.astype(np.float32) / 255
        batch = torch.from_numpy(image).unsqueeze(0)
        scale, shift = normalisation(snapshot.mean, snapshot.std, int(spec.input_shape[0]))
        x = prepare_batch(batch, spec.input_shape, scale, shift)
    names = [name for name, _ in pairs]
    if layer not in names:
        layer = names[0] if names else ""
    maps = activations(model, x, [layer])[layer] if x is not None and layer else None
    return FeatureMaps(snapshot.label, pairs, layer, maps, filters_name, filter_weights,
                       image, note)


class FeatureMapsView(QWidget):
    """Pick an input and a layer; see every channel with its index and value range.

    Signals
    -------
    requested(str, str) : ``(input key, layer name)``; the input key is ``"drawing"`` or
        ``"test:<i>"``.
    """

    requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inputs = QComboBox()
        self.inputs.addItem("The current drawing", DRAWING)
        self.inputs.setToolTip("What the network looks at")
        self.layers = QComboBox()
        self.layers.setToolTip("A layer or block whose output channels are shown")
        self.layers.setMinimumContentsLength(28)
        self.heading = QLabel("Train a network or draw a digit to see its feature maps.")
        self.heading.setWordWrap(True)
        self.input_view = QLabel()
        self.input_view.setFixedSize(84, 84)
        self.input_view.setToolTip("The input as the network receives it")
        self.maps_view = QLabel()
        self.maps_view.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.filters_title = QLabel("")
        self.filters_view = QLabel()
        self.filters_view.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        body = QWidget()
        inner = QVBoxLayout(body)
        inner.addWidget(self.maps_view)
        inner.addWidget(self.filters_title)
        inner.addWidget(self.filters_view)
        inner.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(body)
        self._relayout = QTimer(self)
        self._relayout.setSingleShot(True)
        self._relayout.setInterval(80)
        self._relayout.timeout.connect(lambda: self.result and self.set_result(self.result))
        row = QHBoxLayout()
        row.addWidget(QLabel("Input"))
        row.addWidget(self.inputs, 1)
        row.addWidget(QLabel("Layer"))
        row.addWidget(self.layers, 2)
        top = QHBoxLayout()
        top.addWidget(self.input_view)
        top.addWidget(self.heading, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(top)
        layout.addWidget(self.scroll, 1)
        self.result: FeatureMaps | None = None
        self.inputs.currentIndexChanged.connect(self.refresh)
        self.layers.currentIndexChanged.connect(self.refresh)

    # ----------------------------------------------------------------- inputs

    def set_test_images(self, images: np.ndarray, labels: np.ndarray, classes) -> None:
        """Offer test images (uint8 (N, C, H, W)) as inputs, keeping the current choice."""
        current = self.inputs.currentData()
        self.inputs.blockSignals(True)
        while self.inputs.count() > 1:
            self.inputs.removeItem(1)
        for i, label in enumerate(labels[:32]):
            name = classes[int(label)] if int(label) < len(classes) else str(int(label))
            self.inputs.addItem(f"Test image {i + 1} ({name})", f"test:{i}")
        index = self.inputs.findData(current)
        self.inputs.setCurrentIndex(max(0, index))
        self.inputs.blockSignals(False)

    def input_key(self) -> str:
        return self.inputs.currentData() or DRAWING

    def layer(self) -> str:
        return self.layers.currentData() or ""

    def select_layer(self, name: str) -> None:
        index = self.layers.findData(name)
        if index >= 0:
            self.layers.setCurrentIndex(index)

    def refresh(self) -> None:
        """Ask for the maps of the current input and layer."""
        self.requested.emit(self.input_key(), self.layer())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout.start()  # lay the tiles out again for the new width

    # ----------------------------------------------------------------- results

    def set_result(self, result: FeatureMaps) -> None:
        self.result = result
        if [self.layers.itemData(i) for i in range(self.layers.count())] != \
                [name for name, _ in result.choices]:
            self.layers.blockSignals(True)
            self.layers.clear()
            for name, label in result.choices:
                self.layers.addItem(label, name)
            self.layers.blockSignals(False)
        self.layers.blockSignals(True)
        self.select_layer(result.layer)
        self.layers.blockSignals(False)
        if result.image is not None:
            self.input_view.setPixmap(QPixmap.fromImage(image_of(result.image).scaled(
                84, 84, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation)))
        else:
            self.input_view.clear()
        width = max(300, self.scroll.viewport().width() - 40)
        if result.maps is None:
            self.heading.setText(f"{result.source}: {result.note or 'no input yet'}")
            self.maps_view.clear()
        else:
            self._show_maps(result, width)
        self._show_filters(result, width)

    def _show_maps(self, result: FeatureMaps, width: int) -> None:
        maps = result.maps
        channels = maps.shape[0]
        shown = maps[:MAX_CHANNELS]
        images = [gray_image(stretch(m)) for m in shown]
        captions = [f"#{i}\n{_short(m.min())}…{_short(m.max())}" for i, m in enumerate(shown)]
        size = maps.shape[1]
        tile = int(np.clip(size * 3, 64, 96))
        more = f" (first {MAX_CHANNELS} shown)" if channels > MAX_CHANNELS else ""
        self.heading.setText(
            f"{result.layer}: {channels} channels of {maps.shape[1]}×{maps.shape[2]}{more}, "
            f"values {maps.min():.3g} to {maps.max():.3g} · each tile scaled to its own range "
            f"· weights: {result.source}" + (f" · {result.note}" if result.note else "")
        )
        self.maps_view.setPixmap(QPixmap.fromImage(tile_grid(
            images, captions, tile=tile, width=width, palette=self.palette(), caption_lines=2)))

    def _show_filters(self, result: FeatureMaps, width: int) -> None:
        weights = result.filters
        if weights is None:
            self.filters_title.setText("This network has no convolution.")
            self.filters_view.clear()
            return
        out_channels, in_channels, kh, kw = weights.shape
        self.filters_title.setText(
            f"First convolution {result.filters_name}: {out_channels} filters of "
            f"{in_channels}×{kh}×{kw}" + (" (shown in colour)" if in_channels == 3 else
                                          " (first input channel)" if in_channels > 1 else ""))
        images = [image_of(stretch(w)) if in_channels == 3 else gray_image(stretch(w[0]))
                  for w in weights[:MAX_CHANNELS]]
        captions = [f"#{i}" for i in range(len(images))]
        self.filters_view.setPixmap(QPixmap.fromImage(
            tile_grid(images, captions, tile=40, width=width, palette=self.palette())))


def _short(value: float) -> str:
    """A value in at most about five characters: 0.12, -3.4, 12, 1.2e+03."""
    return f"{value:.2g}" if abs(value) < 100 else f"{value:.0f}" if abs(value) < 1e4 else \
        f"{value:.1e}"
