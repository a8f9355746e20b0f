"""The network diagram's layout, computed without Qt: boxes, merge nodes and edges with coordinates.

The structure comes from the spec (nested containers: ``group``, ``residual``, ``parallel``)
and, inside composite blocks (``inception``, ``resnet_basic``, ``dense_block`` …), from the
summary's rows: their dotted names show the built submodules (``branch1x1``, ``shortcut`` …).
Blocks after a failing one have no rows; they are drawn from the spec alone, with ``?`` on
their edges. The drawing runs top to bottom: the Inception branches side by side, a residual
shortcut as an arc to the right of its body, every merge (concatenation or addition) a small
node, and each edge labelled with the shape that flows along it.

:func:`layout_network` returns a :class:`Layout`; :mod:`explorer.ui.widgets.diagram` only
paints it. Coordinates are in scene pixels, ``y`` growing downwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from explorer.core.registry import describe_block
from explorer.core.shapes import fmt_shape, fmt_size

BlockPath = tuple  # tuple[int | str, ...], as explorer.core.spec.BlockPath

Measure = Callable[[str, bool], float]
"""Width in pixels of a text (``bold`` for titles); the view passes its font's metrics."""

BOX_H = 36.0
TERMINAL_H = 24.0
MERGE_D = 20.0
GAP = 34.0  # vertical length of an edge between two nodes (room for its shape label)
H_GAP = 18.0  # between parallel branches
FAN = 16.0  # the fork above parallel branches
SPLIT = 14.0  # where a shortcut leaves its block's input
LANE = 18.0  # how far right of its body a shortcut runs
PAD = 10.0  # inside a frame
HEAD_H = 24.0  # a frame's title bar
MIN_W = 92.0
TEXT_PAD = 14.0  # left + right inside a box
LABEL_DX = 6.0  # edge label, right of its edge
TOGGLE_W = 16.0  # room for the ± toggle on expandable boxes
NOTE_CHARS = 60  # the failing block's message on its edge, shortened (the tooltip has it all)

POST_NAMES = ("relu_out", "act")
ACTIVATIONS = ("ReLU", "Sigmoid", "Tanh", "LeakyReLU", "GELU", "SiLU", "ELU", "Softmax")
SHORTCUT_NAMES = ("shortcut",)
GATE_NAMES = ("gate",)


def estimate_width(text: str, bold: bool = False) -> float:
    """A font-free estimate of a text's width (about a 9-point sans-serif font)."""
    return len(text) * (7.0 if bold else 6.4)


# --------------------------------------------------------------------------- the result


_MERGE_SYMBOLS = {
    "concat": ("C", "concatenation (channels)"),
    "add": ("+", "addition"),
    "multiply": ("×", "element-wise multiplication"),
    "highway": ("H", "highway: gate · first branch + (1 − gate) · second branch"),
}
"""A parallel block's merge node: its symbol and its tooltip."""

@dataclass
class Box:
    """A drawn node: a block or layer box, a frame around an expanded block, a merge, a terminal.

    ``kind`` is ``block`` (a spec block, collapsed or without inner structure), ``layer`` (a
    submodule inside an expanded composite block), ``frame`` (an expanded block: its title bar
    is ``y .. y + HEAD_H``), ``merge`` (``title`` is ``+``, ``C``, ``×`` or ``H``) or ``terminal`` (input,
    output). ``path`` is the spec block the box belongs to (``None`` for terminals, merges of
    the network itself and torchvision modules); ``key`` identifies the box across updates
    (the module name, or the spec path when there is no row).
    """

    key: str
    path: BlockPath | None
    kind: str
    title: str
    detail: str
    x: float
    y: float
    w: float
    h: float
    expandable: bool = False
    expanded: bool = False
    error: bool = False
    pending: bool = False  # after the failing block: not built, shapes unknown
    tooltip: str = ""
    dashed: bool = False  # a temporary block (build-along's head): drawn dashed

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x <= self.x + self.w and self.y <= y <= self.y + self.h


@dataclass
class Edge:
    """A polyline from one node to the next (``shortcut``: a residual or dense skip arc)."""

    points: list[tuple[float, float]]
    label: str = ""
    label_pos: tuple[float, float] | None = None  # left end, vertical centre of the label
    kind: str = "flow"
    pending: bool = False
    error: bool = False  # its label is the failing block's message


