"""Composite blocks opened up: a built-in block as the containers and layers it is made of.

Each block family (``explorer/blocks/*.py``) registers, beside its factories, an *expander*
for each of its composite blocks with :func:`expander`: a pure function from the block's
checked parameters and the shape that reaches it to one equivalent block (a ``group``,
``residual`` or ``parallel`` container of primitives) with the same parameters, in the same
order, and the same outputs. :func:`expand_at` replaces a block of a network by its
expansion; the window's Edit ▸ Expand into layers and the architecture diff use it.

Torch-free; the expanders are registered when :mod:`explorer.blocks` is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from explorer.core.edit import block_at, replace
from explorer.core.spec import ArchitectureSpec, BlockPath, BlockSpec, SpecError, validate_block

Expander = Callable[..., dict]
"""``fn(in_shape, **checked_params) -> block dict``."""

_EXPANDERS: dict[str, Expander] = {}


class ExpandError(ValueError):
    """A block that cannot be expanded; the message says why."""


def expander(block_type: str) -> Callable[[Expander], Expander]:
    """Register ``fn(in_shape, **params) -> dict`` as the expansion of ``block_type``.

    ``params`` are the block's checked parameters with defaults filled in (an
    ``out_channels`` may be ``"classes"``: keep it so, conv2d takes it too); ``in_shape`` is
    (C, H, W).

    Raises
    ------
    ValueError
        If ``block_type`` already has an expander.
    """

    def register(fn: Expander) -> Expander:
        if block_type in _EXPANDERS:
            raise ValueError(f"{block_type!r} already has an expander")
        _EXPANDERS[block_type] = fn
        return fn

    return register


def expandable_types() -> list[str]:
    """The block types that can be opened up, sorted."""
    return sorted(_EXPANDERS)


def can_expand(block: BlockSpec) -> bool:
    return block.type in _EXPANDERS


def expand_block(block: BlockSpec, in_shape: tuple[int, ...]) -> BlockSpec:
    """The containers-and-layers equivalent of ``block`` for the input ``in_shape``.

    Raises
    ------
    ExpandError
        For a block type without an expander or an invalid block; the message names the
        block and the reason.
    """
    fn = _EXPANDERS.get(block.type)
    if fn is None:
        known = ", ".join(expandable_types())
        raise ExpandError(f"{block.type} is not a composite block that can be opened up "
                          f"(these can: {known})")
    try:
        params = validate_block(block)
    except SpecError as exc:
        raise ExpandError(f"cannot expand {block.type}: {exc}") from None
    return BlockSpec.from_dict(fn(tuple(in_shape), **params))


def expand_at(spec: ArchitectureSpec, path: BlockPath,
              in_shape: tuple[int, ...]) -> ArchitectureSpec:
    """``spec`` with the block at ``path`` replaced by its expansion.

    ``in_shape`` is the shape that reaches that block (the summary's row, or
    :attr:`explorer.core.builder.BuildResult.in_shapes`).
    """
    block = block_at(spec, path)
    return replace(spec, path, expand_block(block, in_shape))


# --------------------------------------------------------------------------- for the families


def conv(out_channels: int, kernel_size: Any = 1, stride: Any = 1, padding: Any = 0,
         **extra: Any) -> dict:
    """A ``conv2d`` block dict, leaving out the defaults."""
    block: dict[str, Any] = {"type": "conv2d", "out_channels": out_channels,
                             "kernel_size": kernel_size}
    if stride != 1:
        block["stride"] = stride
    if padding != 0:
        block["padding"] = padding
    block.update(extra)
    return block


def layer(block_type: str, **params: Any) -> dict:
    return {"type": block_type, **params}


def group(name: str, blocks: list[dict]) -> dict:
    """A named ``group`` (the name a readable one: the expanded block's type)."""
    return {"type": "group", "name": name, "blocks": blocks}
