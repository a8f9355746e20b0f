"""The shape inspector: per-layer output shape, parameters, cost and receptive field.

Run on the *meta* device (shapes only: no weights or activations are allocated and no
arithmetic is done), with torchinfo's columns computed by hooks on one forward pass (torchinfo
itself costs time exponential in the nesting of containers) and the multiply-adds counted
from the operations that pass runs (:mod:`explorer.core.costs`), so a summary is cheaper
than one forward pass and every edit in the app can be re-inspected at once. When a block does not fit, the summary holds the rows up to the
failing block and an error naming it, the shape that reached it and a fix hint; it never
raises for a user's mistake.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from explorer.core.builder import build_partial, check_output, explain, fast_meta_shapes
from explorer.core.receptive import FieldTracker, ReceptiveFields
from explorer.core.shapes import ShapeError, pair
from explorer.core.spec import ArchitectureSpec, BlockPath, SpecError
from explorer.core.summary import InspectError, LayerRow, Summary

SPATIAL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def inspect_spec(spec: ArchitectureSpec, depth: int = 3) -> Summary:
    """Summarise ``spec`` layer by layer, up to the first block that is invalid or does not fit.

    Parameters
    ----------
    spec : the architecture.
    depth : how deep inside blocks to list rows (1: one row per block).
    """
    result = build_partial(spec, device="meta")
    error = _inspect_error(result.error)
    block_index = {b.name: b.index for b in result.blocks}
    summary = _summarise(
        result.network, spec.name, tuple(spec.input_shape), spec.num_classes, depth, block_index
    )
    summary.error = error or summary.error
    if error is None and result.blocks:
        warning = check_output(spec, summary.output_shape)
        if warning:
            summary.warnings.append(warning)
    elif error is None:
        summary.warnings.append("the network has no blocks yet")
    return summary


def _inspect_error(err: SpecError | ShapeError | None) -> InspectError | None:
    if isinstance(err, ShapeError):
        return InspectError(err.block, err.message, err.hint, err.path, err.in_shape, "shape",
                            err.block_path)
    if isinstance(err, SpecError):
        return InspectError(err.block, err.message, "", err.path, None, "spec", err.block_path)
    return None


def inspect_module(
    module: nn.Module, input_shape: tuple[int, ...], *, name: str = "", depth: int = 3
) -> Summary:
    """Summarise any ``nn.Module`` (e.g. a torchvision model built on the meta device).

    The summary runs on a copy moved to the meta device: ``module`` itself is never changed,
    and may be used on another thread meanwhile.
    """
    return _summarise_own(copy.deepcopy(module).to("meta"), input_shape, name, depth)


def _summarise_own(module: nn.Module, input_shape: tuple[int, ...], name: str,
                   depth: int) -> Summary:
    """:func:`inspect_module` of a meta module nobody else uses (no copy made)."""
    names = {n: i for i, (n, _) in enumerate(module.named_children())}
    return _summarise(module, name or type(module).__name__, tuple(input_shape), None, depth,
                      names)


def _rows(
    module: nn.Module,
    infos: list,
    depth: int,
    block_index: dict[str, int],
    fields: ReceptiveFields,
) -> list[LayerRow]:
    """One :class:`LayerRow` per executed submodule down to ``depth``."""
    qualified = {id(m): n for n, m in module.named_modules()}
    by_name = dict(module.named_modules())
    rows: list[LayerRow] = []
    for info in infos:
        if info.depth > depth:
            continue
        sub = info.module
        path = qualified.get(id(sub), info.var_name)
        sub_params = list(sub.parameters())
        rf = fields.get(sub)
        rows.append(
            LayerRow(
                name=path,
                type=getattr(sub, "block_type", type(sub).__name__),
                depth=info.depth,
                block=block_index.get(path.split(".")[0]),
                output_shape=tuple(int(s) for s in info.output_size[1:]),
                params=sum(p.numel() for p in sub_params),
                trainable=all(p.requires_grad for p in sub_params),
                mult_adds=info.macs,
                receptive_field=rf.size if rf else None,
                effective_stride=rf.stride if rf else None,
                block_path=_block_path(path, by_name),
                input_shape=_input_shape(info),
                geometry=_geometry(sub),
                detail=_detail(sub),
                own_mult_adds=0 if info.is_leaf_layer else info.own_macs,
            )
        )
    return rows


def _detail(layer: nn.Module) -> str:
    """What a block says about its settings through a ``detail`` text, if it has one."""
    detail = getattr(layer, "detail", "")
    return detail if isinstance(detail, str) else ""


def _block_path(name: str, by_name: dict[str, nn.Module]) -> BlockPath | None:
    """The block path of the nearest module at or above ``name`` that was built from a spec."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        found = getattr(by_name.get(".".join(parts[:end])), "block_path", None)
        if found is not None:
            return found
    return None


