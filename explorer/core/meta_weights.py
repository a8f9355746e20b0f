"""Build a model whose weights live on the meta device, however its builder makes them."""

from __future__ import annotations

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

_FACTORIES = frozenset({
    torch.empty, torch.empty_strided, torch.zeros, torch.ones, torch.full, torch.eye,
    torch.rand, torch.randn, torch.randint, torch.randperm, torch.arange, torch.linspace,
    torch.logspace, torch.tensor, torch.as_tensor, torch.asarray, torch.scalar_tensor,
    torch.tril_indices, torch.triu_indices,
})
"""The public tensor factories that take a ``device`` (those ``torch.device(...)`` redirects)."""


_FILLS = frozenset({
    *(getattr(nn.init, name) for name in nn.init.__all__ if name.endswith("_")),
    *(getattr(torch.Tensor, name) for name in (
        "normal_", "uniform_", "zero_", "fill_", "erfinv_", "clamp_",
        "mul_", "add_", "copy_")),
})
"""Initialisations, and the in-place steps they are made of, that change values only."""


class MetaWeights(TorchFunctionMode):
    """Like ``torch.device("meta")``, but integer tensors are made on the CPU, and filling a
    meta tensor with initial values is skipped.

    Some builders compute their layer sizes with tensors (RegNet's block widths) and read
    them back, which a meta tensor cannot do (``torch.device("meta")`` fails there with
    "Cannot copy out of meta tensor"); weights are floating-point and stay on meta. A meta
    tensor has no values, yet PyTorch runs most initialisations on it step by step in Python
    (``normal_`` ≈ 5 ms a weight): a weight comes back as it is.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _FILLS and args and torch.is_tensor(args[0]) and args[0].is_meta:
            return args[0]
        if func in _FACTORIES and kwargs.get("device") is None:
            out = func(*args, **{**kwargs, "device": "meta"})
            if out.is_floating_point() or out.is_complex():
                return out
        return func(*args, **kwargs)
