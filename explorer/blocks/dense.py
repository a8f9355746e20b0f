"""DenseNet blocks (d2l's ``DenseBlock`` and ``transition_block``).

- ``dense_block``: each layer BN → ReLU → conv 3×3 adds ``growth_rate`` channels, its output
  concatenated to its input.
- ``transition``: BN → ReLU → 1×1 conv → 2×2 average pool, shrinking channels and size.

Submodule names follow torchvision's ``densenet.py`` (``layer1`` … with ``bn``, ``relu``,
``conv``; a transition's ``pool``).
"""

from __future__ import annotations

from explorer.blocks.layers import spatial_channels
from explorer.core import expand
from explorer.core.limits import MAX_CHANNELS, MAX_DENSE_LAYERS
from explorer.core.registry import Param, register_block


@register_block(
    "dense_block",
    category="dense",
    short="dense",
    describe=lambda p: f"{p['num_layers']} × {p['growth_rate']} ch",
    params=[
        Param("num_layers", "int", 4, minimum=1, maximum=MAX_DENSE_LAYERS, help="number of BN → ReLU → conv layers"),
        Param("growth_rate", "int", 32, minimum=1, maximum=MAX_CHANNELS, help="channels each layer adds"),
    ],
)
def dense_block(ctx, in_shape, *, num_layers, growth_rate):
    """DenseNet's dense block: each layer's output is concatenated to its input.

    A layer is BN → ReLU → conv 3×3 (padding 1) with ``growth_rate`` channels, so the block
    gives in + num_layers · growth_rate channels with the same height and width.
    """
    from explorer.blocks.modules.dense import DenseBlock

    channels = spatial_channels("dense_block", in_shape)
    return DenseBlock(channels, num_layers, growth_rate)


@register_block(
    "transition",
    category="dense",
    short="transition",
    describe=lambda p: f"{p['out_channels']} ch" if p["out_channels"] is not None else "",
    params=[
        Param("out_channels", "int", None, minimum=1, maximum=MAX_CHANNELS,
              help="channels that come out (default: half of those that come in)"),
    ],
)
def transition(ctx, in_shape, *, out_channels):
    """DenseNet's transition layer: BN → ReLU → 1×1 conv → 2×2 average pool, stride 2.

    It sets the channels (half of the input's, rounded down and at least 1, by default) and
    halves the height and width.
    """
    from explorer.blocks.modules.dense import Transition

    channels = spatial_channels("transition", in_shape)
    if out_channels is None:
        out_channels = max(1, channels // 2)
    return Transition(channels, out_channels)


# --------------------------------------------------------------------------- opened up


@expand.expander("dense_block")
def expand_dense_block(in_shape, *, num_layers, growth_rate) -> dict:
    """A dense block as a repeated group: each time, ``parallel`` concatenates the input
    (an empty branch) with BN → ReLU → conv 3×3 of it."""
    one = {"type": "parallel", "merge": "concat", "branches": [
        [], [expand.layer("batch_norm2d"), expand.layer("relu"),
             expand.conv(growth_rate, 3, padding=1)],
    ]}
    return {**expand.group("dense_block", [one]), "repeat": num_layers}


@expand.expander("transition")
def expand_transition(in_shape, *, out_channels) -> dict:
    """A transition as a group: BN → ReLU → 1×1 conv → average pool 2."""
    channels = out_channels if out_channels is not None else max(1, in_shape[0] // 2)
    return expand.group("transition", [expand.layer("batch_norm2d"), expand.layer("relu"),
                                       expand.conv(channels), expand.layer("avg_pool2d",
                                                                           kernel_size=2)])