def _input_shape(info: Any) -> tuple[int, ...] | None:
    size = info.input_size
    if isinstance(size, (list, tuple)) and len(size) > 1 and all(
        isinstance(v, int) for v in size
    ):
        return tuple(int(v) for v in size[1:])
    return None


def _geometry(layer: nn.Module) -> dict[str, tuple[int, int]] | None:
    if not isinstance(layer, SPATIAL) or isinstance(getattr(layer, "padding", 0), str):
        return None
    return {
        "kernel": pair(layer.kernel_size),
        "stride": pair(layer.stride),
        "padding": pair(layer.padding),
        "dilation": pair(getattr(layer, "dilation", 1)),
    }


def _summarise(
    module: nn.Module,
    name: str,
    input_shape: tuple[int, ...],
    num_classes: int | None,
    depth: int,
    block_index: dict[str, int],
) -> Summary:
    params = sum(p.numel() for p in module.parameters())  # parameters() counts shared ones once
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    param_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    if not any(True for _ in module.children()):
        return Summary(name, input_shape, num_classes, [], input_shape, params, trainable, 0, 0,
                       param_bytes)

    # one forward pass gives the calls, their costs and the receptive fields
    with fast_meta_shapes(module), FieldTracker(module, input_shape) as tracker:
        infos, failure, mult_adds = record_calls(module, input_shape)
    infos = [info for info in infos if info.depth >= 1 and info.executed]
    activation = sum(int(info.output_bytes) for info in infos if info.is_leaf_layer)
    fields = tracker.fields if failure is None else ReceptiveFields()
    rows = _rows(module, infos, depth, block_index, fields)
    output_shape = next(
        (tuple(int(s) for s in i.output_size[1:]) for i in reversed(infos) if i.depth == 1),
        input_shape,
    )
    return Summary(
        name=name,
        input_shape=input_shape,
        num_classes=num_classes,
        layers=rows,
        output_shape=output_shape,
        total_params=params,
        trainable_params=trainable,
        mult_adds=mult_adds,
        activation_bytes=activation,
        param_bytes=param_bytes,
        error=_failure_error(module, failure, block_index),
        warnings=memory_warnings(param_bytes, activation)
        + ([f"receptive field {fields.reason}"] if fields.reason else []),
    )


def memory_warnings(param_bytes: int, activation_bytes: int) -> list[str]:
    """Warnings for weights or one image's activations that do not fit in this machine's
    memory (with the number of bytes)."""
    from explorer.core.limits import available_memory, format_bytes

    memory = available_memory()
    if memory is None:
        return []
    out = []
    for what, size in (("parameters", param_bytes), ("activations of one image", activation_bytes)):
        if size > memory:
            out.append(f"the {what} take {size:,} bytes ({format_bytes(size)}), more than this "
                       f"machine's {format_bytes(memory)} of memory: it cannot be trained here")
    return out


