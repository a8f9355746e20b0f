"""The diagram's layout, tested without Qt: structure, positions, shapes on edges, errors."""

from __future__ import annotations

import itertools
import subprocess
import sys

from explorer.core import edit
from explorer.core.inspector import inspect_spec
from explorer.core.presets import preset_spec
from explorer.core.spec import ArchitectureSpec, BlockSpec
from explorer.ui.diagram_layout import HEAD_H, estimate_width, layout_network


def _overlaps(layout):
    """Pairs of drawn things that overlap: boxes (frames excepted) and edge labels."""
    rects = [(b.key, b.x, b.y, b.w, b.h) for b in layout.boxes if b.kind != "frame"]
    # a frame's title bar is also solid
    rects += [(b.key + "#title", b.x, b.y, b.w, HEAD_H) for b in layout.boxes if b.kind == "frame"]
    for i, e in enumerate(layout.edges):
        if e.label and e.label_pos:
            x, y = e.label_pos
            rects.append((f"label{i}:{e.label}", x, y - 6, estimate_width(e.label), 12))
    bad = []
    labels = [r for r in rects if r[0].startswith("label")]
    for i, e in enumerate(layout.edges):  # no line runs through a shape label
        for (x0, y0), (x1, y1) in zip(e.points, e.points[1:]):
            if abs(x0 - x1) > 0.5:
                continue
            for key, x, y, w, h in labels:
                if x < x0 < x + w and min(y0, y1) < y + h and y < max(y0, y1):
                    bad.append((f"edge{i}", key))
    for (ka, xa, ya, wa, ha), (kb, xb, yb, wb, hb) in itertools.combinations(rects, 2):
        if xa < xb + wb - 0.5 and xb < xa + wa - 0.5 and ya < yb + hb - 0.5 and yb < ya + ha - 0.5:
            if ka.endswith("#title") and kb.startswith(ka[: -len("#title")]):
                continue
            bad.append((ka, kb))
    return bad


