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

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from explorer.blocks.containers import shortcut_for
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

POST_ACTIVATION_VARIANTS = VARIANTS[:8]
"""Variants with a ReLU after the addition (the original's; Fig. 4 (c)–(e) drop it)."""


def _out_shape(in_shape: tuple, out_channels: int, stride: int) -> tuple[int, int, int]:
    """Shape after a 3×3 convolution with padding 1 and ``stride`` (the residual path's)."""
    return (out_channels, conv_out(in_shape[1], 3, stride, 1), conv_out(in_shape[2], 3, stride, 1))


def _shortcut(kind: str, in_shape: tuple, out_shape: tuple) -> nn.Module | None:
    """A residual block's shortcut; ``auto``: identity, or a 1×1 conv if the shape changes.

    Built by :func:`~explorer.blocks.containers.shortcut_for` (the 1×1 conv takes the block's
    stride, as in d2l), which raises a hinted :class:`ShapeError` when an identity cannot be
    added.
    """
    if kind == "auto":
        kind = "identity" if tuple(in_shape) == tuple(out_shape) else "conv1x1"
    return shortcut_for(kind, in_shape, out_shape, "residual path")


SHORTCUT = Param(
    "shortcut", "choice", "auto", choices=SHORTCUTS,
    help="auto: identity, or a 1×1 conv when the shape changes; pad: zero-padded identity "
         "(He et al. option A); none: a plain block without addition",
)
STRIDE = Param("stride", "int", 1, minimum=1, maximum=MAX_STRIDE, help="stride of the first 3×3 convolution")


# --------------------------------------------------------------------------- course block


class SimpleResidual(nn.Module):
    """``y = relu(conv1(x)); y = conv2(y); out = relu(x + y)``, channels unchanged."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.shortcut = nn.Identity()
        self.relu_out = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.relu1(self.conv1(x)))
        return self.relu_out(y + self.shortcut(x))


@register_block("simple_residual", category="residual", short="residual")
def simple_residual(ctx, in_shape):
    """The course's residual block: relu(x + conv(relu(conv(x)))), channels kept.

    Both convolutions are 3×3 with padding 1 and as many channels as come in, so the input
    and the output have the same shape and the addition needs no projection.
    """
    return SimpleResidual(spatial_channels("simple_residual", in_shape))


# --------------------------------------------------------------------------- ResNet blocks


class BasicBlock(nn.Module):
    """conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, shortcut: nn.Module | None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride,
                               padding=1)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut
        self.relu_out = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.relu_out(out)


@register_block(
    "resnet_basic",
    category="residual",
    short="residual",
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
    channels = spatial_channels("resnet_basic", in_shape)
    out_shape = _out_shape(in_shape, out_channels, stride)
    return BasicBlock(channels, out_channels, stride,
                      _shortcut(shortcut, in_shape, out_shape))


class Bottleneck(nn.Module):
    """1×1 → BN → ReLU → 3×3 → BN → ReLU → 1×1 → BN, plus the shortcut, then ReLU."""

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        stride: int,
        shortcut: nn.Module | None,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, mid_channels, kernel_size=1)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, kernel_size=3, stride=stride,
                               padding=1)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(mid_channels, out_channels, kernel_size=1)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut
        self.relu_out = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.relu_out(out)


