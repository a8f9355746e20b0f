"""Receptive field and effective stride of every layer, followed along the real data flow.

During one forward pass on the meta device (shapes only, no arithmetic) every torch
operation is watched (a :class:`~torch.overrides.TorchFunctionMode`, which is thread-local)
and each tensor it makes gets a field from the fields of the tensors it was made from: a
convolution or pooling window widens it by ``dilation · (kernel − 1)`` input steps and
multiplies the step by its stride; an element-wise operation keeps it; where paths merge
(an addition, a concatenation, a gate) the widest path wins, and what follows a merge
continues from there. A module's field is that of the tensor it returns. After global
pooling, flatten or a linear layer every output sees the whole input: the field is then at
least the input's height.

Fields are measured along the height (the presets' windows are square). An operation whose
spatial effect is not known here (a transpose, an upsampling) is not guessed at: the field
stops there and :attr:`ReceptiveFields.reason` says where.

``torch.fx`` is not used: a symbolic trace replaces ``nn.Module.__call__`` for the whole
process while it runs, which would break a network training on another thread.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Self

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

WINDOWS = {
    # operation: its settings after the input, in order (``conv2d`` reads the kernel from
    # the weight's shape)
    "conv2d": ("weight", "bias", "stride", "padding", "dilation"),
    "max_pool2d": ("kernel_size", "stride", "padding", "dilation"),
    "avg_pool2d": ("kernel_size", "stride", "padding"),
}
GLOBAL = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "linear", "flatten", "view", "reshape",
          "mean"}
"""Operations after which an output may depend on the whole input."""

ELEMENTWISE = {
    "add", "add_", "__add__", "__radd__", "__iadd__", "sub", "__sub__", "__rsub__", "mul",
    "mul_", "__mul__", "__rmul__", "__imul__", "div", "__truediv__", "__rtruediv__", "neg",
    "__neg__", "cat", "concat", "stack", "relu", "relu_", "relu6", "hardtanh", "leaky_relu",
    "prelu", "elu", "gelu", "silu", "mish", "hardswish", "hardsigmoid", "sigmoid", "sigmoid_",
    "tanh", "clamp", "clamp_min", "dropout", "batch_norm", "group_norm", "instance_norm",
    "local_response_norm", "pad", "empty_like", "clone", "contiguous", "to", "float",
    "type_as", "detach", "data",
}
"""Operations whose output at a position depends on their inputs at that position only (the
channels may mix; normalisation counts as such: its statistics are no path, as usual). With
several inputs they merge paths."""

NOT_FROM_VALUES = {"zeros_like", "ones_like", "full_like", "rand_like", "randn_like",
                   "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor"}
"""Operations that take a tensor only for its size, device and type."""


@dataclass(frozen=True)
class Field:
    """A receptive field: ``size`` input pixels wide, outputs ``stride`` input pixels apart."""

    size: int
    stride: int


@dataclass
class ReceptiveFields:
    """Fields after every submodule (by ``id``), and why any are missing."""

    by_module: dict[int, Field] = field(default_factory=dict)
    reason: str | None = None

    def get(self, module: nn.Module) -> Field | None:
        return self.by_module.get(id(module))


class FieldTracker(TorchFunctionMode):
    """While open, follows the receptive field through every operation of ``network``'s
    forward passes on this thread; the result is :attr:`fields`.

    ``network`` gets forward hooks for the duration (removed on exit): use it on a network
    the caller owns, as the inspector does.
    """

    def __init__(self, network: nn.Module, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.network = network
        self.full = int(input_shape[1]) if len(input_shape) == 3 else 1
        self.fields = ReceptiveFields()
        self._of: dict[int, tuple[torch.Tensor, Field | None]] = {}  # id → (tensor, field)
        self._handles: list = []

    def __enter__(self) -> Self:
        self._handles = [self.network.register_forward_pre_hook(self._start)]
        self._handles += [m.register_forward_hook(self._finish) for m in self.network.modules()]
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        for handle in self._handles:
            handle.remove()
        self._of.clear()

    def _start(self, module: nn.Module, args: tuple) -> None:
        if args and torch.is_tensor(args[0]):
            self._set(args[0], Field(1, 1))

    def _finish(self, module: nn.Module, args: tuple, out: Any) -> None:
        value = self._field(out) if torch.is_tensor(out) else None
        if isinstance(value, Field):
            self.fields.by_module[id(module)] = value

    def _field(self, tensor: torch.Tensor) -> Field | None | bool:
        """The tensor's field, ``None`` if unknown, ``False`` if it does not come from the
        input (a weight, a constant)."""
        entry = self._of.get(id(tensor))
        return entry[1] if entry is not None and entry[0] is tensor else False

    def _set(self, tensor: torch.Tensor, value: Field | None) -> None:
        self._of[id(tensor)] = (tensor, value)  # holding the tensor keeps its id unique

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not isinstance(out, (torch.Tensor, list, tuple)) or isinstance(out, torch.Size):
            return out  # sizes, dims, flags: most calls (the summary's own bookkeeping)
        inputs = [f for t in _tensors((args, kwargs)) for f in [self._field(t)] if f is not False]
        if not inputs:
            return out  # made from weights and constants only
        outputs = list(_tensors(out))
        name = getattr(func, "__name__", str(func))
        if name == "__get__":  # a property, such as x.data or x.T
            name = getattr(getattr(func, "__self__", None), "__name__", name)
        if name in NOT_FROM_VALUES:
            return out  # zeros_like(x) takes only x's size
        value = None
        if all(isinstance(f, Field) for f in inputs):
            value = self._step(name, args, kwargs, inputs)
            if value is None and self.fields.reason is None:
                self.fields.reason = (f"unknown from {name} on: its spatial effect is not known "
                                      "(only windows, element-wise steps and merges are)")
        for tensor in outputs:
            self._set(tensor, value)
        return out

    def _step(self, name: str, args: tuple, kwargs: dict, inputs: list[Field]) -> Field | None:
        before = Field(max(f.size for f in inputs), max(f.stride for f in inputs))  # widest
        if name in WINDOWS:
            given = dict(zip(WINDOWS[name], args[1:]))
            given.update((k, v) for k, v in kwargs.items() if k in WINDOWS[name])
            kernel = given["weight"].shape[2] if name == "conv2d" else given["kernel_size"]
            stride = given.get("stride") or (1 if name == "conv2d" else kernel)
            k, s, d = _first(kernel), _first(stride), _first(given.get("dilation", 1))
            return Field(before.size + d * (k - 1) * before.stride, before.stride * s)
        if name in GLOBAL:
            return Field(max(before.size, self.full), before.stride)
        if name == "__getitem__":  # x[:, :, ::2, ::2], a strided shortcut
            index = args[1] if len(args) > 1 else None
            height = index[2] if isinstance(index, tuple) and len(index) > 2 else None
            step = height.step if isinstance(height, slice) and height.step else 1
            return Field(before.size, before.stride * int(step))
        if name in ELEMENTWISE:
            return before
        return None


def receptive_fields(module: nn.Module, input_shape: tuple[int, ...]) -> ReceptiveFields:
    """Receptive field and effective stride (along the height) after every submodule.

    Parameters
    ----------
    module : the network. Watched during one forward pass of a meta tensor: a network on the
        meta device is run as it is (its layers briefly answer shapes directly, see
        :func:`~explorer.core.builder.fast_meta_shapes`, and it carries hooks for the pass:
        the inspector's own networks); any other is copied to the meta device first.
    input_shape : its input (C, H, W), without the batch.
    """
    from explorer.core.builder import fast_meta_shapes

    network = module
    if any(not t.is_meta for t in itertools.chain(module.parameters(), module.buffers())):
        network = copy.deepcopy(module).to("meta")
    x = torch.empty(1, *input_shape, device="meta")
    with torch.no_grad(), fast_meta_shapes(network), FieldTracker(network, input_shape) as tracker:
        network(x)
    fields = tracker.fields
    if network is not module:
        originals = dict(zip(map(id, network.modules()), module.modules()))
        fields.by_module = {id(originals[k]): v for k, v in fields.by_module.items()}
    return fields


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    """The tensors in an operation's arguments or result (inside lists, tuples and dicts)."""
    if torch.is_tensor(value):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _first(value: Any) -> int:
    if isinstance(value, (tuple, list)):
        return int(value[0])
    return int(value)

