"""The training engine as a plain generator of event records, with checkpoints. No Qt.

Names are loaded on first use (as in :mod:`explorer.core`), so the settings schema
(``explorer.training.config``, which a form or ``--help`` reads) and the events come without
importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "explorer.training.checkpoint": (
        "CheckpointError", "LoadedCheckpoint", "load_checkpoint", "save_checkpoint",
    ),
    "explorer.training.config": ("SETTINGS", "ConfigError", "TrainConfig", "resolve_device"),
    "explorer.training.control": ("TrainControl",),
    "explorer.training.engine": ("TrainError", "make_optimizer", "make_scheduler", "train"),
    "explorer.training.events": (
        "BatchEnd", "CheckpointSaved", "EpochEnd", "Event", "Finished", "Paused", "Resumed",
        "Started", "event_name", "event_to_dict",
    ),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "SETTINGS", "BatchEnd", "CheckpointError", "CheckpointSaved", "ConfigError", "EpochEnd",
    "Event", "Finished", "LoadedCheckpoint", "Paused", "Resumed", "Started", "TrainConfig",
    "TrainControl", "TrainError", "event_name", "event_to_dict", "load_checkpoint",
    "make_optimizer", "make_scheduler", "resolve_device", "save_checkpoint", "train",
]


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'explorer.training' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
