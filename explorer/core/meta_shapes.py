"""Output shapes of a few operations on meta tensors, worked out in Python.

On the meta device PyTorch runs many operations (``torch.cat``, ``+``, ``*``, ``relu``,
``sigmoid``, dropout, adaptive pooling…) as Python decompositions, and the first of them imports
``torch._dynamo``: seconds of CPU time holding the interpreter lock, on the path to the
first layer table at start-up. :class:`ShapeOnlyMode` answers those operations from their
inputs' shapes instead (a fresh meta tensor of the right shape and dtype); none of them
costs multiply-adds, except ``linear``, which it runs as the equivalent 1×1 convolution so
that :class:`~explorer.core.costs.OpCounter` still counts it. Anything it does not
recognise, or inputs it would have to judge (mismatched sizes, mixed dtypes), goes to
PyTorch as usual, so errors keep PyTorch's own messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

Tensor = torch.Tensor


def _is_meta(value: Any) -> bool:
    return isinstance(value, Tensor) and value.is_meta


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    """NumPy broadcasting of two shapes; ``None`` when they do not broadcast."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            return None
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def _new(shape: Sequence[int], like: Tensor) -> Tensor:
    return torch.empty(tuple(shape), dtype=like.dtype, device="meta")


def _binary(inplace: bool) -> Callable[..., Tensor | None]:
    """``a op b`` for tensors of one floating dtype, or a tensor and a Python number."""

    def rule(a: Any, b: Any, *rest: Any, **kwargs: Any) -> Tensor | None:
        if rest or set(kwargs) - {"alpha"} or not _is_meta(a) or not a.is_floating_point():
            return None
        if _is_meta(b):
            if b.dtype != a.dtype:
                return None
            shape = _broadcast(a.shape, b.shape)
        elif isinstance(b, (int, float)) and not isinstance(b, bool):
            shape = tuple(a.shape)
        else:
            return None
        if shape is None or (inplace and shape != tuple(a.shape)):
            return None
        return a if inplace else _new(shape, a)

    return rule


def _same_shape(inplace: bool = False, inplace_at: int | None = None
                ) -> Callable[..., Tensor | None]:
    """A result shaped like the input; in place when ``inplace``, or when the ``inplace``
    argument (keyword, or positional at ``inplace_at`` after the input) is true."""

    def rule(x: Any, *args: Any, **kwargs: Any) -> Tensor | None:
        if not _is_meta(x) or not x.is_floating_point():
            return None
        flag = args[inplace_at] if inplace_at is not None and len(args) > inplace_at else \
            kwargs.get("inplace", False)
        return x if inplace or flag is True else _new(x.shape, x)

    return rule


def _batch_norm(x: Any, *stats: Any, **kwargs: Any) -> Tensor | None:
    """``batch_norm``'s shape when its running mean and variance, weight and bias (those
    given) all have one value a channel; else PyTorch's own error."""
    if not _is_meta(x) or not x.is_floating_point() or x.dim() < 2:
        return None
    given = [*stats[:4], *(kwargs.get(k) for k in ("weight", "bias"))]
    if any(isinstance(t, Tensor) and t.numel() != x.shape[1] for t in given):
        return None
    return _new(x.shape, x)


def _dropout(dims: tuple[int, ...] | None = None) -> Callable[..., Tensor | None]:
    """``dropout`` (any input; ``dims``: the input's dimensions ``dropout2d`` takes): the
    input itself when not training or in place (as PyTorch returns it), else a new tensor of
    its shape. A ``p`` outside [0, 1] or a non-bool flag is left to PyTorch's own error."""

    def rule(x: Any, p: Any = 0.5, training: Any = True, inplace: Any = False
             ) -> Tensor | None:
        if not _is_meta(x) or not x.is_floating_point() or (dims and x.dim() not in dims):
            return None
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
            return None
        if not isinstance(training, bool) or not isinstance(inplace, bool):
            return None
        return x if not training or inplace else _new(x.shape, x)

    return rule


def _hardtanh(x: Any, min_val: Any = -1.0, max_val: Any = 1.0, inplace: Any = False
              ) -> Tensor | None:
    """``hardtanh``/``relu6``'s shape; bounds the wrong way round are PyTorch's to refuse."""
    if not isinstance(min_val, (int, float)) or not isinstance(max_val, (int, float)) or \
            min_val > max_val:
        return None
    return _same_shape(inplace=inplace is True)(x)


def _reduction(x: Any, dim: Any = None, keepdim: Any = False, **kwargs: Any) -> Tensor | None:
    """``mean``/``sum`` of a floating tensor over ``dim`` (an int, a sequence, or all)."""
    if kwargs or not _is_meta(x) or not x.is_floating_point() or not isinstance(keepdim, bool):
        return None
    ndim = x.dim()
    dims = range(ndim) if dim is None else [dim] if isinstance(dim, int) else dim
    if not isinstance(dims, (range, list, tuple)) or isinstance(dim, bool) or not len(dims):
        return None  # an empty list of dimensions: PyTorch reduces them all
    if any(not isinstance(d, int) or isinstance(d, bool) or not -ndim <= d < max(ndim, 1)
           for d in dims):
        return None
    reduced = {d % ndim for d in dims} if ndim else set()
    if len(reduced) != len(dims) and dim is not None:
        return None  # a dimension named twice: PyTorch's own error
    shape = [1 if i in reduced else size for i, size in enumerate(x.shape)
             if keepdim or i not in reduced]
    return _new(shape, x)


