"""Composite blocks opened up: same parameters, same outputs, for every type and variant."""

from __future__ import annotations

import pytest
import torch

from explorer.blocks.residual import VARIANTS
from explorer.core.builder import build_model, build_partial
from explorer.core.edit import block_at, iter_blocks
from explorer.core.expand import ExpandError, can_expand, expand_at, expand_block, expandable_types
from explorer.core.presets import preset_spec
from explorer.core.registry import list_blocks
from explorer.core.spec import ArchitectureSpec, BlockSpec

PRIMITIVE_CATEGORIES = ("layer", "activation", "container")

# (block, input shape): every composite type, every residual variant, shape-changing forms
CASES = [
    ({"type": "inception_a"}, (6, 8, 8)),
    ({"type": "inception_a", "c1": 3, "c2a": 2, "c2b": 5, "c3a": 4, "c3b": 2, "c4": 1}, (5, 7, 7)),
    ({"type": "inception", "c1": 4, "c2a": 3, "c2b": 6, "c3a": 2, "c3b": 4, "c4": 2}, (5, 8, 8)),
    ({"type": "simple_residual"}, (4, 6, 6)),
    ({"type": "resnet_basic", "out_channels": 4}, (4, 6, 6)),
    ({"type": "resnet_basic", "out_channels": 8, "stride": 2}, (4, 7, 7)),
    ({"type": "resnet_basic", "out_channels": 8, "stride": 2, "shortcut": "pad"}, (4, 8, 8)),
    ({"type": "resnet_basic", "out_channels": 4, "shortcut": "none"}, (3, 6, 6)),
    ({"type": "resnet_basic", "out_channels": 6, "stride": 3}, (4, 4, 4)),  # ⌈4/3⌉: stride 2
    ({"type": "bottleneck", "out_channels": 8}, (8, 6, 6)),
    ({"type": "bottleneck", "out_channels": 12, "stride": 2, "bottleneck_channels": 2}, (4, 7, 7)),
    *[({"type": "residual_variant", "variant": v}, (4, 6, 6)) for v in VARIANTS],
    *[({"type": "residual_variant", "variant": v, "out_channels": 6, "stride": 2}, (4, 7, 7))
      for v in VARIANTS],
    *[({"type": "residual_variant", "variant": v, "out_channels": 6, "stride": 3}, (4, 4, 4))
      for v in ("shortcut_scaling", "dropout_shortcut", "exclusive_gating",
                "shortcut_only_gating")],  # the shortcut's stride is 2 (⌈4/3⌉ = ⌈4/2⌉)
    ({"type": "residual_variant", "variant": "constant_scaling", "scale": 0.25}, (4, 6, 6)),
    ({"type": "residual_variant", "variant": "shortcut_scaling", "scale": 0.75}, (4, 6, 6)),
    ({"type": "residual_variant", "variant": "dropout_shortcut", "p": 0.3}, (4, 6, 6)),
    ({"type": "dense_block", "num_layers": 3, "growth_rate": 4}, (5, 6, 6)),
    ({"type": "transition"}, (7, 6, 6)),
    ({"type": "transition", "out_channels": 5}, (8, 6, 6)),
    ({"type": "nin_block", "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1},
     (3, 9, 9)),
    ({"type": "nin_block", "out_channels": "classes", "kernel_size": 3}, (3, 6, 6)),
    ({"type": "vgg_block", "num_convs": 3, "out_channels": 5}, (3, 8, 8)),
]


def _network(block: dict | BlockSpec, shape: tuple) -> ArchitectureSpec:
    return ArchitectureSpec(name="one", input_shape=shape, num_classes=7, blocks=(
        BlockSpec.from_dict(block.to_dict() if isinstance(block, BlockSpec) else block),))


def _same_weights(source: torch.nn.Module, target: torch.nn.Module) -> None:
    """Copy ``source``'s parameters and buffers into ``target`` in registration order."""
    values, names = list(source.state_dict().values()), list(target.state_dict())
    assert len(values) == len(names)
    state = {}
    for name, value in zip(names, values):
        assert target.state_dict()[name].shape == value.shape, name
        state[name] = value
    target.load_state_dict(state)


def _randomise(model: torch.nn.Module) -> None:
    """Random weights and batch-norm statistics, so that no term hides behind a zero or one."""
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=generator)
                tensor.copy_(values + 0.5 if "running_var" in name else values - 0.5)


