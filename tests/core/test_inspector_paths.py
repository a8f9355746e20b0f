"""Summary rows and errors carry block paths, input shapes and layer geometry for the window."""

from __future__ import annotations

from explorer.core.inspector import inspect_spec
from explorer.core.presets import preset_spec
from explorer.core.spec import ArchitectureSpec


def test_rows_name_the_spec_block_they_belong_to():
    spec = ArchitectureSpec("t", (1, 16, 16), 10, [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "residual", "body": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "group", "repeat": 2, "blocks": [{"type": "relu"}]},
        ]},
        {"type": "inception_a"},
    ])
    rows = {row.name: row for row in inspect_spec(spec, depth=5).layers}
    assert rows["conv1"].block_path == (0,)
    assert rows["residual1"].block_path == (1,)
    assert rows["residual1.body.conv1"].block_path == (1, "body", 0)
    assert rows["residual1.body.group1"].block_path == (1, "body", 1)
    # both repeats of the group's relu belong to the one relu block of the spec
    assert rows["residual1.body.group1.relu1"].block_path == (1, "body", 1, "blocks", 0)
    assert rows["residual1.body.group1.relu2"].block_path == (1, "body", 1, "blocks", 0)
    # the layers inside a composite block belong to that block
    inner = [r for r in rows.values() if r.name.startswith("inception1.")]
    assert inner and all(r.block_path == (2,) for r in inner)


def test_conv_and_pool_rows_carry_their_geometry_and_input():
    spec = ArchitectureSpec("t", (1, 28, 28), 10, [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 5, "padding": 2, "stride": 2},
        {"type": "max_pool2d", "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "relu"},
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 2, "dilation": 2},
    ])
    conv, pool, relu, dilated = inspect_spec(spec).layers
    assert conv.input_shape == (1, 28, 28)
    assert conv.geometry == {"kernel": (5, 5), "stride": (2, 2), "padding": (2, 2),
                             "dilation": (1, 1)}
    assert conv.output_shape == (4, 14, 14)
    assert pool.input_shape == (4, 14, 14)
    assert pool.geometry["kernel"] == (3, 3) and pool.geometry["stride"] == (2, 2)
    assert relu.geometry is None and relu.input_shape == (4, 7, 7)
    assert conv.to_json()["geometry"]["kernel"] == [5, 5]
    assert dilated.geometry == {"kernel": (3, 3), "stride": (1, 1), "padding": (2, 2),
                                "dilation": (2, 2)}
    assert dilated.to_json()["geometry"]["dilation"] == [2, 2]


def test_errors_carry_the_failing_block_path():
    spec = ArchitectureSpec("t", (1, 8, 8), 10, [
        {"type": "relu"},
        {"type": "residual", "body": [
            {"type": "relu"},
            {"type": "conv2d", "out_channels": 4, "kernel_size": 9},
        ]},
    ])
    summary = inspect_spec(spec)
    assert summary.error.block_path == (1, "body", 1)
    assert summary.error.to_json()["block_path"] == [1, "body", 1]
    assert [r.name for r in summary.layers] == ["relu1"]

    invalid = ArchitectureSpec("t", (1, 8, 8), 10, [
        {"type": "parallel", "branches": [[], [{"type": "conv2d", "out_channels": -1}]]}])
    assert inspect_spec(invalid).error.block_path == (0, "branches", 1, 0)


def test_every_row_of_a_preset_has_a_block_path():
    summary = inspect_spec(preset_spec("resnet18"), depth=4)
    assert all(row.block_path is not None for row in summary.layers)
    assert {row.block_path[0] for row in summary.layers} == set(range(len(
        preset_spec("resnet18").blocks)))
