from __future__ import annotations

import csv
import dataclasses
import gc
import json
import math
import threading

import pytest
import torch
from training_helpers import tiny_spec_dict

from explorer.core.builder import build_model
from explorer.core.spec import ArchitectureSpec
from explorer.data import Dataset
from explorer.training import (
    BatchEnd,
    CheckpointSaved,
    ConfigError,
    EpochEnd,
    Finished,
    Paused,
    Resumed,
    Started,
    TrainConfig,
    TrainControl,
    TrainError,
    load_checkpoint,
    make_optimizer,
    make_scheduler,
    train,
)

schedules = torch.optim.lr_scheduler


def run(spec, config, **kwargs) -> list:
    return list(train(spec, config, **kwargs))


def of(events, kind) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_training_learns_and_reports(spec, dataset, config):
    config = dataclasses.replace(config, epochs=3)
    events = run(spec, config, dataset=dataset)
    started, finished = events[0], events[-1]
    assert isinstance(started, Started) and isinstance(finished, Finished)
    assert started.device == "cpu" and started.batches_per_epoch == 8 and started.epochs == 3
    assert started.params == sum(p.numel() for p in build_model(spec).parameters())
    batches, epochs = of(events, BatchEnd), of(events, EpochEnd)
    assert [b.step for b in batches] == list(range(1, 25))
    assert [(b.epoch, b.batch) for b in batches[7:9]] == [(1, 8), (2, 1)]
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert sum(b.loss for b in batches[-4:]) < sum(b.loss for b in batches[:4])
    assert epochs[-1].test_accuracy > 0.9
    assert finished.status == "finished" and finished.epochs_done == 3
    assert finished.checkpoint is None  # no run folder: nothing written
    assert finished.best_test_accuracy == max(e.test_accuracy for e in epochs)
    assert finished.samples_per_second > 0 and finished.elapsed > 0


def test_events_hold_plain_python_values(spec, dataset, config):
    for event in run(spec, config, dataset=dataset):
        for item in dataclasses.fields(event):
            value = getattr(event, item.name)
            assert type(value) in (int, float, str, bool, type(None)), (event, item.name)


def dropout_spec() -> ArchitectureSpec:
    data = tiny_spec_dict()
    data["blocks"].insert(4, {"type": "dropout", "p": 0.5})
    return ArchitectureSpec.from_dict(data)


def test_same_seed_same_run_other_seed_other_run(dataset, config):
    spec = dropout_spec()  # weights, batch order, augmentation and dropout are all seeded

    def losses(seed):
        changed = dataclasses.replace(config, augment=True, seed=seed)
        return [e.loss for e in run(spec, changed, dataset=dataset) if isinstance(e, BatchEnd)]

    first = losses(3)
    assert losses(3) == first
    assert losses(4) != first


def test_a_run_leaves_the_global_rng_and_the_collector_alone(dataset, config):
    spec = dropout_spec()
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    frozen = gc.get_freeze_count()
    events = train(spec, config, dataset=dataset)
    first = [next(events) for _ in range(3)]
    assert torch.equal(torch.get_rng_state(), before)  # also between events
    rest = list(events)
    assert rest[-1].status == "finished"
    assert torch.equal(torch.get_rng_state(), before)
    assert gc.get_freeze_count() == frozen and gc.isenabled()
    plain = [e.loss for e in first + rest if isinstance(e, BatchEnd)]

    # the caller drawing random numbers between events changes nothing in the run
    drawn = []
    for event in train(spec, config, dataset=dataset):
        torch.rand(7)
        drawn.append(event)
    assert [e.loss for e in drawn if isinstance(e, BatchEnd)] == plain


def test_bad_settings_raise_before_any_event(spec, dataset, config):
    with pytest.raises(ConfigError, match="device = 'cuda' is not available"):
        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
        train(spec, TrainConfig(device="cuda"), dataset=dataset)


def test_network_must_end_in_class_scores(dataset, config):
    data = tiny_spec_dict()
    data["blocks"] = data["blocks"][:3]  # no flatten → linear
    with pytest.raises(TrainError, match="ends in 4×6×6, not 4 class scores"):
        train(ArchitectureSpec.from_dict(data), config, dataset=dataset)
    data = tiny_spec_dict()
    data["num_classes"] = 3
    with pytest.raises(TrainError, match="has 4 classes but 'tiny' gives 3 scores"):
        train(ArchitectureSpec.from_dict(data), config, dataset=dataset)


