"""Architecture diff: two networks side by side, blocks aligned, what changed between them.

Blocks are aligned list by list (the top level, a group's blocks, a residual body, each
branch of a parallel block): equal blocks first (longest matching runs), then, between them,
an alignment that prefers an *expansion* (the old block opened up into containers and layers,
:mod:`explorer.core.expand`) to a block of the same type with other parameters (*changed*,
with each parameter old → new); what is left is *removed* or *inserted*. Same-type containers
are compared inside. Then every aligned block whose output shape, parameter count or
multiply-adds differ between the two summaries is listed (an inserted conv changes the
channels, and so the parameters, of the unchanged blocks after it).

The alignment is pure; :func:`compare_architectures` inspects both networks (torch, meta
device) and calls it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from explorer.core.align import best_pairs
from explorer.core.edit import slots
from explorer.core.shapes import fmt_shape
from explorer.core.spec import ArchitectureSpec, BlockPath, BlockSpec, format_path
from explorer.core.summary import LayerRow, Summary, format_count

KINDS = ("same", "changed", "expanded", "removed", "inserted")
SYMBOLS = {"same": "=", "changed": "~", "expanded": ">", "removed": "-", "inserted": "+"}

_SAME, _EXPANDED, _CHANGED = 4, 3, 2
"""Alignment scores of a pair of blocks: equal, the old one opened up, same type."""
_WHOLE_LIST_CELLS = 40_000
"""Lists up to about 200 × 200 blocks are aligned in one go (equal blocks included, so that
``[A, B, B]`` → ``[A, B expanded, B]`` pairs the first B with its expansion)."""


@dataclass(frozen=True)
class ParamChange:
    """One parameter of a changed block (or of the network): its old and new value."""

    name: str
    old: Any
    new: Any

    def text(self) -> str:
        return f"{self.name} {_value(self.old)} → {_value(self.new)}"


@dataclass(frozen=True)
class BlockChange:
    """One aligned position: a block of the old network, of the new one, or of both.

    ``kind`` is one of :data:`KINDS`; ``children`` align the blocks inside two containers of
    the same type; ``params`` the parameters that differ (changed blocks).
    """

    kind: str
    old_path: BlockPath | None
    new_path: BlockPath | None
    old: BlockSpec | None
    new: BlockSpec | None
    params: tuple[ParamChange, ...] = ()
    children: tuple[BlockChange, ...] = ()

    @property
    def type(self) -> str:
        old, new = self.old.type if self.old else None, self.new.type if self.new else None
        return f"{old} → {new}" if old and new and old != new else (old or new or "")

    def walk(self, depth: int = 0):
        """This change and those inside it, depth first, with their nesting depth."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "old_path": list(self.old_path) if self.old_path is not None else None,
            "new_path": list(self.new_path) if self.new_path is not None else None,
            "type": self.type,
            "params": [{"name": p.name, "old": _json(p.old), "new": _json(p.new)}
                       for p in self.params],
            "children": [c.to_json() for c in self.children],
        }


@dataclass(frozen=True)
class LayerChange:
    """An aligned block whose output shape, parameters or multiply-adds differ."""

    old_path: BlockPath
    new_path: BlockPath
    label: str
    old: LayerRow
    new: LayerRow

    @property
    def differences(self) -> list[str]:
        out = []
        if self.old.output_shape != self.new.output_shape:
            out.append(f"output {fmt_shape(self.old.output_shape)} → "
                       f"{fmt_shape(self.new.output_shape)}")
        if self.old.params != self.new.params:
            out.append(f"parameters {self.old.params:,} → {self.new.params:,}")
        if self.old.mult_adds != self.new.mult_adds:
            out.append(f"mult-adds {format_count(self.old.mult_adds)} → "
                       f"{format_count(self.new.mult_adds)}")
        return out

    def to_json(self) -> dict:
        return {
            "old_path": list(self.old_path), "new_path": list(self.new_path),
            "label": self.label,
            "old": {"output_shape": list(self.old.output_shape), "params": self.old.params,
                    "mult_adds": self.old.mult_adds},
            "new": {"output_shape": list(self.new.output_shape), "params": self.new.params,
                    "mult_adds": self.new.mult_adds},
        }


