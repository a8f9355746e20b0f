"""Turn an :class:`ArchitectureSpec` into an ``nn.Module`` with readable submodule names.

Channels and features flowing into a block are inferred: every block is built for the shape
that reaches it, and its output shape is found by a forward pass of a *meta* tensor (shapes
only, no arithmetic), so building the deepest preset costs no more than creating its weights —
and nothing at all on the meta device, which the shape inspector uses.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.overrides import TorchFunctionMode

from explorer.core.limits import MAX_FLOWING_CHANNELS, LimitError, check_elements
from explorer.core.registry import get_block
from explorer.core.shapes import Shape, ShapeError, conv_out, fmt_shape, window_error
from explorer.core.spec import (
    ArchitectureSpec,
    BlockPath,
    BlockSpec,
    SpecError,
    check_size,
    validate_block,
)

__all__ = [
    "BuildContext", "BuildResult", "BuiltBlock", "Network", "Shape", "ShapeError",
    "build_model", "build_partial", "check_output", "conv_out", "draw_from", "fmt_shape",
    "infer_shape",
]

@dataclass
class BuildContext:
    """What a block factory may need beyond its own parameters.

    ``path`` is the :data:`BlockPath` of the block being built; every built block module is
    tagged with its own as ``module.block_path`` (its type as ``module.block_type``, its
    settings in words as ``module.block_detail``).
    ``in_shapes`` records the shape that reached each block path (the first copy's, for a
    repeated group).
    """

    num_classes: int
    path: BlockPath = ()
    in_shapes: dict[BlockPath, Shape] = field(default_factory=dict)

    def sequence(
        self,
        blocks: list[tuple[BlockSpec, dict]],
        in_shape: Shape,
        field: str,
        branch: int | None = None,
        repeat: int = 1,
    ) -> tuple[nn.Sequential, Shape]:
        """Build validated nested blocks in order (for containers); return them and the shape.

        ``field`` is the container's parameter holding them (``body``, ``blocks``), ``branch``
        the branch index for a ``branches`` parameter; ``repeat`` builds the list that many
        times (every copy keeps the path of the block it repeats).
        """
        modules: OrderedDict[str, nn.Module] = OrderedDict()
        names = _Namer()
        shape = in_shape
        prefix = (*self.path, field) if branch is None else (*self.path, field, branch)
        label = field if branch is None else f"{field}[{branch}]"
        parent = self.path
        try:
            for copy in range(repeat):
                for i, (block, params) in enumerate(blocks):
                    self.path = (*prefix, i)
                    try:
                        module, shape = self.block(block, params, shape)
                    except ShapeError as exc:
                        exc.path = _join(f"{label}[{i}] ({block.type})", exc.path, sep=" › ")
                        if exc.block_path is None:
                            exc.block_path = self.path
                        raise
                    modules[names.name(block, params)] = module
        finally:
            self.path = parent
        return nn.Sequential(modules), shape

    def block(self, block: BlockSpec, params: dict, in_shape: Shape) -> tuple[nn.Module, Shape]:
        """Build one validated block for ``in_shape``; return it and its output shape."""
        definition = get_block(block.type)
        resolved = {
            name: (self.num_classes if value == "classes" else value)
            for name, value in params.items()
        }
        _check_input_size(block.type, in_shape)
        self.in_shapes.setdefault(self.path, tuple(in_shape))
        made = definition.factory(self, in_shape, **resolved)
        # containers return their output shape, already known from their nested blocks
        module, shape = made if isinstance(made, tuple) else (made, None)
        module.block_type = block.type  # shown in summaries and feature-map names
        module.block_path = self.path
        module.block_detail = definition.describe(resolved)  # the summary row's settings
        return module, shape or infer_shape(module, in_shape)


def _check_input_size(kind: str, in_shape: Shape) -> None:
    """A :class:`ShapeError` when what reaches a block is too big for any tensor (concatenated
    branches can multiply channels): found before the block's weights are sized."""
    if len(in_shape) == 3 and in_shape[0] > MAX_FLOWING_CHANNELS:
        raise ShapeError(
            f"{in_shape[0]:,} channels reach {kind}, more than the {MAX_FLOWING_CHANNELS:,} a "
            "layer may take", "lower out_channels or the number of concatenated branches "
            "before it", in_shape)
    try:
        check_elements(f"the {fmt_shape(in_shape)} input of {kind}", in_shape)
    except LimitError as exc:
        raise ShapeError(str(exc), "use a smaller input or fewer channels", in_shape) from None


