"""Shared by the export tests: a network using every block type, and code loading."""

from __future__ import annotations

import types

import torch

from explorer.core.spec import ArchitectureSpec

VARIANTS = (
    "original", "constant_scaling", "conv_shortcut", "dropout_shortcut", "exclusive_gating",
    "shortcut_only_gating", "relu_before_add", "relu_only_preact", "full_preact",
    "shortcut_scaling", "bn_after_addition",
)


def conv(out: int, k: int = 3, **extra) -> dict:
    return {"type": "conv2d", "out_channels": out, "kernel_size": k, **extra}


def every_block_spec() -> ArchitectureSpec:
    """One small network with all 27 block types, every residual variant and shortcut kind,
    nested and repeated containers, and a group whose name is a Python keyword."""
    variants = [{"type": "residual_variant", "variant": v} for v in VARIANTS]
    variants[4]["out_channels"] = 24  # exclusive gating that changes the shape
    variants[3]["out_channels"] = 24  # dropout shortcut with a projection
    variants[1]["scale"] = 0.25
    variants[9]["scale"] = 0.75
    blocks = [
        conv(8, 3, padding=1, bias=False),
        {"type": "batch_norm2d", "eps": 1e-3, "momentum": 0.2},
        {"type": "leaky_relu", "negative_slope": 0.2},
        {"type": "gelu"}, {"type": "tanh"}, {"type": "sigmoid"}, {"type": "relu"},
        conv(8, 3, padding=2, dilation=2),
        {"type": "max_pool2d", "kernel_size": 3, "stride": 1, "padding": 1},
        {"type": "vgg_block", "num_convs": 2, "out_channels": 8},
        {"type": "inception_a", "c1": 4, "c2a": 4, "c2b": 4, "c3a": 4, "c3b": 4, "c4": 4},
        {"type": "inception_a"},
        {"type": "inception", "c1": 4, "c2a": 4, "c2b": 6, "c3a": 2, "c3b": 4, "c4": 2},
        {"type": "simple_residual"},
        {"type": "resnet_basic", "out_channels": 16},
        {"type": "resnet_basic", "out_channels": 16, "shortcut": "none"},
        {"type": "resnet_basic", "out_channels": 16, "stride": 2, "shortcut": "pad"},
        {"type": "bottleneck", "out_channels": 16, "bottleneck_channels": 4},
        {"type": "bottleneck", "out_channels": 24, "stride": 2},
        *variants,
        {"type": "nin_block", "out_channels": 16, "kernel_size": 3, "padding": 1},
        {"type": "dense_block", "num_layers": 2, "growth_rate": 4},
        {"type": "transition"},
        {"type": "transition", "out_channels": 16},
        {"type": "parallel", "branches": [[conv(4, 1)], [],
                                          [{"type": "max_pool2d", "kernel_size": 3,
                                            "stride": 1, "padding": 1}, conv(4, 1)]]},
        {"type": "parallel", "merge": "add", "branches": [[conv(24, 3, padding=1)], []]},
        {"type": "parallel", "merge": "multiply",
         "branches": [[conv(24, 1), {"type": "sigmoid"}], [], [{"type": "scale", "factor": -1}]]},
        {"type": "parallel", "merge": "highway",
         "branches": [[conv(24, 3, padding=1)], [], [conv(24, 1), {"type": "sigmoid"}]]},
        {"type": "scale", "factor": 0.75},
        {"type": "residual", "body": [conv(24, 3, padding=1), {"type": "relu"},
                                      conv(24, 3, padding=1)]},
        {"type": "residual", "shortcut": "conv1x1", "scale": 0.5, "post_activation": "none",
         "body": [conv(32, 3, stride=2, padding=1)]},
        {"type": "residual", "shortcut": "pad", "body": [conv(40, 3, padding=1)]},
        {"type": "residual", "shortcut": "none", "body": [conv(40, 1)]},
        {"type": "group", "name": "stage", "repeat": 3,
         "blocks": [conv(40, 3, padding=1), {"type": "batch_norm2d"}, {"type": "relu"}]},
        {"type": "group", "name": "class", "blocks": [
            {"type": "group", "blocks": [{"type": "avg_pool2d", "kernel_size": 2}]},
            {"type": "residual", "body": [{"type": "group", "repeat": 2,
                                           "blocks": [conv(40, 1)]}]},
        ]},
        {"type": "dropout", "p": 0.3},
        {"type": "global_avg_pool"}, {"type": "flatten"},
        {"type": "linear", "out_features": 32}, {"type": "relu"},
        {"type": "linear", "out_features": "classes", "bias": False},
    ]
    return ArchitectureSpec.from_dict({"name": "every-block", "input_shape": [3, 128, 128],
                                       "num_classes": 5, "blocks": blocks})


def load_code(code: str, name: str = "exported") -> types.ModuleType:
    """Run generated source as a module."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 (our own output)
    return module


def randomise(model: torch.nn.Module, seed: int = 0) -> None:
    """Random weights and batch-norm statistics, so that a swapped layer changes outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.2)
