"""A user's module as an editable network: a plain stack of layers the app knows, as a spec.

The module converts when its ``forward`` (traced with ``torch.fx``, every direct submodule
a leaf) is one chain: each step takes the previous step's output. Steps may be the layers
the blocks are made of (``Conv2d``, ``MaxPool2d``/``AvgPool2d``, ``AdaptiveAvgPool2d(1)``,
``BatchNorm2d``, the activations, ``Dropout``, ``Flatten``, ``Linear``), their functional
forms (``F.relu``, ``F.max_pool2d``, ``torch.flatten(x, 1)``, ``x.view(x.size(0), -1)`` …),
and nested modules of the same kind (an ``nn.Sequential`` or a small module of its own),
which become ``group`` blocks. Anything else (an addition, a concatenation, a layer setting
no block has) stops the conversion with a :class:`ConvertError` naming the module and why.
"""

from __future__ import annotations

import copy
import inspect
import math
import operator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from explorer.core.spec import ArchitectureSpec, BlockPath


class ConvertError(ValueError):
    """The module is not a plain stack of known layers; the message says which part and why."""


@dataclass
class Conversion:
    """The equivalent spec, and where each layer with weights came from (its name in the
    user's module, by the block path of the block that holds it)."""

    spec: ArchitectureSpec
    sources: dict[BlockPath, str] = field(default_factory=dict)


def to_spec(model: nn.Module, input_shape: tuple[int, ...], *, name: str) -> Conversion:
    """The spec of ``model`` for ``input_shape`` (C, H, W); :class:`ConvertError` if it is
    not a plain stack. The result builds to the same parameter count and output shape."""
    from explorer.core.builder import build_partial

    if len(input_shape) != 3:
        raise ConvertError(f"an editable network takes a C×H×W input, not {input_shape}")
    meta = copy.deepcopy(model).to("meta")
    converter = _Converter()
    blocks, out_shape = converter.module(meta, "", (), tuple(input_shape), root=True)
    classes = int(out_shape[0]) if len(out_shape) == 1 else 10
    _last_to_classes(blocks, out_shape)
    spec = ArchitectureSpec.from_dict({"name": name, "input_shape": list(input_shape),
                                       "num_classes": classes, "blocks": blocks})
    built = build_partial(spec, device="meta")
    if built.error is not None:
        raise ConvertError(f"the converted network does not build: {built.error}")
    mine = sum(p.numel() for p in built.network.parameters())
    theirs = sum(p.numel() for p in model.parameters())
    if mine != theirs or tuple(built.out_shape) != tuple(out_shape):
        raise ConvertError(
            f"the converted network has {mine:,} parameters and output "
            f"{tuple(built.out_shape)}, the module {theirs:,} and {tuple(out_shape)} "
            "(it has layers its forward does not use?)")
    return Conversion(spec, converter.sources)


def copy_weights(model: nn.Module, network: nn.Module, conversion: Conversion) -> None:
    """Load the weights (and batch-norm statistics) of ``model``'s layers into the network
    built from ``conversion.spec``."""
    by_path = {getattr(m, "block_path", None): m for m in network.modules()}
    for path, name in conversion.sources.items():
        by_path[path].load_state_dict(model.get_submodule(name).state_dict())


def _last_to_classes(blocks: list[dict], out_shape: tuple[int, ...]) -> None:
    """The last layer's width as ``"classes"`` (so the class count stays editable)."""
    if len(out_shape) != 1 or not blocks:
        return
    last = blocks[-1]
    if last["type"] == "group":
        _last_to_classes(last["blocks"], out_shape)
    elif last["type"] == "linear" and last["out_features"] == out_shape[0]:
        last["out_features"] = "classes"


def _size(value: Any) -> int | list[int]:
    pair = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
    return pair[0] if pair[0] == pair[1] else list(pair)


