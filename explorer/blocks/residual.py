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
from torch import nn

from explorer.blocks.containers import shortcut_for
from explorer.blocks.layers import spatial_channels
from explorer.core.registry import Param, register_block
from explorer.core.shapes import conv_out

SHORTCUTS = ("auto", "identity", "conv1x1", "pad", "none")

VARIANTS = (
    "original",
    "constant_scaling",
    "conv_shortcut",
    "dropout_shortcut",
    "exclusive_gating",
    "shortcut_only_gating",
    "relu_before_add",
    "relu_only_preact",
    "full_preact",
)

POST_ACTIVATION_VARIANTS = VARIANTS[:6]
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
STRIDE = Param("stride", "int", 1, minimum=1, help="stride of the first 3×3 convolution")


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

    def paths(self) -> list[list[nn.Module]]:
        """Residual path and shortcut, for receptive-field analysis."""
        return [[self.conv1, self.relu1, self.conv2], [self.shortcut]]

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

    def paths(self) -> list[list[nn.Module]]:
        """Residual path and shortcut (if any), for receptive-field analysis."""
        body = [self.conv1, self.bn1, self.relu1, self.conv2, self.bn2]
        return [body] + ([[self.shortcut]] if self.shortcut is not None else [])

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
        Param("out_channels", "int", minimum=1, help="channels that come out"),
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

    def paths(self) -> list[list[nn.Module]]:
        """Residual path and shortcut (if any), for receptive-field analysis."""
        body = [self.conv1, self.bn1, self.relu1, self.conv2, self.bn2, self.relu2,
                self.conv3, self.bn3]
        return [body] + ([[self.shortcut]] if self.shortcut is not None else [])

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
        Param("out_channels", "int", minimum=1, help="channels that come out"),
        Param("stride", "int", 1, minimum=1, help="stride of the 3×3 convolution"),
        Param("bottleneck_channels", "int", None, minimum=1,
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
                             conv2=conv2, bn2=nn.BatchNorm2d(out_channels))
        if variant == "relu_before_add":
            layers["relu2"] = nn.ReLU()
    return nn.Sequential(layers)


class ResidualVariant(nn.Module):
    """One of He et al.'s 2016 residual variants: how F(x) and the shortcut are combined.

    ``body`` is F(x); ``shortcut`` carries x (identity, 1×1 conv, or dropout); ``gate`` is
    ``sigmoid(1×1 conv(x))`` for the gating variants, else ``None``.
    """

    def __init__(
        self,
        variant: str,
        body: nn.Module,
        shortcut: nn.Module,
        gate: nn.Module | None,
        scale: float,
    ) -> None:
        super().__init__()
        self.variant = variant
        self.scale = scale
        self.body = body
        self.shortcut = shortcut
        self.gate = gate
        self.relu_out = nn.ReLU() if variant in POST_ACTIVATION_VARIANTS else None

    def paths(self) -> list[list[nn.Module]]:
        """Residual path, shortcut and gate (if any), for receptive-field analysis."""
        return [[self.body], [self.shortcut]] + ([[self.gate]] if self.gate is not None else [])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fx, sx = self.body(x), self.shortcut(x)
        if self.variant == "constant_scaling":
            out = self.scale * (sx + fx)
        elif self.variant == "exclusive_gating":
            g = self.gate(x)
            out = (1 - g) * sx + g * fx
        elif self.variant == "shortcut_only_gating":
            out = fx + (1 - self.gate(x)) * sx
        else:
            out = fx + sx
        return self.relu_out(out) if self.relu_out is not None else out

    def extra_repr(self) -> str:
        scale = f", scale={self.scale:g}" if self.variant == "constant_scaling" else ""
        return f"variant={self.variant}{scale}"


@register_block(
    "residual_variant",
    category="residual",
    short="residual",
    params=[
        Param("variant", "choice", "full_preact", choices=VARIANTS,
              help="where BN/ReLU sit and how the shortcut is treated (He et al. 2016)"),
        Param("out_channels", "int", None, minimum=1,
              help="channels that come out (default: as many as come in)"),
        STRIDE,
        Param("scale", "float", 0.5, minimum=0,
              help="constant_scaling: multiplies both the shortcut and F(x)"),
        Param("p", "float", 0.5, minimum=0, maximum=1, maximum_exclusive=True,
              help="dropout_shortcut: probability of dropping a shortcut element"),
    ],
)
def residual_variant(ctx, in_shape, *, variant, out_channels, stride, scale, p):
    """A residual block variant from "Identity Mappings in Deep Residual Networks" (2016).

    ``original``: conv-BN-ReLU-conv-BN, add, ReLU (Fig. 2a). ``constant_scaling``:
    relu(scale·x + scale·F(x)). ``conv_shortcut``: a 1×1 conv on the shortcut.
    ``dropout_shortcut``: dropout(p) on the shortcut. ``exclusive_gating``:
    relu((1 − g)·x + g·F(x)) with g = sigmoid(1×1 conv(x)). ``shortcut_only_gating``:
    relu(F(x) + (1 − g)·x). ``relu_before_add``: conv-BN-ReLU-conv-BN-ReLU, add (Fig. 4c).
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
            nn.Dropout(p)
            if isinstance(shortcut, nn.Identity)
            else nn.Sequential(OrderedDict(conv=shortcut, dropout=nn.Dropout(p)))
        )
    gate = None
    if variant in ("exclusive_gating", "shortcut_only_gating"):
        gate = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(channels, out_channels, kernel_size=1, stride=stride),
            sigmoid=nn.Sigmoid(),
        ))
    return ResidualVariant(variant, variant_body(variant, channels, out_channels, stride),
                           shortcut, gate, scale)
