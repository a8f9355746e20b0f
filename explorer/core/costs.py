"""Multiply-adds of the operations a forward pass actually runs, counted by PyTorch's formulas.

:class:`OpCounter` watches every ATen operation of a pass (a thread-local
:class:`~torch.utils._python_dispatch.TorchDispatchMode`, works on the meta device) and
counts each matrix product, convolution and attention with the formulas of
:mod:`torch.utils.flop_counter` (PyTorch's own FLOP counter), halved to multiply-adds. So
functional calls count as much as layers do: ``F.conv2d``, ``x @ w``, ``torch.matmul``,
``F.scaled_dot_product_attention``, a ``Linear`` over tokens.

One difference from PyTorch's counter, kept from the app's earlier torchinfo rule: adding a
layer's bias counts one multiply-add per output element (a convolution or a linear layer
with a bias: ``C_in·k·k + 1`` per output position), which PyTorch's formulas leave out. It
changes torchvision's published figures by less than 0.1 %. Element-wise operations
(activations, ``x + y``, normalisation, pooling) count nothing, as in PyTorch's counter.

PyTorch's :class:`~torch.utils.flop_counter.FlopCounterMode` is not used as such: it finds
modules through global hooks on every module of the process, which would also see a network
training on another thread.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

aten = torch.ops.aten

_BIAS_ARGUMENT = {aten.addmm: 0, aten.baddbmm: 0, aten.convolution: 2, aten._convolution: 2}
"""Operations that add a tensor to their product, and where that tensor is."""


def op_mult_adds(packet, args: tuple, kwargs: dict, out) -> int:
    """Multiply-adds of one call of a counted operation (``packet`` in PyTorch's formulas)."""
    flops = flop_registry[packet](*args, **kwargs, out_val=out)
    where = _BIAS_ARGUMENT.get(packet)
    bias = args[where] if where is not None and len(args) > where else None
    return flops // 2 + (out.numel() if torch.is_tensor(bias) else 0)


class OpCounter(TorchDispatchMode):
    """While entered, hand the multiply-adds of every counted operation run on this thread to
    ``charge(mult_adds)``.

    Composite operations (``linear``, ``matmul``, attention) reach it already decomposed
    into the ones PyTorch has formulas for (``addmm``, ``bmm``, …), as long as gradient mode
    is not ``inference_mode``; an operation without a formula counts nothing.
    """

    def __init__(self, charge: Callable[[int], None]) -> None:
        super().__init__()
        self.charge = charge

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet in flop_registry:
            self.charge(op_mult_adds(packet, args, kwargs, out))
        return out