def _meta_out(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    with torch.no_grad():
        out = module(torch.empty((1, *shape), device="meta"))
    return tuple(int(s) for s in out.shape[1:])


class _Tracer(fx.Tracer):
    """Traces one module's own forward: its direct submodules stay calls."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return "." not in qualname or super().is_leaf_module(m, qualname)


class _Converter:
    def __init__(self) -> None:
        self.sources: dict[BlockPath, str] = {}
        self.seen: set[str] = set()

    # ----------------------------------------------------------------- modules

    def module(self, m: nn.Module, qual: str, prefix: BlockPath, shape: tuple[int, ...],
               root: bool = False) -> tuple[list[dict], tuple[int, ...]]:
        """The blocks of ``m`` (a list at ``prefix``) and its output shape; ``root``: ``m`` is
        the network itself."""
        if type(m) is nn.Sequential:
            children = [(f"{qual}.{n}" if qual else n, c) for n, c in m.named_children()]
            return self.chain([("module", q, c) for q, c in children], prefix, shape)
        layer = self.layer(m, qual or "the network", shape)
        if layer is not None:
            blocks, _ = layer
            if root and blocks and blocks[0]["type"] in _WEIGHTED:
                self.sources[(0,)] = ""  # the network is this one layer
            return layer
        return self.traced(m, qual, prefix, shape)

    def chain(self, steps: list[tuple], prefix: BlockPath, shape: tuple[int, ...]
              ) -> tuple[list[dict], tuple[int, ...]]:
        """Blocks of consecutive steps: ``("module", qualname, module)`` or
        ``("block", dict, out_shape)``."""
        blocks: list[dict] = []
        for step in steps:
            path = (*prefix, len(blocks))
            if step[0] == "block":
                blocks.append(step[1])
                shape = step[2]
                continue
            _, qual, child = step
            made, out = self.child(child, qual, path, shape)
            blocks += made
            shape = out
        return blocks, shape

    def child(self, m: nn.Module, qual: str, path: BlockPath, shape: tuple[int, ...]
              ) -> tuple[list[dict], tuple[int, ...]]:
        """A submodule as one block, or as a ``group`` of its own blocks."""
        if any(True for _ in m.parameters()):
            if qual in self.seen:
                raise ConvertError(f"cannot convert {qual} ({type(m).__name__}): it is used "
                                   "twice (shared weights); each block has its own")
            self.seen.add(qual)
        layer = self.layer(m, qual, shape)
        if layer is not None:
            blocks, out = layer
            if blocks and blocks[0]["type"] in _WEIGHTED:
                self.sources[path] = qual
            return blocks, out
        inner, out = self.module(m, qual, (*path, "blocks"), shape)
        if not inner:
            return [], out
        label = qual.rsplit(".", 1)[-1]
        group = {"type": "group", "blocks": inner}
        if label.isidentifier() and label.isascii():
            group["name"] = label
        return [group], out

    def traced(self, m: nn.Module, qual: str, prefix: BlockPath, shape: tuple[int, ...]
               ) -> tuple[list[dict], tuple[int, ...]]:
        from torch.fx.passes.shape_prop import ShapeProp

        from explorer.core.builder import fast_meta_shapes

        where = f"{qual or 'the network'} ({type(m).__name__})"
        try:
            graph = _Tracer().trace(m)
            gm = fx.GraphModule(m, graph)
            with fast_meta_shapes(gm):  # not PyTorch's meta decompositions (seconds)
                ShapeProp(gm).propagate(torch.empty((1, *shape), device="meta"))
        except Exception as exc:  # noqa: BLE001 (fx fails on data-dependent Python)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ConvertError(f"cannot convert {where}: its forward cannot be traced "
                               f"({type(exc).__name__}: {first[:200]})") from None
        return self.chain(self.graph_steps(gm, qual, where), prefix, shape)

    def graph_steps(self, gm: fx.GraphModule, qual: str, where: str) -> list[tuple]:
        """The traced forward as steps, checking that it is one chain."""
        steps: list[tuple] = []
        current = None
        for node in gm.graph.nodes:
            if node.op == "placeholder":
                if current is not None:
                    raise ConvertError(f"cannot convert {where}: its forward takes more "
                                       "than one input")
                current = node
                continue
            if node.op == "output":
                if node.args[0] is not current:
                    raise ConvertError(f"cannot convert {where}: its forward does not "
                                       "return the last layer's output")
                break
            if not _is_tensor(node):
                continue  # sizes (x.size(0)) that a view uses
            inputs = [a for a in node.all_input_nodes if _is_tensor(a)]
            if inputs != [current]:
                raise ConvertError(
                    f"cannot convert {where}: {_node_text(node)} combines several tensors "
                    "(an addition or a concatenation: residual and parallel blocks are not "
                    "converted from code)" if len(inputs) > 1 else
                    f"cannot convert {where}: {_node_text(node)} does not take the previous "
                    "layer's output")
            step = self.node_step(gm, node, qual, where)
            if step is not None:
                steps.append(step)
            current = node
        return steps

    def node_step(self, gm: fx.GraphModule, node: fx.Node, qual: str, where: str):
        if node.op == "call_module":
            name = f"{qual}.{node.target}" if qual else str(node.target)
            return ("module", name, gm.get_submodule(node.target))
        if node.op == "get_attr":
            raise ConvertError(f"cannot convert {where}: it uses the tensor "
                               f"self.{node.target} directly")
        in_shape = _shape(node.all_input_nodes[0])
        out_shape = _shape(node)
        block = _function_block(node, in_shape, out_shape, where)
        return None if block is None else ("block", block, out_shape)

    # ----------------------------------------------------------------- layers

    def layer(self, m: nn.Module, qual: str, shape: tuple[int, ...]):
        """``([block], out_shape)`` for a known layer, ``([], shape)`` for an identity,
        ``None`` for a module that is not a single layer."""
        kind = type(m)
        if kind is nn.Identity:
            return [], shape
        make = _LAYERS.get(kind)
        if make is None:
            if kind.__module__.startswith("torch.nn.modules") and kind is not nn.Sequential:
                raise ConvertError(f"cannot convert {qual} ({kind.__name__}): no block is "
                                   f"an nn.{kind.__name__}")
            return None
        block = make(m, f"{qual} ({kind.__name__})", shape)
        return [block], _meta_out(m, shape)


_WEIGHTED = ("conv2d", "batch_norm2d", "linear")


def _unsupported(where: str, what: str) -> ConvertError:
    return ConvertError(f"cannot convert {where}: {what}")


def _conv(m: nn.Conv2d, where: str, shape) -> dict:
    if m.groups != 1 or m.padding_mode != "zeros":
        raise _unsupported(where, f"groups={m.groups}, padding_mode={m.padding_mode!r}: the "
                                  "conv2d block has groups=1 and zero padding")
    padding = m.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif all(s == 1 for s in m.stride) and all(
                (d * (k - 1)) % 2 == 0 for k, d in zip(m.kernel_size, m.dilation)):
            padding = tuple(d * (k - 1) // 2 for k, d in zip(m.kernel_size, m.dilation))
        else:
            raise _unsupported(where, f"padding={padding!r} pads unevenly here")
    block = {"type": "conv2d", "out_channels": m.out_channels,
             "kernel_size": _size(m.kernel_size), "stride": _size(m.stride),
             "padding": _size(padding), "dilation": _size(m.dilation)}
    if m.bias is None:
        block["bias"] = False
    return _without_defaults(block)


_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1}


def _without_defaults(block: dict, defaults: dict = _DEFAULTS) -> dict:
    """The block as a person would write it: settings at their default left out."""
    return {k: v for k, v in block.items() if defaults.get(k, object()) != v}


def _pool(kind: str, m, where: str, shape) -> dict:
    if getattr(m, "ceil_mode", False) or getattr(m, "return_indices", False) or \
            _size(getattr(m, "dilation", 1)) != 1:
        raise _unsupported(where, "ceil_mode, return_indices and dilation are not settings "
                                  f"of the {kind} block")
    if kind == "avg_pool2d" and (not m.count_include_pad or m.divisor_override is not None):
        raise _unsupported(where, "count_include_pad=False or a divisor_override: the "
                                  "avg_pool2d block counts the padding")
    stride = m.stride if m.stride is not None else m.kernel_size
    block = {"type": kind, "kernel_size": _size(m.kernel_size), "padding": _size(m.padding)}
    if _size(stride) != block["kernel_size"]:
        block["stride"] = _size(stride)
    return _without_defaults(block, {"padding": 0})


def _adaptive(m: nn.AdaptiveAvgPool2d, where: str, shape) -> dict:
    if _size(m.output_size if m.output_size is not None else 1) != 1:
        raise _unsupported(where, f"output_size={m.output_size}: only AdaptiveAvgPool2d(1) "
                                  "(global average pooling) is a block")
    return {"type": "global_avg_pool"}


def _batch_norm(m: nn.BatchNorm2d, where: str, shape) -> dict:
    if not m.affine or not m.track_running_stats or m.momentum is None:
        raise _unsupported(where, "affine=False, track_running_stats=False or momentum=None "
                                  "are not settings of the batch_norm2d block")
    return {"type": "batch_norm2d", "eps": float(m.eps), "momentum": float(m.momentum)}


def _flatten(m: nn.Flatten, where: str, shape) -> dict:
    if m.start_dim != 1 or m.end_dim != -1:
        raise _unsupported(where, f"Flatten({m.start_dim}, {m.end_dim}): the flatten block "
                                  "keeps the batch and flattens the rest")
    return {"type": "flatten"}


def _gelu(m: nn.GELU, where: str, shape) -> dict:
    if m.approximate != "none":
        raise _unsupported(where, "approximate='tanh' is not a setting of the gelu block")
    return {"type": "gelu"}


def _linear(m: nn.Linear, where: str, shape) -> dict:
    if len(shape) != 1:
        raise _unsupported(where, f"it is applied to a {shape} map, not to flat features")
    block = {"type": "linear", "out_features": m.out_features}
    if m.bias is None:
        block["bias"] = False
    return block


_LAYERS = {
    nn.Conv2d: _conv,
    nn.MaxPool2d: lambda m, w, s: _pool("max_pool2d", m, w, s),
    nn.AvgPool2d: lambda m, w, s: _pool("avg_pool2d", m, w, s),
    nn.AdaptiveAvgPool2d: _adaptive,
    nn.BatchNorm2d: _batch_norm,
    nn.ReLU: lambda m, w, s: {"type": "relu"},
    nn.Sigmoid: lambda m, w, s: {"type": "sigmoid"},
    nn.Tanh: lambda m, w, s: {"type": "tanh"},
    nn.GELU: _gelu,
    nn.LeakyReLU: lambda m, w, s: {"type": "leaky_relu",
                                   "negative_slope": float(m.negative_slope)},
    nn.Dropout: lambda m, w, s: {"type": "dropout", "p": float(m.p)},
    nn.Flatten: _flatten,
    nn.Linear: _linear,
}


# --------------------------------------------------------------------------- functions


def _is_tensor(node: fx.Node) -> bool:
    return "tensor_meta" in node.meta


def _shape(node: fx.Node) -> tuple[int, ...]:
    return tuple(int(s) for s in node.meta["tensor_meta"].shape[1:])


def _node_text(node: fx.Node) -> str:
    if node.op == "call_method":
        return f"x.{node.target}(…)"
    target = node.target
    name = getattr(target, "__name__", str(target))
    owner = getattr(target, "__module__", "") or ""
    prefix = {"torch.nn.functional": "F.", "torch": "torch.", "_operator": ""}.get(owner, "")
    return f"{prefix}{name}(…)"


_ACTIVATIONS = {
    "relu": (F.relu, torch.relu, torch.relu_, F.relu_),
    "sigmoid": (torch.sigmoid, F.sigmoid),
    "tanh": (torch.tanh, F.tanh),
}


def _arguments(node: fx.Node) -> dict[str, Any]:
    """The call's arguments by name (for the functions that take pooling settings)."""
    fn = node.target
    try:
        bound = inspect.signature(fn).bind(*node.args, **node.kwargs)
    except (TypeError, ValueError):
        return dict(node.kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _function_block(node: fx.Node, in_shape, out_shape, where: str) -> dict | None:
    """The block a functional step is, ``None`` for one that changes nothing (a view that
    keeps the shape); :class:`ConvertError` for any other."""
    target = node.target
    method = target if node.op == "call_method" else None
    for kind, functions in _ACTIVATIONS.items():
        if method in (kind, f"{kind}_") or target in functions:
            return {"type": kind}
    if target is F.gelu and node.kwargs.get("approximate", "none") == "none":
        return {"type": "gelu"}
    if target is F.leaky_relu:
        return {"type": "leaky_relu", "negative_slope": float(_arguments(node)["negative_slope"])}
    if target in (F.max_pool2d, F.avg_pool2d):
        return _functional_pool(node, where)
    if target is F.adaptive_avg_pool2d and _size(_arguments(node)["output_size"]) == 1:
        return {"type": "global_avg_pool"}
    if target is torch.flatten or method in ("flatten", "view", "reshape"):
        if len(in_shape) == 3 and out_shape == (math.prod(in_shape),):
            return {"type": "flatten"}
        if out_shape == in_shape:
            return None
    if target in (F.log_softmax, F.softmax, torch.log_softmax, torch.softmax) or \
            method in ("log_softmax", "softmax"):
        raise _unsupported(where, f"{_node_text(node)} at the end: an editable network ends "
                                  "in raw class scores (its training's cross-entropy applies "
                                  "log-softmax); remove it to convert")
    if target in (F.dropout, F.dropout2d):
        raise _unsupported(where, f"{_node_text(node)}: use nn.Dropout, which the dropout "
                                  "block is (F.dropout drops even in eval mode unless told)")
    if target in (operator.getitem,):
        raise _unsupported(where, "it indexes a tensor")
    raise _unsupported(where, f"{_node_text(node)} is not a layer a block has")


def _functional_pool(node: fx.Node, where: str) -> dict:
    args = _arguments(node)
    kind = "max_pool2d" if node.target is F.max_pool2d else "avg_pool2d"
    if args.get("ceil_mode") or args.get("return_indices") or \
            _size(args.get("dilation", 1)) != 1 or args.get("divisor_override") is not None \
            or args.get("count_include_pad") is False:
        raise _unsupported(where, f"{_node_text(node)} uses a setting the {kind} block "
                                  "does not have")
    kernel = _size(args["kernel_size"])
    stride = args.get("stride")
    block = {"type": kind, "kernel_size": kernel, "padding": _size(args.get("padding", 0))}
    if stride not in (None, [], ()) and _size(stride) != kernel:
        block["stride"] = _size(stride)
    return _without_defaults(block, {"padding": 0})