@dataclass
class ArchitectureDiff:
    """Two networks compared: the network's own fields, the aligned blocks, the layers that
    differ, and both summaries' totals."""

    old: ArchitectureSpec
    new: ArchitectureSpec
    network: list[ParamChange]
    blocks: list[BlockChange]
    layers: list[LayerChange] = field(default_factory=list)
    old_summary: Summary | None = None
    new_summary: Summary | None = None

    def counts(self) -> dict[str, int]:
        """How many blocks (at any depth, inside compared containers too) are of each kind;
        a changed container counts once, and so does each change inside it."""
        counts = dict.fromkeys(KINDS, 0)
        for change in self.blocks:
            for _depth, inner in change.walk():
                counts[inner.kind] += 1
        return counts

    @property
    def identical(self) -> bool:
        return not self.network and all(c.kind == "same" for c in self.blocks)

    def to_json(self) -> dict:
        def side(spec: ArchitectureSpec, summary: Summary | None) -> dict:
            out: dict[str, Any] = {"name": spec.name, "input_shape": list(spec.input_shape),
                                   "num_classes": spec.num_classes}
            if summary is not None:
                out.update(params=summary.total_params, mult_adds=summary.mult_adds,
                           error=summary.error.text() if summary.error else None)
            return out

        return {
            "old": side(self.old, self.old_summary), "new": side(self.new, self.new_summary),
            "network": [{"name": p.name, "old": _json(p.old), "new": _json(p.new)}
                        for p in self.network],
            "counts": self.counts(),
            "blocks": [c.to_json() for c in self.blocks],
            "layers": [c.to_json() for c in self.layers],
        }


# --------------------------------------------------------------------------- alignment


def diff_specs(
    old: ArchitectureSpec,
    new: ArchitectureSpec,
    *,
    old_summary: Summary | None = None,
    new_summary: Summary | None = None,
    old_in_shapes: dict[BlockPath, tuple] | None = None,
) -> ArchitectureDiff:
    """Compare ``old`` with ``new``.

    Parameters
    ----------
    old_summary, new_summary
        Their summaries at full depth; with both, the layers whose shape, parameters or
        multiply-adds differ are listed.
    old_in_shapes
        The shape reaching each block of ``old`` (``BuildResult.in_shapes``); with it an
        expanded block is recognised as "expanded" rather than removed and inserted.
    """
    network = [ParamChange(name, getattr(old, name), getattr(new, name))
               for name in ("name", "input_shape", "num_classes", "init")
               if getattr(old, name) != getattr(new, name)]
    aligner = _Aligner(old_in_shapes or {})
    blocks = aligner.align(old.blocks, new.blocks, (), ())
    result = ArchitectureDiff(old, new, network, blocks, [], old_summary, new_summary)
    if old_summary is not None and new_summary is not None:
        result.layers = _layer_changes(blocks, old, old_summary, new_summary)
    return result


