"""A dot or a speck is not read as a digit; every real digit is."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.data.drawing import read_drawing
from explorer.paths import resource_path

CANVAS = 280


def drawing_problem(image: np.ndarray) -> str | None:
    return read_drawing(image)[1]


def disc(radius: float, cy: int = 140, cx: int = 140) -> np.ndarray:
    yy, xx = np.mgrid[:CANVAS, :CANVAS]
    return (((yy - cy) ** 2 + (xx - cx) ** 2) < radius ** 2).astype(np.uint8) * 255


def line(y0, x0, y1, x1, width=18) -> np.ndarray:
    yy, xx = np.mgrid[:CANVAS, :CANVAS].astype(np.float32)
    d = np.array([y1 - y0, x1 - x0], np.float32)
    t = np.clip(((yy - y0) * d[0] + (xx - x0) * d[1]) / float(d @ d), 0, 1)
    dist = np.hypot(yy - (y0 + t * d[0]), xx - (x0 + t * d[1]))
    return (dist < width / 2).astype(np.uint8) * 255


@pytest.mark.parametrize("image", [disc(9), disc(30), disc(9, 20, 250)],
                         ids=["dot", "big dot", "dot in a corner"])
def test_a_dot_is_not_a_digit(image):
    assert drawing_problem(image).startswith("Not a digit: this looks like a dot or a blob")


def test_a_filled_square_is_a_blob():
    square = np.zeros((CANVAS, CANVAS), np.uint8)
    square[60:220, 60:220] = 255
    assert drawing_problem(square).startswith("Not a digit")


def test_a_speck_is_too_little_ink():
    assert drawing_problem(line(140, 140, 145, 142, width=3)) == \
        "Too little ink to read: draw the digit larger."


def test_strokes_too_thin_for_a_large_image_are_too_little_ink():
    """A 2-pixel "1" with its base on 1200×1200: averaged into 20×20, no pixel of it is ink
    any more (this crashed the check)."""
    from explorer.data.drawing import preprocess_drawing

    image = np.zeros((1200, 1200), np.uint8)
    image[200:1000, 600:602] = 255
    image[998:1000, 400:800] = 255
    digit, problem = read_drawing(image)
    assert problem == ("Too little ink to read: the strokes are too thin for the drawing's "
                       "size. Draw them bolder.")
    assert digit.shape == (28, 28) and digit.max() < 0.1
    assert np.array_equal(preprocess_drawing(image), digit)


def test_strokes_are_read():
    one = line(40, 140, 240, 140)
    seven = np.maximum(line(40, 60, 40, 220), line(40, 220, 240, 120))
    small_seven_in_a_corner = np.maximum(line(10, 10, 10, 40, 4), line(10, 40, 45, 25, 4))
    for image in (one, seven, small_seven_in_a_corner):
        assert drawing_problem(image) is None
    assert drawing_problem(np.zeros((CANVAS, CANVAS), np.uint8)) is None   # empty: no problem


def test_every_digit_of_the_mnist_sample_is_read():
    images = np.load(resource_path("mnist_sample.npz"))["images"]
    problems = [i for i, image in enumerate(images) if drawing_problem(image) is not None]
    assert problems == []


def test_the_network_gives_no_answer_for_a_dot():
    from explorer.training.analysis import Snapshot, predict_drawing
    from explorer.training.checkpoint import load_checkpoint
    from explorer.training.predict import default_model_path

    snap = Snapshot.of_checkpoint(load_checkpoint(default_model_path()), "bundled")
    result = predict_drawing(snap.build(), snap, disc(9))
    assert result.probabilities is None and result.top is None
    assert result.note.startswith("Not a digit")
    assert result.digit.shape == (28, 28)           # what it would have seen is still shown