@dataclass
class Layout:
    """Every box and edge of the drawn network, and the size of the drawing."""

    boxes: list[Box] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def box(self, key: str) -> Box | None:
        """The box with this key, or ``None``."""
        return next((b for b in self.boxes if b.key == key), None)

    def boxes_for(self, path: BlockPath | None) -> list[Box]:
        """The boxes that stand for the block at ``path``.

        When the block itself is not drawn (it sits inside a collapsed block), the boxes of its
        nearest drawn ancestor. Frames and boxes of the block come first, its inner layers after.
        """
        if path is None:
            return []
        path = tuple(path)
        for n in range(len(path), 0, -1):
            prefix = path[:n]
            found = [b for b in self.boxes if b.path == prefix and b.kind in ("block", "frame")]
            if found:
                return found
        return []

    def hit(self, x: float, y: float) -> Box | None:
        """The innermost box under a point: a box, else the innermost frame around it."""
        for b in reversed(self.boxes):
            if b.kind != "frame" and b.contains(x, y):
                return b
        for b in reversed(self.boxes):  # inner frames were added after outer ones
            if b.kind == "frame" and b.contains(x, y):
                return b
        return None


# --------------------------------------------------------------------------- the node tree


class _Node:
    """A laid-out piece: extents ``left``/``right`` of its axis, ``height``; ``place`` emits it."""

    left: float
    right: float
    height: float
    out: tuple | None  # the shape that leaves it (None: unknown)
    pending: bool = False
    note: str = ""  # replaces the shape on the edge below it (the failing block's message)

    def place(self, ax: float, top: float, out: Layout) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class _Leaf(_Node):
    def __init__(self, box: Box, out_shape: tuple | None, pending: bool = False) -> None:
        self.box = box
        self.out = out_shape
        self.pending = pending
        self.left = self.right = box.w / 2
        self.height = box.h

    def place(self, ax: float, top: float, out: Layout) -> None:
        self.box.x, self.box.y = ax - self.box.w / 2, top
        out.boxes.append(self.box)


class _Seq(_Node):
    """Children one below the other on a common axis, an edge with the shape between each two."""

    def __init__(self, children: list[_Node], measure: Measure, out_shape: Any = "last") -> None:
        self.children = children
        self.labels = [c.note or fmt_shape(c.out) for c in children[:-1]]
        self.out = children[-1].out if (out_shape == "last" and children) else (
            None if out_shape == "last" else out_shape)
        self.pending = bool(children) and children[-1].pending
        label_w = max((measure(t, False) for t in self.labels), default=0.0)
        self.left = max((c.left for c in children), default=2.0)
        self.right = max([c.right for c in children] + [LABEL_DX + label_w if children[1:] else 0])
        self.height = sum(c.height for c in children) + GAP * max(0, len(children) - 1)

    def place(self, ax: float, top: float, out: Layout) -> None:
        y = top
        for i, child in enumerate(self.children):
            if i:
                above = self.children[i - 1]
                e = _edge([(ax, y - GAP), (ax, y)], self.labels[i - 1],
                          pending=above.pending or above.out is None)
                e.error = bool(above.note)
                out.edges.append(e)
            child.place(ax, y, out)
            y += child.height + GAP


class _Frame(_Node):
    """An expanded block: a frame with a title bar around its content."""

    def __init__(self, box: Box, content: _Node, measure: Measure) -> None:
        self.box = box
        self.content = content
        self.out = content.out
        self.pending = content.pending
        head = max(MIN_W, measure(box.title, True) + measure(box.detail, False) + 3 * TEXT_PAD
                   + TOGGLE_W) / 2
        self.left = max(content.left + PAD, head)
        self.right = max(content.right + PAD, head)
        self.height = HEAD_H + GAP / 2 + content.height + PAD

    def place(self, ax: float, top: float, out: Layout) -> None:
        b = self.box
        b.x, b.y, b.w, b.h = ax - self.left, top, self.left + self.right, self.height
        out.boxes.append(b)
        inner_top = top + HEAD_H + GAP / 2
        out.edges.append(_edge([(ax, top + HEAD_H), (ax, inner_top)], pending=self.pending))
        self.content.place(ax, inner_top, out)


