"""The bundled digit model and the predictor the canvas and ``explorer predict`` share."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.data import BatchLoader, load_dataset
from explorer.training.predict import Predictor, default_model_path


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load()


@pytest.fixture(scope="module")
def sample():
    return load_dataset("mnist-sample")


def test_bundled_model_is_small_and_at_least_98_percent_accurate(predictor, sample):
    assert default_model_path().is_file()
    assert sum(p.numel() for p in predictor.model.parameters()) < 100_000
    loader = BatchLoader(sample.test, input_shape=predictor.spec.input_shape,
                         mean=predictor.mean, std=predictor.std, batch_size=500)
    (x, y), = list(loader)
    with torch.inference_mode():
        accuracy = (predictor.model(x).argmax(1) == y).float().mean().item()
    assert accuracy >= 0.98
    assert predictor.checkpoint.metrics["test_accuracy"] == pytest.approx(accuracy)


def test_a_small_digit_in_a_corner_of_a_big_canvas(predictor, sample):
    right = 0
    for i in range(20):
        digit = sample.test.images[i, 0].numpy()
        canvas = np.full((300, 400), 255, np.uint8)  # dark ink on white paper
        small = np.kron(digit, np.ones((2, 2), np.uint8))  # 56×56, in the top-left corner
        canvas[10:66, 12:68] = 255 - small
        prediction = predictor.predict(canvas)
        right += prediction.label == str(int(sample.test.labels[i]))
        assert prediction.digit.shape == (28, 28)
        assert sum(prediction.probabilities) == pytest.approx(1, abs=1e-5)
    assert right >= 19


def test_an_empty_canvas_is_no_prediction(predictor):
    assert predictor.predict(np.zeros((280, 280), np.uint8)) is None
    assert predictor.predict(np.full((100, 100), 255, np.uint8)) is None
