"""Pure edits of an architecture: each takes a spec and returns a new one.

Blocks are addressed by :data:`~explorer.core.spec.BlockPath`: ``(3,)`` is the fourth
top-level block, ``(3, "body", 0)`` the first block of its body, ``(5, "branches", 1, 0)``
the first block of the second branch of a parallel block. Edits do not validate the blocks
they make (a half-built network is normal while editing; the inspector says what is wrong);
they raise :class:`EditError` for a path that does not exist or an edit that cannot be made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from explorer.core.registry import get_block
from explorer.core.spec import ArchitectureSpec, BlockPath, BlockSpec, slot_kind

Blocks = tuple[BlockSpec, ...]

CONTAINER_FIELDS = {"residual": "body", "group": "blocks", "parallel": "branches"}
"""The containers a selection can be wrapped in, and the field that holds the blocks."""


class EditError(ValueError):
    """An edit that cannot be made: the message says why."""


def slots(block: BlockSpec) -> list[tuple[str, str]]:
    """The fields of ``block`` that hold nested blocks, with their kind.

    ``[("body", "blocks")]`` for a residual container, ``[("branches", "branches")]`` for a
    parallel one, ``[]`` for a block without nested blocks (or of an unknown type).
    """
    try:
        definition = get_block(block.type)
    except (KeyError, TypeError):
        return []
    return [(p.name, p.kind) for p in definition.params if p.kind in ("blocks", "branches")]


def iter_blocks(spec: ArchitectureSpec) -> Iterator[tuple[BlockPath, BlockSpec]]:
    """Every block of ``spec`` with its path, depth first, nested blocks after their parent."""

    def walk(blocks: Sequence[Any], prefix: BlockPath) -> Iterator[tuple[BlockPath, BlockSpec]]:
        for i, block in enumerate(blocks):
            if not isinstance(block, BlockSpec):
                continue
            path = (*prefix, i)
            yield path, block
            for name, kind in slots(block):
                value = block.params.get(name, ())
                if not isinstance(value, tuple):
                    continue
                if kind == "blocks":
                    yield from walk(value, (*path, name))
                else:
                    for b, branch in enumerate(value):
                        if isinstance(branch, tuple):
                            yield from walk(branch, (*path, name, b))

    yield from walk(spec.blocks, ())


# --------------------------------------------------------------------------- paths


def _split(path: BlockPath) -> tuple[BlockPath, int]:
    """A block path as (the path of its list, its index in that list)."""
    if not path or not _is_index(path[-1]):
        raise EditError(f"{_show(path)} is not a block path (it must end with an index)")
    return tuple(path[:-1]), path[-1]


def _list_at(spec: ArchitectureSpec, list_path: BlockPath) -> Blocks:
    """The list of blocks that ``list_path`` names: ``()`` for the top level,
    ``(3, "body")`` for a body, ``(5, "branches", 1)`` for a branch."""
    blocks: Blocks = spec.blocks
    i = 0
    while i < len(list_path):
        index = list_path[i]
        if not _is_index(index) or not 0 <= index < len(blocks):
            raise EditError(f"there is no block {_show(list_path[: i + 1])}")
        block = blocks[index]
        if i + 1 >= len(list_path):
            raise EditError(f"{_show(list_path)} names a block, not a list of blocks")
        name = list_path[i + 1]
        kind = slot_kind(block, name) if isinstance(name, str) else None
        if kind is None:
            raise EditError(f"a {block.type} block has no nested blocks called {name!r}")
        value = block.params.get(name, ())
        value = value if isinstance(value, tuple) else ()
        if kind == "branches":
            if i + 2 >= len(list_path):
                raise EditError(f"{_show(list_path)} names the branches; add a branch index")
            branch = list_path[i + 2]
            if not _is_index(branch) or not 0 <= branch < len(value):
                raise EditError(f"there is no branch {_show(list_path[: i + 3])}")
            value = value[branch] if isinstance(value[branch], tuple) else ()
            i += 3
        else:
            i += 2
        blocks = value
    return blocks


def _with_list(
    spec: ArchitectureSpec, list_path: BlockPath, change: Callable[[Blocks], Blocks]
) -> ArchitectureSpec:
    """A new spec whose list at ``list_path`` is ``change(that list)``."""
    _list_at(spec, list_path)  # checks the path

    def rebuild(blocks: Blocks, rest: BlockPath) -> Blocks:
        if not rest:
            return tuple(change(blocks))
        index, name = rest[0], rest[1]
        block = blocks[index]
        value = block.params.get(name, ())
        value = value if isinstance(value, tuple) else ()
        if slot_kind(block, name) == "branches":
            branch = rest[2]
            branches = list(value)
            branches[branch] = rebuild(value[branch], rest[3:])
            new = block.with_params(**{name: tuple(branches)})
        else:
            new = block.with_params(**{name: rebuild(value, rest[2:])})
        return (*blocks[:index], new, *blocks[index + 1:])

    return dataclasses.replace(spec, blocks=rebuild(spec.blocks, list_path))


def block_at(spec: ArchitectureSpec, path: BlockPath) -> BlockSpec:
    """The block at ``path``."""
    list_path, index = _split(path)
    blocks = _list_at(spec, list_path)
    if not 0 <= index < len(blocks):
        raise EditError(f"there is no block {_show(path)}")
    return blocks[index]


def shift_after_removal(path: BlockPath, removed: BlockPath) -> BlockPath:
    """Where the block at ``path`` is once the block at ``removed`` has been removed."""
    k = len(removed) - 1
    if tuple(path[: len(removed)]) == tuple(removed):
        raise EditError(f"{_show(path)} is inside the removed block {_show(removed)}")
    if len(path) > k and tuple(path[:k]) == tuple(removed[:k]) and path[k] > removed[k]:
        return (*path[:k], path[k] - 1, *path[k + 1:])
    return tuple(path)


# --------------------------------------------------------------------------- edits


def insert(spec: ArchitectureSpec, path: BlockPath, block: BlockSpec) -> ArchitectureSpec:
    """Insert ``block`` so that it ends up at ``path`` (an index equal to the length appends)."""
    list_path, index = _split(path)
    if not 0 <= index <= len(_list_at(spec, list_path)):
        raise EditError(f"cannot insert at {_show(path)}: the list has "
                        f"{len(_list_at(spec, list_path))} blocks")
    return _with_list(spec, list_path, lambda b: (*b[:index], block, *b[index:]))


def remove(spec: ArchitectureSpec, path: BlockPath) -> ArchitectureSpec:
    """Remove the block at ``path``."""
    block_at(spec, path)
    list_path, index = _split(path)
    return _with_list(spec, list_path, lambda b: (*b[:index], *b[index + 1:]))


def replace(spec: ArchitectureSpec, path: BlockPath, block: BlockSpec) -> ArchitectureSpec:
    """Put ``block`` in place of the block at ``path``."""
    block_at(spec, path)
    list_path, index = _split(path)
    return _with_list(spec, list_path, lambda b: (*b[:index], block, *b[index + 1:]))


def move(spec: ArchitectureSpec, src: BlockPath, dst: BlockPath) -> ArchitectureSpec:
    """Move the block at ``src`` to ``dst``, a position in the spec *after* ``src`` is removed
    (use :func:`shift_after_removal` to translate a drop position)."""
    block = block_at(spec, src)
    return insert(remove(spec, src), dst, block)


def set_param(spec: ArchitectureSpec, path: BlockPath, name: str, value: Any) -> ArchitectureSpec:
    """Set parameter ``name`` of the block at ``path``; ``None`` removes it (the default)."""
    return replace(spec, path, block_at(spec, path).with_params(**{name: value}))


def wrap(spec: ArchitectureSpec, paths: Sequence[BlockPath], container: str) -> ArchitectureSpec:
    """Replace contiguous sibling blocks by one ``container`` holding them.

    ``residual`` puts them in its body (identity shortcut), ``group`` in its blocks,
    ``parallel`` in its only branch. The container takes the place of the first block.
    """
    if container not in CONTAINER_FIELDS:
        raise EditError(f"cannot wrap in {container!r}; choose one of "
                        + ", ".join(map(repr, CONTAINER_FIELDS)))
    if not paths:
        raise EditError("select the blocks to wrap")
    splits = sorted(_split(tuple(p)) for p in paths)
    list_path = splits[0][0]
    indices = [index for _, index in splits]
    if any(lp != list_path for lp, _ in splits):
        raise EditError("only blocks of the same list (siblings) can be wrapped together")
    if indices != list(range(indices[0], indices[0] + len(indices))):
        raise EditError("only adjacent blocks can be wrapped together")
    for index in indices:
        block_at(spec, (*list_path, index))
    first, last = indices[0], indices[-1] + 1

    def change(blocks: Blocks) -> Blocks:
        inner = tuple(blocks[first:last])
        field = CONTAINER_FIELDS[container]
        wrapped = BlockSpec(container, {field: (inner,) if container == "parallel" else inner})
        return (*blocks[:first], wrapped, *blocks[last:])

    return _with_list(spec, list_path, change)


def unwrap(spec: ArchitectureSpec, path: BlockPath) -> ArchitectureSpec:
    """Replace a container by the blocks it holds (a group's repeats are written out)."""
    block = block_at(spec, path)
    if block.type not in CONTAINER_FIELDS:
        raise EditError(f"a {block.type} block holds no blocks to unwrap; only "
                        + ", ".join(CONTAINER_FIELDS) + " containers can be unwrapped")
    value = block.params.get(CONTAINER_FIELDS[block.type], ())
    value = value if isinstance(value, tuple) else ()
    if block.type == "parallel":
        if len(value) != 1:
            raise EditError(f"this parallel block has {len(value)} branches; only a parallel "
                            "block with one branch can be unwrapped (remove the others first)")
        inner = value[0]
    elif block.type == "group":
        repeat = block.params.get("repeat", 1)
        inner = value * (repeat if _is_index(repeat) and repeat >= 1 else 1)
    else:
        inner = value
    list_path, index = _split(path)
    return _with_list(spec, list_path, lambda b: (*b[:index], *inner, *b[index + 1:]))


def insert_branch(
    spec: ArchitectureSpec, path: BlockPath, index: int, blocks: Sequence[BlockSpec] = ()
) -> ArchitectureSpec:
    """Add a branch (``blocks``; empty is the identity) to the parallel block at ``path``."""
    branches = _branches(spec, path)
    if not 0 <= index <= len(branches):
        raise EditError(f"cannot insert branch {index}: the block has {len(branches)} branches")
    new = (*branches[:index], tuple(blocks), *branches[index:])
    return replace(spec, path, block_at(spec, path).with_params(branches=new))


def remove_branch(spec: ArchitectureSpec, path: BlockPath, index: int) -> ArchitectureSpec:
    """Remove branch ``index`` of the parallel block at ``path`` (one branch must remain)."""
    branches = _branches(spec, path)
    if not 0 <= index < len(branches):
        raise EditError(f"there is no branch {index}: the block has {len(branches)} branches")
    if len(branches) == 1:
        raise EditError("a parallel block needs at least one branch")
    new = (*branches[:index], *branches[index + 1:])
    return replace(spec, path, block_at(spec, path).with_params(branches=new))


def _branches(spec: ArchitectureSpec, path: BlockPath) -> tuple:
    block = block_at(spec, path)
    if slot_kind(block, "branches") != "branches":
        raise EditError(f"a {block.type} block has no branches")
    value = block.params.get("branches", ())
    return value if isinstance(value, tuple) else ()


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(path: BlockPath) -> str:
    return "(" + ", ".join(repr(p) for p in path) + ("," if len(path) == 1 else "") + ")"
