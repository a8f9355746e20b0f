"""Receptive field and effective stride of every layer, derived from the traced data flow.

The network's forward pass is traced into a graph (:mod:`torch.fx`, symbolically: no tensor
is computed), and a field travels along every edge: a convolution or pooling window widens
it by ``dilation · (kernel − 1)`` input steps and multiplies the step by its stride; an
element-wise operation keeps it; where paths merge (an addition, a concatenation, a gate)
the widest path wins. What follows a merge continues from there, so a block's field is that
of the node its ``forward`` returns. After global pooling, flatten or a linear layer every
output sees the whole input: the field is then at least the input's height.

Fields are measured along the height (the presets' windows are square). A network whose
``forward`` does not trace (data-dependent control flow), or an operation whose data flow is
unknown here (a transpose, an upsampling), is not guessed at: the field stops there and
:attr:`ReceptiveFields.reason` says why.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

WINDOWED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
GLOBAL_MODULES = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten, nn.Linear)
ELEMENTWISE_MODULES = (
    nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d, nn.LocalResponseNorm, nn.ReLU, nn.ReLU6,
    nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish, nn.Hardsigmoid,
    nn.Sigmoid, nn.Tanh, nn.Dropout, nn.Dropout2d, nn.Identity,
)
"""Layers that work position by position (channels may mix; the spatial field is kept).
Normalisation counts as such: its statistics are not a path from the input, as usual."""

ELEMENTWISE_FUNCTIONS = {
    operator.add, operator.sub, operator.mul, operator.truediv, operator.neg, operator.iadd,
    operator.imul, torch.add, torch.sub, torch.mul, torch.div, torch.cat, torch.stack,
    torch.relu, torch.sigmoid, torch.tanh, F.relu, F.relu6, F.leaky_relu, F.gelu, F.silu,
    F.hardswish, F.hardsigmoid, F.sigmoid, F.tanh, F.dropout, F.batch_norm, F.pad,
}
"""Functions whose output at a position depends on their inputs at that position only;
with several inputs they merge paths (the widest wins)."""

ELEMENTWISE_METHODS = {
    "add", "add_", "sub", "mul", "mul_", "div", "relu", "relu_", "sigmoid", "sigmoid_",
    "tanh", "clamp", "clamp_min", "contiguous", "clone", "float", "to", "type_as", "neg",
    "__add__", "__radd__", "__mul__", "__rmul__", "__sub__", "__rsub__",
}
GLOBAL_FUNCTIONS = {torch.flatten, F.adaptive_avg_pool2d, F.adaptive_max_pool2d, F.linear}
GLOBAL_METHODS = {"flatten", "view", "reshape", "mean"}
METADATA_METHODS = {"size", "dim", "numel"}
POOL_FUNCTIONS = {F.max_pool2d: ("kernel_size", "stride", "padding", "dilation"),
                  F.avg_pool2d: ("kernel_size", "stride", "padding")}


@dataclass(frozen=True)
class Field:
    """A receptive field: ``size`` input pixels wide, outputs ``stride`` input pixels apart."""

    size: int
    stride: int


@dataclass
class ReceptiveFields:
    """Fields of a traced network: by ``id(submodule)``, and why any are missing."""

    by_module: dict[int, Field] = field(default_factory=dict)
    reason: str | None = None

    def get(self, module: nn.Module) -> Field | None:
        return self.by_module.get(id(module))


class _Tracer(fx.Tracer):
    """Traces as :func:`torch.fx.symbolic_trace` does, noting each module's output node."""

    def __init__(self) -> None:
        super().__init__()
        self.outputs: dict[int, fx.Node] = {}

    def call_module(self, m: nn.Module, forward: Any, args: tuple, kwargs: dict) -> Any:
        out = super().call_module(m, forward, args, kwargs)
        if isinstance(out, fx.Proxy):
            self.outputs[id(m)] = out.node  # a module called twice: its last call
        return out


class _Unknown(Exception):
    """An operation whose effect on the receptive field is not known."""


