"""Residual blocks: a residual path F(x) added to a shortcut that carries x.

- ``simple_residual``: the course block, two 3×3 convolutions, no batch norm.
- ``resnet_basic``: ResNet-18's block (d2l's ``Residual``), optionally strided.
- ``bottleneck``: ResNet-50's 1×1 → 3×3 → 1×1 block.
- ``residual_variant``: the shortcut and activation variants of He et al. 2016, "Identity
  Mappings in Deep Residual Networks" (Fig. 2 and 4).

Convolutions keep PyTorch's default ``bias=True``, as d2l's ``Residual`` does, so parameter
counts equal d2l's. Submodule names follow torchvision's ``resnet.py`` (``conv1``, ``bn1``,
``shortcut``); the ReLU after the addition is ``relu_out``.
"""

from __future__ import annotations

from explorer.blocks.layers import spatial_channels
from explorer.core.expand import conv, expander, group, layer
from explorer.core.limits import MAX_CHANNELS, MAX_STRIDE
from explorer.core.registry import Param, register_block
from explorer.core.shapes import conv_out, shortcut_stride

SHORTCUTS = ("auto", "identity", "conv1x1", "pad", "none")

VARIANTS = (
    "original",
    "constant_scaling",
    "shortcut_scaling",
    "conv_shortcut",
    "dropout_shortcut",
    "exclusive_gating",
    "shortcut_only_gating",
    "bn_after_addition",
    "relu_before_add",
    "relu_only_preact",
    "full_preact",
)


def _out_shape(in_shape: tuple, out_channels: int, stride: int) -> tuple[int, int, int]:
    """Shape after a 3×3 convolution with padding 1 and ``stride`` (the residual path's)."""
    return (out_channels, conv_out(in_shape[1], 3, stride, 1), conv_out(in_shape[2], 3, stride, 1))


def _residual_text(p: dict) -> str:
    """Variant (and the setting it uses), channels, stride, a shortcut other than the usual."""
    bits = []
    variant = p.get("variant")
    if variant is not None:
        bits.append(str(variant))
        if variant in ("constant_scaling", "shortcut_scaling"):
            bits.append(f"scale {_number(p['scale'])}")
        elif variant == "dropout_shortcut":
            bits.append(f"p {_number(p['p'])}")
    if p.get("out_channels") is not None:
        bits.append(f"{p['out_channels']} ch")
    if p.get("stride") not in (None, 1):
        bits.append(f"s{p['stride']}")
    if p.get("shortcut") not in (None, "auto", "identity"):
        bits.append(str(p["shortcut"]))
    return ", ".join(bits)


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


SHORTCUT = Param(
    "shortcut", "choice", "auto", choices=SHORTCUTS,
    help="auto: identity, or a 1×1 conv when the shape changes; pad: zero-padded identity "
         "(He et al. option A); none: a plain block without addition",
)
STRIDE = Param("stride", "int", 1, minimum=1, maximum=MAX_STRIDE, help="stride of the first 3×3 convolution")


# --------------------------------------------------------------------------- course block


@register_block("simple_residual", category="residual", short="residual")
def simple_residual(ctx, in_shape):
    """The course's residual block: relu(x + conv(relu(conv(x)))), channels kept.

    Both convolutions are 3×3 with padding 1 and as many channels as come in, so the input
    and the output have the same shape and the addition needs no projection.
    """
    from explorer.blocks.modules.residual import SimpleResidual

    return SimpleResidual(spatial_channels("simple_residual", in_shape))


# --------------------------------------------------------------------------- ResNet blocks


