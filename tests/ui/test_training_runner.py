"""The inference worker runs only the newest waiting job of a kind; the runner runs one job
at a time and ends its thread."""

from __future__ import annotations

import threading

import pytest

from explorer.core.spec import ArchitectureSpec
from explorer.training import TrainConfig
from explorer.ui.training_runner import InferenceWorker, TrainingRunner, TrainJob


def test_only_the_newest_waiting_job_runs(qtbot):
    worker = InferenceWorker()
    gate, busy = threading.Event(), threading.Event()
    ran, results, errors = [], [], []
    worker.result.connect(lambda kind, gen, value: results.append((kind, gen, value)))
    worker.error.connect(lambda kind, gen, message: errors.append((kind, gen, message)))

    def job(_cache, n):
        if n == 1:
            busy.set()
            gate.wait(10)
        ran.append(n)
        return n * 10

    worker.submit("predict", 1, job, 1)  # blocks the thread until the gate opens
    assert busy.wait(10)
    for n in (2, 3, 4):
        worker.submit("predict", n, job, n)
    worker.submit("features", 5, lambda _cache: 1 / 0)
    gate.set()
    qtbot.waitUntil(lambda: len(results) == 2 and len(errors) == 1, timeout=10_000)
    assert ran == [1, 4]
    assert results == [("predict", 1, 10), ("predict", 4, 40)]
    assert errors[0][:2] == ("features", 5) and "ZeroDivisionError" in errors[0][2]
    worker.shutdown()
    assert not worker.running


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