class _Parallel(_Node):
    """Branches side by side from one fork, merged by one node (``C`` concat, ``+`` add, ``×``, ``H``)."""

    def __init__(self, branches: list[_Node], merge: Box, out_shape: tuple | None,
                 measure: Measure) -> None:
        self.branches = branches
        self.merge = merge
        self.out = out_shape
        self.pending = any(b.pending for b in branches) or merge.pending
        self.labels = [fmt_shape(b.out) for b in branches]
        self.widths = [
            b.left + max(b.right, LABEL_DX + measure(t, False)) for b, t in zip(branches, self.labels)
        ]
        total = sum(self.widths) + H_GAP * max(0, len(branches) - 1)
        self.left = self.right = max(total / 2, MERGE_D / 2)
        self.body_h = max((b.height for b in branches), default=0.0)
        self.height = FAN + self.body_h + GAP + MERGE_D

    def place(self, ax: float, top: float, out: Layout) -> None:
        x = ax - self.left
        fork = top + FAN / 2
        bottom = top + FAN + self.body_h
        merge_top = bottom + GAP
        merge_y = merge_top + MERGE_D / 2
        for branch, width, label in zip(self.branches, self.widths, self.labels):
            bx = x + branch.left
            pending = branch.pending or branch.out is None
            fork_pts = [(ax, top), (ax, fork), (bx, fork), (bx, top + FAN)]
            branch.place(bx, top + FAN, out)
            end = top + FAN + branch.height
            level = bottom + GAP / 2
            pts = [(bx, end), (bx, level)]
            if abs(bx - ax) > 1:
                pts.append((ax + (MERGE_D / 2 if bx > ax else -MERGE_D / 2) * 0.7, merge_y - 7))
            else:
                pts.append((ax, merge_top))
            if branch.height:
                out.edges.append(_edge(fork_pts, pending=self.pending))
            else:  # an empty branch (the identity): one line from the fork to the merge
                pts = fork_pts[:-1] + pts
            e = _edge(pts, label, pending=pending)
            e.label_pos = (bx + LABEL_DX, end + min(GAP / 2, (level - end) / 2))
            out.edges.append(e)
            x += width + H_GAP
        self.merge.x, self.merge.y = ax - MERGE_D / 2, merge_top
        out.boxes.append(self.merge)


class _Residual(_Node):
    """A body with a shortcut arc on its right (and a gate lane on its left), merged below."""

    def __init__(self, body: _Node, merge: Box, out_shape: tuple | None, measure: Measure,
                 shortcut: _Node | None = None, gate: _Node | None = None,
                 arc: bool = True, arc_label: str = "") -> None:
        self.body = body
        self.arc_label = arc_label
        self.merge = merge
        self.shortcut = shortcut
        self.gate = gate
        self.arc = arc
        self.out = out_shape
        self.pending = body.pending or merge.pending
        self.label = fmt_shape(body.out)
        label_w = LABEL_DX + measure(self.label, False)
        sc_half = shortcut.left if shortcut is not None else 0.0
        self.lane = max(body.right, label_w) + LANE + sc_half
        sc_right = shortcut.right if shortcut is not None else 0.0
        arc_w = LABEL_DX + measure(arc_label, False) if arc_label else 0.0
        self.right = self.lane + max(sc_right, arc_w) + 4
        gate_half = gate.right if gate is not None else 0.0
        self.gate_lane = body.left + LANE + gate_half
        self.left = max(body.left, MERGE_D / 2) if gate is None else \
            self.gate_lane + gate.left + 4
        self.height = SPLIT + body.height + GAP + MERGE_D

    def place(self, ax: float, top: float, out: Layout) -> None:
        body_top = top + SPLIT
        body_bottom = body_top + self.body.height
        merge_top = body_bottom + GAP
        merge_y = merge_top + MERGE_D / 2
        out.edges.append(_edge([(ax, top), (ax, body_top)], pending=self.pending))
        self.body.place(ax, body_top, out)
        e = _edge([(ax, body_bottom), (ax, merge_top)], self.label,
                  pending=self.body.pending or self.body.out is None)
        out.edges.append(e)
        if self.arc:
            self._lane(ax + self.lane, ax, top, body_top, merge_y, self.shortcut, 1, out)
        if self.gate is not None:
            self._lane(ax - self.gate_lane, ax, top, body_top, merge_y, self.gate, -1, out)
        self.merge.x, self.merge.y = ax - MERGE_D / 2, merge_top
        out.boxes.append(self.merge)

    def _lane(self, lx: float, ax: float, top: float, body_top: float, merge_y: float,
              node: _Node | None, side: int, out: Layout) -> None:
        start = (ax, top + SPLIT / 2)
        end = (ax + side * MERGE_D / 2, merge_y)
        if node is None:
            e = _edge([start, (lx, top + SPLIT / 2), (lx, merge_y), end], kind="shortcut",
                      pending=self.pending)
            if side > 0 and self.arc_label:  # what the collapsed block's shortcut does
                e.label = self.arc_label
                e.label_pos = (lx + LABEL_DX, (top + merge_y) / 2)
            out.edges.append(e)
            return
        mid = (body_top + merge_y) / 2
        node_top = max(body_top, mid - node.height / 2)
        out.edges.append(_edge([start, (lx, top + SPLIT / 2), (lx, node_top)], kind="shortcut",
                               pending=self.pending))
        node.place(lx, node_top, out)
        out.edges.append(_edge([(lx, node_top + node.height), (lx, merge_y), end],
                               kind="shortcut", pending=self.pending))


