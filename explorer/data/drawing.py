"""Turn a drawing or a photo of a digit into what an MNIST model expects.

MNIST digits are white on black, cropped to their strokes, fitted into 20x20 keeping the
aspect ratio and pasted into 28x28 with the centre of mass at the centre. A drawing that
skips this is often misread when it is small or off-centre.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from explorer.data.datasets import DataError, flatten_alpha, image_to_array
from explorer.data.loader import LUMINANCE, normalisation, prepare_batch
from explorer.files import FileProblem, read_bytes

DIGIT_SIZE = 28
FIT_SIZE = 20
NOISE = 0.1  # stroke values below this (after contrast stretching) are background
MIN_CONTRAST = 0.1  # a darkest-to-lightest range below this is an empty canvas
MIN_EXTENT = 0.04  # ink spanning less of the drawing's larger side is too little to read
MIN_ELONGATION = 1.45  # extent² / ink of the 28×28 digit below this is a dot or a blob


MAX_IMAGE_BYTES = 256 * 2**20
"""Size of an image file to classify (a digit photo takes a few MiB at most)."""


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as float32 grey (H, W) in [0, 1].

    Transparent areas take the background the image implies (see
    :func:`explorer.data.datasets.flatten_alpha`).

    Raises
    ------
    DataError
        ``"<path> is not an image (...)"`` when the file is missing, unreadable or not an image.
    """
    try:  # a FIFO or a device is refused before it is opened (reading one never ends)
        data = read_bytes(path, "an image file (PNG, JPEG, …)", max_bytes=MAX_IMAGE_BYTES)
    except FileProblem as exc:
        raise DataError(f"{path} is not an image ({exc.reason})") from None
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            pixels = image_to_array(im)
    except UnidentifiedImageError as exc:
        raise DataError(f"{path} is not an image (not a format Pillow can read)") from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path} is not an image ({exc})") from exc
    return _to_grey(pixels.astype(np.float32) / 255)


def _to_grey(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 3:
        pixels = pixels @ np.asarray(LUMINANCE, dtype=np.float32)
    return pixels.astype(np.float32, copy=False)


def _as_grey_float(image: np.ndarray | Image.Image) -> np.ndarray:
    if isinstance(image, Image.Image):
        return _to_grey(image_to_array(image).astype(np.float32) / 255)
    pixels = np.asarray(image)
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.float32)
    elif np.issubdtype(pixels.dtype, np.integer):
        pixels = pixels.astype(np.float32) / 255
    else:
        pixels = np.clip(pixels.astype(np.float32), 0.0, 1.0)
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):
        pixels = flatten_alpha(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.size == 0 or not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)):
        raise DataError(
            f"a drawing must be (H, W) grey or (H, W, C) with C = 1 to 4, got {pixels.shape}"
        )
    return _to_grey(pixels)


def preprocess_drawing(image: np.ndarray | Image.Image) -> np.ndarray | None:
    """MNIST-style 28x28 digit from a drawing of any size.

    Parameters
    ----------
    image : ndarray or PIL.Image
        Grey (H, W) or (H, W, C) with RGB(A); uint8 0-255 or float 0-1. Dark ink on a light
        background is inverted.

    Returns
    -------
    ndarray or None
        float32 (28, 28) in [0, 1], white strokes on black: cropped to the strokes, fitted in
        20x20 keeping the aspect ratio, centred on the centre of mass. None when nothing is
        drawn.
    """
    strokes = _strokes(image)
    return None if strokes is None else _digit(strokes)


def read_drawing(image: np.ndarray | Image.Image) -> tuple[np.ndarray | None, str | None]:
    """The drawing's MNIST-style digit (:func:`preprocess_drawing`) and why it cannot be read
    as a digit (``None`` when it can), both from one pass over the pixels; ``(None, None)``
    when nothing is drawn.

    Three cases a network would still answer with confidence: ink spanning less than
    :data:`MIN_EXTENT` of the drawing (a speck); strokes so thin for the drawing's size that
    none is left once fitted in 20×20; and a blob — ink whose extent is hardly more than its
    thickness, as a dot's. The blob test is ``extent² / ink`` on the MNIST-style 28×28 digit:
    1.2 for a dot, 1.0 for a filled square, at least 1.66 for every digit of the bundled
    MNIST sample.
    """
    strokes = _strokes(image)
    if strokes is None:
        return None, None
    digit = _digit(strokes)
    rows, cols = np.nonzero(strokes)
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    if extent < MIN_EXTENT * max(strokes.shape):
        return digit, "Too little ink to read: draw the digit larger."
    rows, cols = np.nonzero(digit >= NOISE)
    if rows.size == 0:
        return digit, ("Too little ink to read: the strokes are too thin for the drawing's "
                       "size. Draw them bolder.")
    side = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    if side * side / float(digit.sum()) < MIN_ELONGATION:
        return digit, "Not a digit: this looks like a dot or a blob. Draw the digit with strokes."
    return digit, None


def _digit(strokes: np.ndarray) -> np.ndarray:
    """The ink (some drawn) cropped, fitted in 20×20 and centred in 28×28."""
    rows, cols = np.nonzero(strokes)
    crop = strokes[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = crop.shape
    scale = FIT_SIZE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    fitted = Image.fromarray(np.ascontiguousarray(crop)).resize(size, resample)
    return _paste_centred(np.clip(np.asarray(fitted, dtype=np.float32), 0.0, 1.0))


def _strokes(image: np.ndarray | Image.Image) -> np.ndarray | None:
    """The ink as float32 (H, W) in [0, 1], light on dark, faint noise removed; ``None`` when
    there is no ink."""
    pixels = _as_grey_float(image)
    border = np.concatenate([pixels[0], pixels[-1], pixels[1:-1, 0], pixels[1:-1, -1]])
    background = float(np.median(border))
    if background > 0.5:
        pixels, background = 1.0 - pixels, 1.0 - background
    peak = float(pixels.max())
    if peak - background < MIN_CONTRAST:
        return None
    strokes = np.clip((pixels - background) / (peak - background), 0.0, 1.0)
    strokes[strokes < NOISE] = 0.0
    return strokes


def _paste_centred(fitted: np.ndarray) -> np.ndarray:
    """Paste into 28x28 so the centre of mass lands on pixel (14, 14), staying inside."""
    h, w = fitted.shape
    mass = float(fitted.sum())
    cy = float((fitted.sum(axis=1) * np.arange(h)).sum() / mass)
    cx = float((fitted.sum(axis=0) * np.arange(w)).sum() / mass)
    centre = DIGIT_SIZE // 2
    top = int(np.clip(round(centre - cy), 0, DIGIT_SIZE - h))
    left = int(np.clip(round(centre - cx), 0, DIGIT_SIZE - w))
    digit = np.zeros((DIGIT_SIZE, DIGIT_SIZE), dtype=np.float32)
    digit[top:top + h, left:left + w] = fitted
    return digit


def to_model_input(
    digit28: np.ndarray,
    input_shape: Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
) -> torch.Tensor:
    """A preprocessed digit as a model input (1, *input_shape), normalised like
    :class:`explorer.data.loader.BatchLoader` does."""
    digit = np.asarray(digit28, dtype=np.float32)
    x = torch.from_numpy(digit).reshape(1, 1, *digit.shape[-2:])
    scale, shift = normalisation(mean, std, int(input_shape[0]))
    return prepare_batch(x, input_shape, scale, shift)
