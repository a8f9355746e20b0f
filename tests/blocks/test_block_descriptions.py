"""Each block family says its settings in one place; the tree, the diagram and the summary
rows all show those words."""

from __future__ import annotations

import pytest

from explorer.core.inspector import inspect_spec
from explorer.core.presets import preset_spec
from explorer.core.registry import describe_block, list_blocks
from explorer.core.spec import ArchitectureSpec, BlockSpec


@pytest.mark.parametrize("block, text", [
    ({"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2}, "5×5, 6 ch, p2"),
    ({"type": "conv2d", "out_channels": 16, "kernel_size": [3, 5], "stride": 2},
     "3×5, 16 ch, s2"),
    ({"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": [2, 1]},
     "3×3, 8 ch, s2×1"),
    ({"type": "max_pool2d"}, "2×2"),
    ({"type": "max_pool2d", "kernel_size": 3, "stride": 2, "padding": 1}, "3×3, s2, p1"),
    ({"type": "avg_pool2d", "kernel_size": 2, "stride": 2}, "2×2"),
    ({"type": "linear", "out_features": 84}, "84 out"),
    ({"type": "dropout", "p": 0.3}, "p 0.3"),
    ({"type": "batch_norm2d", "eps": 0.001}, "eps 0.001"),
    ({"type": "batch_norm2d"}, ""),
    ({"type": "relu"}, ""),
    ({"type": "inception_a"}, "16+24+24+24 ch"),
    ({"type": "inception", "c1": 64, "c2a": 96, "c2b": 128, "c3a": 16, "c3b": 32, "c4": 32},
     "64+128+32+32 ch"),
    ({"type": "resnet_basic", "out_channels": 64, "stride": 2, "shortcut": "pad"},
     "64 ch, s2, pad"),
    ({"type": "residual_variant", "variant": "constant_scaling", "scale": 0.25},
     "constant_scaling, scale 0.25"),
    ({"type": "residual_variant", "variant": "dropout_shortcut", "out_channels": 24},
     "dropout_shortcut, p 0.5, 24 ch"),
    ({"type": "vgg_block", "num_convs": 2, "out_channels": 128}, "2 convs, 128 ch"),
    ({"type": "nin_block", "out_channels": 96, "kernel_size": 11, "stride": 4},
     "11×11, 96 ch, s4"),
    ({"type": "dense_block", "num_layers": 4, "growth_rate": 32}, "4 × 32 ch"),
    ({"type": "transition"}, ""),
    ({"type": "transition", "out_channels": 64}, "64 ch"),
    ({"type": "group", "name": "stage", "repeat": 3, "blocks": [{"type": "relu"}] * 2},
     "2 blocks ×3"),
    ({"type": "parallel", "merge": "add", "branches": [[], [{"type": "relu"}]]},
     "2 branches, add"),
    ({"type": "residual", "shortcut": "conv1x1", "body": []}, "shortcut conv1x1"),
])
def test_each_family_describes_its_blocks(block, text):
    assert describe_block(BlockSpec.from_dict(block)) == text


def test_every_block_type_has_a_description_that_survives_odd_values():
    for definition in list_blocks():
        assert isinstance(definition.describe({}), str), definition.name
        odd = {p.name: "?" for p in definition.params if p.kind not in ("blocks", "branches")}
        assert isinstance(definition.describe(odd), str), definition.name


def test_an_unknown_block_lists_what_it_sets():
    assert describe_block(BlockSpec("mystery", {"width": 3, "flag": True})) == \
        "width 3, flag yes"


@pytest.mark.parametrize("name", ["lenet", "course-inception", "resnet18", "densenet"])
def test_summary_rows_carry_the_family_description(name):
    spec = preset_spec(name)
    summary = inspect_spec(spec, depth=1)
    rows = {row.block_path: row for row in summary.layers if row.depth == 1}
    for index, block in enumerate(spec.blocks):
        expected = describe_block(block).replace("classes", str(spec.num_classes))
        assert rows[(index,)].detail == expected, (index, block.type)


def test_a_classes_count_is_shown_as_the_number_in_the_summary():
    spec = ArchitectureSpec("c", (4,), 7, (BlockSpec("linear", {"out_features": "classes"}),))
    assert describe_block(spec.blocks[0]) == "classes out"
    assert inspect_spec(spec, depth=1).layers[0].detail == "7 out"