def _cat(tensors: Any, dim: int = 0, **kwargs: Any) -> Tensor | None:
    if kwargs or not isinstance(tensors, (list, tuple)) or not tensors:
        return None
    if not all(_is_meta(t) for t in tensors):
        return None
    first = tensors[0]
    ndim = first.dim()
    if ndim == 0 or not -ndim <= dim < ndim:
        return None
    dim %= ndim
    if any(t.dim() != ndim or t.dtype != first.dtype for t in tensors):
        return None
    if any(t.shape[:dim] != first.shape[:dim] or t.shape[dim + 1:] != first.shape[dim + 1:]
           for t in tensors):
        return None
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    return _new(shape, first)


def _adaptive_pool(x: Any, output_size: Any, *args: Any, **kwargs: Any) -> Tensor | None:
    if args or kwargs or not _is_meta(x) or x.dim() not in (3, 4):
        return None
    sizes = [output_size, output_size] if isinstance(output_size, int) else list(output_size)
    if len(sizes) != 2:
        return None
    spatial = x.shape[-2:]
    out = [s if o is None else o for o, s in zip(sizes, spatial, strict=True)]
    if any(not isinstance(o, int) or o <= 0 for o in out):
        return None
    return _new((*x.shape[:-2], *out), x)


def _linear(x: Any, weight: Any, bias: Any = None) -> Tensor | None:
    """``linear`` as the equivalent 1×1 convolution, whose meta kernel is native: the same
    shape, and the same multiply-adds for a cost counter watching the operations
    (``C_in`` per output, plus one for the bias)."""
    if not (_is_meta(x) and _is_meta(weight)) or weight.dim() != 2 or x.dim() == 0:
        return None
    if x.shape[-1] != weight.shape[1] or x.dtype != weight.dtype:
        return None
    if bias is not None and (not _is_meta(bias) or tuple(bias.shape) != (weight.shape[0],)):
        return None
    lead, features, outputs = tuple(x.shape[:-1]), x.shape[-1], weight.shape[0]
    rows = x.reshape(-1, features, 1, 1)
    out = F.conv2d(rows, weight.reshape(outputs, features, 1, 1), bias)
    return out.reshape(*lead, outputs)


def _rules() -> dict[Any, Callable[..., Tensor | None]]:
    rules: dict[Any, Callable[..., Tensor | None]] = {}
    for name in ("add", "sub", "mul"):
        for func in (getattr(torch, name), getattr(Tensor, name), getattr(Tensor, f"__{name}__")):
            rules[func] = _binary(False)
        for func in (getattr(Tensor, f"{name}_"), getattr(Tensor, f"__i{name}__")):
            rules[func] = _binary(True)
    rules[Tensor.__radd__] = rules[Tensor.__rmul__] = _binary(False)
    rules[Tensor.__rsub__] = _binary(False)   # number - tensor: the tensor's shape
    for func in (torch.relu, Tensor.relu, F.gelu, torch.tanh, Tensor.tanh, F.tanh,
                 torch.sigmoid, Tensor.sigmoid, F.sigmoid):
        rules[func] = _same_shape()
    rules[F.batch_norm] = _batch_norm
    for func in (F.relu, F.relu6, F.selu, F.silu, F.mish):  # (input, inplace)
        rules[func] = _same_shape(inplace_at=0)
    rules[F.elu] = rules[F.leaky_relu] = _same_shape(inplace_at=1)  # (input, alpha, inplace)
    rules[F.hardtanh] = _hardtanh
    for func in (torch.relu_, Tensor.relu_, F.relu_, F.elu_, F.leaky_relu_, torch.sigmoid_,
                 Tensor.sigmoid_, torch.tanh_, Tensor.tanh_):
        rules[func] = _same_shape(inplace=True)
    rules[F.dropout] = _dropout()
    rules[F.dropout2d] = _dropout((3, 4))
    for func in (torch.mean, Tensor.mean, torch.sum, Tensor.sum):
        rules[func] = _reduction
    for func in (torch.cat, torch.concat, torch.concatenate):
        rules[func] = _cat
    rules[F.adaptive_avg_pool2d] = _adaptive_pool
    rules[F.linear] = _linear
    return rules


_RULES = _rules()


class ShapeOnlyMode(TorchFunctionMode):
    """While active, the operations above answer meta inputs with a new meta tensor of the
    right shape, without running PyTorch's decompositions."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        rule = _RULES.get(func)
        # the rules take the tensor first and make a new result: ``input=`` and ``out=``
        # calls are PyTorch's
        if rule is not None and args and "input" not in kwargs and "out" not in kwargs:
            out = rule(*args, **kwargs)
            if out is not None:
                return out
        return func(*args, **kwargs)