def test_every_composite_block_type_can_be_opened_up():
    composite = {b.name for b in list_blocks() if b.category not in PRIMITIVE_CATEGORIES}
    assert composite == set(expandable_types())
    assert composite <= {BlockSpec.from_dict(block).type for block, _ in CASES}


@pytest.mark.parametrize(("block", "shape"), CASES,
                         ids=[f"{b['type']}-{b.get('variant', '')}-{i}"
                              for i, (b, _) in enumerate(CASES)])
def test_expansion_keeps_parameters_and_outputs(block, shape):
    original = build_model(_network(block, shape), device="cpu")
    expanded_block = expand_block(BlockSpec.from_dict(block), shape)
    assert not can_expand(expanded_block)  # containers and layers only, one level up
    for _path, inner in _walk(expanded_block):
        assert not can_expand(inner), inner.type
    expanded = build_model(_network(expanded_block, shape), device="cpu")

    count = sum(p.numel() for p in original.parameters())
    assert sum(p.numel() for p in expanded.parameters()) == count > 0
    _randomise(original)
    _same_weights(original, expanded)
    x = torch.randn(3, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(expanded.eval()(x), original.eval()(x), rtol=1e-5, atol=1e-5)
        for model in (original, expanded):
            model.train()
        torch.manual_seed(5)  # dropout draws the same mask in both
        want = original(x)
        torch.manual_seed(5)
        torch.testing.assert_close(expanded(x), want, rtol=1e-5, atol=1e-5)


def _walk(block: BlockSpec):
    spec = ArchitectureSpec(name="w", input_shape=(1, 1, 1), num_classes=1, blocks=(block,))
    return [(path, inner) for path, inner in iter_blocks(spec) if path != (0,)]


@pytest.mark.parametrize("name", ["course-inception", "course-resnet", "googlenet",
                                  "densenet", "resnet20"])
def test_expanding_every_block_of_a_preset_keeps_its_counts(name):
    spec = preset_spec(name)
    before = build_partial(spec, device="meta")
    expanded, opened = spec, 0
    for path, block in reversed(list(iter_blocks(spec))):  # inner paths stay valid
        if can_expand(block):
            expanded = expand_at(expanded, path, before.in_shapes[path])
            opened += 1
    assert opened and not any(can_expand(b) for _, b in iter_blocks(expanded))
    after = build_partial(expanded, device="meta")
    assert after.error is None
    assert after.out_shape == before.out_shape
    params = sum(p.numel() for p in before.network.parameters())
    assert sum(p.numel() for p in after.network.parameters()) == params


def test_expand_at_replaces_only_that_block():
    spec = preset_spec("course-inception")
    shapes = build_partial(spec, device="meta").in_shapes
    assert shapes[(3,)] == (10, 12, 12)
    expanded = expand_at(spec, (3,), shapes[(3,)])
    assert block_at(expanded, (3,)).type == "parallel"
    assert block_at(expanded, (7,)).type == "inception_a"  # the other one is left
    assert expanded.blocks[:3] == spec.blocks[:3]
    assert [len(b) for b in block_at(expanded, (3,)).params["branches"]] == [1, 2, 3, 2]


def test_a_primitive_or_an_invalid_block_is_refused_with_the_reason():
    with pytest.raises(ExpandError, match="conv2d is not a composite block.*inception_a"):
        expand_block(BlockSpec("conv2d", {"out_channels": 3}), (1, 4, 4))
    with pytest.raises(ExpandError, match="cannot expand vgg_block.*num_convs"):
        expand_block(BlockSpec("vgg_block", {"num_convs": 0, "out_channels": 3}), (1, 4, 4))