@register_block(
    "bottleneck",
    category="residual",
    short="bottleneck",
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
    channels = spatial_channels("bottleneck", in_shape)
    mid = bottleneck_channels if bottleneck_channels is not None else max(1, out_channels // 4)
    out_shape = _out_shape(in_shape, out_channels, stride)
    return Bottleneck(channels, mid, out_channels, stride,
                      _shortcut(shortcut, in_shape, out_shape))


# --------------------------------------------------------------------------- He et al. 2016


def variant_body(variant: str, in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """The residual path F(x) of a variant: where BN and ReLU sit around the two 3×3 convs."""
    conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1)
    conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
    if variant == "full_preact":  # BN → ReLU → conv → BN → ReLU → conv
        layers = OrderedDict(bn1=nn.BatchNorm2d(in_channels), relu1=nn.ReLU(), conv1=conv1,
                             bn2=nn.BatchNorm2d(out_channels), relu2=nn.ReLU(), conv2=conv2)
    elif variant == "relu_only_preact":  # ReLU → conv → BN → ReLU → conv → BN
        layers = OrderedDict(relu1=nn.ReLU(), conv1=conv1, bn1=nn.BatchNorm2d(out_channels),
                             relu2=nn.ReLU(), conv2=conv2, bn2=nn.BatchNorm2d(out_channels))
    else:  # the original conv → BN → ReLU → conv → BN (→ ReLU for relu_before_add)
        layers = OrderedDict(conv1=conv1, bn1=nn.BatchNorm2d(out_channels), relu1=nn.ReLU(),
                             conv2=conv2)
        if variant != "bn_after_addition":  # Fig. 4 (b) moves this BN after the addition
            layers["bn2"] = nn.BatchNorm2d(out_channels)
        if variant == "relu_before_add":
            layers["relu2"] = nn.ReLU()
    return nn.Sequential(layers)


class ShortcutDropout(nn.Dropout):
    """Dropout that scales what it keeps by 1 − p in expectation, as He et al. describe.

    PyTorch's ``Dropout`` divides what it keeps by 1 − p during training, so the expectation
    stays x; on a shortcut the paper's dropout "statistically imposes a scale of λ with an
    expectation of 0.5" (p = 0.5). Here training keeps each element (unscaled) with
    probability 1 − p, and evaluation multiplies by 1 − p, the expectation.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, self.training) * (1 - self.p)


class ResidualVariant(nn.Module):
    """One of He et al.'s 2016 residual variants: how F(x) and the shortcut are combined.

    ``body`` is F(x); ``shortcut`` carries x (identity, 1×1 conv, or dropout); ``gate`` is
    ``sigmoid(1×1 conv(x))`` for the gating variants, else ``None``; ``bn_out`` the batch
    norm after the addition (``bn_after_addition``), else ``None``.
    """

    def __init__(
        self,
        variant: str,
        body: nn.Module,
        shortcut: nn.Module,
        gate: nn.Module | None,
        scale: float,
        bn_out: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.variant = variant
        self.scale = scale
        self.body = body
        self.shortcut = shortcut
        self.gate = gate
        self.bn_out = bn_out
        self.relu_out = nn.ReLU() if variant in POST_ACTIVATION_VARIANTS else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fx, sx = self.body(x), self.shortcut(x)
        if self.variant == "constant_scaling":
            out = self.scale * (sx + fx)
        elif self.variant == "shortcut_scaling":
            out = fx + self.scale * sx
        elif self.variant == "exclusive_gating":
            g = self.gate(x)
            out = (1 - g) * sx + g * fx
        elif self.variant == "shortcut_only_gating":
            out = fx + (1 - self.gate(x)) * sx
        else:
            out = fx + sx
        if self.bn_out is not None:
            out = self.bn_out(out)
        return self.relu_out(out) if self.relu_out is not None else out

    @property
    def detail(self) -> str:
        """The variant and the setting it uses, for summary rows: ``constant_scaling, scale
        0.5``, ``dropout_shortcut, p 0.5``, ``full_preact``."""
        if self.variant in ("constant_scaling", "shortcut_scaling"):
            return f"{self.variant}, scale {self.scale:g}"
        if self.variant == "dropout_shortcut":
            dropout = next(m for m in self.shortcut.modules() if isinstance(m, ShortcutDropout))
            return f"{self.variant}, p {dropout.p:g}"
        return self.variant

    def extra_repr(self) -> str:
        return self.detail


@register_block(
    "residual_variant",
    category="residual",
    short="residual",
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
    channels = spatial_channels("residual_variant", in_shape)
    if out_channels is None:
        out_channels = channels
    out_shape = _out_shape(in_shape, out_channels, stride)
    kind = "conv1x1" if variant == "conv_shortcut" else "auto"
    shortcut = _shortcut(kind, in_shape, out_shape)
    if variant == "dropout_shortcut":
        shortcut = (
            ShortcutDropout(p)
            if isinstance(shortcut, nn.Identity)
            else nn.Sequential(OrderedDict(conv=shortcut, dropout=ShortcutDropout(p)))
        )
    gate = None
    if variant in ("exclusive_gating", "shortcut_only_gating"):
        gate = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(channels, out_channels, kernel_size=1, stride=stride),
            sigmoid=nn.Sigmoid(),
        ))
    bn_out = nn.BatchNorm2d(out_channels) if variant == "bn_after_addition" else None
    return ResidualVariant(variant, variant_body(variant, channels, out_channels, stride),
                           shortcut, gate, scale, bn_out)


# --------------------------------------------------------------------------- opened up


def _resolved_shortcut(kind: str, in_shape: tuple, out_shape: tuple) -> str:
    """``auto`` made explicit: identity when the shape is kept, else a 1×1 conv."""
    if kind == "auto":
        return "identity" if tuple(in_shape) == tuple(out_shape) else "conv1x1"
    return kind


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
    kind = _resolved_shortcut(shortcut, in_shape, _out_shape(in_shape, out_channels, stride))
    return {"type": "residual", "body": body, "shortcut": kind}


@expander("bottleneck")
def expand_bottleneck(in_shape, *, out_channels, stride, bottleneck_channels, shortcut) -> dict:
    """The bottleneck as a ``residual`` container: 1×1 → 3×3 → 1×1 convs with BN."""
    mid = bottleneck_channels if bottleneck_channels is not None else max(1, out_channels // 4)
    bn, relu = layer("batch_norm2d"), layer("relu")
    body = [conv(mid), bn, relu, conv(mid, 3, stride, 1), bn, relu, conv(out_channels), bn]
    kind = _resolved_shortcut(shortcut, in_shape, _out_shape(in_shape, out_channels, stride))
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
    kind = _resolved_shortcut("conv1x1" if variant == "conv_shortcut" else "auto", in_shape,
                              out_shape)
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
