"""Run folders: listing, reading their metrics, fresh names."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.core.builder import build_model
from explorer.core.spec import ArchitectureSpec
from explorer.training import train
from explorer.training.runs import (
    RunError,
    all_runs,
    default_run_dir,
    list_runs,
    metric_columns,
    read_metrics,
    read_run,
    runs_folder,
)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from training_helpers import tiny_dataset, tiny_spec_dict

    from explorer.core.spec import ArchitectureSpec
    from explorer.training import TrainConfig

    root = tmp_path_factory.mktemp("runs")
    spec = ArchitectureSpec.from_dict(tiny_spec_dict())
    config = TrainConfig(dataset="synthetic", epochs=2, batch_size=32, lr=0.05, device="cpu",
                         max_batches_per_epoch=3)
    run_dir = default_run_dir(spec.name, root=root)
    events = list(train(spec, config, dataset=tiny_dataset(), run_dir=run_dir))
    return root, run_dir, events


def test_a_finished_run_is_read(finished_run):
    from training_helpers import tiny_spec_dict

    root, run_dir, events = finished_run
    info = read_run(run_dir)
    assert info.name == "tiny" and info.dataset == "synthetic" and info.device == "cpu"
    assert (info.epochs_planned, info.epochs_done) == (2, 2)
    assert info.best == run_dir / "best.json" and info.last == run_dir / "last.json"
    assert info.best_test_accuracy == pytest.approx(events[-1].best_test_accuracy)
    assert "tiny · synthetic · 2/2 epochs" in info.title
    spec = ArchitectureSpec.from_dict(tiny_spec_dict())
    assert info.architecture == spec.to_dict()
    assert info.params == sum(p.numel() for p in build_model(spec, "cpu").parameters())
    assert [r.path for r in list_runs(root)] == [run_dir]


def _copy_run(run_dir, to, started):
    import shutil

    shutil.copytree(run_dir, to)
    config = json.loads((to / "config.json").read_text())
    config["started"] = started
    (to / "config.json").write_text(json.dumps(config))
    return to


def test_all_runs_merges_roots_and_runs_made_elsewhere_once_newest_first(tmp_path, finished_run):
    _, run_dir, _ = finished_run
    root = tmp_path / "runs"
    old = _copy_run(run_dir, root / "old", "2026-01-01T10:00:00+00:00")
    middle = _copy_run(run_dir, root / "middle", "2026-03-01T10:00:00+00:00")
    elsewhere = _copy_run(run_dir, tmp_path / "elsewhere" / "new", "2026-05-01T10:00:00+00:00")
    (tmp_path / "not-a-run").mkdir()
    odd = _copy_run(run_dir, root / "odd", "2026-02-01T10:00:00+00:00")
    (odd / "metrics.jsonl").unlink()
    (odd / "metrics.jsonl").mkdir()  # not a file: read as a run without epochs yet
    found = all_runs([root, root], [old, elsewhere, tmp_path / "not-a-run", tmp_path / "gone"])
    assert [r.path.name for r in found] == ["new", "middle", "odd", "old"]
    assert found[0].path == elsewhere and found[1].path == middle
    assert found[2].epochs_done == 0 and found[3].epochs_done == 2


def test_metrics_skip_a_cut_line(tmp_path, finished_run):
    _, run_dir, _ = finished_run
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    (tmp_path / "metrics.jsonl").write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    rows = read_metrics(tmp_path)
    assert [r["epoch"] for r in rows] == [1]
    columns = metric_columns(rows + [{"epoch": 2, "test_loss": None}], ("epoch", "test_loss"))
    np.testing.assert_array_equal(columns["epoch"], [1.0, 2.0])
    assert np.isnan(columns["test_loss"][1])
    assert read_metrics(tmp_path / "absent") == []


def test_folders_that_are_not_runs(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text(json.dumps({"format": "something"}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    assert list_runs(tmp_path) == []
    assert list_runs(tmp_path / "missing") == []
    with pytest.raises(RunError, match="no config.json"):
        read_run(tmp_path / "empty")
    with pytest.raises(RunError, match="not a Network Explorer run"):
        read_run(tmp_path / "other")
    with pytest.raises(RunError, match="cannot be read"):
        read_run(tmp_path / "broken")


def test_new_run_dirs_are_unique_and_safe(tmp_path):
    first = default_run_dir("my net/../x", root=tmp_path)
    assert first.parent == tmp_path and "/" not in first.name
    assert first.name.startswith("my_net_.._x-")  # one plain folder name, never a parent
    first.mkdir()
    second = default_run_dir("my net/../x", root=tmp_path)
    assert second != first and not second.exists()


def test_a_run_folder_is_named_after_the_network_and_the_start_time(tmp_path):
    from datetime import datetime

    when = datetime(2024, 1, 2, 3, 4, 5)
    first = default_run_dir("lenet", root=tmp_path, now=when)
    assert first == tmp_path / "lenet-20240102-030405"
    first.mkdir()
    assert default_run_dir("lenet", root=tmp_path, now=when) == tmp_path / "lenet-20240102-030405-2"


def test_runs_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert runs_folder() == tmp_path / "network-explorer" / "runs"


def test_a_runs_title_reads_its_best_epoch_and_progress(tmp_path, finished_run):
    """Three of five epochs done, the best (75 %) in the middle: the list says 3/5 and 75.0 %,
    not the last epoch's accuracy."""
    _, run_dir, _ = finished_run
    copy = _copy_run(run_dir, tmp_path / "copy", "2026-01-01T10:00:00+00:00")
    config = json.loads((copy / "config.json").read_text())
    config["config"]["epochs"] = 5
    (copy / "config.json").write_text(json.dumps(config))
    row = json.loads((copy / "metrics.jsonl").read_text().splitlines()[0])
    rows = [{**row, "epoch": e, "test_accuracy": a} for e, a in ((1, 0.5), (2, 0.75), (3, 0.625))]
    (copy / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    info = read_run(copy)
    assert (info.epochs_done, info.epochs_planned, info.best_test_accuracy) == (3, 5, 0.75)
    assert info.title == "tiny · synthetic · 3/5 epochs · best 75.0 %"
