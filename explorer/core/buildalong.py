"""Build-along: a network replayed block by block, the way the course builds GoogLeNet and
ResNet (``X = blk(X); print(X.shape)`` after each one).

:func:`build_steps` cuts a spec into steps: one block each (a convolution with the batch norm
and activation right after it is one step), groups opened and repeats unrolled.
:class:`BuildAlong` gives what the window shows at step *k*: the network up to that block, with
a temporary flatten + linear head where it does not end in the class scores yet (its
top-level index in ``head_from``, drawn dashed), the summary, what the step changed (shape,
parameters, multiply-adds, receptive field), a note on what the block is for in this
network, and the step's code. No Qt.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from explorer.core.shapes import fmt_shape
from explorer.core.spec import ArchitectureSpec, BlockPath
from explorer.core.summary import LayerRow, Summary, format_count

COMPANIONS = frozenset({"batch_norm2d", "relu", "leaky_relu", "sigmoid", "tanh", "gelu",
                        "dropout"})
"""Blocks that join the step before them (they keep the shape: a conv's BN and ReLU)."""


@dataclass(frozen=True)
class Step:
    """One step: its blocks' paths (in :attr:`spec`, the main block first) and a title."""

    number: int  # 1-based
    paths: tuple[BlockPath, ...]
    types: tuple[str, ...]
    title: str
    spec: ArchitectureSpec  # the network up to and including this step, no head


@dataclass(frozen=True)
class StepView:
    """What step :attr:`step` shows (see the module docstring)."""

    step: Step
    total: int
    spec: ArchitectureSpec  # with the temporary head, if any
    head_from: int | None
    summary: Summary
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: int
    mult_adds: int
    receptive_before: int | None
    receptive_after: int | None
    note: str
    code: str

    def delta_text(self) -> str:
        """``16×48×48 → 64×24×24 · +9,472 parameters · +27.7 M mult-adds · RF 7 → 11``."""
        parts = [f"{fmt_shape(self.in_shape)} → {fmt_shape(self.out_shape)}",
                 f"+{self.params:,} parameters", f"+{format_count(self.mult_adds)} mult-adds"]
        if self.receptive_after is not None:
            before = self.receptive_before if self.receptive_before is not None else 1
            parts.append(f"receptive field {before} → {self.receptive_after}")
        return " · ".join(parts)


# --------------------------------------------------------------------------- steps


def _unrolled(blocks: list[dict]) -> list[dict]:
    """Groups with ``repeat`` written out copy after copy (the same layers, one step each)."""
    out = []
    for block in blocks:
        if block["type"] == "group":
            inner = _unrolled(block.get("blocks", []))
            repeat = int(block.get("repeat", 1))
            block = {k: v for k, v in block.items() if k != "repeat"}
            block["blocks"] = [copy.deepcopy(b) for _ in range(repeat) for b in inner]
        out.append(block)
    return out


def _leaves(blocks: list[dict], prefix: BlockPath = ()) -> list[tuple[BlockPath, dict, str]]:
    """``(path, block, group name)`` of every block that is not a group, in order."""
    out = []
    for i, block in enumerate(blocks):
        path = (*prefix, i)
        if block["type"] == "group":
            for leaf_path, leaf, group in _leaves(block.get("blocks", []), (*path, "blocks")):
                out.append((leaf_path, leaf, group or str(block.get("name", ""))))
        else:
            out.append((path, block, ""))
    return out


def _prefix(blocks: list[dict], count: int) -> tuple[list[dict], int]:
    """The first ``count`` leaves of ``blocks`` with the groups that hold them."""
    out, left = [], count
    for block in blocks:
        if left <= 0:
            break
        if block["type"] == "group":
            inner, used = _prefix(block.get("blocks", []), left)
            if inner:
                out.append({**block, "blocks": inner})
            left -= used
        else:
            out.append(block)
            left -= 1
    return out, count - left


def build_steps(spec: ArchitectureSpec) -> list[Step]:
    """The steps of ``spec``, first block first."""
    base = spec.to_dict()
    blocks = _unrolled(base["blocks"])
    leaves = _leaves(blocks)
    groups: list[list[int]] = []
    for n, (path, block, _group) in enumerate(leaves):
        joins = (groups and block["type"] in COMPANIONS
                 and leaves[n - 1][0][:-1] == path[:-1])
        if joins:
            groups[-1].append(n)
        else:
            groups.append([n])
    steps = []
    for number, members in enumerate(groups, start=1):
        prefix, _ = _prefix(blocks, members[-1] + 1)
        step_spec = ArchitectureSpec.from_dict({**base, "blocks": prefix})
        types = tuple(leaves[n][1]["type"] for n in members)
        group = leaves[members[0]][2]
        title = " → ".join(types) + (f" (in {group})" if group else "")
        steps.append(Step(number, tuple(leaves[n][0] for n in members), types, title,
                          step_spec))
    return steps


# --------------------------------------------------------------------------- one step


def _head(spec: ArchitectureSpec, out_shape: tuple[int, ...]) -> tuple[ArchitectureSpec,
                                                                       int | None]:
    """``spec`` ending in the class scores: flatten + linear added where needed."""
    if tuple(out_shape) == (spec.num_classes,):
        return spec, None
    head = ([{"type": "flatten"}] if len(out_shape) != 1 else []) + \
        [{"type": "linear", "out_features": "classes"}]
    data = spec.to_dict()
    start = len(data["blocks"])
    data["blocks"] = data["blocks"] + head
    return ArchitectureSpec.from_dict(data), start


def _row(summary: Summary, path: BlockPath) -> LayerRow | None:
    """The outermost row of the block at ``path``."""
    rows = [r for r in summary.layers if r.block_path is not None
            and tuple(r.block_path) == tuple(path)]
    return min(rows, key=lambda r: r.depth) if rows else None


class BuildAlong:
    """A spec's steps and their views: the whole network is built and summarised once (a
    prefix's shapes are the whole network's), each view costs one summary."""

    def __init__(self, spec: ArchitectureSpec) -> None:
        from explorer.core.builder import build_partial
        from explorer.core.inspector import inspect_spec

        self.spec = spec
        self.steps = build_steps(spec)
        whole = self.steps[-1].spec if self.steps else spec
        built = build_partial(whole, device="meta")
        if built.error is not None:
            raise built.error
        self.network = built.network
        self.summary = inspect_spec(whole, depth=8)

    def __len__(self) -> int:
        return len(self.steps)

    def view(self, index: int) -> StepView:
        """What step ``index`` (0-based) shows."""
        from explorer.core.inspector import inspect_spec

        step = self.steps[index]
        rows = [_row(self.summary, p) for p in step.paths]
        first, last = rows[0], rows[-1]
        before = _row(self.summary, self.steps[index - 1].paths[-1]) if index else None
        in_shape = tuple(first.input_shape) if first.input_shape else \
            tuple(before.output_shape if before else self.spec.input_shape)
        out_shape = tuple(last.output_shape)
        shown, head_from = _head(step.spec, out_shape)
        view = StepView(
            step=step, total=len(self.steps), spec=shown, head_from=head_from,
            summary=inspect_spec(shown, depth=8), in_shape=in_shape, out_shape=out_shape,
            params=sum(r.params for r in rows), mult_adds=sum(r.mult_adds for r in rows),
            receptive_before=before.receptive_field if before else None,
            receptive_after=last.receptive_field, note="", code="")
        note = step_note(view, self.spec)
        code = step_code(step, self.network, in_shape, out_shape, index == 0)
        return dataclasses.replace(view, note=note, code=code)


# --------------------------------------------------------------------------- code


def step_code(step: Step, network, in_shape, out_shape, first: bool) -> str:
    """The step as the course writes it: the block, ``X = blk(X)``, the shape printed."""
    from explorer.export.pytorch import module_expressions

    modules = [m for m in network.modules() if getattr(m, "block_path", None) in step.paths]
    modules.sort(key=lambda m: step.paths.index(m.block_path))
    expressions, classes, imports = module_expressions([("", m) for m in modules])
    lines = []
    if first:
        lines += ["import torch", "from torch import nn", *imports, "",
                  f"X = torch.rand(size=(1, {', '.join(map(str, in_shape))}))"]
    else:
        lines += [*imports, (f"# X: torch.Size([1, {', '.join(map(str, in_shape))}]) from step "
                            f"{step.number - 1}")]
    if classes:
        lines += ["", *[c + "\n" for c in classes]]
    if len(expressions) == 1:
        lines.append(f"blk = {expressions[0]}")
    else:
        body = ",\n".join("    " + e.replace("\n", "\n    ") for e in expressions)
        lines.append(f"blk = nn.Sequential(\n{body},\n)")
    shape = ", ".join(map(str, out_shape))
    lines += ["X = blk(X)", "print(blk.__class__.__name__, 'output shape:', X.shape)",
              (f"# {type(modules[0]).__name__ if len(modules) == 1 else 'Sequential'} "
              f"output shape: torch.Size([1, {shape}])")]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


# --------------------------------------------------------------------------- notes


def step_note(view: StepView, spec: ArchitectureSpec) -> str:
    """What the step's block is for in this network, with its own numbers."""
    block = _block(view.step.spec, view.step.paths[0])
    kind = block["type"]
    writer = _NOTES.get(kind, _generic)
    text = writer(block, view, spec)
    extra = [t for t in view.step.types[1:] if t != "dropout"]
    if extra:
        text += " " + _companions(extra)
    if "dropout" in view.step.types[1:]:
        text += (" Dropout then zeroes random features while training, so the layers after "
                 "it cannot rely on any single one.")
    return text


def _block(spec: ArchitectureSpec, path: BlockPath) -> dict:
    node: Any = spec.to_dict()["blocks"]
    for key in path:
        node = node[key]
    return node


def _companions(types: list[str]) -> str:
    parts = []
    if "batch_norm2d" in types:
        parts.append("batch norm rescales each channel to a steady range (faster, more "
                     "stable training)")
    acts = [t for t in types if t != "batch_norm2d"]
    if acts:
        parts.append(f"{acts[0]} adds the non-linearity (without it stacked layers would "
                     "collapse into one linear map)")
    return "After it, " + " and ".join(parts) + "."


def _hw(shape) -> str:
    return f"{shape[1]}×{shape[2]}" if len(shape) == 3 else fmt_shape(shape)


def _conv(block, view, spec) -> str:
    k = block.get("kernel_size", 3)
    s = block.get("stride", 1)
    c_in = view.in_shape[0] if len(view.in_shape) == 3 else "?"
    c_out = view.out_shape[0]
    if view.step.number == 1:
        how = (f"The stem: a {k}×{k} convolution turns the {c_in}-channel image into {c_out} "
               f"feature maps")
        if s != 1:
            how += (f" and, with stride {s}, shrinks {_hw(view.in_shape)} to "
                    f"{_hw(view.out_shape)}, so every later layer works on "
                    f"{math.prod(view.in_shape[1:]) // max(1, math.prod(view.out_shape[1:]))}× "
                    "fewer positions")
        return how + "."
    if k == 1:
        return (f"A 1×1 convolution mixes the {c_in} channels at each position without looking "
                f"at neighbours: a cheap way to go to {c_out} channels "
                f"({view.params:,} parameters).")
    text = (f"A {k}×{k} convolution: {c_out} filters, each over a {k}×{k} window of all "
            f"{c_in} input channels ({view.params:,} parameters).")
    if s != 1:
        text += f" Stride {s} halves the resolution: {_hw(view.in_shape)} → {_hw(view.out_shape)}."
    elif view.in_shape[1:] == view.out_shape[1:]:
        text += " Its padding keeps the height and width."
    return text


def _pool(block, view, spec) -> str:
    kind = "Max" if block["type"] == "max_pool2d" else "Average"
    return (f"{kind} pooling shrinks {_hw(view.in_shape)} to {_hw(view.out_shape)} and keeps "
            f"the {view.out_shape[0]} channels: no parameters, and each later layer sees a "
            f"larger part of the image"
            + (f" (receptive field {view.receptive_after} pixels)"
               if view.receptive_after else "") + ".")


def _inception(block, view, spec) -> str:
    c_in = view.in_shape[0]
    if block["type"] == "inception":
        c2a, c3a = block["c2a"], block["c3a"]
        big, big_in = "5×5", c3a
        mid = "3×3"
    else:
        c2a, c3a = block.get("c2a", 16), block.get("c3a", 16)
        big, big_in, mid = "5×5", c2a, "3×3"
    saving = c_in / max(1, big_in)
    return (f"Four branches side by side (1×1, {mid}, {big} and pooling), concatenated: "
            f"{c_in} → {view.out_shape[0]} channels, same {_hw(view.out_shape)} size. The 1×1 "
            f"convolutions before the {mid} and {big} cut the {c_in} channels to {c2a} and "
            f"{c3a} first: the {big} then costs about {saving:.0f}× fewer multiply-adds than "
            f"on all {c_in} channels. That is why the 1×1 comes before the 5×5.")


def _basic(block, view, spec) -> str:
    stride = block.get("stride", 1)
    shortcut = block.get("shortcut", "auto")
    c_in, c_out = view.in_shape[0], view.out_shape[0]
    if stride != 1 or c_in != c_out:
        return (f"This block halves the size ({_hw(view.in_shape)} → {_hw(view.out_shape)}) "
                f"and goes from {c_in} to {c_out} channels, so its input can no longer be "
                f"added as it is: the shortcut is a 1×1 convolution with stride {stride}, "
                f"the cheapest layer that gives x the same {fmt_shape(view.out_shape)} shape"
                + (" (here zero-padded instead, adding no parameters)."
                   if shortcut == "pad" else "."))
    return (f"Two 3×3 convolutions with batch norm, and the input added back to their output "
            f"(identity shortcut): the block only learns a correction to x, so stacking "
            f"many of them does not make training harder. {c_out} channels, "
            f"{_hw(view.out_shape)}.")


def _simple_residual(block, view, spec) -> str:
    return (f"The course's residual block: two 3×3 convolutions and x added back "
            f"(relu(x + F(x))). Input and output are both {fmt_shape(view.out_shape)}, so the "
            "addition needs no projection; the shortcut lets the gradient reach the first "
            "layers unchanged.")


def _dense(block, view, spec) -> str:
    n = block.get("num_layers", 4)
    g = block.get("growth_rate", 32)
    return (f"{n} layers, each adding {g} channels and seeing the maps of every layer before "
            f"it (concatenation, not addition): {view.in_shape[0]} → {view.out_shape[0]} "
            "channels. Features are reused instead of recomputed.")


def _transition(block, view, spec) -> str:
    return (f"Dense blocks only ever add channels: without a transition the channel count "
            f"and the cost would keep growing. The transition halves the channels with a 1×1 "
            f"convolution ({view.in_shape[0]} → {view.out_shape[0]}) and the size with a 2×2 "
            f"average pool ({_hw(view.in_shape)} → {_hw(view.out_shape)}).")


def _gap(block, view, spec) -> str:
    return (f"Global average pooling turns each of the {view.out_shape[0]} maps "
            f"({_hw(view.in_shape)}) into one number: the classifier no longer depends on "
            "the input size, and no large flatten → linear layer is needed (NiN's idea).")


def _flatten(block, view, spec) -> str:
    return (f"Flatten lays the {fmt_shape(view.in_shape)} maps out as "
            f"{math.prod(view.in_shape):,} features for the linear layer.")


def _linear(block, view, spec) -> str:
    if block.get("out_features") == "classes":
        return (f"The classifier: {view.in_shape[0]:,} features → {spec.num_classes} class "
                f"scores ({view.params:,} parameters).")
    share = view.params / max(1, view.summary.total_params)
    return (f"A fully connected layer of {view.out_shape[0]:,} units: {view.params:,} "
            f"parameters, {share:.0%} of the network so far.")


def _vgg(block, view, spec) -> str:
    n = block.get("num_convs", 1)
    return (f"VGG's unit: {n} × (3×3 convolution + ReLU) then a 2×2 max pool, {view.in_shape[0]}"
            f" → {view.out_shape[0]} channels, {_hw(view.in_shape)} → {_hw(view.out_shape)}. "
            "Two 3×3 convolutions see a 5×5 window with fewer parameters than one 5×5.")


def _nin(block, view, spec) -> str:
    return (f"A NiN block: a {block.get('kernel_size')}×{block.get('kernel_size')} convolution "
            "then two 1×1 convolutions, each with ReLU: the 1×1 layers act as a small fully "
            f"connected network at every pixel. {fmt_shape(view.out_shape)} out.")


def _activation(block, view, spec) -> str:
    return f"{block['type']} adds the non-linearity; the shape stays {fmt_shape(view.out_shape)}."


def _generic(block, view, spec) -> str:
    return (f"{block['type']}: {fmt_shape(view.in_shape)} → {fmt_shape(view.out_shape)}, "
            f"{view.params:,} parameters.")


_NOTES = {
    "conv2d": _conv, "max_pool2d": _pool, "avg_pool2d": _pool, "inception": _inception,
    "inception_a": _inception, "resnet_basic": _basic, "simple_residual": _simple_residual,
    "dense_block": _dense, "transition": _transition, "global_avg_pool": _gap,
    "flatten": _flatten, "linear": _linear, "vgg_block": _vgg, "nin_block": _nin,
    "relu": _activation, "sigmoid": _activation, "tanh": _activation, "gelu": _activation,
    "leaky_relu": _activation, "batch_norm2d": _generic, "dropout": _generic,
}