def receptive_fields(module: nn.Module, input_shape: tuple[int, ...]) -> ReceptiveFields:
    """Receptive field and effective stride (along the height) after every submodule.

    Parameters
    ----------
    module : the network; traced, never run (a meta-device network is fine).
    input_shape : its input (C, H, W), without the batch.

    Returns
    -------
    The fields by submodule; ``reason`` says why some or all are missing.
    """
    tracer = _Tracer()
    try:
        graph = tracer.trace(module)
    except Exception as exc:  # noqa: BLE001 — any failure to trace means "no field", never a crash
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return ReceptiveFields(reason=f"unknown: the forward pass does not trace ({first})")
    full = int(input_shape[1]) if len(input_shape) == 3 else 1
    modules = dict(module.named_modules())
    fields: dict[fx.Node, Field | None] = {}
    reason = None
    for node in graph.nodes:
        if node.op == "output":
            continue
        try:
            value = _propagate(node, fields, modules, full)
        except _Unknown as unknown:
            value = None
            if reason is None:
                reason = (f"unknown from {node.name} on: {unknown} is not an operation "
                          "whose spatial extent is known")
        if value is not _METADATA:
            fields[node] = value
    out = ReceptiveFields(reason=reason)
    for key, node in tracer.outputs.items():
        if fields.get(node) is not None:
            out.by_module[key] = fields[node]
    return out


_METADATA = object()
"""Marks a node that carries sizes, not data (``x.size(0)``): no field of its own."""


def _propagate(node: fx.Node, fields: dict, modules: dict[str, nn.Module], full: int) -> Any:
    """The field after ``node`` from the fields of its inputs."""
    if node.op == "placeholder":
        return Field(1, 1)
    if node.op == "get_attr":
        return _METADATA  # a constant: no path from the input
    inputs = [fields[n] for n in node.all_input_nodes if n in fields]
    if any(f is None for f in inputs):
        return None  # downstream of an unknown operation
    if not inputs:
        return _METADATA  # computed from sizes and constants only (h == 224)
    if node.op == "call_module":
        layer = modules[node.target]
        if isinstance(layer, WINDOWED):
            return _window(_widest(inputs), layer.kernel_size, layer.stride,
                           getattr(layer, "dilation", 1))
        if isinstance(layer, GLOBAL_MODULES):
            return _global(_widest(inputs), full)
        if isinstance(layer, ELEMENTWISE_MODULES):
            return _widest(inputs)
        raise _Unknown(type(layer).__name__)
    target = node.target
    if node.op == "call_method":
        if target in METADATA_METHODS:
            return _METADATA
        if target in GLOBAL_METHODS:
            return _global(_widest(inputs), full)
        if target in ELEMENTWISE_METHODS:
            return _widest(inputs)
        raise _Unknown(f".{target}()")
    if target is getattr:
        return _METADATA  # x.shape
    if target is operator.getitem:
        return _subsample(node, inputs)
    if target in POOL_FUNCTIONS:
        names = POOL_FUNCTIONS[target]
        given = dict(zip(names, node.args[1:]))
        given.update((k, v) for k, v in node.kwargs.items() if k in names)
        kernel = given["kernel_size"]
        return _window(_widest(inputs), kernel, given.get("stride") or kernel,
                       given.get("dilation", 1))
    if target in GLOBAL_FUNCTIONS:
        return _global(_widest(inputs), full)
    if target in ELEMENTWISE_FUNCTIONS:
        return _widest(inputs)
    raise _Unknown(getattr(target, "__name__", str(target)))


def _widest(inputs: list[Field]) -> Field:
    """Where paths merge, the widest one (and the coarsest step) carries on."""
    if not inputs:
        raise _Unknown("no input")
    return Field(max(f.size for f in inputs), max(f.stride for f in inputs))


def _window(before: Field, kernel: Any, stride: Any, dilation: Any) -> Field:
    k, s, d = _first(kernel), _first(stride), _first(dilation)
    return Field(before.size + d * (k - 1) * before.stride, before.stride * s)


def _global(before: Field, full: int) -> Field:
    return Field(max(before.size, full), before.stride)


def _subsample(node: fx.Node, inputs: list) -> Field:
    """``x[:, :, ::2, ::2]`` (a strided shortcut) multiplies the step."""
    index = node.args[1]
    height = index[2] if isinstance(index, tuple) and len(index) > 2 else None
    step = height.step if isinstance(height, slice) and height.step else 1
    before = _widest(inputs)
    return Field(before.size, before.stride * int(step))


def _first(value: Any) -> int:
    if isinstance(value, (tuple, list)):
        return int(value[0])
    return int(value)
