"""Multiply-adds counted from the operations a network runs: functional calls included,
attributed to the module whose forward runs them, and torchvision's published figures met."""

from __future__ import annotations

import pytest
from functional_net import ATTENTION, CONV, FUNCTIONAL_TOTAL, MATMUL, PROJ, Wrapper
from test_inspector import LENET_LIKE, spec_of
from torch import nn

from explorer.core.inspector import inspect_module, inspect_spec, inspect_torchvision
from explorer.core.presets import torchvision_input_shape
from explorer.core.summary import format_table


def test_functional_operations_count_and_belong_to_the_module_running_them():
    summary = inspect_module(Wrapper(), (3, 4, 4), depth=3)
    rows = {row.name: row for row in summary.layers}
    assert summary.mult_adds == FUNCTIONAL_TOTAL == 18_048
    assert rows["block"].mult_adds == FUNCTIONAL_TOTAL  # the container includes its submodule
    assert rows["block.proj"].mult_adds == PROJ
    # run in block's own forward, outside any submodule: shown as block's own
    assert rows["block"].own_mult_adds == CONV + MATMUL + ATTENTION
    assert rows["block.proj"].own_mult_adds == 0  # a single layer has no "own" part
    table = format_table(summary)
    assert "18,048 per image" in table
    assert "* includes operations run directly" in table


def test_a_call_repeated_counts_each_time():
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4, bias=False)

        def forward(self, x):
            return self.fc(self.fc(x.flatten(1)))

    summary = inspect_module(Twice(), (1, 2, 2), depth=2)
    assert summary.mult_adds == 2 * 16
    assert [row.mult_adds for row in summary.layers] == [16, 16]


def test_convolution_stacks_keep_their_counts():
    # a convolution or linear layer: its weights once per output position, plus its bias,
    # as the app (and torchinfo) always counted
    rows = inspect_spec(spec_of(LENET_LIKE), depth=1).layers
    assert rows[0].mult_adds == (6 * 25 + 6) * 28 * 28
    assert rows[3].mult_adds == (16 * 6 * 25 + 16) * 10 * 10
    assert rows[-1].mult_adds == 400 * 10 + 10
    assert [row.mult_adds for row in rows if row.type != "conv2d" and row.type != "linear"] \
        == [0] * 5


# What a convolution stack runs that costs multiply-adds: its convolutions and linear layers
# (activations, pooling, dropout, flatten and channel concatenation cost none).
_STACK_LAYERS = {"Conv2d", "Linear", "ReLU", "Sigmoid", "MaxPool2d", "AvgPool2d",
                 "AdaptiveAvgPool2d", "Flatten", "Dropout"}


def _by_formula(spec) -> int | None:
    """Multiply-adds of ``spec`` counted as the app always counted a convolution stack: each
    convolution's and linear layer's weights and bias once per output position; ``None`` when
    ``spec`` runs anything else (batch norm, a residual addition…)."""
    import torch

    from explorer.core.builder import build_model

    model = build_model(spec, device="meta")
    leaves = [m for m in model.modules() if not list(m.children())]
    if {type(m).__name__ for m in leaves} - _STACK_LAYERS:
        return None
    total = []

    def count(module, _inputs, output) -> None:
        per_position = module.weight.numel() + (module.bias.numel() if module.bias is not None
                                                else 0)
        width = module.out_channels if isinstance(module, nn.Conv2d) else module.out_features
        total.append(per_position * (output.numel() // width))

    for m in leaves:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(count)
    with torch.no_grad():
        model(torch.empty(1, *spec.input_shape, device="meta"))
    return sum(total)


def test_the_presets_that_are_convolution_stacks_keep_their_totals():
    from explorer.core.presets import preset_spec
    from explorer.core.registry import list_presets

    stacks = {}
    for preset in list_presets():
        spec = preset_spec(preset.name)
        expected = _by_formula(spec)
        if expected is not None:
            stacks[preset.name] = (inspect_spec(spec, depth=1).mult_adds, expected)
    assert set(stacks) == {"lenet", "alexnet", "vgg11", "vgg11-narrow", "nin", "googlenet",
                           "course-inception"}
    assert {name: got for name, (got, _) in stacks.items()} == \
        {name: expected for name, (_, expected) in stacks.items()}


def _published():
    """``(name, weights)`` for every torchvision classification model with published figures,
    the weights being those at the input size the app inspects it with."""
    from torchvision import models

    out = []
    for arch in models.list_models(module=models):
        size = torchvision_input_shape(f"torchvision:{arch}")[1]
        weights = [w for w in models.get_model_weights(arch)
                   if w.transforms.keywords.get("crop_size", 224) == size
                   and "_ops" in w.meta]
        out.append(pytest.param(arch, weights[0] if weights else None, id=arch))
    return out


# Inception-v3's published count includes its auxiliary classifier, a training-only head the
# app leaves out (as torchvision's weights do for GoogLeNet): 768·5·5 → 128 → 768 → 1000.
AUX_PARAMS = {"inception_v3": (768 * 128 + 128 * 2) + (128 * 768 * 25 + 768 * 2)
              + (768 * 1000 + 1000)}


@pytest.mark.parametrize(("arch", "weights"), _published())
def test_torchvision_models_match_their_published_figures(arch, weights):
    """Parameters equal, multiply-adds within 1 % of ``meta["_ops"]`` (GMACs, rounded to 3
    decimals: ShuffleNet-V2 x0.5's 0.040 allows 0.0405), at the weights' input size."""
    assert weights is not None, f"{arch}: no published figures at its input size"
    summary = inspect_torchvision(f"torchvision:{arch}",
                                  num_classes=len(weights.meta["categories"]), depth=1)
    assert summary.ok, summary.error
    assert summary.total_params + AUX_PARAMS.get(arch, 0) == weights.meta["num_params"]
    published = weights.meta["_ops"] * 1e9
    assert abs(summary.mult_adds - published) <= max(0.01 * published, 0.0005e9)


def test_pytorch_formulas_load_without_triton():
    """PyTorch's counter looks for triton on import (slow, and left out of the bundle): the
    summary loads its formulas without it, silently, and triton stays importable."""
    import subprocess
    import sys

    code = ("import sys; import explorer.core.costs as c; "
            "print('triton' in sys.modules, len(c.flop_registry) > 10)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["False", "True"] and "triton" not in done.stderr