def test_a_network_without_weights_is_refused_before_any_event(dataset, config):
    pooling = ArchitectureSpec.from_dict({  # as the window would start it: train() raises
        "name": "pooling", "input_shape": [4, 3, 3], "num_classes": 4,
        "blocks": [{"type": "global_avg_pool"}, {"type": "flatten"}]})
    with pytest.raises(TrainError, match="'pooling' has no parameters to train"):
        train(pooling, config, dataset=dataset)
    data = tiny_spec_dict()  # the same with one linear layer after it trains
    data["blocks"] = [{"type": "global_avg_pool"}, {"type": "flatten"},
                      {"type": "linear", "out_features": "classes"}]
    events = list(train(ArchitectureSpec.from_dict(data), config, dataset=dataset))
    assert events[-1].status == "finished"


def test_run_folder(tmp_path, spec, dataset, config):
    events = run(spec, config, dataset=dataset, run_dir=tmp_path / "run")
    folder = tmp_path / "run"
    info = json.loads((folder / "config.json").read_text())
    assert info["config"] == config.to_dict()
    assert info["architecture"] == spec.to_dict()
    assert info["dataset"]["name"] == "synthetic" and info["dataset"]["train"] == 256
    lines = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2]
    epochs = of(events, EpochEnd)
    assert lines[1]["test_accuracy"] == epochs[1].test_accuracy
    with open(folder / "metrics.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:5] == ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
    assert [row[0] for row in rows[1:]] == ["1", "2"]
    saved = of(events, CheckpointSaved)
    assert saved[-1].path == str(folder / "last.json")
    assert events[-1].checkpoint == str(folder / "best.json")
    assert {p.name for p in folder.iterdir()} == {
        "config.json", "metrics.jsonl", "metrics.csv",
        "best.json", "best.safetensors", "last.json", "last.safetensors",
    }
    best = load_checkpoint(folder / "best")
    assert best.metrics["test_accuracy"] == events[-1].best_test_accuracy
    assert best.classes == dataset.classes and best.mean == (0.2,)


def test_pause_resume_stop_by_driving_the_generator(tmp_path, spec, dataset, config):
    control = TrainControl()
    events = train(spec, config, dataset=dataset, run_dir=tmp_path, control=control)
    seen = [next(events), next(events)]
    assert isinstance(seen[-1], BatchEnd)
    control.pause()
    seen.append(next(events))
    assert seen[-1] == Paused(epoch=1, batch=1)
    control.resume()
    seen.append(next(events))
    assert isinstance(seen[-1], Resumed) and (seen[-1].epoch, seen[-1].batch) == (1, 1)
    assert isinstance(next(events), BatchEnd)
    assert isinstance(next(events), BatchEnd)
    control.stop()
    rest = list(events)
    assert isinstance(rest[0], CheckpointSaved) and rest[0].path.endswith("last.json")
    assert rest[0].test_accuracy is None  # stopped before the first evaluation
    finished = rest[-1]
    assert finished.status == "stopped" and "after batch 3 of epoch 1" in finished.reason
    assert finished.epochs_done == 0 and finished.checkpoint is None
    assert load_checkpoint(tmp_path / "last").epoch == 0


def test_pause_and_stop_from_another_thread(spec, dataset, config):
    config = dataclasses.replace(config, epochs=1000)
    control = TrainControl()
    events: list = []
    paused = threading.Event()

    def consume():
        for event in train(spec, config, dataset=dataset, control=control):
            events.append(event)
            if isinstance(event, Paused):
                paused.set()

    worker = threading.Thread(target=consume)
    worker.start()
    control.pause()
    assert paused.wait(timeout=30)
    count = len(events)
    worker.join(timeout=0.2)
    assert worker.is_alive() and len(events) == count  # blocked while paused
    control.resume()
    control.stop()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert events[-1].status == "stopped"


def test_divergence_stops_with_a_reason_and_keeps_the_best(tmp_path, spec, dataset, config):
    model = build_model(spec)
    calls = {"n": 0}

    def poison(module, args, out):
        if module.training and not out.is_meta:  # not the shape check, not evaluation
            calls["n"] += 1
            if calls["n"] > 10:  # epoch 1 has 8 batches: it ends and is evaluated first
                return out * float("nan")
        return out

    model.fc1.register_forward_hook(poison)
    events = run(spec, config, dataset=dataset, run_dir=tmp_path, model=model)
    finished = events[-1]
    assert finished.status == "failed" and finished.epochs_done == 1
    assert "at step 11 (epoch 2, batch 3)" in finished.reason
    assert "lower the learning rate" in finished.reason.lower()
    assert "best checkpoint (epoch 1) is kept" in finished.reason
    assert not (tmp_path / "last.json").exists()
    best = load_checkpoint(finished.checkpoint)
    assert all(torch.isfinite(t).all() for t in best.model.state_dict().values())


def test_huge_learning_rate_fails_cleanly(spec, dataset, config):
    config = dataclasses.replace(config, lr=1e12)
    finished = run(spec, config, dataset=dataset)[-1]
    assert finished.status == "failed" and "lr = 1e+12" in finished.reason


def test_out_of_memory_hints_at_the_batch_size(spec, dataset, config):
    model = build_model(spec)

    def oom(module, args):
        if not args[0].is_meta:  # let the shape check pass
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    model.conv1.register_forward_pre_hook(oom)
    finished = run(spec, config, dataset=dataset, model=model)[-1]
    assert finished.status == "failed"
    assert "out of memory" in finished.reason and "batch size (try 16)" in finished.reason


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"schedule": "step", "step_size": 1, "gamma": 0.5}, lambda lrs: lrs[-1] == 0.025),
        ({"schedule": "cosine"}, lambda lrs: lrs[-1] < lrs[0]),
        ({"schedule": "onecycle"}, lambda lrs: len(set(lrs)) == len(lrs)),
        ({"optimizer": "adam", "lr": 0.01}, lambda lrs: set(lrs) == {0.01}),
        ({"optimizer": "adamw", "weight_decay": 0.01}, lambda lrs: len(lrs) == 16),
    ],
)
def test_optimizers_and_schedules(spec, dataset, config, changes, check):
    config = dataclasses.replace(config, **changes)
    events = run(spec, config, dataset=dataset)
    assert events[-1].status == "finished"
    assert check([e.lr for e in of(events, BatchEnd)])