def _edge(points: list[tuple[float, float]], label: str = "", *, kind: str = "flow",
          pending: bool = False) -> Edge:
    e = Edge(points, label, kind=kind, pending=pending)
    if label:
        (x0, y0), y1 = points[0], points[1][1]
        e.label_pos = (x0 + LABEL_DX, (y0 + y1) / 2)
    return e


# --------------------------------------------------------------------------- from spec + rows


def _params(block: Any) -> Mapping[str, Any]:
    return getattr(block, "params", {}) or {}


def _children_of(block: Any, name: str) -> list:
    """Nested blocks in field ``name`` (a tuple of ``BlockSpec``)."""
    return list(_params(block).get(name) or ())


def _slots(block: Any) -> list[tuple[str, str]]:
    from explorer.core.edit import slots

    return slots(block)


def _row_detail(row: Any) -> str:
    geometry = getattr(row, "geometry", None)
    if geometry:
        k = geometry.get("kernel")
        text = fmt_size(tuple(k), both=True) if k else ""
        if row.type.lower().startswith("conv") and row.output_shape:
            text += f", {row.output_shape[0]} ch"
        s, pad = geometry.get("stride"), geometry.get("padding")
        if s and max(s) != 1 and not (row.type.endswith("Pool2d") and tuple(s) == tuple(k)):
            text += f", s{fmt_size(s)}"
        if pad and max(pad) != 0:
            text += f", p{fmt_size(pad)}"
        return text
    return row.type


