"""The pure core: architecture spec, registries, builder, presets and shape inspection.

Nothing here imports Qt. Names are loaded on first use, so ``import explorer.core.spec`` or
``explorer.core.registry`` does not import torch (the window shows before torch loads).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "explorer.core.builder": (
        "BuildResult", "Network", "build_model", "build_partial", "check_output",
    ),
    "explorer.core.shapes": ("ShapeError", "fmt_shape"),
    "explorer.core.registry": (
        "BlockDef", "Param", "PresetDef", "get_block", "get_preset", "list_blocks",
        "list_presets", "load_registries", "register_block", "register_preset",
    ),
    "explorer.core.spec": (
        "ArchitectureSpec", "BlockPath", "BlockSpec", "SpecError", "format_path", "load_spec",
        "save_spec", "validate",
    ),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "ArchitectureSpec", "BlockDef", "BlockPath", "BlockSpec", "BuildResult", "Network", "Param",
    "PresetDef", "ShapeError", "SpecError", "build_model", "build_partial", "check_output",
    "fmt_shape", "format_path", "get_block", "get_preset", "list_blocks", "list_presets",
    "load_registries", "load_spec", "register_block", "register_preset", "save_spec", "validate",
]


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'explorer.core' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
