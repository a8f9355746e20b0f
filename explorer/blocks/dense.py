"""DenseNet blocks (d2l's ``DenseBlock`` and ``transition_block``).

- ``dense_block``: each layer BN → ReLU → conv 3×3 adds ``growth_rate`` channels, its output
  concatenated to its input.
- ``transition``: BN → ReLU → 1×1 conv → 2×2 average pool, shrinking channels and size.

Submodule names follow torchvision's ``densenet.py`` (``layer1`` … with ``bn``, ``relu``,
``conv``; a transition's ``pool``).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from explorer.blocks.layers import spatial_channels
from explorer.core import expand
from explorer.core.limits import MAX_CHANNELS, MAX_DENSE_LAYERS
from explorer.core.registry import Param, register_block


class DenseLayer(nn.Sequential):
    """BN → ReLU → conv 3×3 with ``growth_rate`` output channels (d2l's ``conv_block``)."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__(OrderedDict(
            bn=nn.BatchNorm2d(in_channels),
            relu=nn.ReLU(),
            conv=nn.Conv2d(in_channels, growth_rate, kernel_size=3, padding=1),
        ))


class DenseBlock(nn.Module):
    """Dense layers in order; each one's output is concatenated to its input on dim 1."""

    def __init__(self, in_channels: int, num_layers: int, growth_rate: int) -> None:
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"layer{i + 1}", DenseLayer(in_channels + i * growth_rate,
                                                        growth_rate))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = torch.cat([x, layer(x)], dim=1)
        return x


class Transition(nn.Sequential):
    """BN → ReLU → 1×1 conv → 2×2 average pool with stride 2."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(OrderedDict(
            bn=nn.BatchNorm2d(in_channels),
            relu=nn.ReLU(),
            conv=nn.Conv2d(in_channels, out_channels, kernel_size=1),
            pool=nn.AvgPool2d(kernel_size=2, stride=2),
        ))


@register_block(
    "dense_block",
    category="dense",
    short="dense",
    params=[
        Param("num_layers", "int", 4, minimum=1, maximum=MAX_DENSE_LAYERS, help="number of BN → ReLU → conv layers"),
        Param("growth_rate", "int", 32, minimum=1, maximum=MAX_CHANNELS, help="channels each layer adds"),
    ],
)
def dense_block(ctx, in_shape, *, num_layers, growth_rate):
    """DenseNet's dense block: each layer's output is concatenated to its input.

    A layer is BN → ReLU → conv 3×3 (padding 1) with ``growth_rate`` channels, so the block
    gives in + num_layers · growth_rate channels with the same height and width.
    """
    channels = spatial_channels("dense_block", in_shape)
    return DenseBlock(channels, num_layers, growth_rate)


@register_block(
    "transition",
    category="dense",
    short="transition",
    params=[
        Param("out_channels", "int", None, minimum=1, maximum=MAX_CHANNELS,
              help="channels that come out (default: half of those that come in)"),
    ],
)
def transition(ctx, in_shape, *, out_channels):
    """DenseNet's transition layer: BN → ReLU → 1×1 conv → 2×2 average pool, stride 2.

    It sets the channels (half of the input's, rounded down and at least 1, by default) and
    halves the height and width.
    """
    channels = spatial_channels("transition", in_shape)
    if out_channels is None:
        out_channels = max(1, channels // 2)
    return Transition(channels, out_channels)


# --------------------------------------------------------------------------- opened up


@expand.expander("dense_block")
def expand_dense_block(in_shape, *, num_layers, growth_rate) -> dict:
    """A dense block as a repeated group: each time, ``parallel`` concatenates the input
    (an empty branch) with BN → ReLU → conv 3×3 of it."""
    one = {"type": "parallel", "merge": "concat", "branches": [
        [], [expand.layer("batch_norm2d"), expand.layer("relu"),
             expand.conv(growth_rate, 3, padding=1)],
    ]}
    return {**expand.group("dense_block", [one]), "repeat": num_layers}


@expand.expander("transition")
def expand_transition(in_shape, *, out_channels) -> dict:
    """A transition as a group: BN → ReLU → 1×1 conv → average pool 2."""
    channels = out_channels if out_channels is not None else max(1, in_shape[0] // 2)
    return expand.group("transition", [expand.layer("batch_norm2d"), expand.layer("relu"),
                                       expand.conv(channels), expand.layer("avg_pool2d",
                                                                           kernel_size=2)])