class _Aligner:
    def __init__(self, in_shapes: dict[BlockPath, tuple]) -> None:
        self.in_shapes = in_shapes
        self.expansions: dict[BlockPath, BlockSpec | None] = {}

    def align(self, old: Sequence[BlockSpec], new: Sequence[BlockSpec], old_prefix: BlockPath,
              new_prefix: BlockPath) -> list[BlockChange]:
        """Changes aligning the list ``old`` (at ``old_prefix``) with ``new``."""
        out: list[BlockChange] = []
        if len(old) * len(new) <= _WHOLE_LIST_CELLS:  # one alignment over the whole list
            opcodes = [("replace", 0, len(old), 0, len(new))]
        else:  # long lists: equal runs first, then the stretches between them
            opcodes = difflib.SequenceMatcher(None, list(old), list(new),
                                              autojunk=False).get_opcodes()
        for tag, i1, i2, j1, j2 in opcodes:
            if tag == "equal":
                out += [BlockChange("same", (*old_prefix, i), (*new_prefix, j), old[i], new[j])
                        for i, j in zip(range(i1, i2), range(j1, j2))]
                continue
            def score(a: int, b: int, i1=i1, j1=j1) -> int:
                return self.score(old[i1 + a], new[j1 + b], (*old_prefix, i1 + a))

            for i, j in _best_pairs(i2 - i1, j2 - j1, score):
                oi = None if i is None else i1 + i
                nj = None if j is None else j1 + j
                out.append(self.pair(old, new, old_prefix, new_prefix, oi, nj))
        return out

    def score(self, old: BlockSpec, new: BlockSpec, old_path: BlockPath) -> int:
        if old == new:
            return _SAME
        if self.expanded(old, new, old_path):
            return _EXPANDED
        return _CHANGED if old.type == new.type else 0

    def expanded(self, old: BlockSpec, new: BlockSpec, old_path: BlockPath) -> bool:
        from explorer.core.expand import ExpandError, can_expand, expand_block

        shape = self.in_shapes.get(old_path)
        if shape is None or not can_expand(old) or can_expand(new):
            return False
        if old_path not in self.expansions:
            try:
                self.expansions[old_path] = expand_block(old, shape)
            except ExpandError:
                self.expansions[old_path] = None
        return self.expansions[old_path] == new

    def pair(self, old, new, old_prefix, new_prefix, i, j) -> BlockChange:
        old_path = (*old_prefix, i) if i is not None else None
        new_path = (*new_prefix, j) if j is not None else None
        if j is None:
            return BlockChange("removed", old_path, None, old[i], None)
        if i is None:
            return BlockChange("inserted", None, new_path, None, new[j])
        a, b = old[i], new[j]
        if a == b:
            return BlockChange("same", old_path, new_path, a, b)
        if self.expanded(a, b, old_path):
            return BlockChange("expanded", old_path, new_path, a, b)
        return BlockChange("changed", old_path, new_path, a, b, _param_changes(a, b),
                           tuple(self.inside(a, b, old_path, new_path)))

    def inside(self, old: BlockSpec, new: BlockSpec, old_path: BlockPath,
               new_path: BlockPath) -> list[BlockChange]:
        """The blocks inside two containers of the same type, slot by slot."""
        out: list[BlockChange] = []
        for name, kind in slots(old):
            a, b = old.params.get(name, ()), new.params.get(name, ())
            if kind == "blocks":
                out += self.align(a, b, (*old_path, name), (*new_path, name))
                continue
            for k in range(max(len(a), len(b))):
                out += self.align(a[k] if k < len(a) else (), b[k] if k < len(b) else (),
                                  (*old_path, name, k), (*new_path, name, k))
        return out


def _best_pairs(n: int, m: int, score: Callable[[int, int], int]) -> list:
    """Align ``n`` old with ``m`` new items in order, maximising the total score of the
    paired ones (score 0: never paired, see :func:`~explorer.core.align.best_pairs`);
    ``(i, None)`` removed, ``(None, j)`` inserted, the removals of a gap first."""
    out, i, j = [], 0, 0
    for pi, pj in [*best_pairs(n, m, score), (n, m)]:
        out += [(k, None) for k in range(i, pi)] + [(None, k) for k in range(j, pj)]
        if (pi, pj) != (n, m):
            out.append((pi, pj))
        i, j = pi + 1, pj + 1
    return out


def _param_changes(old: BlockSpec, new: BlockSpec) -> tuple[ParamChange, ...]:
    """The parameters (not the nested blocks) that differ; a missing one is shown as its
    default where the schema has one."""
    from explorer.core.registry import get_block

    nested = {name for name, _kind in slots(old)}
    try:
        defaults = {p.name: p.default for p in get_block(old.type).params}
    except KeyError:
        defaults = {}
    names = [n for n in dict.fromkeys([*old.params, *new.params]) if n not in nested]
    out = []
    for name in names:
        a = old.params.get(name, defaults.get(name))
        b = new.params.get(name, defaults.get(name))
        if a != b:
            out.append(ParamChange(name, a, b))
    return tuple(out)


# --------------------------------------------------------------------------- layers


