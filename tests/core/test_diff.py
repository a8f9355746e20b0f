"""The architecture diff: blocks aligned, kinds and parameters, the layers that differ."""

from __future__ import annotations

import dataclasses

import explorer.blocks  # noqa: F401 (registers the blocks and their expanders)
from explorer.core.builder import build_partial
from explorer.core.diff import compare_architectures, diff_specs, format_diff
from explorer.core.edit import block_at, insert, remove, set_param
from explorer.core.expand import expand_at
from explorer.core.presets import preset_spec
from explorer.core.spec import ArchitectureSpec, BlockSpec


def small() -> ArchitectureSpec:
    return ArchitectureSpec.from_dict({"name": "small", "input_shape": [1, 8, 8],
                                       "num_classes": 3, "blocks": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "max_pool2d"},
        {"type": "conv2d", "out_channels": 6, "kernel_size": 3},
        {"type": "flatten"},
        {"type": "linear", "out_features": "classes"},
    ]})


def kinds(diff) -> list[tuple[str, str]]:
    return [(c.kind, c.type) for c in diff.blocks]


def test_inserted_removed_and_changed_blocks_with_parameters_and_costs():
    old = small()
    new = insert(old, (1,), BlockSpec("batch_norm2d"))          # + after the first conv
    new = set_param(new, (4,), "out_channels", 8)               # ~ the second conv 6 → 8
    new = remove(new, (3,))                                     # - the max-pool
    diff = compare_architectures(old, new)

    assert kinds(diff) == [("same", "conv2d"), ("inserted", "batch_norm2d"), ("same", "relu"),
                           ("removed", "max_pool2d"), ("changed", "conv2d"),
                           ("same", "flatten"), ("same", "linear")]
    changed = diff.blocks[4]
    assert (changed.old_path, changed.new_path) == ((3,), (3,))
    assert [(p.name, p.old, p.new) for p in changed.params] == [("out_channels", 6, 8)]
    assert diff.counts() == {"same": 4, "changed": 1, "expanded": 0, "removed": 1,
                             "inserted": 1}
    # without the pool the conv sees 8×8, not 4×4: 6×6 maps of 8 channels
    layers = {c.label: c for c in diff.layers}
    conv = layers["block 3 (conv2d)"]
    assert (conv.old.output_shape, conv.new.output_shape) == ((6, 2, 2), (8, 6, 6))
    assert (conv.old.params, conv.new.params) == (4 * 6 * 9 + 6, 4 * 8 * 9 + 8)
    linear = layers["block 5 (linear)"]  # unchanged, yet its inputs grew from 24 to 288
    assert (linear.old.params, linear.new.params) == (24 * 3 + 3, 288 * 3 + 3)
    assert "block 0 (conv2d)" not in layers  # same block, same shape, same cost
    text = format_diff(diff)
    assert "~ block 3 (conv2d) → 3: changed (out_channels 6 → 8)" not in text  # same index
    assert "~ block 3 (conv2d): changed (out_channels 6 → 8)" in text
    assert "+ block 1 (batch_norm2d): inserted" in text
    assert "- block 2 (max_pool2d): removed" in text
    assert "parameters 75 → 867" in text
    lines = text.splitlines()
    # old: conv 40 weights × 8·8, conv 222 × 2·2, linear 75; new: conv 40 × 8·8, batch norm 8
    # (no mult-adds), conv 296 × 6·6, linear 867
    assert lines[0] == ("small (337 parameters, 3,523 mult-adds) → "
                        "small (1,211 parameters, 14,083 mult-adds)")
    assert "  block 3 (conv2d): output 6×2×2 → 8×6×6; parameters 222 → 296; mult-adds 888 → " \
        "10,656" in lines


def test_identical_networks_and_network_fields():
    same = compare_architectures(small(), small())
    assert same.identical and not same.layers
    assert "identical" in format_diff(same)
    wider = dataclasses.replace(small(), num_classes=5)
    diff = diff_specs(small(), wider)
    assert [(p.name, p.old, p.new) for p in diff.network] == [("num_classes", 3, 5)]
    assert not diff.identical and all(c.kind == "same" for c in diff.blocks)


def test_a_preset_against_its_expanded_form_shows_expanded():
    spec = preset_spec("course-inception")
    shapes = build_partial(spec, device="meta").in_shapes
    expanded = expand_at(spec, (7,), shapes[(7,)])
    diff = compare_architectures(spec, expanded)
    assert kinds(diff)[7] == ("expanded", "inception_a → parallel")
    assert diff.counts() == {"same": 9, "changed": 0, "expanded": 1, "removed": 0,
                             "inserted": 0}
    assert diff.layers == []  # same outputs, parameters and costs
    assert "> block 7 (inception_a): expanded into a parallel" in format_diff(diff)
    assert diff.to_json()["blocks"][7]["kind"] == "expanded"


def test_an_expansion_inside_a_group_is_found_there():
    spec = preset_spec("resnet20")
    path = (2, "blocks", 1)  # stage2's second residual block
    expanded = expand_at(spec, path, build_partial(spec, device="meta").in_shapes[path])
    diff = compare_architectures(spec, expanded)
    stage2 = diff.blocks[2]
    assert stage2.kind == "changed" and stage2.params == ()
    assert [(c.kind, c.old_path) for c in stage2.children] == [
        ("same", (2, "blocks", 0)), ("expanded", path), ("same", (2, "blocks", 2))]
    assert diff.counts()["expanded"] == 1 and diff.layers == []


def test_an_edited_expansion_is_not_called_expanded():
    spec = preset_spec("course-inception")
    expanded = expand_at(spec, (3,), build_partial(spec, device="meta").in_shapes[(3,)])
    edited = set_param(expanded, (3, "branches", 0, 0), "out_channels", 20)
    assert block_at(edited, (3, "branches", 0, 0)).params["out_channels"] == 20
    diff = compare_architectures(spec, edited)
    assert [c.kind for c in diff.blocks].count("expanded") == 0
    assert ("removed", "inception_a") in kinds(diff) and ("inserted", "parallel") in kinds(diff)
    assert diff.layers  # 4 more channels flow on: the next conv has more parameters


def test_equal_blocks_pair_before_blocks_of_the_same_type():
    old = remove(remove(small(), (2,)), (1,))  # conv 4 → conv 6 → flatten → linear
    new = remove(old, (0,))  # the first conv goes: the second one is the same block still
    assert kinds(diff_specs(old, new)) == [("removed", "conv2d"), ("same", "conv2d"),
                                           ("same", "flatten"), ("same", "linear")]


def test_a_composite_block_is_compared_by_its_own_totals():
    spec = preset_spec("course-inception")
    diff = compare_architectures(spec, set_param(spec, (7,), "c1", 8))
    assert [(p.name, p.old, p.new) for p in diff.blocks[7].params] == [("c1", 16, 8)]
    layer = next(c for c in diff.layers if c.old_path == (7,))
    assert (layer.old.output_shape, layer.new.output_shape) == ((88, 4, 4), (80, 4, 4))
    assert layer.old.params - layer.new.params == 8 * (20 + 1)  # 1×1 conv on 20 channels