def test_max_batches_and_continuing_a_given_model(tmp_path, spec, dataset, config):
    config = dataclasses.replace(config, max_batches_per_epoch=3)
    events = run(spec, config, dataset=dataset, run_dir=tmp_path)
    assert events[0].batches_per_epoch == 3 and len(of(events, BatchEnd)) == 6
    loaded = load_checkpoint(tmp_path / "last")
    again = run(spec, config, dataset=dataset, model=loaded.model)
    assert of(again, BatchEnd)[0].loss < of(events, BatchEnd)[0].loss


def test_mnist_sample_integration(tmp_path):
    from explorer.data import load_dataset

    spec = ArchitectureSpec.from_dict({
        "name": "mnist-tiny", "input_shape": [1, 28, 28], "num_classes": 10,
        "blocks": [
            {"type": "conv2d", "out_channels": 8, "kernel_size": 5},
            {"type": "max_pool2d", "kernel_size": 2}, {"type": "relu"},
            {"type": "flatten"}, {"type": "linear", "out_features": "classes"},
        ],
    })
    mnist: Dataset = load_dataset("mnist-sample")
    config = TrainConfig(epochs=1, max_batches_per_epoch=20, device="cpu", lr=0.05)
    events = run(spec, config, dataset=mnist, run_dir=tmp_path)
    assert events[-1].status == "finished"
    assert events[-1].reason == "trained 1 epoch"
    assert of(events, EpochEnd)[0].test_accuracy > 0.5
    loaded = load_checkpoint(events[-1].checkpoint)
    assert loaded.mean == mnist.mean and loaded.classes == mnist.classes


