"""The summary of a network as plain values: rows, totals, the first error. No torch, no Qt.

What :mod:`explorer.core.inspector` produces and every front end (the CLI, the window, the
inspection child process, reports) reads; importable without torch, so views can type it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from explorer.core.limits import format_bytes
from explorer.core.shapes import fmt_shape
from explorer.core.spec import BlockPath

__all__ = ["InspectError", "LayerRow", "Summary", "format_bytes", "format_count",
           "format_table"]


@dataclass
class LayerRow:
    """One row of the summary: a top-level block (depth 1) or a layer inside it.

    ``block_path`` is the innermost spec block the row belongs to (``None`` for modules not
    built from a spec); ``input_shape`` what reached the layer; ``geometry`` the kernel,
    stride, padding and dilation (``(h, w)`` pairs) of convolution and pooling rows;
    ``detail`` the settings a block shows next to its type (a residual variant:
    ``constant_scaling, scale 0.5``), else empty. ``mult_adds`` counts the operations run
    inside the module, its submodules' included; ``own_mult_adds`` the part run directly in
    the forward of a module that has submodules, outside them (an attention product, a
    functional ``F.conv2d``): 0 for a single layer.
    """

    name: str
    type: str
    depth: int
    block: int | None
    output_shape: tuple[int, ...]
    params: int
    trainable: bool
    mult_adds: int
    receptive_field: int | None
    effective_stride: int | None
    block_path: BlockPath | None = None
    input_shape: tuple[int, ...] | None = None
    geometry: dict[str, tuple[int, int]] | None = None
    detail: str = ""
    own_mult_adds: int = 0

    def to_json(self) -> dict:
        out = asdict(self)
        for key in ("output_shape", "input_shape", "block_path"):
            out[key] = list(out[key]) if out[key] is not None else None
        if self.geometry is not None:
            out["geometry"] = {k: list(v) for k, v in self.geometry.items()}
        return out


@dataclass
class InspectError:
    """Why the summary stops early: the block index, what is wrong and a hint."""

    block: int | None
    message: str
    hint: str = ""
    path: str = ""
    in_shape: tuple[int, ...] | None = None
    kind: str = "shape"  # "shape" (does not fit), "spec" (invalid as written), "code"
    block_path: BlockPath | None = None
    file: str = ""  # for a network from a Python file: where in the user's code it failed
    line: int | None = None
    code: str = ""  # that line of the user's code

    def to_json(self) -> dict:
        return {
            "block": self.block,
            "block_path": list(self.block_path) if self.block_path is not None else None,
            "message": self.text(),
            "hint": self.hint,
            "path": self.path,
            "kind": self.kind,
            "input_shape": list(self.in_shape) if self.in_shape is not None else None,
            "file": self.file or None,
            "line": self.line,
            "code": self.code or None,
        }

    def where(self) -> str:
        """``net.py, line 23: x = self.fc(x)`` for an error in a user's code, else empty."""
        if not self.file:
            return ""
        line = f", line {self.line}" if self.line else ""
        code = f": {self.code}" if self.code else ""
        return f"{self.file}{line}{code}"

    def text(self) -> str:
        where = f"{self.path}: " if self.path else ""
        shape = f" (input {fmt_shape(self.in_shape)})" if self.in_shape and self.kind == "shape" \
            else ""
        return f"{where}{self.message}{shape}"


@dataclass
class Summary:
    """The inspected network: rows, totals, and the first error (``None`` when it fits)."""

    name: str
    input_shape: tuple[int, ...]
    num_classes: int | None
    layers: list[LayerRow]
    output_shape: tuple[int, ...]
    total_params: int
    trainable_params: int
    mult_adds: int
    activation_bytes: int
    param_bytes: int
    error: InspectError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "mult_adds": self.mult_adds,
            "activation_bytes": self.activation_bytes,
            "param_bytes": self.param_bytes,
            "layers": [row.to_json() for row in self.layers],
            "error": self.error.to_json() if self.error else None,
            "warnings": list(self.warnings),
        }


def format_count(n: int) -> str:
    """``1234567`` as ``1.23 M``; small numbers with thousands separators."""
    for unit, size in (("G", 1e9), ("M", 1e6)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:,}"


OWN_MARK = "*"
OWN_NOTE = ("* includes operations run directly in the block's own forward, outside the "
            "layers listed (e.g. an attention product)")


def format_mult_adds(row: LayerRow) -> str:
    """A row's multiply-adds, marked with :data:`OWN_MARK` where part of them run outside its
    submodules; ``--`` for none."""
    if not row.mult_adds:
        return "--"
    return format_count(row.mult_adds) + (OWN_MARK if row.own_mult_adds else "")


def format_table(summary: Summary) -> str:
    """The summary as a fixed-width text table, with totals and the error, if any."""
    header = ("Layer", "Type", "Output", "Params", "Mult-adds", "RF", "Stride")
    lines = []
    for row in summary.layers:
        indent = "  " * (row.depth - 1)
        label = row.name.split(".")[-1] if row.depth > 1 else row.name
        if row.depth == 1 and row.block is not None:
            label = f"{row.block}: {label}"
        lines.append((
            indent + label,
            f"{row.type} ({row.detail})" if row.detail else row.type,
            fmt_shape(row.output_shape),
            f"{row.params:,}" if row.params else "--",
            format_mult_adds(row),
            str(row.receptive_field) if row.receptive_field else "",
            str(row.effective_stride) if row.effective_stride else "",
        ))
    widths = [max(len(h), *(len(r[i]) for r in lines)) if lines else len(h)
              for i, h in enumerate(header)]

    def fmt(cells: tuple) -> str:
        left = [c.ljust(w) for c, w in zip(cells[:3], widths[:3])]
        right = [c.rjust(w) for c, w in zip(cells[3:], widths[3:])]
        return "  ".join(left + right).rstrip()

    rule = "─" * (sum(widths) + 2 * (len(widths) - 1))
    text = [f"{summary.name}  input {fmt_shape(summary.input_shape)}", rule, fmt(header), rule]
    text += [fmt(line) for line in lines]
    text.append(rule)
    if any(row.own_mult_adds for row in summary.layers):
        text.append(OWN_NOTE)
    text.append(f"Output:            {fmt_shape(summary.output_shape)}")
    text.append(f"Parameters:        {summary.total_params:,} "
                f"({summary.trainable_params:,} trainable, {format_bytes(summary.param_bytes)})")
    text.append(f"Mult-adds:         {format_count(summary.mult_adds)} per image")
    text.append(f"Activations:       {format_bytes(summary.activation_bytes)} per image "
                "(forward)")
    for warning in summary.warnings:
        text.append(f"Warning: {warning}")
    if summary.error:
        at = f" at block {summary.error.block}" if summary.error.block is not None else ""
        text.append(f"Error{at}: {summary.error.text()}")
        if summary.error.file:
            text.append(f"In {summary.error.where()}")
        if summary.error.hint:
            text.append(f"Hint: {summary.error.hint}")
    return "\n".join(text)