class Network(nn.Sequential):
    """The built network: a sequence of named blocks, remembering its specification."""

    def __init__(self, spec: ArchitectureSpec, blocks: OrderedDict[str, nn.Module]) -> None:
        super().__init__(blocks)
        self.spec = spec
        self.input_shape = tuple(spec.input_shape)


@dataclass
class BuiltBlock:
    """One top-level block of a (possibly partial) build."""

    index: int
    name: str
    type: str
    in_shape: Shape
    out_shape: Shape


@dataclass
class BuildResult:
    """What :func:`build_partial` made: the network up to the first error, that error, and
    the shape that reached every block built (by block path)."""

    network: Network
    blocks: list[BuiltBlock]
    error: SpecError | ShapeError | None
    in_shapes: dict[BlockPath, Shape] = field(default_factory=dict)

    @property
    def out_shape(self) -> Shape:
        return self.blocks[-1].out_shape if self.blocks else tuple(self.network.input_shape)


_BUILD_LOCK = threading.RLock()
"""One build at a time: two threads building under ``torch.device(...)`` at once (the
inspector and the Code view) crashed the process (a segmentation fault in torch 2.14)."""


_RANDOM = frozenset({
    torch.rand, torch.randn, torch.randint, torch.randperm, torch.normal, torch.bernoulli,
    torch.multinomial, torch.poisson, torch.rand_like, torch.randn_like, torch.randint_like,
    torch.Tensor.uniform_, torch.Tensor.normal_, torch.Tensor.random_, torch.Tensor.bernoulli_,
    torch.Tensor.exponential_, torch.Tensor.geometric_, torch.Tensor.cauchy_,
    torch.Tensor.log_normal_,
})
"""Random functions that take ``generator=`` without naming it in their Python call."""


class _DrawFrom(TorchFunctionMode):
    """Every random draw made in this thread inside the mode uses ``generator``."""

    def __init__(self, generator: torch.Generator) -> None:
        super().__init__()
        self.generator = generator

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if kwargs.get("generator") is None and ("generator" in kwargs or func in _RANDOM):
            kwargs["generator"] = self.generator
        return func(*args, **kwargs)


def draw_from(generator: torch.Generator | None) -> contextlib.AbstractContextManager:
    """Inside the block, weight initialisation in this thread draws from ``generator`` and
    leaves torch's global generator alone (``None``: the global one, as usual).

    Models built off the training thread (predictions, feature maps, loading a checkpoint,
    an export) use one, so that they neither disturb a run seeded on another thread nor
    depend on it. Torch function modes are per thread.
    """
    return contextlib.nullcontext() if generator is None else _DrawFrom(generator)


def build_partial(spec: ArchitectureSpec, device: str | torch.device | None = None, *,
                  generator: torch.Generator | None = None) -> BuildResult:
    """Build block after block and stop at the first one that is invalid or does not fit.

    Never raises for a user's mistake: the error is returned with the blocks built before it.
    On ``device="meta"`` no weights are allocated (used for shape inspection). With a
    ``generator``, the weights are drawn from it (see :func:`draw_from`).
    """
    ctx = BuildContext(num_classes=spec.num_classes)
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    built: list[BuiltBlock] = []
    names = _Namer()
    shape: Shape = tuple(spec.input_shape)
    error: SpecError | ShapeError | None = None
    layers = 0
    with _BUILD_LOCK, draw_from(generator):
        with torch.device(device) if device is not None else contextlib.nullcontext():
            for index, block in enumerate(spec.blocks):
                ctx.path = (index,)
                try:
                    layers = check_size(block, index=index, before=layers)
                    params = validate_block(block, index=index)
                    module, out_shape = ctx.block(block, params, shape)
                except SpecError as exc:
                    error = exc
                    break
                except ShapeError as exc:
                    exc.block = index
                    exc.path = _join(f"block {index} ({block.type})", exc.path, sep=" › ")
                    exc.in_shape = exc.in_shape or shape
                    if exc.block_path is None:
                        exc.block_path = (index,)
                    error = exc
                    break
                name = names.name(block, params)
                modules[name] = module
                built.append(BuiltBlock(index, name, block.type, shape, out_shape))
                shape = out_shape
        network = Network(spec, modules)
        initialise(network, spec.init)
    return BuildResult(network, built, error, ctx.in_shapes)


def build_model(spec: ArchitectureSpec, device: str | torch.device | None = None, *,
                generator: torch.Generator | None = None) -> Network:
    """Build the whole network; raise the first :class:`SpecError` or :class:`ShapeError`.

    ``generator``: draw the initial weights from it instead of torch's global generator.
    """
    result = build_partial(spec, device=device, generator=generator)
    if result.error is not None:
        raise result.error
    return result.network


