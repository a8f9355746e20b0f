"""Blocks of the classic networks (d2l's ``nin_block`` and ``vgg_block``)."""

from __future__ import annotations

from explorer.blocks.layers import CHANNELS, conv_text, spatial_channels
from explorer.core.expand import conv, expander, group, layer
from explorer.core.limits import MAX_CHANNELS, MAX_KERNEL, MAX_NUM_CONVS, MAX_PADDING, MAX_STRIDE
from explorer.core.registry import Param, register_block


@register_block(
    "nin_block",
    category="classic",
    short="nin",
    describe=conv_text,
    params=[
        CHANNELS,
        Param("kernel_size", "size", minimum=1, maximum=MAX_KERNEL, help="height and width of the first conv"),
        Param("stride", "size", 1, minimum=1, maximum=MAX_STRIDE, help="stride of the first conv"),
        Param("padding", "size", 0, minimum=0, maximum=MAX_PADDING, help="zeros added on each side (first conv)"),
    ],
)
def nin_block(ctx, in_shape, *, out_channels, kernel_size, stride, padding):
    """Network-in-Network block: a k×k conv then two 1×1 convs, each followed by ReLU.

    The 1×1 convolutions act as a small fully connected layer applied at every pixel. With
    out_channels "classes" the block ends NiN: one map per class, then global average pool.
    """
    from explorer.blocks.modules.classic import NiNBlock

    channels = spatial_channels("nin_block", in_shape)
    return NiNBlock(channels, out_channels, kernel_size, stride, padding)


@register_block(
    "vgg_block",
    category="classic",
    short="vgg",
    describe=lambda p: f"{p['num_convs']} convs, {p['out_channels']} ch",
    params=[
        Param("num_convs", "int", minimum=1, maximum=MAX_NUM_CONVS, help="number of conv 3×3 → ReLU pairs"),
        Param("out_channels", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels of every convolution"),
    ],
)
def vgg_block(ctx, in_shape, *, num_convs, out_channels):
    """VGG block: num_convs × (conv 3×3 padding 1 → ReLU), then 2×2 max pool, stride 2.

    The convolutions keep the height and width; the pooling halves them.
    """
    from explorer.blocks.modules.classic import VGGBlock

    channels = spatial_channels("vgg_block", in_shape)
    return VGGBlock(channels, num_convs, out_channels)


# --------------------------------------------------------------------------- opened up


@expander("nin_block")
def expand_nin_block(in_shape, *, out_channels, kernel_size, stride, padding) -> dict:
    """A NiN block as a group: conv k×k → ReLU → 1×1 conv → ReLU → 1×1 conv → ReLU."""
    relu = layer("relu")
    return group("nin_block", [conv(out_channels, kernel_size, stride, padding), relu,
                               conv(out_channels), relu, conv(out_channels), relu])


@expander("vgg_block")
def expand_vgg_block(in_shape, *, num_convs, out_channels) -> dict:
    """A VGG block as a group: num_convs × (conv 3×3 p1 → ReLU), then max-pool 2."""
    pairs = [[conv(out_channels, 3, padding=1), layer("relu")] for _ in range(num_convs)]
    return group("vgg_block", [b for pair in pairs for b in pair]
                 + [layer("max_pool2d", kernel_size=2)])
