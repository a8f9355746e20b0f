"""Drawing preprocessing: MNIST-style crop, fit, centre; image files; model input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from explorer.data import (
    BatchLoader,
    DataError,
    DataSplit,
    load_dataset,
    load_image,
    preprocess_drawing,
    to_model_input,
)

SEVEN = [(0.2, 0.15), (0.8, 0.15), (0.45, 0.9)]
TWO = [(0.2, 0.3), (0.35, 0.12), (0.65, 0.12), (0.75, 0.3), (0.2, 0.88), (0.8, 0.88)]


def draw(points, canvas: int, box: tuple[int, int, int], ink=255, background=0) -> np.ndarray:
    """A polyline digit inside ``box`` = (left, top, size), stroke width 10 % of the size."""
    left, top, size = box
    image = Image.new("L", (canvas, canvas), background)
    line = [(left + x * size, top + y * size) for x, y in points]
    ImageDraw.Draw(image).line(line, fill=ink, width=size // 10, joint="curve")
    return np.asarray(image)


def paste_scaled(digit: np.ndarray, scale: int, at: tuple[int, int], resample) -> np.ndarray:
    big = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), resample))
    canvas = np.zeros((200, 200), dtype=np.uint8)
    canvas[at[0]:at[0] + 28 * scale, at[1]:at[1] + 28 * scale] = big
    return canvas


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.fixture(scope="module")
def sample_digits():
    return load_dataset("mnist-sample").test.images[:100, 0].numpy()


def test_output_is_an_mnist_style_digit():
    digit = preprocess_drawing(draw(TWO, 280, (40, 40, 200)))
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() == 0.0 and digit.max() == pytest.approx(1.0)
    rows, cols = np.nonzero(digit)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 == 20  # fits 20x20
    ys, xs = np.mgrid[:28, :28]
    centre = (digit * ys).sum() / digit.sum(), (digit * xs).sum() / digit.sum()
    assert np.allclose(centre, 14, atol=0.5)  # centre of mass on (14, 14)


@pytest.mark.parametrize("points", [SEVEN, TWO])
@pytest.mark.parametrize(
    ("canvas", "box"), [(400, (10, 330, 60)), (400, (300, 5, 90)), (1000, (900, 900, 80))]
)
def test_small_digit_in_a_corner_matches_the_centred_one(points, canvas, box):
    centred = preprocess_drawing(draw(points, 280, (40, 40, 200)))
    small = preprocess_drawing(draw(points, canvas, box))
    # measured: correlation >= 0.985, mean difference <= 0.012, at most 11 pixels off by
    # more than 0.25 (stroke edges rasterised at another scale)
    assert correlation(centred, small) > 0.97
    assert np.abs(centred - small).mean() < 0.02
    assert (np.abs(centred - small) > 0.25).sum() <= 20


def test_sample_digits_come_back_from_a_corner(sample_digits):
    """Real MNIST digits blown up x3 in a corner of a 200x200 canvas come back as they were."""
    exact, blurred = [], []
    for digit in sample_digits:
        reference = digit.astype(np.float32) / 255
        for resample, results in ((Image.Resampling.NEAREST, exact),
                                  (Image.Resampling.BILINEAR, blurred)):
            out = preprocess_drawing(paste_scaled(digit, 3, (116, 5), resample))
            results.append((np.abs(out - reference).mean(), correlation(out, reference)))
    exact, blurred = np.asarray(exact), np.asarray(blurred)
    # Pixel-exact enlargement: measured mean difference 0.0009 (median), 0.002 (95th
    # percentile); the few outliers are one-pixel shifts when the centre of mass is at .5.
    assert np.median(exact[:, 0]) < 0.005
    assert np.mean(exact[:, 0] < 0.01) >= 0.9
    # Bilinear enlargement blurs and widens the strokes: measured median correlation 0.97.
    assert np.median(blurred[:, 1]) > 0.93
    assert np.median(blurred[:, 0]) < 0.05


def test_dark_ink_on_light_is_inverted():
    light_on_dark = preprocess_drawing(draw(SEVEN, 280, (40, 40, 200)))
    dark_on_light = preprocess_drawing(draw(SEVEN, 280, (40, 40, 200), ink=0, background=255))
    assert np.allclose(light_on_dark, dark_on_light, atol=1e-6)
    pencil_on_paper = draw(SEVEN, 280, (40, 40, 200), ink=60, background=230)
    assert np.allclose(preprocess_drawing(pencil_on_paper), light_on_dark, atol=0.02)


def test_colour_float_and_pil_inputs_agree():
    grey = draw(TWO, 200, (20, 20, 150))
    expected = preprocess_drawing(grey)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    assert np.allclose(preprocess_drawing(rgb), expected, atol=1e-6)
    assert np.allclose(preprocess_drawing(grey.astype(np.float32) / 255), expected, atol=1e-6)
    assert np.allclose(preprocess_drawing(Image.fromarray(rgb)), expected, atol=1e-6)
    # black ink on a transparent sheet, as a canvas may export it
    rgba = np.zeros((200, 200, 4), dtype=np.uint8)
    rgba[..., 3] = grey
    assert np.allclose(preprocess_drawing(rgba), expected, atol=1e-6)
    assert np.allclose(preprocess_drawing(Image.fromarray(rgba)), expected, atol=1e-6)


@pytest.mark.parametrize("value", [0, 255, 128])
def test_empty_canvas_gives_none(value):
    assert preprocess_drawing(np.full((280, 280), value, dtype=np.uint8)) is None
    assert preprocess_drawing(np.zeros((280, 280, 4), dtype=np.uint8)) is None  # transparent


def test_bad_array_shape():
    with pytest.raises(DataError, match="a drawing must be"):
        preprocess_drawing(np.zeros((10, 10, 5), dtype=np.uint8))


def test_load_image(tmp_path):
    grey = draw(TWO, 120, (10, 10, 100), ink=0, background=255)
    Image.fromarray(grey).save(tmp_path / "two.png")
    loaded = load_image(tmp_path / "two.png")
    assert loaded.shape == (120, 120) and loaded.dtype == np.float32
    assert np.allclose(loaded, grey / 255, atol=1e-6)
    rgba = np.zeros((120, 120, 4), dtype=np.uint8)
    rgba[..., 3] = 255 - grey  # black ink, transparent background
    Image.fromarray(rgba).save(tmp_path / "two-transparent.png")
    assert np.allclose(load_image(tmp_path / "two-transparent.png"), loaded, atol=1 / 255)
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(tmp_path / "two.jpg", quality=95)
    assert np.abs(load_image(tmp_path / "two.jpg") - loaded).mean() < 0.02


@pytest.mark.parametrize(
    ("name", "reason"),
    [("notes.txt", "not a format Pillow can read"), ("missing.png", "no such file")],
)
def test_load_image_names_the_bad_file(tmp_path, name, reason):
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("a 7, honestly")
    with pytest.raises(DataError, match=rf"{name} is not an image \({reason}\)"):
        load_image(path)


def test_truncated_image_names_the_file(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(draw(TWO, 120, (10, 10, 100))).save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="cut.png is not an image"):
        load_image(path)


def test_to_model_input_matches_the_batch_loader(sample_digits):
    digit = sample_digits[0]
    mean, std = (0.1307,), (0.3081,)
    split = DataSplit(torch.from_numpy(digit).view(1, 1, 28, 28), torch.zeros(1).long())
    for shape in [(1, 28, 28), (3, 32, 32), (3, 224, 224)]:
        x = to_model_input(digit.astype(np.float32) / 255, shape, mean, std)
        batch, _ = next(iter(BatchLoader(
            split, input_shape=shape, mean=mean, std=std, batch_size=1
        )))
        assert x.shape == (1, *shape) and x.dtype == torch.float32
        assert torch.allclose(x, batch, atol=1e-6)
    plain = to_model_input(digit / 255, (1, 28, 28), mean, std)
    assert torch.allclose(plain[0, 0], (torch.from_numpy(digit) / 255 - 0.1307) / 0.3081, atol=1e-5)
