"""Each predefined block equals the same structure assembled from containers and layers.

Both networks are built from specs; the weights of one are copied into the other (their
parameters come in the same order) and the outputs must agree; equal parameter counts and
output shapes follow.
"""

from __future__ import annotations

import pytest
import torch

from explorer.core import ArchitectureSpec, BlockSpec, build_model

BN = {"type": "batch_norm2d"}
RELU = {"type": "relu"}


def conv(out_channels, kernel_size, **params) -> dict:
    return {"type": "conv2d", "out_channels": out_channels, "kernel_size": kernel_size,
            **params}


def build(blocks: list[dict], input_shape: tuple, num_classes: int = 10):
    spec = ArchitectureSpec("equivalence", input_shape, num_classes,
                            [BlockSpec.from_dict(b) for b in blocks])
    return build_model(spec)


POST = [conv(8, 3, padding=1), BN, RELU, conv(8, 3, padding=1), BN]  # conv-BN-ReLU-conv-BN

# (predefined block, the same from primitives, input shape)
CASES = {
    "inception_a": (
        {"type": "inception_a"},
        [{"type": "parallel", "merge": "concat", "branches": [
            [conv(16, 1)],
            [conv(16, 1), conv(24, 5, padding=2)],
            [conv(16, 1), conv(24, 3, padding=1), conv(24, 3, padding=1)],
            [{"type": "avg_pool2d", "kernel_size": 3, "stride": 1, "padding": 1}, conv(24, 1)],
        ]}],
        (10, 12, 12),
    ),
    "inception": (
        {"type": "inception", "c1": 4, "c2a": 3, "c2b": 6, "c3a": 2, "c3b": 5, "c4": 7},
        [{"type": "parallel", "branches": [
            [conv(4, 1), RELU],
            [conv(3, 1), RELU, conv(6, 3, padding=1), RELU],
            [conv(2, 1), RELU, conv(5, 5, padding=2), RELU],
            [{"type": "max_pool2d", "kernel_size": 3, "stride": 1, "padding": 1},
             conv(7, 1), RELU],
        ]}],
        (8, 9, 9),
    ),
    "simple_residual": (
        {"type": "simple_residual"},
        [{"type": "residual", "body": [conv(8, 3, padding=1), RELU, conv(8, 3, padding=1)]}],
        (8, 10, 10),
    ),
    "resnet_basic_identity": (
        {"type": "resnet_basic", "out_channels": 8},
        [{"type": "residual", "body": POST, "shortcut": "identity"}],
        (8, 10, 10),
    ),
    "resnet_basic_conv1x1": (
        {"type": "resnet_basic", "out_channels": 16, "stride": 2},
        [{"type": "residual", "shortcut": "conv1x1", "body": [
            conv(16, 3, stride=2, padding=1), BN, RELU, conv(16, 3, padding=1), BN]}],
        (8, 11, 11),
    ),
    "resnet_basic_pad": (
        {"type": "resnet_basic", "out_channels": 16, "stride": 2, "shortcut": "pad"},
        [{"type": "residual", "shortcut": "pad", "body": [
            conv(16, 3, stride=2, padding=1), BN, RELU, conv(16, 3, padding=1), BN]}],
        (8, 10, 10),
    ),
    "resnet_basic_none": (
        {"type": "resnet_basic", "out_channels": 12, "shortcut": "none"},
        [{"type": "residual", "shortcut": "none", "body": [
            conv(12, 3, padding=1), BN, RELU, conv(12, 3, padding=1), BN]}],
        (8, 10, 10),
    ),
    "bottleneck": (
        {"type": "bottleneck", "out_channels": 16, "stride": 2},
        [{"type": "residual", "shortcut": "conv1x1", "body": [
            conv(4, 1), BN, RELU, conv(4, 3, stride=2, padding=1), BN, RELU, conv(16, 1), BN]}],
        (8, 10, 10),
    ),
    "variant_original": (
        {"type": "residual_variant", "variant": "original"},
        [{"type": "residual", "body": POST}],
        (8, 10, 10),
    ),
    "variant_constant_scaling": (
        {"type": "residual_variant", "variant": "constant_scaling"},
        [{"type": "residual", "body": POST, "scale": 0.5}],
        (8, 10, 10),
    ),
    "variant_conv_shortcut": (
        {"type": "residual_variant", "variant": "conv_shortcut"},
        [{"type": "residual", "body": POST, "shortcut": "conv1x1"}],
        (8, 10, 10),
    ),
    "variant_bn_after_addition": (
        {"type": "residual_variant", "variant": "bn_after_addition"},
        [{"type": "parallel", "merge": "add", "branches": [POST[:4], []]}, BN, RELU],
        (8, 10, 10),
    ),
    "variant_relu_before_add": (
        {"type": "residual_variant", "variant": "relu_before_add"},
        [{"type": "residual", "body": [*POST, RELU], "post_activation": "none"}],
        (8, 10, 10),
    ),
    "variant_relu_only_preact": (
        {"type": "residual_variant", "variant": "relu_only_preact"},
        [{"type": "residual", "post_activation": "none", "body": [
            RELU, conv(8, 3, padding=1), BN, RELU, conv(8, 3, padding=1), BN]}],
        (8, 10, 10),
    ),
    "variant_full_preact": (
        {"type": "residual_variant"},
        [{"type": "residual", "post_activation": "none", "body": [
            BN, RELU, conv(8, 3, padding=1), BN, RELU, conv(8, 3, padding=1)]}],
        (8, 10, 10),
    ),
    "variant_full_preact_projection": (
        {"type": "residual_variant", "out_channels": 12, "stride": 2},
        [{"type": "residual", "post_activation": "none", "shortcut": "conv1x1", "body": [
            BN, RELU, conv(12, 3, stride=2, padding=1), BN, RELU, conv(12, 3, padding=1)]}],
        (8, 10, 10),
    ),
    # a dense layer is the identity and BN → ReLU → conv side by side, concatenated
    "dense_block": (
        {"type": "dense_block", "num_layers": 3, "growth_rate": 5},
        [{"type": "group", "repeat": 3, "blocks": [{"type": "parallel", "branches": [
            [], [BN, RELU, conv(5, 3, padding=1)]]}]}],
        (6, 8, 8),
    ),
    "transition": (
        {"type": "transition"},
        [BN, RELU, conv(4, 1), {"type": "avg_pool2d", "kernel_size": 2, "stride": 2}],
        (9, 8, 8),
    ),
    "nin_block": (
        {"type": "nin_block", "out_channels": "classes", "kernel_size": 5, "stride": 2,
         "padding": 2},
        [conv("classes", 5, stride=2, padding=2), RELU, conv("classes", 1), RELU,
         conv("classes", 1), RELU],
        (3, 16, 16),
    ),
    "vgg_block": (
        {"type": "vgg_block", "num_convs": 2, "out_channels": 12},
        [conv(12, 3, padding=1), RELU, conv(12, 3, padding=1), RELU,
         {"type": "max_pool2d", "kernel_size": 2, "stride": 2}],
        (3, 16, 16),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_block_equals_assembled(case):
    block, assembled, input_shape = CASES[case]
    torch.manual_seed(0)
    predefined, reference = build([block], input_shape), build(assembled, input_shape)

    ours = list(predefined.parameters())
    theirs = list(reference.parameters())
    assert [p.shape for p in ours] == [p.shape for p in theirs]
    assert sum(p.numel() for p in ours) == sum(p.numel() for p in theirs)

    with torch.no_grad():
        for src, dst in zip(ours, theirs):
            src.normal_(0, 0.5)  # random batch-norm weights too, so a swapped order shows
            dst.copy_(src)
        predefined.eval()
        reference.eval()
        x = torch.randn(3, *input_shape)
        expected = reference(x)
        assert predefined(x).shape == expected.shape
        torch.testing.assert_close(predefined(x), expected)