class _Builder:
    def __init__(self, spec: Any, summary: Any, expanded: Mapping[str, bool],
                 measure: Measure, temporary_from: int | None = None) -> None:
        self.spec = spec
        self.summary = summary
        self.expanded = expanded
        self.measure = measure
        self.temporary_from = temporary_from
        rows = list(summary.layers) if summary is not None else []
        self.kids: dict[str, list] = {}
        self.top: dict[int, Any] = {}
        names = {row.name for row in rows}
        for row in rows:
            if row.depth == 1 or "." not in row.name:
                if row.block is not None:
                    self.top.setdefault(row.block, row)
                self.kids.setdefault("", []).append(row)
            else:  # under its nearest ancestor with a row (one whose forward failed has none)
                parent = row.name.rsplit(".", 1)[0]
                while parent and parent not in names:
                    parent = parent.rsplit(".", 1)[0] if "." in parent else ""
                self.kids.setdefault(parent, []).append(row)
        error = getattr(summary, "error", None) if summary is not None else None
        self.error_block = error.block if error is not None else None
        path = getattr(error, "block_path", None) if error is not None else None
        if path is None and self.error_block is not None:
            path = (self.error_block,)
        self.error_path = tuple(path) if path is not None else None
        message = error.message if error is not None else ""
        if len(message) > NOTE_CHARS:
            message = message[: NOTE_CHARS - 1].rstrip() + "…"
        self.error_note = f"✗ {message}" if message else ""

    # -- boxes
    def box(self, key: str, path: BlockPath | None, kind: str, title: str, detail: str = "",
            *, expandable: bool = False, expanded: bool = False, pending: bool = False,
            tooltip: str = "") -> Box:
        if kind == "merge":
            w = h = MERGE_D
        elif kind == "terminal":
            w = max(64.0, self.measure(title, True) + 2 * TEXT_PAD)
            h = TERMINAL_H
        else:
            text_w = max(self.measure(title, True), self.measure(detail, False))
            w = max(MIN_W, text_w + 2 * TEXT_PAD + (TOGGLE_W if expandable else 0))
            h = BOX_H
        error = (
            path is not None and self.error_path is not None and kind != "merge"
            and tuple(self.error_path[: len(path)]) == tuple(path)
        )
        dashed = (self.temporary_from is not None and bool(path) and isinstance(path[0], int)
                  and path[0] >= self.temporary_from)
        return Box(key, path, kind, title, detail, 0.0, 0.0, w, h, expandable, expanded, error,
                   pending, tooltip, dashed)

    def merge(self, key: str, path: BlockPath | None, symbol: str, pending: bool,
              tooltip: str) -> Box:
        return self.box(key, path, "merge", symbol, pending=pending, tooltip=tooltip)

    # -- the network
    def network(self) -> _Node:
        nodes: list[_Node] = [_Leaf(self.box("input", None, "terminal", "input"),
                                    self._input_shape())]
        if self.spec is not None:
            for i, block in enumerate(self.spec.blocks):
                pending = self.error_block is not None and i >= self.error_block
                nodes.append(self.block((i,), block, self.top.get(i), pending))
        else:
            for row in self.kids.get("", []):
                nodes.append(self.row_node(row, row.block_path if hasattr(row, "block_path")
                                           else None, top=True))
            failed = self._failed_module()
            if failed is not None:
                nodes.append(failed)
        end = nodes[-1]
        out_box = self.box("output", None, "terminal", "output", pending=end.pending)
        nodes.append(_Leaf(out_box, None, pending=end.pending))
        return _Seq(nodes, self.measure)

    def _failed_module(self) -> _Node | None:
        """Where the forward of a network without a spec failed (a Python file's module), as a
        red box after the rows that were computed."""
        error = getattr(self.summary, "error", None) if self.summary is not None else None
        if error is None:
            return None
        path = tuple(error.block_path) if error.block_path is not None else None
        title = error.path.rsplit(".", 1)[-1] if error.path else "forward"
        detail = error.path if error.path and "." in error.path else "failed here"
        box = self.box("error:" + (error.path or "forward"), path, "block", title, detail,
                       tooltip=f"{error.text()}" + (f"\nHint: {error.hint}" if error.hint
                                                     else ""))
        box.error = True
        leaf = _Leaf(box, None, pending=True)
        leaf.note = self.error_note
        return leaf

    def _input_shape(self) -> tuple | None:
        if self.summary is not None:
            return tuple(self.summary.input_shape)
        return tuple(self.spec.input_shape) if self.spec is not None else None

    def block(self, path: BlockPath, block: Any, row: Any, pending: bool) -> _Node:
        """The node of spec block ``block`` at ``path`` (``row``: its summary row, if any)."""
        node = self._block(path, block, row, pending)
        if self.error_note and tuple(path) == self.error_path:
            node.note = self.error_note
        return node

    def _block(self, path: BlockPath, block: Any, row: Any, pending: bool) -> _Node:
        key = row.name if row is not None else "spec:" + "/".join(str(p) for p in path)
        title = row.name.rsplit(".", 1)[-1] if row is not None else block.type
        detail = block.type if row is not None else ""
        desc = describe_block(block)
        if row is not None and desc:
            detail = f"{block.type} · {desc}"
        elif desc:
            detail = desc
        out_shape = tuple(row.output_shape) if row is not None else None
        kids = self.kids.get(row.name, []) if row is not None else []
        tip = _row_tip(row, f"{block.type}  {desc}".strip())
        if _slots(block):
            expanded = self.expanded.get(key, True)
            head = self.box(key, path, "frame" if expanded else "block", title, detail,
                            expandable=True, expanded=expanded, pending=pending, tooltip=tip)
            if not expanded:
                leaf = _Leaf(head, out_shape, pending)
                kind = _params(block).get("shortcut", "identity")
                if block.type == "residual" and kind != "none":
                    merge = self.merge(key + "#add", path, "+", pending, "addition")
                    return _Residual(leaf, merge, out_shape, self.measure,
                                     arc_label=_SHORTCUT_TEXT.get(kind, ""))
                return leaf
            content = self.container(path, block, row, kids, pending, key)
            return _Frame(head, content, self.measure)
        expandable = bool(kids)
        expanded = expandable and self.expanded.get(key, False)
        head = self.box(key, path, "frame" if expanded else "block", title, detail,
                        expandable=expandable, expanded=expanded, pending=pending, tooltip=tip)
        if expanded:
            return _Frame(head, self.composite(path, row, kids, block.type), self.measure)
        leaf = _Leaf(head, out_shape, pending)
        names = {k.name.rsplit(".", 1)[-1]: k for k in kids}
        if "shortcut" in names or (row is None and block.type in ("simple_residual",
                                                                  "resnet_basic",
                                                                  "bottleneck",
                                                                  "residual_variant")):
            merge = self.merge(key + "#add", path, "+", pending, "addition")
            sc = names.get("shortcut")
            keeps = sc is not None and getattr(sc, "input_shape", None) is not None and \
                tuple(sc.input_shape) == tuple(sc.output_shape) and not sc.params
            label = "" if sc is None or _is_identity(sc) or keeps else _SHORTCUT_TEXT.get(
                sc.type, sc.type)
            return _Residual(leaf, merge, out_shape, self.measure, arc_label=label)
        return leaf

    def container(self, path: BlockPath, block: Any, row: Any, kids: list, pending: bool,
                  key: str) -> _Node:
        out_shape = tuple(row.output_shape) if row is not None else None
        if block.type == "group":
            specs = _children_of(block, "blocks")
            if not specs:
                return _Seq([], self.measure, out_shape)
            if row is not None and kids:  # a repeated group: every copy is the same spec block
                nodes = [self.block(_path_of(r, path + ("blocks", k % len(specs))),
                                    specs[k % len(specs)], r, pending)
                         for k, r in enumerate(kids)]
            else:
                nodes = [self.block(path + ("blocks", k), b, None, pending)
                         for k, b in enumerate(specs)]
            return _Seq(nodes, self.measure)
        if block.type == "parallel" or block.type not in ("group", "residual"):
            if block.type != "parallel":  # a container of another kind: its lists in order
                return self.other_container(path, block, row, kids, pending)
            branches = [list(b) for b in _params(block).get("branches") or ()]
            by_name = {r.name.rsplit(".", 1)[-1]: r for r in kids}
            nodes = []
            for i, specs in enumerate(branches):
                brow = by_name.get(f"branch{i + 1}")
                nodes.append(self.sequence(path + ("branches", i), specs, brow, pending))
            symbol, tip = _MERGE_SYMBOLS.get(_params(block).get("merge", "concat"),
                                             _MERGE_SYMBOLS["concat"])
            merge = self.merge(key + "#merge", path, symbol, pending, tip)
            return _Parallel(nodes, merge, out_shape, self.measure)
        # residual
        by_name = {r.name.rsplit(".", 1)[-1]: r for r in kids}
        body = self.sequence(path + ("body",), _children_of(block, "body"), by_name.get("body"),
                             pending)
        kind = _params(block).get("shortcut", "identity")
        sc_row = by_name.get("shortcut")
        shortcut = None
        if sc_row is not None and not _is_identity(sc_row):
            shortcut = self.layer_node(sc_row, path)
        elif sc_row is None and row is None and kind not in ("identity", "none"):
            shortcut = _Leaf(self.box(key + "#shortcut", path, "layer", kind, pending=pending),
                             None, pending)
        has_arc = kind != "none"
        scale = _params(block).get("scale", 1.0)
        merge = self.merge(key + "#add", path, "+", pending,
                           "addition" + (f", then × {scale:g}" if scale != 1.0 else ""))
        add_out = tuple(row.output_shape) if row is not None else None
        node: _Node = _Residual(body, merge, add_out, self.measure, shortcut=shortcut,
                                arc=has_arc)
        act_row = by_name.get("act")
        post = _params(block).get("post_activation", "relu")
        if act_row is not None:
            node = _Seq([node, self.layer_node(act_row, path)], self.measure)
        elif row is None and post != "none":
            node = _Seq([node, _Leaf(self.box(key + "#act", path, "layer", post, pending=pending),
                                     None, pending)], self.measure)
        return node

    def sequence(self, path: BlockPath, specs: list, row: Any, pending: bool) -> _Node:
        """Blocks of one nested list (a body, a branch) at ``path + (i,)``."""
        kids = self.kids.get(row.name, []) if row is not None else []
        nodes = []
        for i, b in enumerate(specs):
            kid = kids[i] if i < len(kids) else None
            nodes.append(self.block(_path_of(kid, path + (i,)), b, kid, pending))
        out_shape = tuple(row.output_shape) if row is not None else None
        if not nodes:
            return _Seq([], self.measure, out_shape)
        return _Seq(nodes, self.measure)

    def other_container(self, path: BlockPath, block: Any, row: Any, kids: list,
                        pending: bool) -> _Node:
        """A container without a drawing of its own: its nested lists one after the other."""
        nodes: list[_Node] = []
        by_path = {_path_of(k, ()): k for k in kids}
        for name, kind in _slots(block):
            lists = _params(block).get(name) or ()
            lists = list(lists) if kind == "branches" else [lists]
            for j, blocks in enumerate(lists):
                prefix = path + ((name, j) if kind == "branches" else (name,))
                for i, b in enumerate(blocks):
                    child = prefix + (i,)
                    nodes.append(self.block(child, b, by_path.get(child), pending))
        return _Seq(nodes, self.measure)

    # -- inside composite blocks, from the rows
    def composite(self, path: BlockPath | None, row: Any, kids: list, block_type: str) -> _Node:
        """The inner structure of a built block, from its submodules' rows."""
        names = [k.name.rsplit(".", 1)[-1] for k in kids]
        out_shape = tuple(row.output_shape)
        if kids and all(n.startswith("branch") for n in names):
            branches = [self.row_seq(k, path) for k in kids]
            merge = self.merge(row.name + "#merge", path, "C", False, "concatenation (channels)")
            return _Parallel(branches, merge, out_shape, self.measure)
        if any(n in SHORTCUT_NAMES for n in names):
            by = dict(zip(names, kids))
            post = [k for n, k in zip(names, kids) if n in POST_NAMES]
            if "body" in by:
                body = self.row_seq(by["body"], path)
            else:
                body_rows = [k for n, k in zip(names, kids)
                             if n not in SHORTCUT_NAMES + GATE_NAMES + POST_NAMES]
                body = _Seq(self.row_nodes(body_rows, path), self.measure)
            sc = by["shortcut"]
            shortcut = None if _is_identity(sc) else self.layer_node(sc, path)
            gate = self.layer_node(by["gate"], path) if "gate" in by else None
            merge = self.merge(row.name + "#add", path, "+", False, "addition")
            add_out = tuple(post[0].output_shape) if post else out_shape
            node: _Node = _Residual(body, merge, add_out, self.measure, shortcut=shortcut,
                                    gate=gate)
            if post:
                node = _Seq([node] + [self.row_node(k, path) for k in post], self.measure)
            return node
        if block_type == "dense_block" and kids and all(re.fullmatch(r"layer\d+", n)
                                                         for n in names):
            nodes: list[_Node] = []
            channels = self._in_shape_of(row, kids[0])
            for k in kids:
                layer = self.row_seq(k, path)
                shape = None
                if channels is not None and len(k.output_shape) == 3:
                    shape = (channels[0] + k.output_shape[0], *k.output_shape[1:])
                    channels = shape
                merge = self.merge(k.name + "#concat", path, "C", False,
                                   "concatenation: the layer's output joins its input")
                nodes.append(_Residual(layer, merge, shape, self.measure))
            return _Seq(nodes, self.measure)
        return _Seq(self.row_nodes(kids, path), self.measure)

    def _in_shape_of(self, row: Any, first: Any) -> tuple | None:
        shape = getattr(first, "input_shape", None)
        if shape:
            return tuple(shape)
        # the block's output minus what its layers add
        total = sum(self.kids_out_channels(row))
        if len(row.output_shape) == 3:
            return (row.output_shape[0] - total, *row.output_shape[1:])
        return None

    def kids_out_channels(self, row: Any) -> list[int]:
        return [k.output_shape[0] for k in self.kids.get(row.name, []) if k.output_shape]

    def row_seq(self, row: Any, path: BlockPath | None) -> _Node:
        """A submodule and what is inside it, in order (a branch, a body, a dense layer)."""
        kids = self.kids.get(row.name, [])
        if not kids:
            if _is_identity(row):
                return _Seq([], self.measure, tuple(row.output_shape))
            return _Seq([self.layer_node(row, path)], self.measure)
        return _Seq(self.row_nodes(kids, path), self.measure)

    def row_nodes(self, rows: list, path: BlockPath | None) -> list[_Node]:
        """Nodes of consecutive submodules; an activation joins the layer before it.

        Inside a built block the activations are not editable and add no shape change, so
        ``conv → ReLU`` is one box (``1×1, 64 ch → ReLU``), as Netron and the course draw them.
        """
        nodes: list[_Node] = []
        for row in rows:
            last = nodes[-1] if nodes else None
            if (row.type in ACTIVATIONS and not self.kids.get(row.name)
                    and isinstance(last, _Leaf) and last.box.kind == "layer"):
                box = last.box
                box.detail = f"{box.detail} → {row.type}"
                box.tooltip = f"{box.tooltip}\n{row.name} ({row.type})"
                box.w = max(box.w, self.measure(box.detail, False) + 2 * TEXT_PAD)
                last.left = last.right = box.w / 2
                last.out = tuple(row.output_shape)
                continue
            nodes.append(self.row_node(row, path))
        return nodes

    def row_node(self, row: Any, path: BlockPath | None, top: bool = False) -> _Node:
        kids = self.kids.get(row.name, [])
        if not kids:
            return self.layer_node(row, path, kind="block" if top else "layer")
        if top:
            expanded = self.expanded.get(row.name, False)
            head = self.box(row.name, path, "frame" if expanded else "block", row.name, row.type,
                            expandable=True, expanded=expanded)
            if expanded:
                return _Frame(head, self.composite(path, row, kids, row.type), self.measure)
            return _Leaf(head, tuple(row.output_shape))
        return self.composite(path, row, kids, row.type)

    def layer_node(self, row: Any, path: BlockPath | None, kind: str = "layer") -> _Node:
        title = row.name.rsplit(".", 1)[-1]
        detail = _row_detail(row)
        inner = self.kids.get(row.name, [])
        if inner:  # a small module drawn as one box (a gate, a shortcut): what it runs
            detail = " → ".join(k.type for k in inner)
        if self.spec is None:  # a module of a file or of torchvision: its own path
            path = _path_of(row, path) if path is not None else path
        return _Leaf(self.box(row.name, path, kind, title, detail,
                              tooltip=_row_tip(row, f"{row.name} ({row.type})")),
                     tuple(row.output_shape))


