"""Export a network as standalone PyTorch code, written the way the course teaches it.

Each kind of block becomes one ``nn.Module`` class (``InceptionA``, ``SimpleResidual``,
``BasicBlock`` …, parametrised by its channels), each container (``residual``, ``parallel``,
``group``) a class of its own, and the network a class composed of them with an explicit
``forward``. The channels and features the app infers are written out as numbers, and every
submodule has the name it has in the app's network, so the app's checkpoints load into the
exported module with ``load_state_dict``.

The code is generated from the network the app builds (on the meta device, so no weights
are made): the numbers are the ones the app inferred, not a second inference.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from torch import nn

import explorer.blocks.modules  # noqa: F401  (every exported block class in EXPORTED)
from explorer import __version__
from explorer.blocks.class_source import EXPORTED, SourceError, class_source, constructor_args
from explorer.core.builder import build_partial, fmt_shape
from explorer.core.spec import ArchitectureSpec


class ExportError(ValueError):
    """A network that cannot be exported; the message says why and what to do."""


@dataclass(frozen=True)
class WeightsInfo:
    """What an exported module says about trained weights shipped beside it."""

    filename: str
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    classes: tuple[str, ...] | None = None


# --------------------------------------------------------------------------- public API


def export_pytorch(spec: ArchitectureSpec, *, weights: WeightsInfo | None = None) -> str:
    """The source of a standalone module (torch only) defining ``spec``'s network.

    Parameters
    ----------
    spec : the architecture.
    weights : trained weights exported next to the module; ``build_model()`` then loads
        them by default, and the normalisation and class names are written out.

    Raises
    ------
    SpecError, ShapeError
        When the network cannot be built (the same errors as the app's builder).
    ExportError
        When a block has no code export.
    """
    code = generate(spec)
    return code.module(weights)


def network_code(spec: ArchitectureSpec) -> NetworkCode:
    """The pieces of the exported code (classes, network, ``build_model``), for composing."""
    return generate(spec)


def module_expressions(modules: list[tuple[str, nn.Module]]
                       ) -> tuple[list[str], list[str], list[str]]:
    """Python source constructing each of ``modules`` (built blocks, with their names), the
    class definitions those expressions need and their imports (besides ``torch`` and
    ``nn``), in the exported code's style."""
    writer = _Writer()
    expressions = [writer.expr(module, name) for name, module in modules]
    imports = sorted(writer.imports - {"import torch", "from torch import nn"})
    return expressions, list(writer.classes), imports


# --------------------------------------------------------------------------- generated code


@dataclass
class NetworkCode:
    """Generated source, in pieces: a module or a training script put them together."""

    spec: ArchitectureSpec
    class_name: str
    classes: list[str]
    network: str
    imports: set[str] = field(default_factory=set)

    def header(self, kind: str) -> str:
        """A module docstring for ``kind`` (e.g. "PyTorch module") naming the network."""
        spec = self.spec
        lines = [f'"""{spec.name}: {kind} exported from Network Explorer {__version__}.', ""]
        if spec.description:
            lines += [_docstring_safe(line) for line in spec.description.strip().splitlines()]
            lines.append("")
        lines.append(
            f"Input {fmt_shape(spec.input_shape)} (channels x height x width), "
            f"{spec.num_classes} classes."
        )
        return "\n".join(lines)

    def import_lines(self, extra: Iterable[str] = ()) -> str:
        """The import block for the pieces (plus ``extra`` statements), sorted as ruff does."""
        wanted = self.imports | set(extra)
        blocks = ["from __future__ import annotations"]
        for section in (False, True):
            chosen = [i for i in wanted if _third_party(i) == section]
            plain = sorted((i for i in chosen if i.startswith("import ")), key=_import_key)
            froms = sorted((i for i in chosen if i.startswith("from ")), key=_import_key)
            if chosen:
                blocks.append("\n".join(plain + froms))
        return "\n\n".join(blocks)

    def constants(self) -> str:
        return (
            f"INPUT_SHAPE = {tuple(self.spec.input_shape)!r}\n"
            f"NUM_CLASSES = {self.spec.num_classes}"
        )

    def definitions(self) -> str:
        """Every class, the network last, separated as PEP 8 wants."""
        return wrap_long_lines("\n\n\n".join([*self.classes, self.network]))

    def module(self, weights: WeightsInfo | None = None) -> str:
        """A complete module: header, imports, classes, ``build_model``, a ``__main__`` check."""
        extra = {"from pathlib import Path", "import os"} if weights else {"import os"}
        head = [
            self.header("PyTorch module") + "\n\n"
            "Depends only on PyTorch. ``build_model()`` returns the network"
            + (" with the trained weights exported beside this file" if weights else "")
            + ";\nthe app's checkpoints load into it: "
            "``build_model(\"runs/NAME/best.safetensors\")``.\n\"\"\"",
            self.import_lines(extra),
            self.constants() + weights_constants(weights),
        ]
        parts = [
            "\n\n".join(head),
            self.definitions(),
            LOAD_WEIGHTS,
            self.build_function(weights),
            _MAIN_CHECK,
        ]
        return "\n\n\n".join(parts) + "\n"

    def build_function(self, weights: WeightsInfo | None) -> str:
        """``build_model()`` (after ``init_weights()`` when the spec asks for an init)."""
        default = "WEIGHTS" if weights else "None"
        init = _INITS.get(self.spec.init)
        made = f"init_weights({self.class_name}())" if init else f"{self.class_name}()"
        loaded = "the trained weights exported with it" if weights else "PyTorch's initialisation"
        text = (
            f"def build_model(weights: str | os.PathLike | None = {default}) -> "
            f"{self.class_name}:\n"
            f'    """The network, with {loaded}, or the weights of a file.\n\n'
            "    ``weights`` may be a .safetensors file (the app's checkpoints) or a .pt/.pth\n"
            "    state dict; ``None`` keeps the fresh initialisation.\n"
            '    """\n'
            f"    model = {made}\n"
            "    if weights is not None:\n"
            "        model.load_state_dict(load_weights(weights))\n"
            "    return model"
        )
        if init is None:
            return text
        doc, call = init
        return (
            "def init_weights(model: nn.Module) -> nn.Module:\n"
            f'    """{doc}"""\n'
            "    for layer in model.modules():\n"
            "        if isinstance(layer, (nn.Conv2d, nn.Linear)):\n"
            f"            {call}\n"
            "    return model\n\n\n" + text
        )


# mirrors explorer.core.builder.initialise: conv and linear weights only, biases as PyTorch's
_INITS = {
    "xavier": (("Xavier (Glorot) uniform weights for every convolution and linear layer, as "
                "d2l's init_cnn;\n    biases and batch norm keep PyTorch's initialisation."),
               "nn.init.xavier_uniform_(layer.weight)"),
    "kaiming": (("Kaiming (He) normal weights for every convolution and linear layer (ReLU "
                 "gain);\n    biases and batch norm keep PyTorch's initialisation."),
                'nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")'),
}

LOAD_WEIGHTS = '''def load_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors file (needs the safetensors package) or a .pt file."""
    if os.fspath(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)'''

_MAIN_CHECK = '''if __name__ == "__main__":
    net = build_model()
    print(net)
    scores = net(torch.zeros(1, *INPUT_SHAPE))
    print(f"output {tuple(scores.shape)}, {sum(p.numel() for p in net.parameters()):,} parameters")'''


def weights_constants(weights: WeightsInfo | None) -> str:
    """``WEIGHTS``, ``MEAN``, ``STD`` and ``CLASSES`` lines for exported weights, or ``""``."""
    if weights is None:
        return ""
    lines = [
        "",
        f"WEIGHTS = Path(__file__).with_name({weights.filename!r})",
        '"""The trained weights exported with this file (a .pt state dict)."""',
    ]
    if weights.mean is not None:
        lines.append(f"MEAN = {tuple(weights.mean)!r}")
        lines.append(f"STD = {tuple(weights.std or ())!r}")
        lines.append('"""Inputs were normalised per channel: (x - MEAN) / STD, x in [0, 1]."""')
    if weights.classes is not None:
        lines.append(f"CLASSES = {tuple(weights.classes)!r}")
    return "\n".join(lines)


def _third_party(statement: str) -> bool:
    return statement.split()[1].split(".")[0] in ("torch", "safetensors", "numpy")


def _import_key(statement: str) -> tuple[str, str]:
    return statement.split()[1], statement


def _docstring_safe(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', "'''").rstrip()


# --------------------------------------------------------------------------- the generator


def generate(spec: ArchitectureSpec) -> NetworkCode:
    """Build ``spec`` on the meta device and write its code.

    Raises
    ------
    SpecError, ShapeError
        The builder's first error, when the network does not build.
    ExportError
        For a block without a code export.
    """
    result = build_partial(spec, device="meta")
    if result.error is not None:
        raise result.error
    writer = _Writer()
    name = writer.names.unique(_camel(spec.name) or "Network", fallback="Network")
    children = [(b.name, result.network.get_submodule(b.name)) for b in result.blocks]
    shapes = [b.out_shape for b in result.blocks]
    doc = (spec.description.strip().splitlines() or [f"The {spec.name} network."])[0]
    network = writer.sequence_class(name, children, doc=_docstring_safe(doc), shapes=shapes,
                                    explicit_forward=True)
    return NetworkCode(spec, name, writer.classes, network, writer.imports)


class _Names:
    """Unique class names: ``Residual``, ``Residual2`` …; never a name the module uses."""

    RESERVED = frozenset({"OrderedDict", "Path", "F", "nn", "torch", "os", "build_model",
                          "load_weights"})

    def __init__(self) -> None:
        self.used = set(self.RESERVED) | set(EXPORTED)  # block classes keep their names

    def unique(self, base: str, fallback: str = "Block") -> str:
        base = base if base.isidentifier() and not keyword.iskeyword(base) else fallback
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}{n}"
        self.used.add(name)
        return name


@dataclass
class _Writer:
    """Turns built modules into constructor expressions, collecting the classes they need."""

    classes: list[str] = field(default_factory=list)
    imports: set[str] = field(default_factory=lambda: {"import torch", "from torch import nn"})
    names: _Names = field(default_factory=_Names)
    defined: set[str] = field(default_factory=set)  # exported block classes written
    by_body: dict[str, str] = field(default_factory=dict)  # generated body -> class name

    # ----------------------------------------------------------------- expressions

    def expr(self, module: nn.Module | None, name: str = "") -> str:
        """Python source constructing ``module`` (may span lines; continuation indented 4).

        ``name`` is the submodule's name in its parent (a group's class is named after it).
        """
        if module is None:
            return "None"
        for kind, render in _LAYERS:
            if type(module) is kind:
                return render(module)
        if EXPORTED.get(type(module).__name__) is type(module):
            return self.block_call(module)
        handler = _BLOCKS.get(type(module).__name__)
        if handler is not None:
            return handler(self, module, name) if handler is _group else handler(self, module)
        if type(module) is nn.Sequential:
            return self.sequential(list(module.named_children()))
        raise ExportError(
            f"{type(module).__name__} modules have no code export yet "
            f"(block type {getattr(module, 'block_type', '?')!r}); export the architecture "
            "as JSON instead"
        )

    def sequential(self, children: list[tuple[str, nn.Module]]) -> str:
        """``nn.Sequential(OrderedDict(name=…, …))``; ``nn.Identity()`` when empty."""
        if not children:
            return "nn.Identity()"
        self.imports.add("from collections import OrderedDict")
        if all(_kwarg_name(n) for n, _ in children):
            items = [f"{n}={self.expr(m, n)}," for n, m in children]
            return "nn.Sequential(OrderedDict(\n" + _indent("\n".join(items)) + "\n))"
        items = [f"({n!r}, {self.expr(m, n)})," for n, m in children]
        return "nn.Sequential(OrderedDict([\n" + _indent("\n".join(items)) + "\n]))"

    def block_call(self, module: nn.Module) -> str:
        """``ClassName(args)`` for an exported block class, defining the class on first use
        (its source as it stands in explorer/blocks)."""
        self.define(type(module))
        args = []
        for name, value, positional in constructor_args(module):
            text = self.value(value)
            args.append(text if positional else f"{name}={text}")
        return f"{type(module).__name__}({', '.join(args)})"

    def define(self, cls: type) -> None:
        """Add an exported class's source (and, before it, the classes it uses)."""
        if cls.__name__ in self.defined:
            return
        try:
            source = class_source(cls)
        except SourceError as exc:
            raise ExportError(str(exc)) from None
        for needed in source.needs:
            self.define(EXPORTED[needed])
        self.imports.update(source.imports)
        self.defined.add(cls.__name__)
        self.classes.append(source.text)

    def value(self, value) -> str:
        """Source for a constructor argument: a module, or a plain value."""
        if isinstance(value, nn.Module) or value is None:
            return self.expr(value)
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)  # "text", as the app's code writes it
        if isinstance(value, (bool, int, float, tuple, list)):
            return repr(value)
        raise ExportError(f"a {type(value).__name__} argument has no code export")

    def container(self, base: str, body: str, doc: str, bases: str = "nn.Module") -> str:
        """``Name()`` for a generated class; identical classes are defined once."""
        key = f"{bases}\n{body}"
        if key not in self.by_body:
            name = self.names.unique(base)
            self.by_body[key] = name
            self.classes.append(f"class {name}({bases}):\n" + _indent(f'"""{doc}"""\n\n' + body))
        return f"{self.by_body[key]}()"

    # ----------------------------------------------------------------- sequences

    def sequence_class(
        self,
        name: str,
        children: list[tuple[str, nn.Module]],
        *,
        doc: str,
        shapes: list[tuple[int, ...]] | None = None,
        explicit_forward: bool = False,
    ) -> str:
        """A class running ``children`` in order.

        With ``explicit_forward`` (the network itself) it is an ``nn.Module`` whose
        ``forward`` calls every block in turn, noting the shape each one gives; otherwise an
        ``nn.Sequential`` whose children are assigned in order (runs of identical blocks
        become a loop).
        """
        safe = all(_attribute_name(n) for n, _ in children)
        if explicit_forward and safe:
            init = [f"self.{n} = {self.expr(m, n)}" for n, m in children]
            calls = []
            for i, (n, _) in enumerate(children):
                note = f"  # {fmt_shape(shapes[i])}" if shapes is not None else ""
                calls.append(f"x = self.{n}(x){note}")
            body = (
                "def __init__(self) -> None:\n"
                + _indent("super().__init__()\n" + "\n".join(init))
                + "\n\ndef forward(self, x: torch.Tensor) -> torch.Tensor:\n"
                + _indent("\n".join(calls) + "\nreturn x")
            )
            return f"class {name}(nn.Module):\n" + _indent(f'"""{doc}"""\n\n' + body)
        return f"class {name}(nn.Sequential):\n" + _indent(
            f'"""{doc}"""\n\n' + self._sequential_init(children)
        )

    def _sequential_init(self, children: list[tuple[str, nn.Module]]) -> str:
        lines = ["super().__init__()"]
        items = [(n, self.expr(m, n)) for n, m in children]
        i = 0
        while i < len(items):
            run = _repeated_run(items, i)
            if run is None:
                n, e = items[i]
                lines.append(f"self.{n} = {e}" if _attribute_name(n)
                             else f"self.add_module({n!r}, {e})")
                i += 1
                continue
            period, count, units = run
            lines.append(_loop(units, count))
            i += period * count
        return "def __init__(self) -> None:\n" + _indent("\n".join(lines))


