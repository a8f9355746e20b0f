"""Run folders: where they live, which there are, and what they hold. No Qt.

A run folder is what :func:`explorer.training.train` writes: ``config.json``,
``metrics.jsonl``, ``metrics.csv`` and the ``best``/``last`` checkpoints.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

RUN_FORMAT = "network-explorer/run"
APP_NAME = "network-explorer"


class RunError(ValueError):
    """A folder that is not a readable run; the message names it and the problem."""


def runs_folder() -> Path:
    """The user's runs folder: ``<platformdirs user data dir>/runs``
    (``~/.local/share/network-explorer/runs`` on Linux, honouring ``$XDG_DATA_HOME``)."""
    import platformdirs

    return platformdirs.user_data_path(APP_NAME, appauthor=False) / "runs"


def new_run_dir(root: str | os.PathLike, name: str) -> Path:
    """A fresh, not yet existing folder in ``root`` named after the time and ``name``,
    e.g. ``20261201-231500-course-resnet``; a suffix keeps it unique."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "run"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{slug[:40]}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


@dataclass(frozen=True)
class RunInfo:
    """What the runs list shows about one run folder.

    ``epochs_done`` counts the epochs in ``metrics.jsonl``; ``best`` and ``last`` are the
    checkpoints' sidecars, ``None`` when absent.
    """

    path: Path
    name: str
    started: str
    dataset: str
    device: str
    epochs_planned: int
    epochs_done: int
    best_test_accuracy: float | None
    best: Path | None
    last: Path | None
    config: dict[str, Any]

    @property
    def title(self) -> str:
        accuracy = (f"{100 * self.best_test_accuracy:.1f} %"
                    if self.best_test_accuracy is not None else "—")
        return (f"{self.name} · {self.dataset} · {self.epochs_done}/{self.epochs_planned} "
                f"epochs · best {accuracy}")


def read_run(path: str | os.PathLike) -> RunInfo:
    """Read a run folder's configuration and metrics.

    Raises
    ------
    RunError
        When ``config.json`` is missing, unreadable or not a Network Explorer run.
    """
    path = Path(path)
    config_file = path / "config.json"
    try:
        info = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: not a run folder (it has no config.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{config_file}: cannot be read ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
        raise RunError(f'{config_file}: not a Network Explorer run (no "format": "{RUN_FORMAT}")')
    config = info.get("config") if isinstance(info.get("config"), dict) else {}
    architecture = info.get("architecture") if isinstance(info.get("architecture"), dict) else {}
    dataset = info.get("dataset") if isinstance(info.get("dataset"), dict) else {}
    rows = read_metrics(path)
    accuracies = [r["test_accuracy"] for r in rows if isinstance(r.get("test_accuracy"), float)]
    best, last = path / "best.json", path / "last.json"
    return RunInfo(
        path=path,
        name=str(architecture.get("name", path.name)),
        started=str(info.get("started", "")),
        dataset=str(dataset.get("name", config.get("dataset", "?"))),
        device=str(info.get("device", "?")),
        epochs_planned=int(config.get("epochs", 0) or 0),
        epochs_done=len(rows),
        best_test_accuracy=max(accuracies) if accuracies else None,
        best=best if best.is_file() else None,
        last=last if last.is_file() else None,
        config=config,
    )


def list_runs(root: str | os.PathLike) -> list[RunInfo]:
    """The run folders directly inside ``root``, newest first; other folders are skipped."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        if child.is_dir() and (child / "config.json").is_file():
            try:
                runs.append(read_run(child))
            except RunError:
                continue
    return sorted(runs, key=lambda r: (r.started, r.path.name), reverse=True)


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The per-epoch rows of a run's ``metrics.jsonl``; a line cut short by a crash or a
    run still writing it is left out. No file: no rows."""
    try:
        text = (Path(path) / "metrics.jsonl").read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("epoch"), int):
            rows.append(row)
    return rows


def metric_columns(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Columns of ``rows`` as float64 arrays (``nan`` where a value is missing or null)."""
    def value(row: dict, name: str) -> float:
        v = row.get(name)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan

    return {name: np.array([value(r, name) for r in rows], dtype=np.float64) for name in names}
