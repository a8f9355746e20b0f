"""Modules the single-layer blocks share with the others."""

from __future__ import annotations

from torch import nn


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by its block name (``relu``, ``sigmoid`` …)."""
    return {
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "gelu": nn.GELU,
    }[name]()
