"""The summary's hooked forward pass gives torchinfo's numbers (benchmarks/nesting_cost.py
measures that its cost grows linearly with nesting, where torchinfo's doubles per level)."""

from __future__ import annotations

import pytest

from explorer.core.builder import build_partial, fast_meta_shapes
from explorer.core.inspector import inspect_spec
from explorer.core.presets import preset_spec

torchinfo = pytest.importorskip("torchinfo")


@pytest.mark.parametrize("name", ["lenet", "course-inception", "resnet20", "densenet"])
def test_rows_mult_adds_and_activations_match_torchinfo(name):
    spec = preset_spec(name)
    ours = inspect_spec(spec, depth=3)
    network = build_partial(spec, device="meta").network
    with fast_meta_shapes(network):
        stats = torchinfo.summary(network, input_size=(1, *spec.input_shape), device="meta",
                                  depth=3, verbose=0, mode="eval")
    infos = [i for i in stats.summary_list if i.depth >= 1 and i.executed]
    leaves = [i for i in infos if i.is_leaf_layer]
    assert ours.mult_adds == sum(int(i.macs) for i in leaves)
    assert ours.activation_bytes == sum(int(i.output_bytes) for i in leaves)
    assert [(r.depth, r.output_shape) for r in ours.layers] == [
        (i.depth, tuple(i.output_size[1:])) for i in infos if i.depth <= 3]