def _layer_changes(blocks: list[BlockChange], old: ArchitectureSpec, old_summary: Summary,
                   new_summary: Summary) -> list[LayerChange]:
    old_rows, new_rows = _rows_by_path(old_summary), _rows_by_path(new_summary)
    out = []
    for change in blocks:
        for _depth, inner in change.walk():
            if inner.old_path is None or inner.new_path is None:
                continue
            a, b = old_rows.get(inner.old_path), new_rows.get(inner.new_path)
            if a is None or b is None:
                continue
            if (a.output_shape, a.params, a.mult_adds) != (b.output_shape, b.params,
                                                           b.mult_adds):
                label = format_path(old, inner.old_path)
                out.append(LayerChange(inner.old_path, inner.new_path, label, a, b))
    return out


def _rows_by_path(summary: Summary) -> dict[BlockPath, LayerRow]:
    """The row of each block's own module (the first row of its path)."""
    rows: dict[BlockPath, LayerRow] = {}
    for row in summary.layers:
        if row.block_path is not None:
            rows.setdefault(tuple(row.block_path), row)
    return rows


# --------------------------------------------------------------------------- front ends


def compare_architectures(old: ArchitectureSpec, new: ArchitectureSpec) -> ArchitectureDiff:
    """Inspect both networks (meta device: shapes only) and diff them."""
    from explorer.core.builder import build_partial
    from explorer.core.inspector import inspect_spec
    from explorer.core.limits import MAX_NESTING

    depth = 3 * MAX_NESTING + 3  # every row: a block in a container is two modules deeper
    return diff_specs(old, new, old_summary=inspect_spec(old, depth),
                      new_summary=inspect_spec(new, depth),
                      old_in_shapes=build_partial(old, device="meta").in_shapes)


def format_diff(diff: ArchitectureDiff, *, show_same: bool = False) -> str:
    """The diff as text: totals, the network's fields, the blocks, the layers that differ."""
    def side(spec: ArchitectureSpec, summary: Summary | None) -> str:
        if summary is None:
            return spec.name
        return (f"{spec.name} ({summary.total_params:,} parameters, "
                f"{format_count(summary.mult_adds)} mult-adds)")

    lines = [f"{side(diff.old, diff.old_summary)} → {side(diff.new, diff.new_summary)}"]
    counts = diff.counts()
    lines.append(", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k]) or "no blocks")
    if diff.identical:
        lines.append("The two architectures are identical.")
    for change in diff.network:
        lines.append(f"network: {change.text()}")
    lines.append("")
    lines.append("Blocks:")
    for change in diff.blocks:
        for depth, inner in change.walk():
            if inner.kind == "same" and not show_same and depth:
                continue
            lines.append(_block_line(diff, depth, inner))
    if diff.layers:
        lines.append("")
        lines.append("Blocks whose output, parameters or multiply-adds differ:")
        for layer in diff.layers:
            lines.append(f"  {layer.label}: " + "; ".join(layer.differences))
    return "\n".join(lines)


def _block_line(diff: ArchitectureDiff, depth: int, change: BlockChange) -> str:
    where = change_label(diff, change)
    text = f"{'  ' * depth}{SYMBOLS[change.kind]} {where}"
    if change.kind == "changed":
        details = "; ".join(p.text() for p in change.params)
        return text + ": changed" + (f" ({details})" if details else " inside")
    if change.kind == "expanded":
        return text + f": expanded into a {change.new.type}"
    return text + ("" if change.kind == "same" else f": {change.kind}")


def change_label(diff: ArchitectureDiff, change: BlockChange) -> str:
    """Where a change sits, in the old network when it is there: ``block 2 (max_pool2d)``,
    ``blocks[0] (conv2d)`` inside a container; `` → 5`` where it moved."""
    if change.old_path is None:
        return location(diff.new, change.new_path)
    text = location(diff.old, change.old_path)
    if change.new_path is not None and change.new_path[-1] != change.old_path[-1]:
        text += f" → {change.new_path[-1]}"
    return text


def location(spec: ArchitectureSpec, path: BlockPath) -> str:
    """A block's place in its own list: ``block 2 (max_pool2d)``, ``body[1] (conv2d)``."""
    return format_path(spec, path).split(" › ")[-1]


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return fmt_shape(value) if all(isinstance(v, int) for v in value) else str(list(value))
    return "default" if value is None else str(value)


def _json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