def test_a_stop_is_honoured_between_evaluation_batches(tmp_path, spec, dataset, config):
    config = dataclasses.replace(config, eval_batch_size=8)  # 64 test images: 8 batches
    model = build_model(spec)
    control = TrainControl()
    evaluated = []

    def stop_while_evaluating(module, args, out):
        if not module.training and not out.is_meta:
            evaluated.append(1)
            control.stop()

    model.fc1.register_forward_hook(stop_while_evaluating)
    events = run(spec, config, dataset=dataset, run_dir=tmp_path, control=control, model=model)
    finished = events[-1]
    assert finished.status == "stopped" and "while evaluating epoch 1" in finished.reason
    assert len(evaluated) == 1  # not the other 7 batches
    assert not of(events, EpochEnd) and finished.epochs_done == 0
    assert load_checkpoint(tmp_path / "last").epoch == 0


def test_a_stop_while_the_data_set_loads_ends_the_run(monkeypatch, tmp_path, spec, config):
    from explorer.training import engine

    control = TrainControl()
    real_load, asked = engine.load_dataset, []

    def load_and_stop(source, *, cancel):  # the user presses Stop while the data load
        asked.append(cancel())
        control.stop()
        asked.append(cancel())
        return real_load(source, cancel=cancel)  # which asks cancel() before it reads

    monkeypatch.setattr(engine, "load_dataset", load_and_stop)
    config = dataclasses.replace(config, dataset="mnist-sample")
    events = run(spec, config, run_dir=tmp_path, control=control)
    assert asked == [False, True]
    assert len(events) == 1 and isinstance(events[0], Finished)
    assert events[0].status == "stopped" and "while loading the data" in events[0].reason
    assert not any(tmp_path.iterdir())  # nothing written


def test_a_data_set_that_cannot_be_loaded_is_a_failed_run(spec, config):
    config = dataclasses.replace(config, dataset="/nonexistent/digits")
    (finished,) = run(spec, config)
    assert finished.status == "failed" and "unknown data source" in finished.reason
    assert finished.error_log is None


def test_an_unexpected_error_is_a_failed_run_with_its_traceback(tmp_path, spec, dataset, config,
                                                                caplog):
    def boom(module, args, out):
        if module.training and not out.is_meta:
            raise ValueError("boom in a user's block")

    model = build_model(spec)
    model.fc1.register_forward_hook(boom)
    events = run(spec, config, dataset=dataset, run_dir=tmp_path, model=model)
    assert isinstance(events[0], Started)
    finished = events[-1]
    assert finished.status == "failed"
    assert "ValueError: boom in a user's block" in finished.reason
    assert finished.error_log == str(tmp_path / "error.log") and finished.error_log in finished.reason
    log = (tmp_path / "error.log").read_text()
    assert log.startswith("Traceback") and "boom in a user's block" in log and "_step" in log

    model = build_model(spec)
    model.fc1.register_forward_hook(boom)
    with caplog.at_level("ERROR", logger="explorer.training.engine"):
        finished = run(spec, config, dataset=dataset, model=model)[-1]
    assert finished.status == "failed" and finished.error_log is None
    assert "the traceback is in the log" in finished.reason
    assert "boom in a user's block" in caplog.text


def test_the_run_keeps_the_spec_it_started_with(tmp_path, spec, dataset, config):
    from explorer.core import edit

    document = {"spec": spec}  # what the window holds; every edit replaces it
    events = train(document["spec"], config, dataset=dataset, run_dir=tmp_path)
    assert isinstance(next(events), Started) and isinstance(next(events), BatchEnd)
    with pytest.raises(TypeError):
        spec.blocks[0].params["out_channels"] = 8
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.blocks = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 1.0
    document["spec"] = edit.set_param(spec, (0,), "out_channels", 8)
    document["spec"] = edit.remove(document["spec"], (1,))
    assert list(events)[-1].status == "finished"
    for name in ("best", "last"):
        loaded = load_checkpoint(tmp_path / name)
        assert loaded.spec == spec and loaded.spec != document["spec"]
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["architecture"] == spec.to_dict()