# --------------------------------------------------------------------------- torch layers


def _single(value) -> str:
    """``3`` for ``(3, 3)``, else the tuple."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) == 1:
            return repr(int(value[0]))
        return repr(tuple(int(v) for v in value))
    return repr(value)


def _call(name: str, positional: Iterable[str] = (), **keywords: str | None) -> str:
    args = list(positional) + [f"{k}={v}" for k, v in keywords.items() if v is not None]
    return f"{name}({', '.join(args)})"


def _conv(m: nn.Conv2d) -> str:
    if m.groups != 1 or m.padding_mode != "zeros":
        raise ExportError("grouped or non-zero-padded convolutions have no code export")
    return _call(
        "nn.Conv2d", [str(m.in_channels), str(m.out_channels)],
        kernel_size=_single(m.kernel_size),
        stride=_single(m.stride) if _single(m.stride) != "1" else None,
        padding=(repr(m.padding) if isinstance(m.padding, str)
                 else _single(m.padding) if _single(m.padding) != "0" else None),
        dilation=_single(m.dilation) if _single(m.dilation) != "1" else None,
        bias=None if m.bias is not None else "False",
    )


def _pool(name: str, m: nn.MaxPool2d | nn.AvgPool2d) -> str:
    stride = _single(m.stride) if m.stride is not None else None
    kernel = _single(m.kernel_size)
    extra = {}
    if isinstance(m, nn.MaxPool2d):
        if _single(m.dilation) != "1" or m.return_indices:
            raise ExportError("max pooling with dilation or indices has no code export")
    elif not m.count_include_pad or m.divisor_override is not None:
        raise ExportError("average pooling without padding in the count has no code export")
    if m.ceil_mode:
        extra["ceil_mode"] = "True"
    return _call(
        name, [kernel],
        stride=stride if stride != kernel else None,
        padding=_single(m.padding) if _single(m.padding) != "0" else None,
        **extra,
    )


def _batch_norm(m: nn.BatchNorm2d) -> str:
    if not (m.affine and m.track_running_stats):
        raise ExportError("batch norm without affine weights or running statistics")
    return _call("nn.BatchNorm2d", [str(m.num_features)],
                 eps=repr(m.eps) if m.eps != 1e-5 else None,
                 momentum=repr(m.momentum) if m.momentum != 0.1 else None)


def _flatten(m: nn.Flatten) -> str:
    if (m.start_dim, m.end_dim) != (1, -1):
        raise ExportError("flatten over other dimensions has no code export")
    return "nn.Flatten()"


_LAYERS: list[tuple[type, Callable[[nn.Module], str]]] = [
    (nn.Conv2d, _conv),
    (nn.MaxPool2d, lambda m: _pool("nn.MaxPool2d", m)),
    (nn.AvgPool2d, lambda m: _pool("nn.AvgPool2d", m)),
    (nn.AdaptiveAvgPool2d, lambda m: f"nn.AdaptiveAvgPool2d({_single(m.output_size)})"),
    (nn.BatchNorm2d, _batch_norm),
    (nn.ReLU, lambda m: "nn.ReLU()"),
    (nn.LeakyReLU, lambda m: "nn.LeakyReLU()" if m.negative_slope == 0.01
     else f"nn.LeakyReLU({m.negative_slope!r})"),
    (nn.Sigmoid, lambda m: "nn.Sigmoid()"),
    (nn.Tanh, lambda m: "nn.Tanh()"),
    (nn.GELU, lambda m: "nn.GELU()" if m.approximate == "none"
     else f"nn.GELU(approximate={m.approximate!r})"),
    (nn.Dropout, lambda m: f"nn.Dropout(p={m.p!r})"),
    (nn.Flatten, _flatten),
    (nn.Linear, lambda m: _call("nn.Linear", [str(m.in_features), str(m.out_features)],
                                bias=None if m.bias is not None else "False")),
    (nn.Identity, lambda m: "nn.Identity()"),
]


# --------------------------------------------------------------------------- containers
# A container's class is written for its content (the app's is generic); every other block
# class is written from its own source in explorer/blocks (explorer.blocks.class_source).

_BLOCKS: dict[str, Callable[..., str]] = {}


def _handles(class_name: str) -> Callable:
    def register(fn: Callable[[_Writer, nn.Module], str]) -> Callable:
        _BLOCKS[class_name] = fn
        return fn

    return register


@_handles("Residual")
def _residual(w: _Writer, m: nn.Module) -> str:
    init = ["super().__init__()", f"self.body = {w.expr(m.body)}"]
    if m.shortcut is not None:
        init.append(f"self.shortcut = {w.expr(m.shortcut)}")
    if m.act is not None:
        init.append(f"self.act = {w.expr(m.act)}")
    forward = ["out = self.body(x)"]
    if m.shortcut is not None:
        forward.append("out = out + self.shortcut(x)")
    if m.scale != 1.0:
        forward.append(f"out = out * {m.scale!r}")
    forward.append("return self.act(out)" if m.act is not None else "return out")
    parts = ["body(x)"] + (["shortcut(x)"] if m.shortcut is not None else [])
    total = " + ".join(parts)
    total = f"{m.scale!r} * ({total})" if m.scale != 1.0 else total
    doc = f"A residual block: out = {'act(' + total + ')' if m.act is not None else total}."
    return w.container("Residual", _init_forward(init, forward), doc)


@_handles("Parallel")
def _parallel(w: _Writer, m: nn.Module) -> str:
    branches = list(m.named_children())
    init = ["super().__init__()"]
    for name, branch in branches:
        init.append(f"self.{name} = {w.expr(branch)}")
    outs = [f"self.{name}(x)" for name, _ in branches]
    if m.merge == "highway":
        forward = ["transform, carry, gate = " + ", ".join(outs),
                   "return gate * transform + (1 - gate) * carry"]
        doc = "Three branches joined by a gate: gate * transform + (1 - gate) * carry."
        return w.container("Parallel", _init_forward(init, forward), doc)
    joined, reduce, doc = _MERGE_CODE[m.merge]
    forward = ["return " + joined.join(outs) if m.merge != "concat"
               else "return torch.cat([" + ", ".join(outs) + "], dim=1)"]
    if len(forward[0]) > 88:
        forward = ["outs = [\n" + _indent("\n".join(o + "," for o in outs)) + "\n]",
                   f"return {reduce}"]
    return w.container("Parallel", _init_forward(init, forward), doc)


_MERGE_CODE = {  # how a parallel block's outputs are joined: short form, long form, doc
    "concat": (", ", "torch.cat(outs, dim=1)",
               "Branches side by side on the same input, concatenated on the channels."),
    "add": (" + ", "torch.stack(outs).sum(dim=0)",
            "Branches side by side on the same input, added element-wise."),
    "multiply": (" * ", "torch.stack(outs).prod(dim=0)",
                 "Branches side by side on the same input, multiplied element-wise."),
}


def _group(w: _Writer, m: nn.Module, name: str) -> str:
    """A group becomes an ``nn.Sequential`` class named after it (``stage2`` → ``Stage2``)."""
    body = w._sequential_init(list(m.named_children()))
    doc = f"The group {name!r}: its blocks, run in order." if name else "A group of blocks."
    return w.container(_camel(re.sub(r"_\d+$", "", name)) or "Group", body, doc,
                       bases="nn.Sequential")


_BLOCKS["Group"] = _group


def _init_forward(init: list[str], forward: list[str]) -> str:
    return (
        "def __init__(self) -> None:\n" + _indent("\n".join(init))
        + "\n\ndef forward(self, x: torch.Tensor) -> torch.Tensor:\n"
        + _indent("\n".join(forward))
    )


# --------------------------------------------------------------------------- helpers


MAX_LINE = 99


def wrap_long_lines(text: str) -> str:
    """Break every line longer than :data:`MAX_LINE` after its outermost opening bracket
    (and, if still too long, after each top-level comma), the way black would."""
    return "\n".join(_wrap(line) for line in text.splitlines())


def _wrap(line: str) -> str:
    lead = len(line) - len(line.lstrip())
    comma = "," if line.endswith(",") else ""
    call = line[:-1] if comma else line
    start = call.find("(")
    if len(line) <= MAX_LINE or start < 0 or not call.endswith(")") or "#" in line:
        return line
    inner = call[start + 1:-1]
    pad = " " * (lead + 4)
    if len(pad) + len(inner) <= MAX_LINE:
        body = pad + inner
    else:
        body = "\n".join(_wrap(pad + part + ",") for part in _split_top_level(inner))
    return f"{call[:start + 1]}\n{body}\n{' ' * lead}){comma}"


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()] if current.strip() else parts


def _indent(text: str, by: int = 4) -> str:
    pad = " " * by
    return "\n".join(pad + line if line else line for line in text.splitlines())


def _camel(name: str) -> str:
    """``course-inception`` → ``CourseInception``; ``stage2`` → ``Stage2``."""
    words = re.split(r"[^0-9A-Za-z]+", name)
    text = "".join(w[:1].upper() + w[1:] for w in words if w)
    return text if text and not text[0].isdigit() else ("Net" + text if text else "")


_MODULE_ATTRIBUTES = set(dir(nn.Module))


def _attribute_name(name: str) -> bool:
    """Can ``self.<name> = …`` register this submodule (an identifier nn.Module does not use)?"""
    return _kwarg_name(name) and name not in _MODULE_ATTRIBUTES and not name.startswith("_")


def _kwarg_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def _repeated_run(items: list[tuple[str, str]], start: int):
    """A run of ≥ 3 repeated units at ``start``: same constructors, names counting up.

    Returns ``(period, count, units)`` where ``units`` is ``[(base, first number, expr)]``
    for the first unit, or ``None``.
    """
    best = None
    for period in range(1, 7):
        unit = items[start:start + period]
        if len(unit) < period:
            break
        parsed = [(_NUMBERED.match(n), e) for n, e in unit]
        if not all(p for p, _ in parsed) or "\n" in "".join(e for _, e in unit):
            continue
        heads = [(p.group(1), int(p.group(2)), e) for p, e in parsed]
        if not all(_attribute_name(b + "0") for b, _, _ in heads):
            continue
        count = 1
        while True:
            nxt = items[start + count * period:start + (count + 1) * period]
            if len(nxt) < period or any(
                n != f"{b}{k + count}" or e2 != e
                for (n, e2), (b, k, e) in zip(nxt, heads)
            ):
                break
            count += 1
        if count >= 3 and (best is None or period * count > best[0] * best[1]):
            best = (period, count, heads)
    return best


def _loop(units: list[tuple[str, int, str]], count: int) -> str:
    first = units[0][1]
    lines = [f"for i in range({first}, {first + count}):"]
    for base, number, expr in units:
        index = "i" if number == first else f"i + {number - first}"
        lines.append(f'    self.add_module(f"{base}{{{index}}}", {expr})')
    return "\n".join(lines)
