"""Inception blocks: parallel branches of different kernel sizes, concatenated on channels.

- ``inception_a``: the course's Inception-A (four branches, no activation inside, 88 channels
  with the defaults).
- ``inception``: GoogLeNet's block ``(c1, (c2a, c2b), (c3a, c3b), c4)`` as in d2l, each
  convolution followed by a ReLU.

Submodule names follow torchvision's ``googlenet.py``: ``branch1x1``, ``branch3x3``,
``branch5x5``, ``branch3x3dbl``, ``branch_pool``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from explorer.blocks.layers import spatial_channels
from explorer.core.expand import conv, expander, layer
from explorer.core.limits import MAX_CHANNELS
from explorer.core.registry import Param, register_block


class ConcatBranches(nn.Module):
    """Run every branch (the child modules, in order) on the input; concatenate on dim 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], dim=1)


class InceptionA(ConcatBranches):
    """The course's Inception-A: 1×1 | 1×1 → 5×5 | 1×1 → 3×3 → 3×3 | avg-pool → 1×1."""

    def __init__(
        self, in_channels: int, c1: int, c2a: int, c2b: int, c3a: int, c3b: int, c4: int
    ) -> None:
        super().__init__()
        self.branch1x1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.branch5x5 = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(in_channels, c2a, kernel_size=1),
            conv2=nn.Conv2d(c2a, c2b, kernel_size=5, padding=2),
        ))
        self.branch3x3dbl = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(in_channels, c3a, kernel_size=1),
            conv2=nn.Conv2d(c3a, c3b, kernel_size=3, padding=1),
            conv3=nn.Conv2d(c3b, c3b, kernel_size=3, padding=1),
        ))
        self.branch_pool = nn.Sequential(OrderedDict(
            pool=nn.AvgPool2d(kernel_size=3, stride=1, padding=1),
            conv=nn.Conv2d(in_channels, c4, kernel_size=1),
        ))


class Inception(ConcatBranches):
    """GoogLeNet's block: 1×1 | 1×1 → 3×3 | 1×1 → 5×5 | max-pool → 1×1, a ReLU after each conv."""

    def __init__(
        self, in_channels: int, c1: int, c2a: int, c2b: int, c3a: int, c3b: int, c4: int
    ) -> None:
        super().__init__()
        self.branch1x1 = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(in_channels, c1, kernel_size=1),
            relu=nn.ReLU(),
        ))
        self.branch3x3 = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(in_channels, c2a, kernel_size=1),
            relu1=nn.ReLU(),
            conv2=nn.Conv2d(c2a, c2b, kernel_size=3, padding=1),
            relu2=nn.ReLU(),
        ))
        self.branch5x5 = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(in_channels, c3a, kernel_size=1),
            relu1=nn.ReLU(),
            conv2=nn.Conv2d(c3a, c3b, kernel_size=5, padding=2),
            relu2=nn.ReLU(),
        ))
        self.branch_pool = nn.Sequential(OrderedDict(
            pool=nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            conv=nn.Conv2d(in_channels, c4, kernel_size=1),
            relu=nn.ReLU(),
        ))


@register_block(
    "inception_a",
    category="inception",
    short="inception",
    params=[
        Param("c1", "int", 16, minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 1×1 branch"),
        Param("c2a", "int", 16, minimum=1, maximum=MAX_CHANNELS,
              help="1×1 reduction before the 5×5 conv"),
        Param("c2b", "int", 24, minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 5×5 branch"),
        Param("c3a", "int", 16, minimum=1, maximum=MAX_CHANNELS,
              help="1×1 reduction before the two 3×3 convs"),
        Param("c3b", "int", 24, minimum=1, maximum=MAX_CHANNELS,
              help="channels of the double 3×3 branch"),
        Param("c4", "int", 24, minimum=1, maximum=MAX_CHANNELS,
              help="channels of the pooling branch's 1×1 conv"),
    ],
)
def inception_a(ctx, in_shape, *, c1, c2a, c2b, c3a, c3b, c4):
    """The course's Inception-A block: four branches concatenated (88 channels by default).

    Branches: 1×1 c1 | 1×1 c2a → 5×5 c2b | 1×1 c3a → 3×3 c3b → 3×3 c3b | 3×3 average-pool →
    1×1 c4. Height and width are kept; there is no activation inside, as in the course.
    """
    channels = spatial_channels("inception_a", in_shape)
    return InceptionA(channels, c1, c2a, c2b, c3a, c3b, c4)


@register_block(
    "inception",
    category="inception",
    short="inception",
    params=[
        Param("c1", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 1×1 branch"),
        Param("c2a", "int", minimum=1, maximum=MAX_CHANNELS,
              help="1×1 reduction before the 3×3 conv"),
        Param("c2b", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 3×3 branch"),
        Param("c3a", "int", minimum=1, maximum=MAX_CHANNELS,
              help="1×1 reduction before the 5×5 conv"),
        Param("c3b", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 5×5 branch"),
        Param("c4", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels of the pooling branch's 1×1 conv"),
    ],
)
def inception(ctx, in_shape, *, c1, c2a, c2b, c3a, c3b, c4):
    """GoogLeNet's Inception block (c1, (c2a, c2b), (c3a, c3b), c4), as in d2l.

    Branches: 1×1 c1 | 1×1 c2a → 3×3 c2b | 1×1 c3a → 5×5 c3b | 3×3 max-pool → 1×1 c4, each
    convolution followed by a ReLU; c1 + c2b + c3b + c4 channels come out, same height and
    width.
    """
    channels = spatial_channels("inception", in_shape)
    return Inception(channels, c1, c2a, c2b, c3a, c3b, c4)


# --------------------------------------------------------------------------- opened up


@expander("inception_a")
def expand_inception_a(in_shape, *, c1, c2a, c2b, c3a, c3b, c4) -> dict:
    """Inception-A as a ``parallel`` block of its four branches, concatenated."""
    return {"type": "parallel", "merge": "concat", "branches": [
        [conv(c1)],
        [conv(c2a), conv(c2b, 5, padding=2)],
        [conv(c3a), conv(c3b, 3, padding=1), conv(c3b, 3, padding=1)],
        [layer("avg_pool2d", kernel_size=3, stride=1, padding=1), conv(c4)],
    ]}


@expander("inception")
def expand_inception(in_shape, *, c1, c2a, c2b, c3a, c3b, c4) -> dict:
    """GoogLeNet's block as a ``parallel`` block: four branches, a ReLU after each conv."""
    relu = layer("relu")
    return {"type": "parallel", "merge": "concat", "branches": [
        [conv(c1), relu],
        [conv(c2a), relu, conv(c2b, 3, padding=1), relu],
        [conv(c3a), relu, conv(c3b, 5, padding=2), relu],
        [layer("max_pool2d", kernel_size=3, stride=1, padding=1), conv(c4), relu],
    ]}
