"""The training panel's form is generated from the engine's settings schema."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from explorer.training import ConfigError
from explorer.training.config import SETTINGS
from explorer.ui.widgets import training_panel
from explorer.ui.widgets.training_panel import TrainingPanel, device_choices


@pytest.fixture
def panel(qtbot):
    widget = TrainingPanel()
    qtbot.addWidget(widget)
    return widget


def test_every_setting_has_an_editor_with_its_default(panel):
    assert set(panel.editors) == {p.name for p in SETTINGS} | {"init"}
    config, init = panel.job_settings()
    for param in SETTINGS:
        assert getattr(config, param.name) == param.default, param.name
    assert init == "default"


def test_settings_apply_only_when_the_schema_says(panel):
    momentum = panel.editors["momentum"]
    assert momentum.isEnabled()  # SGD is the default
    panel.set_value("optimizer", "adam")
    assert not momentum.isEnabled() and "optimizer is 'sgd'" in momentum.toolTip()
    assert not panel.fields["step_size"].isEnabled()
    panel.set_value("schedule", "step")
    assert panel.fields["step_size"].isEnabled() and panel.editors["gamma"].isEnabled()
    assert panel.fields["step_size"].alt.text() == "auto (a third of the epochs)"
    assert panel.job_settings()[0].step_size is None
    panel.set_value("step_size", 4)
    assert panel.job_settings()[0].step_size == 4


def test_an_invalid_value_is_refused_inline(qtbot, panel):
    field = panel.fields["lr"]
    lr = field.editor
    lr.lineEdit().clear()
    qtbot.keyClicks(lr, "-0.5")
    qtbot.keyClick(lr, Qt.Key.Key_Return)
    assert lr.text() == "-0.5"                           # kept as typed, refused with the range
    assert field.error.text().startswith("lr = -0.5 is not valid; expected a number > 0")
    with pytest.raises(ConfigError, match="-0.5"):
        panel.job_settings()
    assert "Learning rate" in panel.error.text()
    lr.lineEdit().setText("fast")
    with pytest.raises(ConfigError, match="'fast' is not a number"):
        panel.job_settings()
    lr.lineEdit().setText("0.1")
    assert panel.job_settings()[0].lr == 0.1 and panel.error.text() == ""


@pytest.mark.parametrize("name, text, expected", [
    ("epochs", "-5", "epochs = -5 is not valid; expected an integer ≥ 1"),
    ("batch_size", "1000000000", "batch_size = 1000000000 is not valid; expected an integer"),
    ("epochs", "0", "epochs = 0 is not valid; expected an integer ≥ 1"),
])
def test_out_of_range_numbers_are_refused_not_clamped(qtbot, panel, name, text, expected):
    field = panel.fields[name]
    field.editor.lineEdit().clear()
    qtbot.keyClicks(field.editor, text)
    qtbot.keyClick(field.editor, Qt.Key.Key_Return)
    assert field.editor.text() == text
    assert field.error.text().startswith(expected) and field.error.isVisibleTo(panel)
    with pytest.raises(ConfigError):
        panel.job_settings()


def test_the_data_sets_offered(panel, monkeypatch, tmp_path):
    combo = panel.editors["dataset"]
    sources = [combo.itemData(i) for i in range(combo.count())]
    assert sources[:4] == ["mnist-sample", "mnist", "fashion-mnist", "cifar10"]
    monkeypatch.setattr("explorer.data.datasets.DEBIAN_FASHION_MNIST", tmp_path)
    labels = dict(training_panel.dataset_choices())
    assert labels["fashion-mnist"] == f"Fashion-MNIST, full (found in {tmp_path})"
    panel.add_dataset_folder(tmp_path)
    assert panel.value("dataset") == str(tmp_path)
    assert tmp_path.name in combo.currentText()


def test_the_device_list_names_every_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"NVIDIA H200 #{i}")
    choices = device_choices()
    assert choices[0] == ("auto", "Automatic (GPU 0: NVIDIA H200 #0)")
    assert ("cpu", "CPU") in choices
    assert ("cuda:1", "GPU 1: NVIDIA H200 #1") in choices


def test_the_device_list_without_a_gpu(panel):
    combo = panel.editors["device"]
    assert isinstance(combo, QComboBox)
    values = [combo.itemData(i) for i in range(combo.count())]
    assert values[:2] == ["auto", "cpu"]
    if not torch.cuda.is_available():
        assert combo.itemText(0) in ("Automatic (CPU)", "Automatic (Apple GPU (MPS))")


@pytest.mark.parametrize(("epochs", "text"), [(1, "1 epoch"), (3, "3 epochs")])
def test_the_end_of_a_run_counts_its_epochs(panel, epochs, text):
    from explorer.training.events import Finished

    panel.on_event(Finished(status="finished", reason=f"trained {text}", epochs_done=epochs,
                            best_test_accuracy=0.238, test_accuracy=0.2, checkpoint=None,
                            elapsed=80.0, samples_per_second=52.0))
    assert panel.progress.format() == f"finished · {text}, best test accuracy 23.80 %"


def test_progress_and_eta_follow_the_batches_left(panel):
    from explorer.training.events import BatchEnd, Started

    panel.batch_size = 32
    panel.on_event(Started(device="cpu", params=1000, batches_per_epoch=10, epochs=2,
                           run_dir=None))
    assert (panel.progress.minimum(), panel.progress.maximum()) == (0, 20)
    panel.on_event(BatchEnd(epoch=2, batch=3, batches=10, step=13, loss=0.5, lr=0.1,
                            samples_per_second=64.0))
    assert panel.progress.value() == 13
    # 7 batches of 32 left at 64 samples/s: 3.5 s
    assert panel.progress.format() == "epoch 2/2 · batch 3/10 · 64 samples/s · ETA 0:04"
