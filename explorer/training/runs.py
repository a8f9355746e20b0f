"""Run folders: their names, where they live, which there are, and what they hold. No Qt.

A run folder is what :func:`explorer.training.train` writes: ``config.json``,
``metrics.jsonl``, ``metrics.csv``, the ``best``/``last`` checkpoints and, with the
``keep_epochs`` setting, one ``epoch-N`` checkpoint per epoch.

A network's name is display text, never a path: ``../../x`` or ``/etc`` become a plain folder
name. A folder that already holds files is used only when it holds a run and the user said to
overwrite it (its run files are removed first, so nothing of the old run is mixed with the
new); a folder with anyone else's files is never written into.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from explorer.files import FileProblem, check_regular, reason
from explorer.textout import clean

RUN_FORMAT = "network-explorer/run"
CHECKPOINT_FORMAT = "network-explorer/checkpoint"
#: The files a run writes (checkpoints, their temporary files, logs): what --overwrite removes.
RUN_FILE = re.compile(
    r"(config\.json|metrics\.jsonl|metrics\.csv|(best|last|epoch-\d+)\.(json|safetensors))"
    r"|\.(config\.json|metrics\.jsonl|metrics\.csv|(best|last|epoch-\d+)\.(json|safetensors))"
    r"\..*\.tmp"
)
_MAX_NAME = 60


def epoch_checkpoint(epoch: int) -> str:
    """The stem of the checkpoint kept for ``epoch`` (``keep_epochs``): ``epoch-3``."""
    return f"epoch-{epoch}"


class RunError(ValueError):
    """A folder that is not a readable run; the message names it and the problem."""


def runs_folder() -> Path:
    """The user's runs folder: ``<user data dir>/runs``
    (``~/.local/share/network-explorer/runs`` on Linux, honouring ``$XDG_DATA_HOME``)."""
    from explorer.paths import user_data_dir

    return user_data_dir() / "runs"


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
    status: str = "not finished"
    """``finished``, ``stopped`` or ``failed`` as the run recorded it; ``not finished``
    while it runs, or when its process ended before it could say."""
    architecture: dict[str, Any] = field(default_factory=dict)
    """The network trained, as ``config.json`` records it (``{}`` when it does not)."""
    params: int | None = None
    """Its parameter count as recorded at the start, if it was."""

    @property
    def settings(self) -> str:
        """The settings that tell two runs of one network apart, in words."""
        c = self.config
        parts = [str(c["optimizer"])] if c.get("optimizer") else []
        if isinstance(c.get("lr"), (int, float)):
            parts.append(f"lr {c['lr']:g}")
        if c.get("batch_size"):
            parts.append(f"batch {c['batch_size']}")
        if c.get("seed") is not None:
            parts.append(f"seed {c['seed']}")
        return " · ".join(parts)

    @property
    def started_local(self) -> str:
        """When it started, in this computer's time zone (``2025-03-01 14:05:09``)."""
        try:
            return datetime.fromisoformat(self.started).astimezone().strftime(
                "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return self.started.replace("T", " ")[:19]

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
    outcome = info.get("outcome") if isinstance(info.get("outcome"), dict) else {}
    status = outcome.get("status")
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
        status=status if status in ("finished", "stopped", "failed") else "not finished",
        architecture=architecture,
        params=info["params"] if type(info.get("params")) is int else None,
    )


def describe_checkpoint(sidecar: str | os.PathLike) -> str:
    """A checkpoint in words from its sidecar alone (no weights read): ``"the best
    checkpoint of run lenet-20250101-120000 (epoch 2, test accuracy 91.3 %)"``."""
    sidecar = Path(sidecar)
    kind = {"best": "the best checkpoint", "last": "the last checkpoint"}.get(
        sidecar.stem, f"the checkpoint {sidecar.name}")
    data = _sidecar_document(sidecar)
    metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
    details = [f"epoch {data['epoch']}"] if isinstance(data.get("epoch"), int) else []
    accuracy = metrics.get("test_accuracy")
    if isinstance(accuracy, float):
        details.append(f"test accuracy {100 * accuracy:.1f} %")
    where = f" of run {clean(sidecar.parent.name, one_line=True)}"
    return kind + where + (f" ({', '.join(details)})" if details else "")


def list_runs(root: str | os.PathLike) -> list[RunInfo]:
    """The run folders directly inside ``root``, newest first; other folders are skipped."""
    root = Path(root)
    try:
        children = list(root.iterdir()) if root.is_dir() else []
    except OSError:  # not readable: no runs to list there
        return []
    runs = []
    for child in children:
        try:
            if child.is_dir() and (child / "config.json").is_file():
                runs.append(read_run(child))
        except (RunError, OSError):  # a folder that cannot be read is not listed
            continue
    return sorted(runs, key=_newest_first, reverse=True)


def all_runs(roots: Sequence[Path], extra: Sequence[Path] = ()) -> list[RunInfo]:
    """The runs inside every root and the run folders ``extra`` (runs made elsewhere, such
    as this session's), each folder once, newest first; a folder that is not a readable run
    is skipped."""
    found: dict[Path, RunInfo] = {}
    for root in roots:
        for info in list_runs(root):
            found.setdefault(info.path.resolve(), info)
    for path in extra:
        if Path(path).resolve() not in found:
            try:
                found[Path(path).resolve()] = read_run(path)
            except RunError:
                continue
    return sorted(found.values(), key=_newest_first, reverse=True)


