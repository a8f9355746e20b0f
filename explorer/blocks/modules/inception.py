"""Inception blocks as modules: parallel branches concatenated on channels."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from explorer.blocks.source import exported


@exported
class ConcatBranches(nn.Module):
    """Run every branch (the child modules, in order) on the input; concatenate on dim 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], dim=1)



@exported
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



@exported
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
