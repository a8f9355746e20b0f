"""The live table against torchinfo's, on every preset (benchmarks/nesting_cost.py measures
that the summary's cost grows linearly with nesting, where torchinfo's doubles per level).

Shapes, rows and activation memory are torchinfo's exactly. Multiply-adds are counted from
the operations run (explorer.core.costs) where torchinfo applies rules per layer type; on
the presets, which are convolution stacks, the two agree for every convolution and linear
layer (weights once per output position, plus the bias), and differ in one place only:
torchinfo counts a batch norm's weight and bias once per image (2·C), where the app counts
normalisation, like every element-wise step, as no multiply-add.
"""

from __future__ import annotations

import pytest
from torch import nn

from explorer.core.builder import build_partial, fast_meta_shapes
from explorer.core.inspector import inspect_spec
from explorer.core.presets import preset_spec
from explorer.core.registry import PRESETS

torchinfo = pytest.importorskip("torchinfo")


def _torchinfo_rows(spec):
    network = build_partial(spec, device="meta").network
    with fast_meta_shapes(network):
        stats = torchinfo.summary(network, input_size=(1, *spec.input_shape), device="meta",
                                  depth=3, verbose=0, mode="eval")
    return [i for i in stats.summary_list if i.depth >= 1 and i.executed]


def _macs_without_batch_norm(info, leaves) -> int:
    """torchinfo's multiply-adds of the layers inside ``info``'s module, batch norms aside."""
    inside = set(map(id, info.module.modules()))
    return sum(int(leaf.macs) for leaf in leaves
               if id(leaf.module) in inside and not isinstance(leaf.module, nn.BatchNorm2d))


@pytest.mark.parametrize("name", PRESETS.names())
def test_rows_shapes_activations_and_mult_adds_match_torchinfo(name):
    spec = preset_spec(name)
    ours = inspect_spec(spec, depth=3)
    infos = _torchinfo_rows(spec)
    leaves = [i for i in infos if i.is_leaf_layer]
    assert ours.activation_bytes == sum(int(i.output_bytes) for i in leaves)
    shown = [i for i in infos if i.depth <= 3]
    assert [(r.depth, r.output_shape) for r in ours.layers] == [
        (i.depth, tuple(i.output_size[1:])) for i in shown]
    assert [r.mult_adds for r in ours.layers] == [
        _macs_without_batch_norm(i, leaves) for i in shown]
    norms = [i for i in leaves if isinstance(i.module, nn.BatchNorm2d)]
    assert all(int(i.macs) == 2 * i.module.num_features for i in norms)
    assert ours.mult_adds == sum(int(i.macs) for i in leaves) - sum(int(i.macs) for i in norms)
