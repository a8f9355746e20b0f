"""The depth experiment, kept epochs, and networks named by a user."""

from __future__ import annotations

import json

import pytest
from training_helpers import tiny_spec_dict

from explorer.core.presets import preset_spec
from explorer.core.spec import ArchitectureSpec, save_spec
from explorer.training import TrainConfig, TrainControl, train
from explorer.training.experiment import ExperimentDone, Measured, Step, depth_experiment
from explorer.training.runs import RUN_FILE, read_run, run_weights
from explorer.training.sources import SourceError, resolve_network

FAST = TrainConfig(epochs=1, batch_size=16, lr=0.05, device="cpu", max_batches_per_epoch=2,
                   eval_batch_size=64)


def test_the_depth_experiment_measures_then_trains_each_network(tmp_path, dataset):
    events = list(depth_experiment(FAST, dataset, tmp_path, networks=("plain20", "resnet20"),
                                   input_shape=(1, 8, 8), profile_batch=8))
    measured = [e for e in events if isinstance(e, Measured)]
    assert [m.network for m in measured] == ["plain20", "resnet20"]
    assert [len(m.profile.convolutions) for m in measured] == [19, 19]
    steps = [e for e in events if isinstance(e, Step)]
    assert {s.network for s in steps} == {"plain20", "resnet20"}
    # every step of plain20 comes before resnet20 is measured
    assert events.index(measured[1]) > max(i for i, e in enumerate(events)
                                          if isinstance(e, Step) and e.network == "plain20")
    done = events[-1]
    assert isinstance(done, ExperimentDone) and not done.stopped
    assert [r.network for r in done.results] == ["plain20", "resnet20"]
    for result, m in zip(done.results, measured):
        assert result.status == "finished" and result.spread == m.profile.spread
        assert read_run(result.run_dir).epochs_done == 1
        finished = [s.event for s in steps if s.network == result.network][-1]
        assert result.test_accuracy == finished.test_accuracy
    assert "plain20" in done.explanation and "Final test accuracy: plain20" in done.explanation


def test_a_stop_ends_the_experiment_after_the_running_network(tmp_path, dataset):
    control = TrainControl()
    events = []
    for event in depth_experiment(FAST, dataset, tmp_path, control=control,
                                  networks=("plain20", "resnet20"), input_shape=(1, 8, 8),
                                  profile_batch=8):
        events.append(event)
        if isinstance(event, Measured):
            control.stop()
    done = events[-1]
    assert done.stopped and [r.network for r in done.results] == ["plain20"]
    assert done.results[0].status == "stopped"
    assert [e.network for e in events if isinstance(e, Measured)] == ["plain20"]


def test_kept_epochs_are_offered_with_initialisation_best_and_last(tmp_path, dataset):
    spec = ArchitectureSpec.from_dict(tiny_spec_dict())
    config = TrainConfig(epochs=3, batch_size=32, lr=0.05, device="cpu",
                         max_batches_per_epoch=2, keep_epochs=True)
    for _event in train(spec, config, dataset=dataset, run_dir=tmp_path / "run"):
        pass
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert {"epoch-1.json", "epoch-2.safetensors", "epoch-3.json"} <= set(names)
    assert all(RUN_FILE.fullmatch(n) for n in names)  # --overwrite removes them too
    choices = run_weights(read_run(tmp_path / "run"))
    assert [(c.label.split(" (")[0], c.epoch) for c in choices][:4] == [
        ("initialisation", 0), ("epoch 1", 1), ("epoch 2", 2), ("epoch 3", 3)]
    assert choices[0].sidecar is None and choices[2].sidecar.name == "epoch-2.json"
    assert choices[-1].label == "last (epoch 3)" and choices[-2].label.startswith("best")
    assert json.loads(choices[2].sidecar.read_text())["epoch"] == 2


def test_networks_are_named_by_preset_file_run_or_checkpoint(tmp_path, dataset):
    assert resolve_network("plain56").spec == preset_spec("plain56")
    spec = ArchitectureSpec.from_dict(tiny_spec_dict())
    save_spec(spec, tmp_path / "net.json")
    assert resolve_network(tmp_path / "net.json").kind == "file"
    for _event in train(spec, FAST, dataset=dataset, run_dir=tmp_path / "run"):
        pass
    run = resolve_network(tmp_path / "run")
    assert (run.kind, run.spec, run.run.path) == ("run", spec, tmp_path / "run")
    assert resolve_network(tmp_path / "run" / "config.json").kind == "run"
    checkpoint = resolve_network(tmp_path / "run" / "best.json")
    assert (checkpoint.kind, checkpoint.spec) == ("checkpoint", spec)
    with pytest.raises(SourceError, match="'nope' is neither a preset .*plain56"):
        resolve_network("nope")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SourceError, match="bad.json: the file ends early"):
        resolve_network(tmp_path / "bad.json")
