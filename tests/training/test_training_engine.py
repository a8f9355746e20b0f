from __future__ import annotations

import csv
import dataclasses
import json
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
    train,
)


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


def test_a_run_leaves_the_global_rng_alone(dataset, config):
    spec = dropout_spec()
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    events = train(spec, config, dataset=dataset)
    first = [next(events) for _ in range(3)]
    assert torch.equal(torch.get_rng_state(), before)  # also between events
    rest = list(events)
    assert rest[-1].status == "finished"
    assert torch.equal(torch.get_rng_state(), before)
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
    assert of(events, EpochEnd)[0].test_accuracy > 0.5
    loaded = load_checkpoint(events[-1].checkpoint)
    assert loaded.mean == mnist.mean and loaded.classes == mnist.classes
