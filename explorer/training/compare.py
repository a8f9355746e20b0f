"""Run comparison: curves of several runs side by side, and accuracy against cost. No Qt.

Each run becomes a :class:`RunPoint`: its best test accuracy and three costs — parameters,
multiply-adds per image (from its architecture, shapes only) and training time (the wall
time its last epoch ended at). :func:`pareto_front` marks the runs no other run beats on
both accuracy and the chosen cost; :func:`curve` gives a metric aligned by epoch or by time.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.training.runs import RunError, RunInfo, read_metrics, read_run

COSTS = {"params": "parameters", "mult_adds": "multiply-adds per image",
         "train_time": "training time (s)"}
"""The costs a run's accuracy is plotted against, with their axis titles."""
CURVE_METRICS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")
ALIGNMENTS = ("epoch", "time")


class CompareError(ValueError):
    """A run that cannot be compared (named wrongly, say); the message says why."""


@dataclass(frozen=True)
class RunPoint:
    """One run in the comparison: what it reached and what it cost."""

    info: RunInfo
    best_test_accuracy: float | None
    params: int | None
    mult_adds: int | None
    train_time: float | None

    @property
    def label(self) -> str:
        return self.info.path.name

    def cost(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else float(value)

    def figures(self) -> tuple[str, str, str, str]:
        """Best test accuracy, parameters, mult-adds and training seconds as the table and
        the window show them; ``—`` where unknown."""
        def known(value, text: str) -> str:
            return "—" if value is None else text.format(value)

        accuracy = self.best_test_accuracy
        return (known(accuracy, f"{100 * (accuracy or 0):.2f} %"), known(self.params, "{:,}"),
                known(self.mult_adds, "{:,}"), known(self.train_time, "{:.1f}"))

    def to_json(self) -> dict:
        return {"run": str(self.info.path), "name": self.info.name,
                "dataset": self.info.dataset, "epochs": self.info.epochs_done,
                "best_test_accuracy": self.best_test_accuracy, "params": self.params,
                "mult_adds": self.mult_adds, "train_time": self.train_time}


def run_point(info: RunInfo, rows: list[dict] | None = None) -> RunPoint:
    """A run's accuracy and costs; a cost that cannot be known (no architecture, no epoch
    finished) is ``None``. ``rows``: its metrics, if already read."""
    import json

    params, mult_adds = info.params, None
    if info.architecture:
        counted = _costs(json.dumps(info.architecture, sort_keys=True))
        if counted is not None:
            params = params if params is not None else counted[0]
            mult_adds = counted[1]
    rows = read_metrics(info.path) if rows is None else rows
    times = [r["elapsed"] for r in rows if isinstance(r.get("elapsed"), (int, float))]
    return RunPoint(info, info.best_test_accuracy, params, mult_adds,
                    float(times[-1]) if times else None)


@functools.lru_cache(maxsize=256)
def _costs(architecture_json: str) -> tuple[int, int] | None:
    """``(parameters, multiply-adds)`` of an architecture (shapes only), or ``None``."""
    from explorer.core.inspector import inspect_spec
    from explorer.core.spec import ArchitectureSpec, SpecError

    try:
        spec = ArchitectureSpec.from_json(architecture_json)
    except SpecError:
        return None
    summary = inspect_spec(spec, depth=1)
    return None if summary.error is not None else (summary.total_params, summary.mult_adds)


def pareto_front(points: Sequence[RunPoint], cost: str) -> list[RunPoint]:
    """The runs that no other run beats: none has at least their accuracy at no more of
    ``cost`` (one of :data:`COSTS`), and is better in one of the two. Sorted by cost; runs
    without an accuracy or that cost are left out."""
    if cost not in COSTS:
        raise CompareError(f"cost {cost!r} is not one of {', '.join(COSTS)}")
    known = [p for p in points if p.best_test_accuracy is not None and p.cost(cost) is not None]

    def beaten(p: RunPoint) -> bool:
        return any(q.cost(cost) <= p.cost(cost) and q.best_test_accuracy >= p.best_test_accuracy
                   and (q.cost(cost) < p.cost(cost)
                        or q.best_test_accuracy > p.best_test_accuracy)
                   for q in known)

    return sorted((p for p in known if not beaten(p)),
                  key=lambda p: (p.cost(cost), -p.best_test_accuracy))


def curve(info: RunInfo, metric: str, by: str = "epoch",
          rows: list[dict] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of a per-epoch metric: x the epoch, or the seconds since the run began.

    Accuracies come as fractions (0–1). Epochs without the value are left out. ``rows``:
    the run's metrics, if already read.
    """
    if metric not in CURVE_METRICS:
        raise CompareError(f"metric {metric!r} is not one of {', '.join(CURVE_METRICS)}")
    if by not in ALIGNMENTS:
        raise CompareError(f"alignment {by!r} is not one of {', '.join(ALIGNMENTS)}")
    xs, ys = [], []
    for row in read_metrics(info.path) if rows is None else rows:
        x = row.get("epoch" if by == "epoch" else "elapsed")
        y = row.get(metric)
        if _number(x) and _number(y):
            xs.append(float(x))
            ys.append(float(y))
    return np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def find_run(name: str | os.PathLike, roots: Sequence[Path]) -> RunInfo:
    """A run given as a folder path, or as a folder name inside one of ``roots``.

    Raises
    ------
    CompareError
        Naming the run and where it was looked for.
    """
    path = Path(name)
    candidates = [path] if path.is_dir() else [root / path for root in roots]
    for candidate in candidates:
        if candidate.is_dir():
            try:
                return read_run(candidate)
            except RunError as exc:
                raise CompareError(str(exc)) from None
    where = ", ".join(str(r) for r in roots) or "no runs folder"
    raise CompareError(f"no run {os.fspath(name)!r}: give a run folder, or the name of one in "
                       f"{where} (see 'explorer runs')")


def format_comparison(points: Sequence[RunPoint]) -> str:
    """A table of the runs; ``*`` marks, per cost, the runs on the Pareto front."""
    fronts = {cost: {id(p) for p in pareto_front(points, cost)} for cost in COSTS}
    header = ("run", "data", "epochs", "best test", "parameters", "mult-adds", "time (s)",
              "front")
    rows = []
    for p in points:
        marks = "/".join(short for cost, short in (("params", "P"), ("mult_adds", "M"),
                                                   ("train_time", "T"))
                         if id(p) in fronts[cost])
        rows.append((
            p.label, p.info.dataset, str(p.info.epochs_done), *p.figures(), marks or "",
        ))
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    text = [line(header), *[line(r) for r in rows]]
    text.append("front: on the Pareto front of best test accuracy against parameters (P), "
                "multiply-adds (M), training time (T)")
    return "\n".join(text)
