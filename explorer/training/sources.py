"""A network named by a user: a preset, an architecture file, a run folder or a checkpoint.

What ``explorer diff A B`` and ``explorer gradients NAME|FILE`` accept, and what the window's
diff and gradient lab offer: :func:`resolve_network` reads the architecture (and says where
trained weights can be found) without building anything. No Qt.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from explorer.core.spec import ArchitectureSpec, SpecError, load_spec
from explorer.files import FileProblem, read_bytes
from explorer.training.runs import CHECKPOINT_FORMAT, RUN_FORMAT, RunError, RunInfo, read_run

MAX_JSON_BYTES = 64 * 2**20


class SourceError(ValueError):
    """A name that is no network: the message names it and what would be valid."""


@dataclass(frozen=True)
class NetworkSource:
    """An architecture and where it came from.

    ``kind`` is ``preset``, ``file``, ``run`` or ``checkpoint``; ``run`` the run folder's
    information (its weights: :func:`explorer.training.runs.run_weights`); ``checkpoint``
    the sidecar of a checkpoint given directly.
    """

    spec: ArchitectureSpec
    label: str
    kind: str
    path: Path | None = None
    run: RunInfo | None = None
    checkpoint: Path | None = None


def resolve_network(name: str | os.PathLike) -> NetworkSource:
    """The network ``name`` stands for.

    A preset name (``plain56``); an architecture ``.json``; a run folder (its ``config.json``
    holds the architecture it trained); a checkpoint's ``.json`` sidecar.

    Raises
    ------
    SourceError
        For anything else, naming what was found and what is accepted.
    """
    from explorer.core.presets import preset_spec
    from explorer.core.registry import PRESETS

    text = os.fspath(name)
    path = Path(text)
    if text in PRESETS.names() and not (os.sep in text or text.endswith(".json")):
        return NetworkSource(preset_spec(text), f"{text} (preset)", "preset")
    if path.is_dir():
        return _run_source(path)
    if path.suffix == ".json" or path.exists():
        return _json_source(path)
    from explorer.core.registry import list_presets

    known = ", ".join(p.name for p in list_presets())
    raise SourceError(f"{text!r} is neither a preset ({known}) nor an existing file or run "
                      "folder; give a preset name, an architecture .json, a run folder or a "
                      "checkpoint .json")


def _run_source(path: Path) -> NetworkSource:
    try:
        info = read_run(path)
        spec = ArchitectureSpec.from_dict(info.architecture or None)
    except RunError as exc:
        raise SourceError(f"{exc}; a folder must be a training run") from None
    except SpecError as exc:
        raise SourceError(f"{path}: the run's architecture cannot be read ({exc})") from None
    return NetworkSource(spec, f"{spec.name} (run {path.name})", "run", path, info)


def _json_source(path: Path) -> NetworkSource:
    try:
        data = read_bytes(path, "an architecture, checkpoint or run .json file",
                          max_bytes=MAX_JSON_BYTES)
        document = json.loads(data.decode("utf-8"))
    except FileProblem as exc:
        raise SourceError(str(exc)) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        document = None  # load_spec names the problem precisely
    if isinstance(document, dict) and document.get("format") == RUN_FORMAT:
        return _run_source(path.parent)
    if isinstance(document, dict) and document.get("format") == CHECKPOINT_FORMAT:
        try:
            spec = ArchitectureSpec.from_dict(document.get("architecture"))
        except SpecError as exc:
            raise SourceError(f"{path}: the checkpoint's architecture cannot be read "
                              f"({exc})") from None
        return NetworkSource(spec, f"{spec.name} (checkpoint {path.name})", "checkpoint",
                             path, checkpoint=path)
    try:
        spec = load_spec(path)
    except SpecError as exc:
        raise SourceError(str(exc)) from None
    return NetworkSource(spec, f"{spec.name} ({path.name})", "file", path)