def test_layout_is_qt_free():
    code = (
        "import sys\n"
        "from explorer.core.presets import preset_spec\n"
        "from explorer.ui.diagram_layout import layout_network\n"
        "layout_network(preset_spec('googlenet'))\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_every_top_level_block_has_a_box_and_nothing_overlaps(googlenet):
    spec, summary = googlenet
    layout = layout_network(spec, summary)
    for i, block in enumerate(spec.blocks):
        boxes = layout.boxes_for((i,))
        assert boxes, f"no box for block {i} ({block.type})"
        assert boxes[0].path == (i,)
    assert _overlaps(layout) == []
    assert layout.boxes[0].kind == "terminal" and layout.boxes[-1].kind == "terminal"
    inside = [b for b in layout.boxes if not (0 <= b.x and b.x + b.w <= layout.width
                                              and 0 <= b.y and b.y + b.h <= layout.height)]
    assert inside == []


def test_inception_branches_side_by_side(googlenet):
    spec, summary = googlenet
    layout = layout_network(spec, summary, {"stage3.inception1": True})
    assert layout.box("stage3.inception1.branch1x1.conv").detail == "1×1, 64 ch → ReLU"
    firsts = [layout.box(f"stage3.inception1.{name}") for name in (
        "branch1x1.conv", "branch3x3.conv1", "branch5x5.conv1", "branch_pool.pool")]
    assert all(firsts), [b.key for b in layout.boxes if b.key.startswith("stage3.inception1")]
    assert len({b.y for b in firsts}) == 1  # one row
    xs = [b.x for b in firsts]
    assert xs == sorted(xs) and len(set(xs)) == 4  # left to right, in order
    merge = layout.box("stage3.inception1#merge")
    assert merge.title == "C"
    assert merge.y > max(b.y for b in layout.boxes if b.key.startswith("stage3.inception1."))
    labels = {e.label for e in layout.edges}
    assert {"64×12×12", "128×12×12", "32×12×12", "256×12×12"} <= labels
    assert _overlaps(layout) == []
    collapsed = layout_network(spec, summary)
    assert collapsed.box("stage3.inception1").kind == "block"
    tip = collapsed.box("stage3.inception1").tooltip
    assert "output 256×12×12" in tip and "163,696 parameters" in tip
    assert collapsed.box("stage3.inception1.branch1x1.conv") is None


def test_residual_shortcut_is_an_arc_around_its_body(resnet56):
    spec, summary = resnet56
    layout = layout_network(spec, summary)
    blocks = [b for b in layout.boxes if b.detail.startswith("resnet_basic")]
    assert len(blocks) == 27
    arcs = [e for e in layout.edges if e.kind == "shortcut"]
    assert len(arcs) == 27
    for block in blocks:
        add = layout.box(block.key + "#add")
        assert add is not None and add.title == "+"
        assert add.y > block.y + block.h
    for arc in arcs:  # runs to the right of its body, from above it to the addition below
        assert max(x for x, _ in arc.points) > min(x for x, _ in arc.points) + 40
    # the two blocks whose shortcut zero-pads the new channels say so on their arc
    assert [a.label for a in arcs if a.label] == ["pad", "pad"]
    assert _overlaps(layout) == []


def test_expanded_residual_shows_its_body_and_shortcut_module(resnet56):
    spec, summary = resnet56
    layout = layout_network(spec, summary, {"stage2.residual1": True})
    body = [layout.box(f"stage2.residual1.{n}") for n in ("conv1", "bn1", "conv2", "bn2")]
    assert all(body)
    assert layout.box("stage2.residual1.relu1") is None  # drawn in the box before it
    assert body[1].detail == "BatchNorm2d → ReLU"
    assert len({b.center[0] for b in body}) == 1 and [b.y for b in body] == sorted(
        b.y for b in body)
    shortcut = layout.box("stage2.residual1.shortcut")  # the zero-padding shortcut, on the arc
    assert shortcut.detail == "PadShortcut"
    assert shortcut.x > max(b.x + b.w for b in body)
    assert body[0].y < shortcut.center[1] < body[-1].y + body[-1].h
    relu = layout.box("stage2.residual1.relu_out")
    assert relu.y > layout.box("stage2.residual1#add").y
    assert _overlaps(layout) == []


def test_dense_block_concatenations(course):
    spec = preset_spec("densenet")
    summary = inspect_spec(spec, depth=8)
    layout = layout_network(spec, summary, {"dense1": True})
    concats = [b for b in layout.boxes if b.key.startswith("dense1.layer") and b.kind == "merge"]
    assert [b.title for b in concats] == ["C"] * 4
    labels = [e.label for e in layout.edges]
    for channels in (96, 128, 160, 192):  # 64 in, +32 per layer
        assert f"{channels}×24×24" in labels
    assert _overlaps(layout) == []


def test_error_marks_the_failing_block_and_unknown_shapes(course):
    spec, _ = course
    broken = edit.replace(spec, (4,), BlockSpec("conv2d", {"out_channels": 20, "kernel_size": 13}))
    summary = inspect_spec(broken, depth=8)
    assert summary.error is not None and summary.error.block == 4
    layout = layout_network(broken, summary)
    failing = layout.boxes_for((4,))[0]
    assert failing.error and failing.pending
    assert [b for b in layout.boxes if b.error] == [failing]
    for i in range(5, len(spec.blocks)):
        box = layout.boxes_for((i,))[0]
        assert box.pending and not box.error
    for i in range(4):
        assert not layout.boxes_for((i,))[0].pending
    labels = [e.label for e in layout.edges if e.label]
    assert labels[:5] == ["1×28×28", "10×24×24", "10×12×12", "10×12×12", "88×12×12"]
    assert labels[5] == "✗ kernel 13×13 is larger than the 12×12 input"  # below the failing box
    assert [e.error for e in layout.edges if e.label].index(True) == 5
    assert set(labels[6:]) == {"?"}
    assert _overlaps(layout) == []


def test_containers_from_the_spec_with_and_without_rows():
    spec = ArchitectureSpec.from_dict({
        "name": "containers", "input_shape": [1, 28, 28], "num_classes": 10, "blocks": [
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "residual", "body": [
                {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
                {"type": "relu"}]},
            {"type": "parallel", "branches": [
                [{"type": "conv2d", "out_channels": 4, "kernel_size": 1}], [],
                [{"type": "max_pool2d", "kernel_size": 3, "stride": 1, "padding": 1}]]},
            {"type": "group", "name": "g", "repeat": 2, "blocks": [
                {"type": "conv2d", "out_channels": 8, "kernel_size": 3}]},
            {"type": "flatten"}, {"type": "linear", "out_features": "classes"}]})
    for summary in (inspect_spec(spec, depth=8), None):
        layout = layout_network(spec, summary)
        body = layout.boxes_for((1, "body", 0))
        assert body and body[0].path == (1, "body", 0)
        assert [e for e in layout.edges if e.kind == "shortcut"]
        branch0 = layout.boxes_for((2, "branches", 0, 0))[0]
        branch2 = layout.boxes_for((2, "branches", 2, 0))[0]
        assert branch0.y == branch2.y and branch0.x < branch2.x
        assert _overlaps(layout) == []
    layout = layout_network(spec, inspect_spec(spec, depth=8))
    assert len(layout.boxes_for((3, "blocks", 0))) == 2  # the group's block, repeated twice
    assert {"4×28×28", "8×28×28", "20×28×28", "8×26×26", "8×24×24"} <= {e.label for e in
                                                                       layout.edges}
    assert len(layout_network(spec, None).boxes_for((3, "blocks", 0))) == 1  # once, no rows
    assert {e.label for e in layout_network(spec, None).edges if e.label} == {"?", "1×28×28"}


def test_collapsing_a_container_and_selection_fall_back_to_the_nearest_box(googlenet):
    spec, summary = googlenet
    layout = layout_network(spec, summary, {"stage3": False})
    stage3 = layout.box("stage3")
    assert stage3.kind == "block" and stage3.expandable and not stage3.expanded
    assert layout.boxes_for((2, "blocks", 1)) == [stage3]
    assert layout.hit(*stage3.center) is stage3
    assert layout.boxes_for(None) == []


def test_hit_finds_the_innermost_box(googlenet):
    spec, summary = googlenet
    layout = layout_network(spec, summary, {"stage3.inception1": True})
    conv = layout.box("stage3.inception1.branch3x3.conv2")
    assert layout.hit(*conv.center) is conv
    frame = layout.box("stage3.inception1")
    assert layout.hit(frame.x + 20, frame.y + HEAD_H / 2) is frame
    assert layout.hit(frame.x + 3, frame.y + frame.h - 3) is frame  # its background
    stage3 = layout.box("stage3")
    assert layout.hit(stage3.x + 3, stage3.y + stage3.h - 3) is stage3
    assert layout.hit(-5, -5) is None


def test_views_import_without_torch():
    """The window imports its views before torch has loaded (torch comes with the first summary)."""
    code = (
        "import sys\n"
        "import explorer.ui.diagram_layout, explorer.ui.widgets.layer_table\n"
        "import explorer.ui.widgets.diagram\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


NESTED_ERROR = {
    "name": "nested", "input_shape": [1, 28, 28], "num_classes": 10, "blocks": [
        {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
        {"type": "group", "name": "g", "blocks": [
            {"type": "relu"},
            {"type": "residual", "shortcut": "identity", "body": [
                {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1}]}]},
        {"type": "flatten"}, {"type": "linear", "out_features": "classes"}]}


def test_an_error_inside_a_container_marks_the_inner_block():
    spec = ArchitectureSpec.from_dict(NESTED_ERROR)
    summary = inspect_spec(spec, depth=8)
    assert summary.error.block_path == (1, "blocks", 1)
    layout = layout_network(spec, summary)
    inner = layout.boxes_for((1, "blocks", 1))[0]
    assert inner.error and inner.kind == "frame"
    assert layout.boxes_for((1,))[0].error  # the group that holds it
    assert not layout.boxes_for((1, "blocks", 0))[0].error
    assert not layout.boxes_for((1, "blocks", 1, "body", 0))[0].error
    assert not layout.boxes_for((0,))[0].error


def test_a_projection_shortcut_is_named_on_its_arc():
    spec = preset_spec("resnet18")
    layout = layout_network(spec, inspect_spec(spec, depth=8))
    arcs = [e for e in layout.edges if e.kind == "shortcut"]
    assert len(arcs) == 8
    assert [a.label for a in arcs if a.label] == ["1×1 conv"] * 3  # stages 2–4 start
    assert _overlaps(layout) == []


def test_block_boxes_say_their_family_description():
    spec = preset_spec("lenet")
    layout = layout_network(spec, inspect_spec(spec, depth=8))
    assert layout.box("conv1").detail == "conv2d · 5×5, 6 ch, p2"
    assert layout.box("pool1").detail == "avg_pool2d · 2×2"
    assert layout.box("fc3").detail == "linear · classes out"


def test_a_parallel_merge_says_concatenation_or_addition():
    spec = ArchitectureSpec.from_dict({
        "name": "merges", "input_shape": [3, 8, 8], "num_classes": 2, "blocks": [
            {"type": "parallel", "branches": [[{"type": "conv2d", "out_channels": 4,
                                                "kernel_size": 1}], []]},
            {"type": "parallel", "merge": "add", "branches": [[{"type": "relu"}], []]},
            {"type": "flatten"}, {"type": "linear", "out_features": "classes"},
        ]})
    layout = layout_network(spec, inspect_spec(spec, depth=8))
    merges = [b for b in layout.boxes if b.kind == "merge"]
    assert [(b.path, b.title) for b in merges] == [((0,), "C"), ((1,), "+")]
    assert "concatenation" in merges[0].tooltip and merges[1].tooltip == "addition"


def test_expanded_convolutions_say_their_stride_and_padding(resnet56):
    spec, summary = resnet56
    layout = layout_network(spec, summary, {"stage2.residual1": True})
    # the stage's first 3×3 convolution halves the size (stride 2); both pad by 1
    assert layout.box("stage2.residual1.conv1").detail == "3×3, 32 ch, s2, p1"
    assert layout.box("stage2.residual1.conv2").detail == "3×3, 32 ch, p1"


def test_a_scaled_residual_addition_says_its_factor():
    def net(scale: float) -> ArchitectureSpec:
        return ArchitectureSpec.from_dict({
            "name": "scaled", "input_shape": [4, 8, 8], "num_classes": 2, "blocks": [
                {"type": "residual", "scale": scale, "body": [
                    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1}]},
                {"type": "flatten"}, {"type": "linear", "out_features": "classes"}]})

    def add_tip(spec: ArchitectureSpec) -> str:
        return layout_network(spec, inspect_spec(spec, depth=8)).box("residual1#add").tooltip

    assert add_tip(net(0.5)) == "addition, then × 0.5"
    assert add_tip(net(1.0)) == "addition"
