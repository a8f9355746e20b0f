"""DenseNet's blocks as modules (d2l's ``DenseBlock`` and ``transition_block``)."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from explorer.blocks.source import exported


@exported
class DenseLayer(nn.Sequential):
    """BN → ReLU → conv 3×3 with ``growth_rate`` output channels (d2l's ``conv_block``)."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__(OrderedDict(
            bn=nn.BatchNorm2d(in_channels),
            relu=nn.ReLU(),
            conv=nn.Conv2d(in_channels, growth_rate, kernel_size=3, padding=1),
        ))



@exported
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



@exported
class Transition(nn.Sequential):
    """BN → ReLU → 1×1 conv → 2×2 average pool with stride 2."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(OrderedDict(
            bn=nn.BatchNorm2d(in_channels),
            relu=nn.ReLU(),
            conv=nn.Conv2d(in_channels, out_channels, kernel_size=1),
            pool=nn.AvgPool2d(kernel_size=2, stride=2),
        ))
