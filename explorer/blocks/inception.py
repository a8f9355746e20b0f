"""Inception blocks: parallel branches of different kernel sizes, concatenated on channels.

- ``inception_a``: the course's Inception-A (four branches, no activation inside, 88 channels
  with the defaults).
- ``inception``: GoogLeNet's block ``(c1, (c2a, c2b), (c3a, c3b), c4)`` as in d2l, each
  convolution followed by a ReLU.

Submodule names follow torchvision's ``googlenet.py``: ``branch1x1``, ``branch3x3``,
``branch5x5``, ``branch3x3dbl``, ``branch_pool``.
"""

from __future__ import annotations

from explorer.blocks.layers import spatial_channels
from explorer.core.expand import conv, expander, layer
from explorer.core.limits import MAX_CHANNELS
from explorer.core.registry import Param, register_block


def _branches_text(p: dict) -> str:
    """The channels of the four branches, which add up to the block's output."""
    return f"{p['c1']}+{p['c2b']}+{p['c3b']}+{p['c4']} ch"


@register_block(
    "inception_a",
    category="inception",
    short="inception",
    describe=_branches_text,
    params=[
        Param("c1", "int", 16, minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 1×1 branch"),
        Param("c2a", "int", 16, minimum=1, maximum=MAX_CHANNELS,
              help="1×1 reduction before the 5×5 conv"),
        Param("c2b", "int", 24, minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 5×5 branch"),
        Param("c3a", "int", 16, minimum=1, maximum=MAX_CHANNELS,
              help="1×1 reduction before the two 3×3 convs"),
        Param("c3b", "int", 24, minimum=1, maximum=MAX_CHANNELS,
              help="channels of the double 3×3 branch"),
        Param("c4", "int", 24, minimum=1, maximum=MAX_CHANNELS,
              help="channels of the pooling branch's 1×1 conv"),
    ],
)
def inception_a(ctx, in_shape, *, c1, c2a, c2b, c3a, c3b, c4):
    """The course's Inception-A block: four branches concatenated (88 channels by default).

    Branches: 1×1 c1 | 1×1 c2a → 5×5 c2b | 1×1 c3a → 3×3 c3b → 3×3 c3b | 3×3 average-pool →
    1×1 c4. Height and width are kept; there is no activation inside, as in the course.
    """
    from explorer.blocks.modules.inception import InceptionA

    channels = spatial_channels("inception_a", in_shape)
    return InceptionA(channels, c1, c2a, c2b, c3a, c3b, c4)


@register_block(
    "inception",
    category="inception",
    short="inception",
    describe=_branches_text,
    params=[
        Param("c1", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 1×1 branch"),
        Param("c2a", "int", minimum=1, maximum=MAX_CHANNELS,
              help="1×1 reduction before the 3×3 conv"),
        Param("c2b", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 3×3 branch"),
        Param("c3a", "int", minimum=1, maximum=MAX_CHANNELS,
              help="1×1 reduction before the 5×5 conv"),
        Param("c3b", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels of the 5×5 branch"),
        Param("c4", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels of the pooling branch's 1×1 conv"),
    ],
)
def inception(ctx, in_shape, *, c1, c2a, c2b, c3a, c3b, c4):
    """GoogLeNet's Inception block (c1, (c2a, c2b), (c3a, c3b), c4), as in d2l.

    Branches: 1×1 c1 | 1×1 c2a → 3×3 c2b | 1×1 c3a → 5×5 c3b | 3×3 max-pool → 1×1 c4, each
    convolution followed by a ReLU; c1 + c2b + c3b + c4 channels come out, same height and
    width.
    """
    from explorer.blocks.modules.inception import Inception

    channels = spatial_channels("inception", in_shape)
    return Inception(channels, c1, c2a, c2b, c3a, c3b, c4)


# --------------------------------------------------------------------------- opened up


@expander("inception_a")
def expand_inception_a(in_shape, *, c1, c2a, c2b, c3a, c3b, c4) -> dict:
    """Inception-A as a ``parallel`` block of its four branches, concatenated."""
    return {"type": "parallel", "merge": "concat", "branches": [
        [conv(c1)],
        [conv(c2a), conv(c2b, 5, padding=2)],
        [conv(c3a), conv(c3b, 3, padding=1), conv(c3b, 3, padding=1)],
        [layer("avg_pool2d", kernel_size=3, stride=1, padding=1), conv(c4)],
    ]}


@expander("inception")
def expand_inception(in_shape, *, c1, c2a, c2b, c3a, c3b, c4) -> dict:
    """GoogLeNet's block as a ``parallel`` block: four branches, a ReLU after each conv."""
    relu = layer("relu")
    return {"type": "parallel", "merge": "concat", "branches": [
        [conv(c1), relu],
        [conv(c2a), relu, conv(c2b, 3, padding=1), relu],
        [conv(c3a), relu, conv(c3b, 5, padding=2), relu],
        [layer("max_pool2d", kernel_size=3, stride=1, padding=1), conv(c4), relu],
    ]}
