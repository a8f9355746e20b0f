"""The shape inspector: rows, totals, cost, receptive field, and summaries that stop early."""

from __future__ import annotations

import torch
from torch import nn

from explorer.core import ArchitectureSpec, build_model
from explorer.core.inspector import inspect_module, inspect_spec
from explorer.core.summary import format_table

LENET_LIKE = [
    {"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2},
    {"type": "sigmoid"},
    {"type": "avg_pool2d", "kernel_size": 2, "stride": 2},
    {"type": "conv2d", "out_channels": 16, "kernel_size": 5},
    {"type": "sigmoid"},
    {"type": "avg_pool2d", "kernel_size": 2, "stride": 2},
    {"type": "flatten"},
    {"type": "linear", "out_features": "classes"},
]


def spec_of(blocks, shape=(1, 28, 28), classes=10):
    return ArchitectureSpec.from_dict(
        {"name": "t", "input_shape": list(shape), "num_classes": classes, "blocks": blocks}
    )


def test_one_row_per_block_with_shapes_params_and_cost():
    summary = inspect_spec(spec_of(LENET_LIKE), depth=1)
    assert summary.ok and not summary.warnings
    assert [r.output_shape for r in summary.layers] == [
        (6, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 10, 10), (16, 5, 5), (400,),
        (10,)]
    assert [r.block for r in summary.layers] == list(range(8))
    conv1 = summary.layers[0]
    assert conv1.params == 6 * 25 + 6
    assert conv1.mult_adds == (6 * 25 + 6) * 28 * 28  # weights and bias, per output position
    assert summary.layers[-1].params == 400 * 10 + 10
    real = build_model(spec_of(LENET_LIKE))
    assert summary.total_params == sum(p.numel() for p in real.parameters())
    assert summary.trainable_params == summary.total_params
    assert summary.mult_adds == sum(r.mult_adds for r in summary.layers)
    assert summary.output_shape == (10,)


def test_receptive_field_and_effective_stride():
    rows = inspect_spec(spec_of(LENET_LIKE), depth=1).layers
    assert [(r.receptive_field, r.effective_stride) for r in rows[:6]] == [
        (5, 1), (5, 1), (6, 2), (14, 2), (14, 2), (16, 4)]


def test_receptive_field_of_parallel_paths_is_the_widest():
    summary = inspect_spec(spec_of([
        {"type": "parallel", "branches": [
            [{"type": "conv2d", "out_channels": 2, "kernel_size": 1}],
            [{"type": "conv2d", "out_channels": 2, "kernel_size": 5, "padding": 2}],
        ]},
    ]), depth=1)
    assert summary.layers[0].receptive_field == 5


def test_hierarchical_rows_list_blocks_before_their_layers():
    summary = inspect_spec(spec_of([
        {"type": "residual", "body": [
            {"type": "conv2d", "out_channels": 1, "padding": 1}, {"type": "relu"}]},
    ]), depth=3)
    names = [r.name for r in summary.layers]
    assert names[0] == "residual1"
    assert "residual1.body.conv1" in names
    assert names.index("residual1.body") < names.index("residual1.body.conv1")
    assert all(r.block == 0 for r in summary.layers)
    depths = {r.name: r.depth for r in summary.layers}
    assert depths["residual1.body.conv1"] == 3


def test_shape_error_keeps_rows_up_to_the_failing_block():
    blocks = LENET_LIKE[:6] + [{"type": "conv2d", "out_channels": 8, "kernel_size": 7}]
    summary = inspect_spec(spec_of(blocks), depth=1)
    assert len(summary.layers) == 6
    err = summary.error
    assert err.block == 6 and err.kind == "shape"
    assert err.in_shape == (16, 5, 5)
    assert "kernel 7×7 is larger than the 5×5 input" in err.text()
    assert "lower kernel_size" in err.hint
    data = summary.to_json()
    assert data["error"]["block"] == 6
    assert data["error"]["input_shape"] == [16, 5, 5]
    table = format_table(summary)
    assert "Error at block 6" in table and "Hint:" in table


def test_invalid_block_is_a_spec_error_in_the_summary():
    summary = inspect_spec(spec_of([{"type": "relu"}, {"type": "conv2d", "out_channels": -1}]))
    assert summary.error.kind == "spec"
    assert summary.error.block == 1
    assert "out_channels = -1" in summary.error.text()
    assert len(summary.layers) == 1


def test_first_block_failing_gives_an_empty_table_not_an_exception():
    summary = inspect_spec(spec_of([{"type": "linear", "out_features": 3}]))
    assert summary.layers == [] and summary.error.block == 0
    assert summary.output_shape == (1, 28, 28)
    assert "Error at block 0" in format_table(summary)


def test_warns_when_the_network_does_not_end_in_class_scores():
    summary = inspect_spec(spec_of(LENET_LIKE[:3]))
    assert summary.ok
    assert "not 10 class scores" in summary.warnings[0]
    empty = inspect_spec(spec_of([]))
    assert empty.ok and empty.layers == [] and "no blocks" in empty.warnings[0]


class Tied(nn.Module):
    """The same linear layer applied twice: its weights must be counted once."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.shared = nn.Linear(16, 16)
        self.again = self.shared

    def forward(self, x):
        return self.again(torch.relu(self.shared(self.flatten(x))))


def test_shared_weights_are_counted_once():
    summary = inspect_module(Tied(), (1, 4, 4))
    assert summary.total_params == 16 * 16 + 16
    assert summary.output_shape == (16,)


def test_summary_does_not_touch_a_live_model():
    spec = spec_of(LENET_LIKE)
    model = build_model(spec)
    model.train()
    before = [p.clone() for p in model.parameters()]
    inspect_spec(spec)
    assert model.training
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_inspecting_a_live_module_leaves_it_working():
    model = Tied()
    x = torch.randn(2, 1, 4, 4)
    before = model(x)
    inspect_module(model, (1, 4, 4))
    assert all(not p.is_meta for p in model.parameters())
    assert torch.equal(model(x), before)


def test_frozen_parameters_are_counted_but_not_as_trainable():
    """A module whose first convolution is frozen (a user's file may do it): the total counts
    it, the trainable count does not, and each row keeps its own parameters."""
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    model[0].requires_grad_(False)
    summary = inspect_module(model, (1, 28, 28))
    frozen, head = 4 * 9 + 4, 4 * 26 * 26 * 10 + 10
    assert summary.total_params == frozen + head
    assert summary.trainable_params == head
    assert [r.params for r in summary.layers] == [frozen, 0, 0, head]
