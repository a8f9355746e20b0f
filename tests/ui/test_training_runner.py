"""The runner runs one job at a time and ends its thread; its first weights are the engine's
for the seed, drawn without touching the global RNG."""

from __future__ import annotations

import pytest

from explorer.core.spec import ArchitectureSpec
from explorer.training import TrainConfig
from explorer.ui.training_runner import TrainingRunner, TrainJob


def test_one_run_at_a_time_and_bad_settings_reported(qtbot):
    runner = TrainingRunner()
    spec = ArchitectureSpec.from_dict({
        "name": "no-classifier", "input_shape": [1, 28, 28], "num_classes": 10,
        "blocks": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3}],
    })
    job = TrainJob(spec, TrainConfig(device="cpu"), None, "no-classifier v1")
    failures = []
    runner.failed.connect(failures.append)
    with qtbot.waitSignal(runner.running_changed, timeout=10_000):
        runner.start(job)
    with pytest.raises(RuntimeError, match="already going"):
        runner.start(job)
    qtbot.waitUntil(lambda: not runner.running, timeout=30_000)
    assert failures and "cannot be trained as a classifier" in failures[0]
    assert runner.shutdown()