@dataclass
class LayerCall:
    """One call of a submodule during the shapes-only forward pass (torchinfo's fields).

    ``depth`` is the module's nesting under the root (1 for a top-level block); ``macs``
    counts the multiply-adds of the operations run during the call (its submodules' included,
    :mod:`explorer.core.costs`), ``own_macs`` those run directly in its ``forward``, outside
    any submodule (an attention product, ``F.conv2d``).
    """

    module: nn.Module
    var_name: str
    depth: int
    input_size: list[int] | None
    output_size: list[int] = field(default_factory=list)
    executed: bool = False
    output_bytes: int = 0
    macs: int = 0
    own_macs: int = 0

    @property
    def is_leaf_layer(self) -> bool:
        return not any(True for _ in self.module.children())


def record_calls(
    module: nn.Module, input_shape: tuple[int, ...]
) -> tuple[list[LayerCall], tuple[list[LayerCall], Exception] | None, int]:
    """Run ``module`` once on a meta batch of one and record every submodule call, in the
    order the calls start, with the multiply-adds of the operations each one runs; cost is
    linear in the number of calls, whatever the nesting.

    Returns the calls; when the forward pass fails, the calls still running (outermost
    first) with the exception, else ``None``; and the multiply-adds of the whole pass (those
    run directly in ``module``'s own ``forward`` included).
    """
    import torch

    from explorer.core.costs import OpCounter

    names = {m: n for n, m in module.named_modules()}
    calls: list[LayerCall] = []
    running: list[LayerCall] = []
    total = 0

    def charge(macs: int) -> None:  # to the innermost call running; parents add it at its end
        nonlocal total
        total += macs
        if running:
            running[-1].macs += macs
            running[-1].own_macs += macs

    def pre(mod: nn.Module, args: tuple) -> None:
        first = args[0] if args else None
        name = names.get(mod, type(mod).__name__)
        call = LayerCall(mod, name, name.count(".") + 1,
                         list(first.shape) if torch.is_tensor(first) else None)
        calls.append(call)
        running.append(call)

    def post(mod: nn.Module, args: tuple, out: Any) -> None:
        call = running.pop()
        tensor = _first_tensor(out)
        if tensor is not None:
            call.output_size = list(tensor.shape)
            call.output_bytes = tensor.element_size() * tensor.numel()
        call.executed = True
        if running:
            running[-1].macs += call.macs

    handles = [h for sub in module.modules() if sub is not module
               for h in (sub.register_forward_pre_hook(pre), sub.register_forward_hook(post))]
    failure = None
    try:
        with torch.no_grad(), OpCounter(charge):
            module.eval()(torch.empty((1, *input_shape), device="meta"))
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        failure = (list(running), exc)
    finally:
        for handle in handles:
            handle.remove()
    return calls, failure, total


def _first_tensor(value: Any) -> Any:
    import torch

    if torch.is_tensor(value):
        return value
    if isinstance(value, (list, tuple)):
        return next((t for t in map(_first_tensor, value) if t is not None), None)
    if isinstance(value, dict):
        return next((t for t in map(_first_tensor, value.values()) if t is not None), None)
    return None


def _failure_error(
    module: nn.Module, failure: tuple[list[LayerCall], Exception] | None,
    block_index: dict[str, int],
) -> InspectError | None:
    """The error of a forward pass that failed inside ``module`` (a torchvision model that
    cannot take the input), naming the innermost layer that was running."""
    if failure is None:
        return None
    running, exc = failure
    culprit = running[-1] if running else None
    layer = culprit.module if culprit is not None else module
    in_shape = tuple(culprit.input_size[1:]) if culprit and culprit.input_size else None
    error = explain(layer, in_shape, exc)
    path = culprit.var_name if culprit is not None else ""
    return InspectError(block_index.get(path.split(".")[0]), error.message, error.hint, path,
                        in_shape, "shape", None)


def inspect_torchvision(name: str, *, input_shape=None, num_classes: int = 1000,
                        depth: int = 3) -> Summary:
    """Summarise a torchvision classification model by name (``torchvision:resnet50``)."""
    from explorer.core.presets import torchvision_input_shape, torchvision_model

    shape = tuple(input_shape) if input_shape else torchvision_input_shape(name)
    model = torchvision_model(name, input_shape=shape, num_classes=num_classes, device="meta")
    return _summarise_own(model, shape, name, depth)
