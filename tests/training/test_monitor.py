"""What the window says about a run, from its events."""

from __future__ import annotations

import math

from explorer.training.events import BatchEnd, EpochEnd, Finished, Paused, Started
from explorer.training.monitor import RunMonitor, duration


def _epoch(epoch: int, accuracy: float, best: bool) -> EpochEnd:
    return EpochEnd(epoch=epoch, epochs=3, train_loss=0.5, train_accuracy=0.8, test_loss=0.4,
                    test_accuracy=accuracy, epoch_time=1.0, is_best=best)


def _batch(epoch: int, batch: int, speed: float = 64.0) -> BatchEnd:
    return BatchEnd(epoch=epoch, batch=batch, batches=10, step=(epoch - 1) * 10 + batch,
                    loss=0.3, lr=0.01, samples_per_second=speed)


def test_duration():
    assert duration(75) == "1:15"
    assert duration(3725) == "1:02:05"
    assert duration(math.nan) == "…"


def test_status_during_a_run_names_epoch_batch_accuracy_and_time_left():
    monitor = RunMonitor("lenet", batch_size=64)
    assert monitor.status_text() == "Training lenet: loading the data set…"
    monitor.update(Started(device="cpu", params=10, batches_per_epoch=10, epochs=3, run_dir=None))
    monitor.update(_batch(1, 4))
    assert monitor.status_text() == ("Training: epoch 1/3 · batch 4/10 · test accuracy after "
                                     "epoch 1 · ETA 0:26")   # 26 batches × 64 / 64 per s
    assert monitor.short_text() == "training 13 %"           # 4 of 30 batches
    monitor.update(_epoch(1, 0.912, True))
    monitor.update(_batch(2, 5, speed=32.0))
    assert monitor.fraction == 15 / 30
    assert monitor.status_text() == ("Training: epoch 2/3 · batch 5/10 · test accuracy "
                                     "91.2 % (epoch 1) · ETA 0:30")   # 15 × 64 / 32
    monitor.update(Paused(epoch=2, batch=5))
    assert monitor.status_text().startswith("Paused: epoch 2/3")
    assert monitor.short_text() == "paused at 50 %"


def test_the_end_names_the_best_accuracy_and_its_epoch():
    monitor = RunMonitor("lenet v3", batch_size=64)
    monitor.update(Started(device="cpu", params=10, batches_per_epoch=10, epochs=3, run_dir=None))
    monitor.update(_epoch(1, 0.90, True))
    monitor.update(_epoch(2, 0.95, True))
    monitor.update(_epoch(3, 0.93, False))
    monitor.update(Finished(status="finished", reason="3 epochs done", epochs_done=3,
                            best_test_accuracy=0.95, test_accuracy=0.93, checkpoint=None,
                            elapsed=83.0, samples_per_second=600.0))
    assert not monitor.running
    assert monitor.end_text() == ("Training lenet v3 finished: best test accuracy 95.00 % "
                                  "(epoch 2), 3 epochs in 1:23")


def test_a_run_stopped_before_its_first_epoch_says_so():
    monitor = RunMonitor("net", batch_size=32)
    monitor.update(Finished(status="stopped", reason="stopped by the user", epochs_done=0,
                            best_test_accuracy=None, test_accuracy=None, checkpoint=None,
                            elapsed=4.0, samples_per_second=0.0))
    assert monitor.end_text() == "Training net stopped: no epoch completed, 0 epochs in 0:04"