@pytest.mark.parametrize(
    ("name", "cls", "expected"),
    [
        ("sgd", torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3}),
        ("adam", torch.optim.Adam, {"lr": 0.05, "weight_decay": 1e-3, "betas": (0.9, 0.999)}),
        ("adamw", torch.optim.AdamW, {"lr": 0.05, "weight_decay": 1e-3, "betas": (0.9, 0.999)}),
    ],
)
def test_each_optimizer_is_its_torch_class_with_the_settings(spec, config, name, cls, expected):
    model = build_model(spec)
    optimizer = make_optimizer(model, dataclasses.replace(config, optimizer=name,
                                                          weight_decay=1e-3))
    assert type(optimizer) is cls  # exact: AdamW is a subclass of Adam
    (group,) = optimizer.param_groups
    assert {key: group[key] for key in expected} == expected
    assert ("momentum" in group) == (name == "sgd")
    assert group["params"] == list(model.parameters())


@pytest.mark.parametrize(
    ("changes", "cls", "expected"),
    [
        ({"schedule": "none"}, type(None), {}),
        ({"schedule": "step", "step_size": 2, "gamma": 0.5}, schedules.StepLR,
         {"step_size": 2, "gamma": 0.5}),
        ({"schedule": "step", "epochs": 9}, schedules.StepLR, {"step_size": 3, "gamma": 0.1}),
        ({"schedule": "cosine", "epochs": 4}, schedules.CosineAnnealingLR,
         {"T_max": 4, "eta_min": 0.0}),
        ({"schedule": "onecycle", "epochs": 3}, schedules.OneCycleLR,
         {"total_steps": 24, "cycle_momentum": False}),
    ],
)
def test_each_schedule_is_its_torch_class_with_the_settings(spec, config, changes, cls,
                                                            expected):
    config = dataclasses.replace(config, **changes)
    optimizer = make_optimizer(build_model(spec), config)
    scheduler = make_scheduler(optimizer, config, batches=8)
    assert type(scheduler) is cls
    assert {key: getattr(scheduler, key) for key in expected} == expected
    if cls is schedules.OneCycleLR:
        assert optimizer.param_groups[0]["max_lr"] == config.lr


def test_a_run_that_cannot_fit_in_memory_fails_before_allocating(spec, dataset, config,
                                                                 monkeypatch):
    from explorer.core import limits
    from explorer.training import engine

    monkeypatch.setattr(limits.os, "sysconf", lambda name: 64)  # 4 KiB of "memory"
    monkeypatch.setattr(engine, "build_model", lambda *a, **k: pytest.fail("allocated"))
    finished = run(spec, config, dataset=dataset)[-1]
    assert finished.status == "failed" and "needs at least" in finished.reason
    assert "more than the 4.0 KiB of memory on cpu" in finished.reason


