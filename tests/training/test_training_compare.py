"""Run comparison: the Pareto front on a hand-made case, and two short real runs compared."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from explorer.core.builder import build_model
from explorer.core.inspector import inspect_spec
from explorer.training import train
from explorer.training.compare import (
    CompareError,
    RunPoint,
    curve,
    find_run,
    format_comparison,
    pareto_front,
    run_point,
)
from explorer.training.runs import RunInfo, all_runs, read_metrics


def point(name: str, accuracy: float | None, params: int | None, time: float = 1.0) -> RunPoint:
    info = RunInfo(Path(name), name, "", "d", "cpu", 1, 1, accuracy, None, None, {})
    return RunPoint(info, accuracy, params, None if params is None else 10 * params, time)


def test_pareto_front_on_a_hand_made_case():
    points = [
        point("a", 0.90, 100), point("b", 0.95, 200),
        point("c", 0.93, 300),   # beaten by b: more parameters, lower accuracy
        point("d", 0.80, 50),
        point("e", 0.95, 250),   # beaten by b: as accurate, more parameters
        point("f", 0.90, 100),   # ties a: neither beats the other
        point("g", None, 10),    # no accuracy yet: not placed
        point("h", 0.99, None),  # no cost known: not placed
    ]
    assert [p.label for p in pareto_front(points, "params")] == ["d", "a", "f", "b"]
    assert [p.label for p in pareto_front(points, "mult_adds")] == ["d", "a", "f", "b"]
    times = (5, 1, 9, 7, 3, 6, 1, 8)
    timed = [dataclasses.replace(p, train_time=t) for p, t in zip(points, times)]
    # by time: b (95 %, 1 s) beats all but h (99 %, 8 s); g has no accuracy
    assert [p.label for p in pareto_front(timed, "train_time")] == ["b", "h"]
    with pytest.raises(CompareError, match="cost 'speed' is not one of params"):
        pareto_front(points, "speed")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, dataset) -> list[Path]:
    """A tiny network and a wider one, two short epochs each."""
    from training_helpers import tiny_spec_dict

    from explorer.core.spec import ArchitectureSpec
    from explorer.training import TrainConfig

    root = tmp_path_factory.mktemp("runs")
    narrow = ArchitectureSpec.from_dict(tiny_spec_dict())
    wide_dict = tiny_spec_dict()
    wide_dict["name"] = "wide"
    wide_dict["blocks"][0]["out_channels"] = 12
    wide = ArchitectureSpec.from_dict(wide_dict)
    config = TrainConfig(epochs=2, batch_size=32, lr=0.05, momentum=0.9, device="cpu",
                         max_batches_per_epoch=3)
    paths = []
    for spec in (narrow, wide):
        path = root / spec.name
        for _event in train(spec, config, dataset=dataset, run_dir=path):
            pass
        paths.append(path)
    return paths


def test_two_short_runs_compared(two_runs):
    infos = all_runs([two_runs[0].parent])
    assert [i.name for i in infos] in (["wide", "tiny"], ["tiny", "wide"])
    points = [run_point(find_run(p, [])) for p in two_runs]
    for p in points:
        spec_model = build_model(_spec_of(p.info.path))
        assert p.params == sum(t.numel() for t in spec_model.parameters())
        assert p.mult_adds == inspect_spec(_spec_of(p.info.path), depth=1).mult_adds
        rows = read_metrics(p.info.path)
        assert p.train_time == rows[-1]["elapsed"] > 0
        assert p.best_test_accuracy == max(r["test_accuracy"] for r in rows)
    narrow, wide = points
    assert wide.params > narrow.params and wide.mult_adds > narrow.mult_adds

    x, y = curve(narrow.info, "test_accuracy", "epoch")
    assert x.tolist() == [1.0, 2.0]
    assert y.tolist() == [r["test_accuracy"] for r in read_metrics(narrow.info.path)]
    t, _ = curve(narrow.info, "train_loss", "time")
    assert np.all(np.diff(t) > 0) and t[-1] == narrow.train_time

    table = format_comparison(points).splitlines()
    assert table[0].split()[:4] == ["run", "data", "epochs", "best"]
    front = {p.label for p in pareto_front(points, "params")}
    for line, p in zip(table[1:], points):
        assert line.startswith(p.label)
        assert ("P" in line.split()[-1]) == (p.label in front)


def test_runs_are_found_by_folder_or_name(two_runs):
    root = two_runs[0].parent
    assert find_run("wide", [root]).path == root / "wide"
    with pytest.raises(CompareError, match="no run 'nope'.*explorer runs"):
        find_run("nope", [root])


def _spec_of(path: Path):
    import json

    from explorer.core.spec import ArchitectureSpec

    return ArchitectureSpec.from_dict(
        json.loads((path / "config.json").read_text())["architecture"])


def test_a_run_of_the_same_cost_and_lower_accuracy_is_off_the_front():
    """Two runs of 200 parameters: the less accurate one is beaten, whatever the order."""
    points = [point("worse", 0.94, 200), point("b", 0.95, 200), point("a", 0.90, 100)]
    assert [p.label for p in pareto_front(points, "params")] == ["a", "b"]
    assert [p.label for p in pareto_front(points[::-1], "params")] == ["a", "b"]


def test_the_figures_read_as_the_table_prints_them():
    """95.13 % with 1,234,567 parameters in 12.35 s; a run with nothing known reads "—"."""
    known, unknown = point("known", 0.9513, 1_234_567, 12.35), point("new", None, None, None)
    assert known.figures() == ("95.13 %", "1,234,567", "12,345,670", "12.3")
    assert unknown.figures() == ("—", "—", "—", "—")
    table = format_comparison([known, unknown]).splitlines()
    assert table[1].split() == ["known", "d", "1", "95.13", "%", "1,234,567", "12,345,670",
                                "12.3", "P/M/T"]
    assert table[2].split() == ["new", "d", "1", "—", "—", "—", "—"]