def initialise(network: nn.Module, init: str) -> nn.Module:
    """Initialise the weights of every convolution and linear layer, as d2l does.

    ``"xavier"``: Glorot's uniform initialisation (``nn.init.xavier_uniform_``), d2l's
    ``init_cnn`` for LeNet; ``"kaiming"``: He et al.'s normal initialisation for ReLU
    networks (``nn.init.kaiming_normal_``, std √(2 / fan_in)). Like d2l's ``init_cnn`` they
    set the weights only: biases, batch norm and other layers keep PyTorch's initialisation,
    which is all ``"default"`` keeps. On the meta device nothing is computed.
    """
    if init == "default":
        return network
    fill = {"xavier": nn.init.xavier_uniform_,
            "kaiming": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")}[init]
    with torch.no_grad():
        for layer in network.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                fill(layer.weight)
    return network


def check_output(spec: ArchitectureSpec, out_shape: Shape) -> str | None:
    """A warning when the network does not end in one score per class, else ``None``."""
    if tuple(out_shape) == (spec.num_classes,):
        return None
    if len(out_shape) == 3 and out_shape[1:] == (1, 1) and out_shape[0] == spec.num_classes:
        return (
            f"the network ends in {fmt_shape(out_shape)}; add a flatten block to get "
            f"{spec.num_classes} class scores"
        )
    return (
        f"the network ends in {fmt_shape(out_shape)}, not {spec.num_classes} class scores; "
        f'end it with flatten → linear (out_features "classes") to train it'
    )


# --------------------------------------------------------------------------- shapes

_SAME_SHAPE_LAYERS = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.LeakyReLU, nn.GELU, nn.ELU, nn.SiLU,
    nn.Sigmoid, nn.Tanh, nn.Dropout, nn.Dropout2d, nn.Identity,
    # activations of torchvision's models (ReLU6 is a Hardtanh): no shape checks to skip
    nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.SELU, nn.CELU,
)


_NORMS = {nn.BatchNorm1d: (2, 3), nn.BatchNorm2d: (4,)}
"""The batch norms :func:`fast_meta_shapes` answers, with the input dimensions each takes."""


