"""One smoke test over every registered block: build, forward, shapes, JSON round-trip."""

from __future__ import annotations

import pytest
import torch

from explorer.core import ArchitectureSpec, BlockSpec, build_partial, list_blocks
from explorer.core.receptive import receptive_fields

INPUT_SHAPE = (8, 16, 16)

# A minimal valid parameter dict per registered block. A new block must be added here.
EXAMPLES: dict[str, dict] = {
    # layers
    "conv2d": {"out_channels": 4, "kernel_size": 3},
    "max_pool2d": {},
    "avg_pool2d": {"kernel_size": 3, "stride": 1, "padding": 1},
    "global_avg_pool": {},
    "batch_norm2d": {},
    "dropout": {},
    "flatten": {},
    "linear": {"out_features": "classes"},
    # activations
    "relu": {},
    "leaky_relu": {},
    "sigmoid": {},
    "tanh": {},
    "gelu": {},
    # containers
    "parallel": {"branches": [[], [{"type": "conv2d", "out_channels": 4, "kernel_size": 1}]]},
    "residual": {"body": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3,
                           "padding": 1}]},
    "group": {"blocks": [{"type": "relu"}]},
    # families
    "inception_a": {},
    "inception": {"c1": 4, "c2a": 4, "c2b": 6, "c3a": 2, "c3b": 3, "c4": 3},
    "simple_residual": {},
    "resnet_basic": {"out_channels": 8},
    "bottleneck": {"out_channels": 8},
    "residual_variant": {},
    "dense_block": {},
    "transition": {},
    "nin_block": {"out_channels": "classes", "kernel_size": 3},
    "vgg_block": {"num_convs": 1, "out_channels": 4},
    "scale": {"factor": -0.5},
}

# Blocks that need other blocks before them to receive a shape they accept.
BEFORE: dict[str, list[dict]] = {"linear": [{"type": "flatten"}]}

BLOCK_NAMES = [b.name for b in list_blocks()]


def make_spec(blocks: list[dict], input_shape: tuple = INPUT_SHAPE) -> ArchitectureSpec:
    return ArchitectureSpec(
        name="smoke",
        input_shape=input_shape,
        num_classes=10,
        blocks=[BlockSpec.from_dict(b) for b in blocks],
    )


def test_examples_name_registered_blocks_only():
    assert sorted(set(EXAMPLES) - set(BLOCK_NAMES)) == []


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_block_builds_and_runs(name):
    assert name in EXAMPLES, f"add an example for the new block {name!r} to EXAMPLES"
    spec = make_spec([*BEFORE.get(name, []), {"type": name, **EXAMPLES[name]}])

    assert ArchitectureSpec.from_json(spec.to_json()).to_dict() == spec.to_dict()

    result = build_partial(spec)
    assert result.error is None, str(result.error)
    network = result.network
    with torch.no_grad():
        out = network(torch.randn(2, *INPUT_SHAPE))
    assert tuple(out.shape[1:]) == result.out_shape

    meta = build_partial(spec, device="meta")
    assert meta.error is None and meta.out_shape == result.out_shape

    block = network[-1]
    assert block.block_type == name
    fields = receptive_fields(network, INPUT_SHAPE)  # its forward traces, every step known
    assert fields.reason is None and fields.get(block) is not None


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_block_is_documented(name):
    definition = next(b for b in list_blocks() if b.name == name)
    assert definition.doc and definition.category and definition.short
