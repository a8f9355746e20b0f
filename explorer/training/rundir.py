"""Where a run is written: default folder names from a network's name, and checks of ``--out``.

A network's name is display text, never a path: ``../../x`` or ``/etc`` become a plain folder
name under ``runs/``. A folder that already holds files is used only when it holds a run and
the user said to overwrite it (its run files are removed first, so nothing of the old run is
mixed with the new); a folder with anyone else's files is never written into.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path

from explorer.files import FileProblem, check_regular, reason
from explorer.textout import clean
from explorer.training.engine import RUN_FORMAT

#: The files a run writes (checkpoints, their temporary files, logs): what --overwrite removes.
RUN_FILE = re.compile(
    r"(config\.json|metrics\.jsonl|metrics\.csv|(best|last)\.(json|safetensors))"
    r"|\.(config\.json|metrics\.jsonl|metrics\.csv|(best|last)\.(json|safetensors))\..*\.tmp"
)
_MAX_NAME = 60


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
    """``runs/NAME-YYYYmmdd-HHMMSS`` (``-2``, ``-3`` … if taken) for a network called ``name``."""
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
