"""The curves show the numbers the run reported (each on its own curve, the smoothing as
stated), and feature-map tiles span each map's own range."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.training.events import BatchEnd, EpochEnd
from explorer.ui.widgets.curves import SMOOTHING, CurvesView
from explorer.ui.widgets.feature_maps import FeatureMaps, FeatureMapsView
from explorer.ui.widgets.tiles import gray_image, stretch

LOSSES = [2.0, 1.0, 0.5, 0.25]
RATES = [0.1, 0.1, 0.05, 0.05]


@pytest.fixture
def curves(qtbot):
    view = CurvesView()
    qtbot.addWidget(view)
    view.timer.stop()
    view.start_run(epochs=2, lr=0.1)
    for step, (loss, lr) in enumerate(zip(LOSSES, RATES), start=1):
        epoch, batch = (step - 1) // 2 + 1, (step - 1) % 2 + 1
        view.add_batch(BatchEnd(epoch=epoch, batch=batch, batches=2, step=step, loss=loss,
                                lr=lr, samples_per_second=100.0))
        if batch == 2:
            view.add_epoch(EpochEnd(epoch=epoch, epochs=2, train_loss=[1.5, 0.4][epoch - 1],
                                    train_accuracy=[0.5, 0.7][epoch - 1],
                                    test_loss=[1.2, 0.9][epoch - 1],
                                    test_accuracy=[0.6, 0.8][epoch - 1], epoch_time=1.0,
                                    is_best=True))
    view.redraw()
    yield view
    view.timer.stop()


def test_each_curve_holds_its_own_numbers(curves):
    np.testing.assert_allclose(curves.loss_raw.xData, [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(curves.loss_raw.yData, LOSSES)
    np.testing.assert_allclose(curves.train_accuracy.xData, [1, 2])
    np.testing.assert_allclose(curves.train_accuracy.yData, [50, 70])
    np.testing.assert_allclose(curves.test_accuracy.yData, [60, 80])
    np.testing.assert_allclose(curves.test_loss.yData, [1.2, 0.9])
    np.testing.assert_allclose(curves.lr_curve.yData, RATES)


def test_the_smoothed_loss_is_the_stated_moving_average(curves):
    expected, value = [], None
    for loss in LOSSES:
        value = loss if value is None else SMOOTHING * value + (1 - SMOOTHING) * loss
        expected.append(value)
    np.testing.assert_allclose(curves.loss_smooth.yData, expected)
    assert expected[1] == pytest.approx(1.9)            # 0.9 · 2 + 0.1 · 1: slow to follow


def test_the_csv_holds_the_same_numbers(curves, tmp_path):
    epochs, batches = curves.export_csv(tmp_path / "metrics.csv")
    assert epochs.read_text().splitlines() == [
        "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr",
        "1,1.5,0.5,1.2,0.6,0.1", "2,0.4,0.7,0.9,0.8,0.05"]
    assert batches.read_text().splitlines()[2] == "2,1,2,1.0,1.9,0.1"


def test_a_tile_spans_its_maps_own_range():
    m = np.array([[-2.0, 0.0], [1.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(stretch(m), [[0.0, 0.5], [0.75, 1.0]])
    np.testing.assert_allclose(stretch(m + 10), stretch(m))      # shifted: the same picture
    assert not stretch(np.full((2, 2), 3.0)).any()                 # a constant map is black
    image = gray_image(stretch(m))
    assert image.pixelColor(0, 0).value() == 0 and image.pixelColor(1, 1).value() == 255
    assert abs(image.pixelColor(0, 1).value() - 191) <= 1          # 0.75 of white


def test_the_heading_gives_the_layers_true_range(qtbot):
    view = FeatureMapsView()
    qtbot.addWidget(view)
    maps = np.stack([np.full((3, 3), -1.5, np.float32), np.eye(3, dtype=np.float32) * 4])
    view.set_result(FeatureMaps("tiny v2", (("conv1", "conv1 (conv2d) → 2×3×3"),), "conv1",
                                maps, "conv1", None, None))
    assert view.heading.text().startswith("conv1: 2 channels of 3×3, values -1.5 to 4 ")
