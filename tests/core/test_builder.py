"""The builder: inferred channels, readable names, partial builds with hinted errors."""

from __future__ import annotations

import pytest
import torch

from explorer.core import ArchitectureSpec, ShapeError, SpecError, build_model, build_partial


def spec_of(blocks, shape=(1, 28, 28), classes=10):
    return ArchitectureSpec.from_dict(
        {"name": "t", "input_shape": list(shape), "num_classes": classes, "blocks": blocks}
    )


def test_channels_and_features_are_inferred_and_names_readable():
    net = build_model(spec_of([
        {"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2},
        {"type": "relu"},
        {"type": "max_pool2d"},
        {"type": "conv2d", "out_channels": 16, "kernel_size": 5},
        {"type": "flatten"},
        {"type": "linear", "out_features": "classes"},
    ], classes=7))
    assert [n for n, _ in net.named_children()] == ["conv1", "relu1", "pool1", "conv2",
                                                    "flatten1", "fc1"]
    assert net.conv2.in_channels == 6
    assert net.fc1.in_features == 16 * 10 * 10
    assert net.fc1.out_features == 7
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 7)


def test_group_name_and_repeat():
    net = build_model(spec_of([
        {"type": "group", "name": "stage1", "repeat": 3,
         "blocks": [{"type": "conv2d", "out_channels": 4, "padding": 1}, {"type": "relu"}]},
    ]))
    assert [n for n, _ in net.stage1.named_children()] == [
        "conv1", "relu1", "conv2", "relu2", "conv3", "relu3"]
    assert net.stage1.conv2.in_channels == 4


@pytest.mark.parametrize(
    "blocks, index, words",
    [
        ([{"type": "max_pool2d", "kernel_size": 4}, {"type": "max_pool2d", "kernel_size": 4},
          {"type": "conv2d", "out_channels": 8, "kernel_size": 3}],
         2, ["kernel 3×3 is larger than the 1×1 input", "lower kernel_size"]),
        ([{"type": "conv2d", "out_channels": 8, "kernel_size": 29}],
         0, ["kernel 29×29 is larger than the 28×28 input"]),
        ([{"type": "conv2d", "out_channels": 8, "stride": 2}] * 5,  # 28 → 13 → 6 → 2 → fails
         3, ["larger than the 2×2 input"]),
        ([{"type": "flatten"}, {"type": "conv2d", "out_channels": 8}],
         1, ["expects a C×H×W input but receives 784", "before flatten"]),
        ([{"type": "conv2d", "out_channels": 8}, {"type": "linear", "out_features": 10}],
         1, ["linear expects flat features but receives a 8×26×26 map", "add a flatten"]),
        ([{"type": "residual", "body": [{"type": "conv2d", "out_channels": 8, "padding": 1}]}],
         0, ["identity shortcut carries 1×28×28", "conv1x1"]),
        ([{"type": "residual", "shortcut": "pad",
           "body": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3}]}],
         0, ["26×26", "padding kernel_size // 2"]),
        ([{"type": "parallel", "branches": [[{"type": "conv2d", "out_channels": 4}],
                                            [{"type": "conv2d", "out_channels": 4,
                                              "padding": 1}]]}],
         0, ["4×26×26", "4×28×28", "concatenation needs the same height and width"]),
        ([{"type": "parallel", "merge": "add",
           "branches": [[], [{"type": "conv2d", "out_channels": 4, "padding": 1}]]}],
         0, ["addition needs equal shapes"]),
        ([{"type": "residual", "body": [
            {"type": "conv2d", "out_channels": 1, "padding": 1},
            {"type": "max_pool2d", "kernel_size": 30}]}],
         0, ["body[1] (max_pool2d)", "kernel 30×30 is larger than the 28×28 input"]),
    ],
)
def test_shape_errors_stop_at_the_failing_block_with_a_hint(blocks, index, words):
    result = build_partial(spec_of(blocks), device="meta")
    assert isinstance(result.error, ShapeError)
    assert result.error.block == index
    assert len(result.blocks) == index
    text = str(result.error)
    assert text.startswith(f"block {index} (")
    for word in words:
        assert word in text
    with pytest.raises(ShapeError):
        build_model(spec_of(blocks), device="meta")


def test_spec_errors_are_returned_not_raised():
    result = build_partial(spec_of([{"type": "relu"}, {"type": "nope"}]))
    assert isinstance(result.error, SpecError)
    assert result.error.block == 1
    assert [b.type for b in result.blocks] == ["relu"]


def test_meta_build_allocates_no_weights():
    net = build_model(spec_of([{"type": "conv2d", "out_channels": 512},
                               {"type": "flatten"}, {"type": "linear", "out_features": 4096}]),
                      device="meta")
    assert all(p.is_meta for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) > 1_000_000_000


def test_conv1x1_shortcut_infers_any_stride():
    net = build_model(spec_of([
        {"type": "residual", "shortcut": "conv1x1", "body": [
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 3, "padding": 1}]},
    ], shape=(4, 5, 5)))
    assert net.residual1.shortcut.stride == (3, 3)
    assert net(torch.zeros(2, 4, 5, 5)).shape == (2, 8, 2, 2)


def test_group_names_never_collide():
    net = build_model(spec_of([
        {"type": "relu"},
        {"type": "group", "name": "relu1", "blocks": [{"type": "relu"}]},
        {"type": "group", "name": "stage", "blocks": [{"type": "relu"}]},
        {"type": "group", "name": "stage", "blocks": [{"type": "relu"}]},
    ]))
    assert [n for n, _ in net.named_children()] == ["relu1", "relu1_1", "stage", "stage_1"]
