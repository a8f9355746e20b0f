"""Residual blocks as modules: a residual path F(x) added to a shortcut that carries x."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from explorer.blocks.class_source import exported
from explorer.blocks.modules.containers import shortcut_for
from explorer.blocks.residual import resolve_shortcut, variant_shortcut


def residual_shortcut(kind: str, in_shape: tuple, out_shape: tuple) -> nn.Module | None:
    """A residual block's shortcut; ``auto``: identity, or a 1×1 conv if the shape changes.

    Built by :func:`~explorer.blocks.modules.containers.shortcut_for` (the 1×1 conv takes the block's
    stride, as in d2l), which raises a hinted :class:`ShapeError` when an identity cannot be
    added.
    """
    return shortcut_for(resolve_shortcut(kind, in_shape, out_shape), in_shape, out_shape,
                        "residual path")



@exported
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



@exported
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



@exported
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



@exported
class ShortcutDropout(nn.Dropout):
    """Dropout that scales what it keeps by 1 − p in expectation, as He et al. describe.

    PyTorch's ``Dropout`` divides what it keeps by 1 − p during training, so the expectation
    stays x; on a shortcut the paper's dropout "statistically imposes a scale of λ with an
    expectation of 0.5" (p = 0.5). Here training keeps each element (unscaled) with
    probability 1 − p, and evaluation multiplies by 1 − p, the expectation.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, self.training) * (1 - self.p)



@exported
class ResidualVariant(nn.Module):
    """One of He et al.'s 2016 residual variants: how F(x) and the shortcut are combined.

    ``body`` is F(x); ``shortcut`` carries x (identity, 1×1 conv, or dropout); ``gate`` is
    ``sigmoid(1×1 conv(x))`` for the gating variants, else ``None``; ``bn_out`` the batch
    norm after the addition (``bn_after_addition``), else ``None``.
    """

    POST_ACTIVATION = ("original", "constant_scaling", "shortcut_scaling", "conv_shortcut",
                       "dropout_shortcut", "exclusive_gating", "shortcut_only_gating",
                       "bn_after_addition")
    """Variants with a ReLU after the addition (the original's; Fig. 4 (c)–(e) drop it)."""

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
        self.relu_out = nn.ReLU() if variant in self.POST_ACTIVATION else None

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

    def extra_repr(self) -> str:
        return self.variant


POST_ACTIVATION_VARIANTS = ResidualVariant.POST_ACTIVATION


def residual_variant_module(variant: str, in_shape: tuple, out_shape: tuple, stride: int,
                            scale: float, p: float) -> ResidualVariant:
    """The module of a ``residual_variant`` block (its factory describes the variants)."""
    channels, out_channels = in_shape[0], out_shape[0]
    shortcut = residual_shortcut(variant_shortcut(variant), in_shape, out_shape)
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
