"""The training engine as a plain generator of event records, with checkpoints. No Qt."""

from __future__ import annotations

from explorer.training.checkpoint import (
    CheckpointError,
    LoadedCheckpoint,
    load_checkpoint,
    save_checkpoint,
)
from explorer.training.config import SETTINGS, ConfigError, TrainConfig, resolve_device
from explorer.training.control import TrainControl
from explorer.training.engine import TrainError, make_optimizer, make_scheduler, train
from explorer.training.events import (
    BatchEnd,
    CheckpointSaved,
    EpochEnd,
    Event,
    Finished,
    Paused,
    Resumed,
    Started,
    event_name,
    event_to_dict,
)

__all__ = [
    "SETTINGS", "BatchEnd", "CheckpointError", "CheckpointSaved", "ConfigError", "EpochEnd",
    "Event", "Finished", "LoadedCheckpoint", "Paused", "Resumed", "Started", "TrainConfig",
    "TrainControl", "TrainError", "event_name", "event_to_dict", "load_checkpoint",
    "make_optimizer", "make_scheduler", "resolve_device", "save_checkpoint", "train",
]