class _Clock:
    """A stand-in for ``time`` in the engine: every reading advances 1 ms; ``jump`` adds
    seconds at once (a pause that lasts that long)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        self.now += 0.001
        return self.now

    def jump(self, seconds: float) -> None:
        self.now += seconds



def test_the_runs_throughput_is_images_trained_per_second_of_training(monkeypatch, spec,
                                                                       dataset, config):
    """256 images in 16 batches of 16, 1 s after each on a clock that moves only then: an
    epoch of 16 s, and 16 images/s over the run."""
    import types

    from explorer.training import engine

    clock = _Clock()
    monkeypatch.setattr(engine, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    config = dataclasses.replace(config, epochs=1, batch_size=16)
    events = []
    for event in train(spec, config, dataset=dataset):
        events.append(event)
        if isinstance(event, BatchEnd):
            clock.jump(1.0)
    assert len(of(events, BatchEnd)) == len(dataset.train) // 16 == 16
    assert events[-1].samples_per_second == 16.0
    assert of(events, EpochEnd)[0].epoch_time == 16.0

def test_paused_time_counts_in_no_time_and_no_throughput(monkeypatch, spec, dataset, config):
    """A 100 s pause in epoch 1: the epoch's time, the run's samples/s and the batch speed
    right after the pause are those of the work alone; elapsed leaves the pause out too."""
    import types

    from explorer.training import engine

    clock = _Clock()
    monkeypatch.setattr(engine, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    config = dataclasses.replace(config, epochs=1, batch_size=16)
    control = TrainControl()
    events = []
    for event in train(spec, config, dataset=dataset, control=control):
        events.append(event)
        if isinstance(event, BatchEnd) and event.batch == 3 and not of(events, Paused):
            control.pause()
        elif isinstance(event, Paused):
            clock.jump(100.0)
            control.resume()
    (resumed,) = of(events, Resumed)
    assert 100.0 <= resumed.paused_for < 100.1
    (epoch,) = of(events, EpochEnd)
    assert epoch.epoch_time < 5.0                          # the work took milliseconds
    finished = events[-1]
    assert finished.status == "finished"
    samples = len(dataset.train)
    assert finished.samples_per_second > samples / 5.0     # 256 samples in well under 5 s
    assert finished.elapsed < 10.0
    after = of(events, BatchEnd)[3]                        # the first batch after the pause
    assert after.batch == 4 and after.samples_per_second > 16 / 0.1


def test_the_best_checkpoint_is_the_epoch_with_the_highest_test_accuracy(
        monkeypatch, tmp_path, spec, dataset, config):
    from explorer.training import engine

    scripted = iter([(0.9, 0.50), (0.4, 0.90), (0.6, 0.70)])
    monkeypatch.setattr(engine._Run, "_evaluate", lambda self: next(scripted))
    config = dataclasses.replace(config, epochs=3, max_batches_per_epoch=2)
    events = run(spec, config, dataset=dataset, run_dir=tmp_path)
    assert [e.is_best for e in of(events, EpochEnd)] == [True, True, False]
    assert [e.test_accuracy for e in of(events, EpochEnd)] == [0.50, 0.90, 0.70]
    finished = events[-1]
    assert finished.best_test_accuracy == 0.90 and finished.test_accuracy == 0.70
    best = load_checkpoint(tmp_path / "best")
    assert best.epoch == 2 and best.metrics["test_accuracy"] == 0.90


def test_train_accuracy_is_the_share_of_images_right(spec, dataset, config):
    """A network that always says class 0, trained with a negligible rate: a quarter of the
    images (one class in four) are right, exactly; the loss is the mean over images of
    log(e¹⁰ + 3), less 10 for the quarter that are class 0."""
    model = build_model(spec, device="cpu")
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.fc1.bias[0] = 10.0
    config = dataclasses.replace(config, epochs=1, lr=1e-12, momentum=0.0)
    events = run(spec, config, dataset=dataset, model=model)
    (epoch,) = of(events, EpochEnd)
    assert epoch.train_accuracy == 0.25 and epoch.test_accuracy == 0.25
    loss = math.log(math.exp(10) + 3) - 10 / 4
    assert epoch.train_loss == pytest.approx(loss, rel=1e-6)
    assert epoch.test_loss == pytest.approx(loss, rel=1e-6)


def test_a_tie_keeps_the_earlier_best_checkpoint(monkeypatch, tmp_path, spec, dataset, config):
    """Epoch 2 only equals epoch 1's accuracy: epoch 1 stays the best (the first to reach
    it), and its weights are the best checkpoint's."""
    from explorer.training import engine

    scripted = iter([(0.5, 0.80), (0.3, 0.80)])
    monkeypatch.setattr(engine._Run, "_evaluate", lambda self: next(scripted))
    config = dataclasses.replace(config, epochs=2, max_batches_per_epoch=2)
    events = run(spec, config, dataset=dataset, run_dir=tmp_path)
    assert [e.is_best for e in of(events, EpochEnd)] == [True, False]
    assert [(s.path, s.epoch) for s in of(events, CheckpointSaved)
            if s.path.startswith(str(tmp_path / "best"))] == [(str(tmp_path / "best.json"), 1)]
    assert load_checkpoint(tmp_path / "best").epoch == 1


def test_metrics_csv_has_the_learning_rate_each_epoch_trained_with(tmp_path, spec, dataset,
                                                                   config):
    """A step schedule halving the rate every epoch: the lr column reads 0.05, 0.025,
    0.0125, the rate of each epoch's batches (not the configured one)."""
    config = dataclasses.replace(config, epochs=3, schedule="step", step_size=1, gamma=0.5,
                                 max_batches_per_epoch=1)
    events = run(spec, config, dataset=dataset, run_dir=tmp_path)
    assert [b.lr for b in of(events, BatchEnd)] == [0.05, 0.025, 0.0125]
    with open(tmp_path / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(row["lr"]) for row in rows] == [0.05, 0.025, 0.0125]
