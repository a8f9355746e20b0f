"""The containers as modules: parallel branches, a residual sum, a named group; and the
shortcuts a residual block can take."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer.blocks.class_source import exported
from explorer.blocks.layers import spatial_channels
from explorer.blocks.modules.layers import make_activation
from explorer.core.shapes import ShapeError, fmt_shape, shortcut_stride


class Parallel(nn.Module):
    """Run every branch on the same input and merge the outputs: concatenate channels, add,
    multiply element-wise, or ``highway``: three branches H, C, T give T·H + (1 − T)·C."""

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



@exported
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



class Group(nn.Sequential):
    """A named sub-sequence of blocks."""