def _row_tip(row: Any, head: str) -> str:
    """A box's tooltip: what it is, and from its row what comes out and what it costs."""
    if row is None:
        return head
    tip = f"{head}\noutput {fmt_shape(row.output_shape)}"
    if row.params:
        tip += f" · {row.params:,} parameters"
    return tip


_SHORTCUT_TEXT = {"Conv2d": "1×1 conv", "conv1x1": "1×1 conv", "PadShortcut": "pad",
                  "pad": "pad", "Dropout": "dropout", "Sequential": "1×1 conv, dropout"}
"""How a collapsed residual block's arc says what its shortcut does (none: the identity)."""


def _path_of(row: Any, default: BlockPath) -> BlockPath:
    """A row's own block path when the inspector gives one, else the one walked to."""
    path = getattr(row, "block_path", None) if row is not None else None
    return tuple(path) if path is not None else default


def _is_identity(row: Any) -> bool:
    return row.type in ("Identity", "identity") and not row.params


def layout_network(
    spec: Any,
    summary: Any = None,
    expanded: Mapping[str, bool] | None = None,
    measure: Measure | None = None,
    temporary_from: int | None = None,
) -> Layout:
    """Lay out ``spec`` (with the shapes of ``summary``) top to bottom.

    Parameters
    ----------
    spec : the ``ArchitectureSpec``, or ``None`` to draw a summary's top-level modules only
        (a torchvision model).
    summary : its ``Summary`` (rows give the shapes and the inside of composite blocks), or
        ``None`` before the first inspection.
    expanded : box key → whether it is expanded, for the boxes the user toggled. By default
        containers (group, residual, parallel) are expanded and composite blocks are not.
    measure : text width function; a font-free estimate by default.
    temporary_from : the top-level blocks from this index on are temporary (build-along's
        head) and drawn dashed.
    """
    measure = measure or estimate_width
    root = _Builder(spec, summary, expanded or {}, measure, temporary_from).network()
    out = Layout()
    margin = 24.0
    root.place(margin + root.left, margin, out)
    out.width = root.left + root.right + 2 * margin
    out.height = root.height + 2 * margin
    return out