@register_block(
    "resnet_basic",
    category="residual",
    short="residual",
    describe=_residual_text,
    params=[
        Param("out_channels", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels that come out"),
        STRIDE,
        SHORTCUT,
    ],
)
def resnet_basic(ctx, in_shape, *, out_channels, stride, shortcut):
    """ResNet's basic block: conv3×3 → BN → ReLU → conv3×3 → BN, add the shortcut, ReLU.

    With ``stride`` 2 the height and width are halved (rounded up). The ``auto`` shortcut is
    the identity when the shape is kept and a 1×1 convolution (with bias, no batch norm, as
    in d2l) when it changes.
    """
    from explorer.blocks.modules.residual import BasicBlock, residual_shortcut

    channels = spatial_channels("resnet_basic", in_shape)
    out_shape = _out_shape(in_shape, out_channels, stride)
    return BasicBlock(channels, out_channels, stride,
                      residual_shortcut(shortcut, in_shape, out_shape))


@register_block(
    "bottleneck",
    category="residual",
    short="bottleneck",
    describe=_residual_text,
    params=[
        Param("out_channels", "int", minimum=1, maximum=MAX_CHANNELS,
              help="channels that come out"),
        Param("stride", "int", 1, minimum=1, maximum=MAX_STRIDE,
              help="stride of the 3×3 convolution"),
        Param("bottleneck_channels", "int", None, minimum=1, maximum=MAX_CHANNELS,
              help="channels inside the block (default: out_channels // 4)"),
        SHORTCUT,
    ],
)
def bottleneck(ctx, in_shape, *, out_channels, stride, bottleneck_channels, shortcut):
    """ResNet's bottleneck block: 1×1 → 3×3 → 1×1 convolutions with BN, add the shortcut, ReLU.

    The 1×1 convolutions reduce the channels to ``bottleneck_channels`` (out_channels // 4,
    at least 1, by default) and expand them back; the 3×3 one carries the stride.
    """
    from explorer.blocks.modules.residual import Bottleneck, residual_shortcut

    channels = spatial_channels("bottleneck", in_shape)
    mid = bottleneck_channels if bottleneck_channels is not None else max(1, out_channels // 4)
    out_shape = _out_shape(in_shape, out_channels, stride)
    return Bottleneck(channels, mid, out_channels, stride,
                      residual_shortcut(shortcut, in_shape, out_shape))


# --------------------------------------------------------------------------- He et al. 2016


@register_block(
    "residual_variant",
    category="residual",
    short="residual",
    describe=_residual_text,
    params=[
        Param("variant", "choice", "full_preact", choices=VARIANTS,
              help="where BN/ReLU sit and how the shortcut is treated (He et al. 2016)"),
        Param("out_channels", "int", None, minimum=1, maximum=MAX_CHANNELS,
              help="channels that come out (default: as many as come in)"),
        STRIDE,
        Param("scale", "float", 0.5, minimum=0,
              help="constant_scaling: multiplies both the shortcut and F(x); "
                   "shortcut_scaling: multiplies the shortcut only"),
        Param("p", "float", 0.5, minimum=0, maximum=1, maximum_exclusive=True,
              help="dropout_shortcut: probability of dropping a shortcut element (what is "
                   "kept is not rescaled: the shortcut is scaled by 1 − p in expectation)"),
    ],
)
def residual_variant(ctx, in_shape, *, variant, out_channels, stride, scale, p):
    """A residual block variant from "Identity Mappings in Deep Residual Networks" (2016).

    ``original``: conv-BN-ReLU-conv-BN, add, ReLU (Fig. 2a). ``constant_scaling``:
    relu(scale·x + scale·F(x)); ``shortcut_scaling``: relu(scale·x + F(x)) (Fig. 2b, the
    shortcut alone scaled). ``conv_shortcut``: a 1×1 conv on the shortcut.
    ``dropout_shortcut``: dropout(p) on the shortcut, keeping elements unscaled, so the
    shortcut carries (1 − p)·x in expectation (Fig. 2f). ``exclusive_gating``:
    relu((1 − g)·x + g·F(x)) with g = sigmoid(1×1 conv(x)). ``shortcut_only_gating``:
    relu(F(x) + (1 − g)·x). ``bn_after_addition``: conv-BN-ReLU-conv, add, BN, ReLU
    (Fig. 4b). ``relu_before_add``: conv-BN-ReLU-conv-BN-ReLU, add (Fig. 4c).
    ``relu_only_preact``: ReLU-conv-BN-ReLU-conv-BN, add (Fig. 4d). ``full_preact``:
    BN-ReLU-conv-BN-ReLU-conv, add, no ReLU after (Fig. 4e).

    When ``out_channels`` or ``stride`` change the shape, the variants whose shortcut is the
    identity project x with a 1×1 convolution (stride ``stride``) instead, before any dropout
    or gating; the gate's 1×1 conv then also maps the input to the output's shape.
    """
    from explorer.blocks.modules.residual import residual_variant_module

    channels = spatial_channels("residual_variant", in_shape)
    if out_channels is None:
        out_channels = channels
    out_shape = _out_shape(in_shape, out_channels, stride)
    return residual_variant_module(variant, in_shape, out_shape, stride, scale, p)


# --------------------------------------------------------------------------- opened up


def resolve_shortcut(kind: str, in_shape: tuple, out_shape: tuple) -> str:
    """``auto`` made explicit: identity when the shape is kept, else a 1×1 conv."""
    if kind == "auto":
        return "identity" if tuple(in_shape) == tuple(out_shape) else "conv1x1"
    return kind


def variant_shortcut(variant: str) -> str:
    """The shortcut a ``residual_variant`` asks for: a 1×1 conv for ``conv_shortcut``, else
    ``auto``."""
    return "conv1x1" if variant == "conv_shortcut" else "auto"


@expander("simple_residual")
def expand_simple_residual(in_shape) -> dict:
    """The course's block as a ``residual`` container: conv → ReLU → conv, identity, ReLU."""
    channels = in_shape[0]
    return {"type": "residual", "body": [conv(channels, 3, padding=1), layer("relu"),
                                         conv(channels, 3, padding=1)]}


@expander("resnet_basic")
def expand_resnet_basic(in_shape, *, out_channels, stride, shortcut) -> dict:
    """The basic block as a ``residual`` container with its shortcut made explicit."""
    bn = layer("batch_norm2d")
    body = [conv(out_channels, 3, stride, 1), bn, layer("relu"), conv(out_channels, 3, 1, 1), bn]
    kind = resolve_shortcut(shortcut, in_shape, _out_shape(in_shape, out_channels, stride))
    return {"type": "residual", "body": body, "shortcut": kind}


@expander("bottleneck")
def expand_bottleneck(in_shape, *, out_channels, stride, bottleneck_channels, shortcut) -> dict:
    """The bottleneck as a ``residual`` container: 1×1 → 3×3 → 1×1 convs with BN."""
    mid = bottleneck_channels if bottleneck_channels is not None else max(1, out_channels // 4)
    bn, relu = layer("batch_norm2d"), layer("relu")
    body = [conv(mid), bn, relu, conv(mid, 3, stride, 1), bn, relu, conv(out_channels), bn]
    kind = resolve_shortcut(shortcut, in_shape, _out_shape(in_shape, out_channels, stride))
    return {"type": "residual", "body": body, "shortcut": kind}


def _variant_body(variant: str, out_channels: int, stride: int) -> list[dict]:
    """:func:`variant_body` as blocks."""
    conv1, conv2 = conv(out_channels, 3, stride, 1), conv(out_channels, 3, 1, 1)
    bn, relu = layer("batch_norm2d"), layer("relu")
    if variant == "full_preact":
        return [bn, relu, conv1, bn, relu, conv2]
    if variant == "relu_only_preact":
        return [relu, conv1, bn, relu, conv2, bn]
    body = [conv1, bn, relu, conv2]
    if variant != "bn_after_addition":
        body.append(bn)
    if variant == "relu_before_add":
        body.append(relu)
    return body


@expander("residual_variant")
def expand_residual_variant(in_shape, *, variant, out_channels, stride, scale, p) -> dict:
    """A He et al. 2016 variant in containers: a ``residual`` one where the shortcut is added
    as it is; a ``parallel`` merge (add with a ``scale`` or ``dropout``, ``multiply`` or
    ``highway`` for the gates) inside a group followed by the ReLU where it is not."""
    out_channels = out_channels if out_channels is not None else in_shape[0]
    out_shape = _out_shape(in_shape, out_channels, stride)
    kind = resolve_shortcut(variant_shortcut(variant), in_shape, out_shape)
    from explorer.blocks.modules.residual import POST_ACTIVATION_VARIANTS

    body = _variant_body(variant, out_channels, stride)
    post = "relu" if variant in POST_ACTIVATION_VARIANTS else "none"
    if variant not in ("shortcut_scaling", "dropout_shortcut", "exclusive_gating",
                       "shortcut_only_gating", "bn_after_addition"):
        residual = {"type": "residual", "body": body, "shortcut": kind, "post_activation": post}
        if variant == "constant_scaling":
            residual["scale"] = scale
        return residual
    if variant == "bn_after_addition":
        return group(variant, [{"type": "residual", "body": body, "shortcut": kind,
                                "post_activation": "none"},
                               layer("batch_norm2d"), layer("relu")])
    shortcut = [] if kind == "identity" else \
        [conv(out_channels, 1, shortcut_stride(in_shape, out_shape))]
    gate = [conv(out_channels, 1, stride), layer("sigmoid")]
    if variant == "shortcut_scaling":
        merged = _parallel("add", [body, [*shortcut, layer("scale", factor=scale)]])
    elif variant == "dropout_shortcut":  # kept unscaled in training, × (1 − p) in evaluation
        merged = _parallel("add", [body, [*shortcut, layer("dropout", p=p),
                                          layer("scale", factor=1 - p)]])
    elif variant == "exclusive_gating":  # g·F(x) + (1 − g)·x
        merged = _parallel("highway", [body, shortcut, gate])
    else:  # shortcut-only gating: F(x) + (1 − g)·x, with 1 − sigmoid(z) = sigmoid(−z)
        negated_gate = [gate[0], layer("scale", factor=-1.0), gate[1]]
        merged = _parallel("add", [body, [_parallel("multiply", [shortcut, negated_gate])]])
    return group(variant, [merged, layer("relu")])


def _parallel(merge: str, branches: list[list[dict]]) -> dict:
    return {"type": "parallel", "merge": merge, "branches": branches}