def _checked_norm(layer: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """A batch norm's shape-only forward: an input of a dimension it takes with one channel a
    feature gets an empty tensor of its shape; any other goes to the layer's own forward,
    which raises PyTorch's error (a network written by hand can get these wrong)."""
    dims = next(d for kind, d in _NORMS.items() if isinstance(layer, kind))

    def forward(x: torch.Tensor) -> torch.Tensor:
        if x.dim() in dims and x.shape[1] == layer.num_features:
            return torch.empty_like(x)
        return type(layer).forward(layer, x)

    return forward


@contextlib.contextmanager
def fast_meta_shapes(network: nn.Module) -> Iterator[nn.Module]:
    """While the block is open, the shape-preserving layers of ``network`` (batch norm,
    activations, dropout) return an empty tensor of their input's shape without running, and
    concatenations, sums and functional activations of meta tensors are answered from their
    shapes (:class:`~explorer.core.meta_shapes.ShapeOnlyMode`).

    Only for a network run on meta tensors, whose values do not exist: PyTorch runs most of
    these layers on the meta device as Python decompositions (batch norm ≈ 1.4 ms, ReLU
    ≈ 0.25 ms a call), far slower than the convolutions' shape arithmetic. Every layer gets
    its own ``forward`` back when the block ends, even on an error, so a network that leaves
    the builder or the inspector computes what it should once it has real weights.
    """
    from explorer.core.meta_shapes import ShapeOnlyMode

    patched = [layer for layer in network.modules()
               if isinstance(layer, _SAME_SHAPE_LAYERS) and "forward" not in vars(layer)]
    try:
        for layer in patched:
            layer.forward = _checked_norm(layer) if isinstance(layer, tuple(_NORMS)) else \
                torch.empty_like
        with ShapeOnlyMode():
            yield network
    finally:
        for layer in patched:
            del layer.forward


def infer_shape(module: nn.Module, in_shape: Shape) -> Shape:
    """Output shape (without batch) of ``module`` for ``in_shape``, found on the meta device.

    Raises
    ------
    ShapeError
        Naming the innermost layer that failed, its input shape and a hint.
    """
    try:
        out = _meta_forward(module, in_shape)
    except ShapeError:
        raise
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        raise _locate_failure(module, in_shape, exc) from None
    if not torch.is_tensor(out):
        raise ShapeError(f"the block returns {type(out).__name__}, not a tensor")
    shape = tuple(out.shape[1:])
    if any(s <= 0 for s in shape):
        raise ShapeError(
            f"the output {fmt_shape(shape)} is empty",
            "lower a stride or kernel_size, or add padding",
            in_shape,
        )
    return shape


def _meta_forward(module: nn.Module, in_shape: Shape) -> Any:
    """Run ``module`` on a meta batch of two; a module with real weights is left untouched."""
    tensors = list(itertools.chain(
        module.named_parameters(remove_duplicate=False),
        module.named_buffers(remove_duplicate=False),
    ))
    x = torch.zeros((2, *in_shape), device="meta")
    with torch.no_grad():
        if all(t.is_meta for _, t in tensors):
            with fast_meta_shapes(module):
                return module(x)
        from explorer.core.meta_shapes import ShapeOnlyMode

        state = {name: t.to("meta") for name, t in tensors}  # meta stand-ins for the weights
        # linear layers, activations and merges answered from shapes: PyTorch's decompositions
        # of them on the meta device cost a second of imports at their first call, in a
        # process that has not made an optimizer yet (explorer gradients, predict, export)
        with ShapeOnlyMode():
            return functional_call(module, state, (x,), tie_weights=False)


def _locate_failure(module: nn.Module, in_shape: Shape, exc: Exception) -> ShapeError:
    """Run the failing forward again, watching every layer, and explain the innermost failure.

    Only done after a failure: hooks on every layer would cost more than the pass itself.
    """
    stack: list[tuple[str, nn.Module, Shape | None]] = []
    names = {m: n for n, m in module.named_modules()}

    def pre(mod: nn.Module, args: tuple) -> None:
        first = args[0] if args else None
        stack.append(
            (names.get(mod, ""), mod, tuple(first.shape[1:]) if torch.is_tensor(first) else None)
        )

    def post(mod: nn.Module, args: tuple, out: Any) -> None:
        stack.pop()

    handles = [h for sub in module.modules()
               for h in (sub.register_forward_pre_hook(pre), sub.register_forward_hook(post))]
    try:
        _meta_forward(module, in_shape)
    except (RuntimeError, ValueError, IndexError, TypeError) as again:
        exc = again
    finally:
        for handle in handles:
            handle.remove()
    name, culprit, culprit_in = stack[-1] if stack else ("", module, in_shape)
    error = explain(culprit, culprit_in, exc)
    error.path = name
    error.in_shape = in_shape
    return error


def explain(layer: nn.Module, in_shape: Shape | None, exc: Exception) -> ShapeError:
    """Turn a failed forward into a plain-language :class:`ShapeError` with a fix hint."""
    kind = type(layer).__name__
    if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) and in_shape is not None:
        if len(in_shape) != 3:
            return ShapeError(
                f"{kind} expects a C×H×W input but receives {fmt_shape(in_shape)}",
                "spatial layers must come before flatten; move this layer up or remove the "
                "flatten before it",
                in_shape,
            )
        padding = layer.padding if not isinstance(layer.padding, str) else 0
        error = window_error(in_shape, layer.kernel_size, layer.stride, padding,
                             getattr(layer, "dilation", 1))
        if error is not None:
            return error
        return ShapeError(
            f"{kind} cannot produce an output from the {fmt_shape(in_shape)} input",
            "lower the stride or kernel_size, or add padding",
            in_shape,
        )
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Sizes of tensors must match" in text or "must match the size" in text:
        return ShapeError(
            f"{kind}: the paths it merges give different shapes ({text})",
            "every branch must keep the same height and width (check stride and padding); "
            "an addition also needs equal channels (use a 1×1 conv shortcut)",
            in_shape,
        )
    return ShapeError(f"{kind} fails on a {fmt_shape(in_shape)} input: {text}", "", in_shape)


# --------------------------------------------------------------------------- naming


class _Namer:
    """Readable, unique submodule names: ``conv1``, ``conv2``, ``pool1``, ``inception1`` …"""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.used: set[str] = set()

    def name(self, block: BlockSpec, params: dict) -> str:
        custom = params.get("name") if block.type == "group" else None
        if custom and custom not in self.used:
            self.used.add(custom)
            return custom
        base = f"{custom}_" if custom else get_block(block.type).short  # stage2 twice: stage2_1
        while True:
            self.counts[base] = self.counts.get(base, 0) + 1
            candidate = f"{base}{self.counts[base]}"
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate


def _join(head: str, tail: str, sep: str = ".") -> str:
    return f"{head}{sep}{tail}" if tail else head
