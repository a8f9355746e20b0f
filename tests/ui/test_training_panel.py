"""The training panel's form is generated from the engine's settings schema."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit

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
    assert not panel.editors["step_size"].isEnabled()
    panel.set_value("schedule", "step")
    assert panel.editors["step_size"].isEnabled() and panel.editors["gamma"].isEnabled()
    assert panel.editors["step_size"].text() == "auto (a third of the epochs)"
    panel.set_value("step_size", 4)
    assert panel.job_settings()[0].step_size == 4


def test_an_invalid_value_is_refused_inline(qtbot, panel):
    lr = panel.editors["lr"]
    assert isinstance(lr, QLineEdit)
    lr.clear()
    qtbot.keyClicks(lr, "-0.5")
    qtbot.keyClick(lr, Qt.Key.Key_Return)
    assert "Learning rate" in panel.error.text() and "-0.5" in panel.error.text()
    with pytest.raises(ConfigError):
        panel.job_settings()
    lr.setText("fast")
    with pytest.raises(ConfigError, match="'fast' is not a number"):
        panel.job_settings()
    lr.setText("0.1")
    assert panel.job_settings()[0].lr == 0.1 and panel.error.text() == ""


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
