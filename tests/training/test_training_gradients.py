"""The gradient lab: per-layer gradients and activations, and the plain/residual spreads."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from training_helpers import CLASSES, SIZE

from explorer.core.builder import build_model
from explorer.core.spec import ArchitectureSpec
from explorer.data import BatchLoader
from explorer.training.gradients import (
    GradientError,
    explain_spreads,
    format_profile,
    gradient_profile,
)


def conv_bn_relu(channels: int = 8) -> list[dict]:
    return [{"type": "conv2d", "out_channels": channels, "kernel_size": 3, "padding": 1},
            {"type": "batch_norm2d"}, {"type": "relu"}]


HEAD = [{"type": "global_avg_pool"}, {"type": "flatten"},
        {"type": "linear", "out_features": "classes"}]


def plain(layers: int) -> ArchitectureSpec:
    """``layers`` conv → BN → ReLU layers, no shortcut."""
    return ArchitectureSpec.from_dict({
        "name": "plain", "input_shape": [1, SIZE, SIZE], "num_classes": CLASSES,
        "blocks": [{"type": "group", "name": "body", "repeat": layers,
                    "blocks": conv_bn_relu()}, *HEAD]})


def residual(blocks: int) -> ArchitectureSpec:
    """A stem and ``blocks`` basic residual blocks (two convolutions each)."""
    return ArchitectureSpec.from_dict({
        "name": "residual", "input_shape": [1, SIZE, SIZE], "num_classes": CLASSES,
        "blocks": [*conv_bn_relu(),
                   {"type": "group", "name": "body", "repeat": blocks,
                    "blocks": [{"type": "resnet_basic", "out_channels": 8}]}, *HEAD]})


def test_a_deep_plain_net_spreads_its_gradients_far_wider_than_a_residual_one(dataset):
    deep_plain = gradient_profile(plain(32), dataset, batch=16, seed=0)
    deep_residual = gradient_profile(residual(16), dataset, batch=16, seed=0)
    assert len(deep_plain.convolutions) == 32 and len(deep_residual.convolutions) == 33
    # measured: plain about 80, residual about 4 (the plain56 / resnet56: 1,300 / 4)
    assert deep_plain.spread > 40 and deep_residual.spread < 15
    assert deep_plain.spread > 8 * deep_residual.spread
    # the plain net's gradients grow toward the input
    assert deep_plain.first_last_ratio > 20
    text = explain_spreads(deep_plain, deep_residual)
    assert text.count("\n") == 1
    assert f"plain {deep_plain.spread:,.0f}×" in text and "residual" in text


def test_rows_are_every_parameterised_layer_with_its_own_gradient_norm(dataset):
    spec = plain(3)
    profile = gradient_profile(spec, dataset, batch=8, seed=4)
    assert [(r.name, r.type, r.depth) for r in profile.layers] == [
        ("body.conv1", "Conv2d", 1), ("body.bn1", "BatchNorm2d", 2),
        ("body.conv2", "Conv2d", 3), ("body.bn2", "BatchNorm2d", 4),
        ("body.conv3", "Conv2d", 5), ("body.bn3", "BatchNorm2d", 6), ("fc1", "Linear", 7)]
    assert profile.layers[0].params == 8 * 9 + 8
    # the same batch and weights, differentiated here by hand
    with torch.random.fork_rng():
        torch.manual_seed(4)
        model = build_model(spec).train()
        x, y = next(iter(BatchLoader(dataset.train, input_shape=spec.input_shape,
                                     mean=dataset.mean, std=dataset.std, batch_size=8,
                                     shuffle=True, seed=4)))
        F.cross_entropy(model(x), y).backward()
    for row in (profile.layers[2], profile.layers[6]):  # a conv, the linear layer (its bias
        layer = dict(model.named_modules())[row.name]  # gradient is not ~0 after a BN)
        want = math.sqrt(float(layer.weight.grad.pow(2).sum() + layer.bias.grad.pow(2).sum()))
        assert row.grad_norm == pytest.approx(want, rel=1e-5)
    # batch norm in training mode hands on zero mean, unit deviation
    bn = profile.layers[3]
    assert abs(bn.activation_mean) < 1e-5 and bn.activation_std == pytest.approx(1, abs=0.01)
    assert profile.batch == 8 and profile.dataset == "synthetic"


def test_a_profile_repeats_and_leaves_the_global_rng_alone(dataset):
    before = torch.get_rng_state()
    one = gradient_profile(plain(2), dataset, batch=8, seed=1)
    assert torch.equal(torch.get_rng_state(), before)
    assert gradient_profile(plain(2), dataset, batch=8, seed=1) == one
    assert gradient_profile(plain(2), dataset, batch=8, seed=2) != one


def test_given_weights_are_used(dataset):
    spec = plain(2)
    state = build_model(spec).state_dict()
    state["fc1.weight"].zero_()  # no score depends on anything before the last layer
    profile = gradient_profile(spec, dataset, batch=8, state=state, epoch=3, label="zeroed")
    assert [r.grad_norm for r in profile.layers[:-1]] == [0.0] * 4
    assert profile.layers[-1].grad_norm > 0 and profile.spread is None
    assert "zeroed after epoch 3" in format_profile(profile)


def test_data_that_do_not_fit_are_refused(dataset):
    narrow = ArchitectureSpec.from_dict({**plain(1).to_dict(), "num_classes": 2})
    with pytest.raises(GradientError, match="4 classes but 'plain' gives 2 scores"):
        gradient_profile(narrow, dataset)
    with pytest.raises(GradientError, match="batch = 0"):
        gradient_profile(plain(1), dataset, batch=0)
