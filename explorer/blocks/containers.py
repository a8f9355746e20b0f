"""Containers: assemble any block from primitives, the way the course explains them.

- ``parallel``: several branches side by side, merged by channel concatenation or addition
  (an Inception block; an empty branch is the identity, so ``add`` makes a residual).
- ``residual``: a body plus a shortcut (identity, 1×1 conv, zero-padded identity, or none),
  added, optionally scaled and followed by an activation.
- ``group``: a named sub-sequence, optionally repeated.

Containers nest: a branch or a body is itself a list of blocks.
"""

from __future__ import annotations

from collections import OrderedDict

from explorer.core.limits import MAX_REPEAT
from explorer.core.registry import Param, register_block
from explorer.core.shapes import ShapeError, fmt_shape

POST_ACTIVATIONS = ("relu", "none")

MERGES = ("concat", "add", "multiply", "highway")
"""How a parallel block joins its branches: concatenate channels, add, multiply element-wise,
or ``highway``: three branches H, C, T giving T·H + (1 − T)·C (T a gate in [0, 1])."""


@register_block(
    "parallel",
    category="container",
    container=True,
    describe=lambda p: f"{len(p['branches'] or ())} branches, {p['merge']}",
    params=[
        Param("branches", "branches", help="each branch is a list of blocks; [] is the identity"),
        Param("merge", "choice", "concat", choices=MERGES,
              help="concatenate channels; add or multiply element-wise; highway: three "
                   "branches H, C, T give T·H + (1 − T)·C"),
    ],
)
def parallel(ctx, in_shape, *, branches, merge):
    """Branches side by side on the same input, merged by concatenation, addition,
    multiplication or a highway gate."""
    from explorer.blocks.modules.containers import Parallel

    modules, shapes = [], []
    for i, blocks in enumerate(branches):
        module, shape = ctx.sequence(blocks, in_shape, "branches", branch=i)
        modules.append(module)
        shapes.append(shape)
    first = shapes[0]
    if merge == "highway" and len(shapes) != 3:
        raise ShapeError(
            f"a highway merge takes three branches (H, C and the gate T: T·H + (1 − T)·C); "
            f"this block has {len(shapes)}",
            "add or remove branches until there are three, or merge by add", in_shape,
        )
    for i, shape in enumerate(shapes[1:], start=1):
        if merge != "concat" and shape != first:
            raise ShapeError(
                f"branch 0 gives {fmt_shape(first)} and branch {i} gives {fmt_shape(shape)}; "
                f"{_MERGE_NOUN[merge]} needs equal shapes",
                "give every branch the same out_channels and stride, or merge by concat",
                in_shape,
            )
        if merge == "concat" and (len(shape) != len(first) or shape[1:] != first[1:]):
            raise ShapeError(
                f"branch 0 gives {fmt_shape(first)} and branch {i} gives {fmt_shape(shape)}; "
                "concatenation needs the same height and width",
                "use the same stride in every branch and padding = kernel_size // 2",
                in_shape,
            )
    if merge != "concat":
        return Parallel(modules, merge), first
    return Parallel(modules, merge), (sum(shape[0] for shape in shapes), *first[1:])


_MERGE_NOUN = {"add": "addition", "multiply": "multiplication", "highway": "a highway merge"}


@register_block(
    "residual",
    category="container",
    container=True,
    describe=lambda p: f"shortcut {p['shortcut']}",
    params=[
        Param("body", "blocks", help="the residual path F(x)"),
        Param("shortcut", "choice", "identity", choices=("identity", "conv1x1", "pad", "none"),
              help="how x reaches the addition"),
        Param("scale", "float", 1.0, minimum=0, help="multiplies the sum (0.5: constant scaling)"),
        Param("post_activation", "choice", "relu", choices=POST_ACTIVATIONS,
              help="applied after the addition"),
    ],
)
def residual(ctx, in_shape, *, body, shortcut, scale, post_activation):
    """A body plus a shortcut, added: out = act(scale · (F(x) + shortcut(x)))."""
    from explorer.blocks.modules.containers import Residual, shortcut_for

    module, out_shape = ctx.sequence(body, in_shape, "body")
    shortcut_module = shortcut_for(shortcut, in_shape, out_shape, "body")
    return Residual(module, shortcut_module, scale, post_activation), out_shape


def _group_text(p: dict) -> str:
    n, repeat = len(p["blocks"] or ()), p["repeat"] or 1
    return f"{n} block{'s' if n != 1 else ''}" + (f" ×{repeat}" if repeat != 1 else "")


@register_block(
    "group",
    category="container",
    container=True,
    describe=_group_text,
    params=[
        Param("blocks", "blocks", help="the blocks of the group, in order"),
        Param("repeat", "int", 1, minimum=1, maximum=MAX_REPEAT, help="how many times to repeat them"),
        Param("name", "str", "", name_like=True,
              help="the group's name in summaries (e.g. stage2)"),
    ],
)
def group(ctx, in_shape, *, blocks, repeat, name):
    """A named sub-sequence of blocks, optionally repeated n times."""
    from explorer.blocks.modules.containers import Group

    module, out_shape = ctx.sequence(blocks, in_shape, "blocks", repeat=repeat)
    return Group(OrderedDict(module.named_children())), out_shape
