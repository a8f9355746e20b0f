"""Modules the single-layer blocks share with the others."""

from __future__ import annotations

import torch
from torch import nn

from explorer.blocks.class_source import exported


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by its block name (``relu``, ``sigmoid`` …)."""
    return {
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "gelu": nn.GELU,
    }[name]()


@exported
class Scale(nn.Module):
    """Multiply by a constant: ``x · factor`` (no parameters)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor!r}"
