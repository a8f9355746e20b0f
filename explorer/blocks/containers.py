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

import torch
import torch.nn.functional as F
from torch import nn

from explorer.blocks.layers import make_activation, spatial_channels
from explorer.core.limits import MAX_REPEAT
from explorer.core.registry import Param, register_block
from explorer.core.shapes import ShapeError, fmt_shape, shortcut_stride

POST_ACTIVATIONS = ("relu", "none")


MERGES = ("concat", "add", "multiply", "highway")
"""How a parallel block joins its branches: concatenate channels, add, multiply element-wise,
or ``highway``: three branches H, C, T giving T·H + (1 − T)·C (T a gate in [0, 1])."""


class Parallel(nn.Module):
    """Run every branch on the same input and merge the outputs (see :data:`MERGES`)."""

    def __init__(self, branches: list[nn.Module], merge: str) -> None:
        super().__init__()
        self.merge = merge
        for i, branch in enumerate(branches, start=1):
            self.add_module(f"branch{i}", branch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [branch(x) for branch in self.children()]
        if self.merge == "concat":
            return torch.cat(outs, dim=1)
        if self.merge == "highway":  # branches H, C, T: T·H + (1 − T)·C
            transform, carry, gate = outs
            return gate * transform + (1 - gate) * carry
        total = outs[0]
        for out in outs[1:]:
            total = total * out if self.merge == "multiply" else total + out
        return total


class PadShortcut(nn.Module):
    """Identity shortcut that subsamples and zero-pads channels (He et al. 2015, option A)."""

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra_channels = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        before = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, before, self.extra_channels - before))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, extra_channels={self.extra_channels}"


class Residual(nn.Module):
    """``out = act(scale · (body(x) + shortcut(x)))``; without a shortcut, a plain body."""

    def __init__(
        self, body: nn.Module, shortcut: nn.Module | None, scale: float, activation: str
    ) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.scale = scale
        self.act = make_activation(activation) if activation != "none" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        if self.scale != 1.0:
            out = out * self.scale
        return self.act(out) if self.act is not None else out


def shortcut_for(kind: str, in_shape: tuple, out_shape: tuple, where: str) -> nn.Module | None:
    """The shortcut module that carries ``in_shape`` to ``out_shape``, or a hinted ShapeError.

    ``kind`` is ``identity``, ``conv1x1`` (a strided 1×1 convolution, stride inferred),
    ``pad`` (subsample and zero-pad channels) or ``none``.
    """
    if kind == "none":
        return None
    if kind == "identity":
        if tuple(in_shape) != tuple(out_shape):
            raise ShapeError(
                f"the {where} gives {fmt_shape(out_shape)} but the identity shortcut carries "
                f"{fmt_shape(in_shape)}, and the two cannot be added",
                'use shortcut "conv1x1" (or "pad"), or keep the channels and size unchanged '
                f"in the {where}",
                in_shape,
            )
        return nn.Identity()
    spatial_channels(f"a {kind} shortcut", in_shape)
    if len(out_shape) != 3:
        raise ShapeError(
            f"the {where} gives flat features {fmt_shape(out_shape)}; a {kind} shortcut needs "
            "a C×H×W map", f"remove flatten/linear from the {where}", in_shape,
        )
    stride = shortcut_stride(in_shape, out_shape)
    if stride is None:
        raise ShapeError(
            f"the {where} turns {fmt_shape(in_shape[1:])} into {fmt_shape(out_shape[1:])}, "
            "which no strided shortcut can match",
            f"the {where} should keep the size or divide it by its stride (use padding "
            "kernel_size // 2 in its convolutions)",
            in_shape,
        )
    if kind == "conv1x1":
        return nn.Conv2d(in_shape[0], out_shape[0], kernel_size=1, stride=stride)
    extra = out_shape[0] - in_shape[0]
    if extra < 0:
        raise ShapeError(
            f"a pad shortcut can only add channels, but the {where} goes from "
            f"{in_shape[0]} to {out_shape[0]}",
            'use shortcut "conv1x1"',
            in_shape,
        )
    return PadShortcut(stride, extra)


@register_block(
    "parallel",
    category="container",
    container=True,
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
    module, out_shape = ctx.sequence(body, in_shape, "body")
    shortcut_module = shortcut_for(shortcut, in_shape, out_shape, "body")
    return Residual(module, shortcut_module, scale, post_activation), out_shape


class Group(nn.Sequential):
    """A named sub-sequence of blocks."""


@register_block(
    "group",
    category="container",
    container=True,
    params=[
        Param("blocks", "blocks", help="the blocks of the group, in order"),
        Param("repeat", "int", 1, minimum=1, maximum=MAX_REPEAT, help="how many times to repeat them"),
        Param("name", "str", "", name_like=True,
              help="the group's name in summaries (e.g. stage2)"),
    ],
)
def group(ctx, in_shape, *, blocks, repeat, name):
    """A named sub-sequence of blocks, optionally repeated n times."""
    module, out_shape = ctx.sequence(blocks, in_shape, "blocks", repeat=repeat)
    return Group(OrderedDict(module.named_children())), out_shape