def _newest_first(info: RunInfo) -> tuple[str, str]:
    return info.started, info.path.name


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The per-epoch rows of a run's ``metrics.jsonl``; a line cut short by a crash or a
    run still writing it is left out. No readable file: no rows."""
    try:
        text = (Path(path) / "metrics.jsonl").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # none, or not a readable file
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


class RunDirError(ValueError):
    """A run folder that cannot be used; the message names the path and the reason."""


def safe_folder_name(name: str) -> str:
    """A network's name as one harmless folder name: ASCII letters, digits, ``-``, ``_`` and
    ``.``; no leading dot; at most 60 characters; ``network`` if nothing is left."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    text = text[:_MAX_NAME].rstrip("._-")
    return text or "network"


def default_run_dir(name: str, root: str | os.PathLike = "runs",
                    now: datetime | None = None) -> Path:
    """``ROOT/NAME-YYYYmmdd-HHMMSS`` (``-2``, ``-3`` … if taken) for a network called ``name``:
    the one run-folder namer of the command line and the window."""
    stamp = f"{now or datetime.now():%Y%m%d-%H%M%S}"
    base = Path(root) / f"{safe_folder_name(name)}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def describe_run(path: Path) -> str | None:
    """``"a run of lenet"`` if ``path/config.json`` is a run's, else ``None``."""
    config = path / "config.json"
    try:
        check_regular(config)
        data = json.loads(config.read_text(encoding="utf-8"))
    except (FileProblem, OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != RUN_FORMAT:
        return None
    arch = data.get("architecture")
    name = arch.get("name") if isinstance(arch, dict) else None
    started = data.get("started")
    text = f"a run of {clean(name, one_line=True)!s}" if isinstance(name, str) else "a run"
    return text + (f" started {clean(started, one_line=True)}" if isinstance(started, str)
                   else "")


def prepare_run_dir(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Make sure ``path`` can take a new run: create it, or check what is already there.

    An empty or new folder is used as is. A folder holding a run is refused unless
    ``overwrite``, which removes that run's files (and nothing else). A folder holding other
    files is refused.

    Raises
    ------
    RunDirError
        One line naming the path and the reason (a file in the way, permissions, a full disk,
        a folder that holds other files …).
    """
    path = Path(path)
    shown = clean(path, one_line=True)
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{shown}: is a file, not a folder; give --out a new or empty folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        entries = sorted(os.listdir(path))
    except OSError as exc:
        hint = {
            "NotADirectoryError": " (a part of the path is a file, not a folder)",
            "FileExistsError": " (a file is in the way)",
        }.get(type(exc).__name__, "")
        raise RunDirError(
            f"{shown}: cannot create the run folder: {reason(exc)}{hint}"
        ) from None
    if not entries:
        _check_writable(path)
        return path
    run = describe_run(path)
    others = [e for e in entries if not RUN_FILE.fullmatch(e)]
    if run is None or others:
        listed = ", ".join(clean(e, one_line=True) for e in (others or entries)[:3])
        more = f" and {len(others or entries) - 3} more" if len(others or entries) > 3 else ""
        what = f"{run} plus other files" if run else "files that are not a training run"
        raise RunDirError(
            f"{shown}: holds {what} ({listed}{more}); nothing was written. Give --out a new "
            "or empty folder"
        )
    if not overwrite:
        raise RunDirError(
            f"{shown}: holds {run}; nothing was written. Use --overwrite to replace it, or "
            "give --out another folder"
        )
    for entry in entries:
        try:
            (path / entry).unlink()
        except OSError as exc:
            raise RunDirError(f"{shown}: cannot remove {clean(entry)} of the old run: "
                              f"{reason(exc)}") from None
    _check_writable(path)
    return path


def _check_writable(path: Path) -> None:
    if not os.access(path, os.W_OK | os.X_OK):
        raise RunDirError(f"{clean(path, one_line=True)}: cannot write in this folder: "
                          "Permission denied; choose a folder you may write to")


@dataclass(frozen=True)
class WeightsChoice:
    """Weights of a run to look inside: its initialisation, a kept epoch, best or last.

    ``sidecar`` is the checkpoint's .json; ``None`` for the initial weights, which are
    rebuilt from the architecture and the run's seed (the engine seeds its build so).
    """

    label: str
    epoch: int
    sidecar: Path | None


def run_weights(info: RunInfo) -> list[WeightsChoice]:
    """The weights a run offers, in epoch order: initialisation, every kept ``epoch-N``
    checkpoint, then best and last (with the epoch their sidecar names)."""
    choices = [WeightsChoice("initialisation", 0, None)]
    kept = []
    for path in info.path.glob("epoch-*.json"):
        match = re.fullmatch(r"epoch-(\d+)\.json", path.name)
        if match and path.with_suffix(".safetensors").is_file():
            kept.append((int(match.group(1)), path))
    choices += [WeightsChoice(f"epoch {n}", n, path) for n, path in sorted(kept)]
    for name, sidecar in (("best", info.best), ("last", info.last)):
        if sidecar is not None:
            epoch = _sidecar_epoch(sidecar)
            choices.append(WeightsChoice(f"{name} (epoch {epoch})", epoch, sidecar))
    return choices


def _sidecar_epoch(sidecar: Path) -> int:
    value = _sidecar_document(sidecar).get("epoch")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _sidecar_document(sidecar: Path) -> dict:
    """A checkpoint's sidecar as read, or ``{}`` when it cannot be read or is not an object."""
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
