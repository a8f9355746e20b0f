"""The pure core: architecture spec, registries, builder, presets and shape inspection.

Nothing here imports Qt.
"""

from explorer.core.builder import (
    BuildResult,
    Network,
    ShapeError,
    build_model,
    build_partial,
    check_output,
    fmt_shape,
)
from explorer.core.registry import (
    BlockDef,
    Param,
    PresetDef,
    get_block,
    get_preset,
    list_blocks,
    list_presets,
    register_block,
    register_preset,
)
from explorer.core.spec import (
    ArchitectureSpec,
    BlockSpec,
    SpecError,
    load_spec,
    save_spec,
    validate,
)

__all__ = [
    "ArchitectureSpec", "BlockDef", "BlockSpec", "BuildResult", "Network", "Param",
    "PresetDef", "ShapeError", "SpecError", "build_model", "build_partial", "check_output",
    "fmt_shape", "get_block", "get_preset", "list_blocks", "list_presets", "load_spec",
    "register_block", "register_preset", "save_spec", "validate",
]
