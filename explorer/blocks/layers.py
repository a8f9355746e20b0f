"""Single layers: convolution, pooling, normalisation, activations, dropout, flatten, linear.

Input channels and features are inferred from the shape that flows in; a user only says what
comes out.
"""

from __future__ import annotations

import torch
from torch import nn

from explorer.core.limits import (
    MAX_CHANNELS,
    MAX_DILATION,
    MAX_FEATURES,
    MAX_KERNEL,
    MAX_PADDING,
    MAX_SCALE,
    MAX_STRIDE,
)
from explorer.core.registry import Param, register_block
from explorer.core.shapes import ShapeError, fmt_shape, window_error

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu")


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by its block name (``relu``, ``sigmoid`` …)."""
    return {
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "gelu": nn.GELU,
    }[name]()


def spatial_channels(block: str, in_shape: tuple[int, ...]) -> int:
    """Channels of a C×H×W input; a :class:`ShapeError` with a hint for a flat one."""
    if len(in_shape) != 3:
        raise ShapeError(
            f"{block} expects a C×H×W input but receives {fmt_shape(in_shape)} features",
            "spatial blocks must come before flatten; move this block up or remove the flatten "
            "before it",
            in_shape,
        )
    return in_shape[0]


def kernel_params(kernel: int | None = 3, stride: int | None = 1, padding: int = 0) -> list[Param]:
    """The ``kernel_size``, ``stride`` and ``padding`` parameters shared by conv and pooling."""
    return [
        Param("kernel_size", "size", kernel, minimum=1, maximum=MAX_KERNEL, help="height and width of the window"),
        Param("stride", "size", stride, minimum=1, maximum=MAX_STRIDE,
              help="step between windows" + (" (default: the kernel size)" if stride is None
                                             else "")),
        Param("padding", "size", padding, minimum=0, maximum=MAX_PADDING, help="zeros added on each side"),
    ]


def _check_window(in_shape, kernel, stride, padding, dilation=1) -> None:
    error = window_error(in_shape, kernel, stride, padding, dilation)
    if error is not None:
        raise error


CHANNELS = Param("out_channels", "int", minimum=1, maximum=MAX_CHANNELS, classes=True,
                 help="channels that come out")


@register_block(
    "conv2d",
    category="layer",
    short="conv",
    params=[
        CHANNELS,
        *kernel_params(),
        Param("dilation", "size", 1, minimum=1, maximum=MAX_DILATION, help="spacing between kernel taps"),
        Param("bias", "bool", True, help="learn an additive bias per channel"),
    ],
)
def conv2d(ctx, in_shape, *, out_channels, kernel_size, stride, padding, dilation, bias):
    """2-D convolution."""
    channels = spatial_channels("conv2d", in_shape)
    _check_window(in_shape, kernel_size, stride, padding, dilation)
    return nn.Conv2d(channels, out_channels, kernel_size, stride, padding, dilation, bias=bias)


@register_block("max_pool2d", category="layer", short="pool",
                params=kernel_params(kernel=2, stride=None))
def max_pool2d(ctx, in_shape, *, kernel_size, stride, padding):
    """2-D max pooling (stride defaults to the kernel size)."""
    spatial_channels("max_pool2d", in_shape)
    _check_window(in_shape, kernel_size, kernel_size if stride is None else stride, padding)
    return nn.MaxPool2d(kernel_size, stride, padding)


@register_block("avg_pool2d", category="layer", short="pool",
                params=kernel_params(kernel=2, stride=None))
def avg_pool2d(ctx, in_shape, *, kernel_size, stride, padding):
    """2-D average pooling (stride defaults to the kernel size)."""
    spatial_channels("avg_pool2d", in_shape)
    _check_window(in_shape, kernel_size, kernel_size if stride is None else stride, padding)
    return nn.AvgPool2d(kernel_size, stride, padding)


@register_block("global_avg_pool", category="layer", short="gap")
def global_avg_pool(ctx, in_shape):
    """Average each channel over the whole map, giving C×1×1."""
    spatial_channels("global_avg_pool", in_shape)
    return nn.AdaptiveAvgPool2d(1)


@register_block(
    "batch_norm2d",
    category="layer",
    short="bn",
    params=[
        Param("eps", "float", 1e-5, minimum=0, maximum_exclusive=True, maximum=1,
              help="added to the variance"),
        Param("momentum", "float", 0.1, minimum=0, maximum=1,
              help="weight of the batch in the running statistics"),
    ],
)
def batch_norm2d(ctx, in_shape, *, eps, momentum):
    """Batch normalisation over each channel of a C×H×W map."""
    return nn.BatchNorm2d(spatial_channels("batch_norm2d", in_shape), eps=eps, momentum=momentum)


@register_block("relu", category="activation")
def relu(ctx, in_shape):
    """max(0, x)."""
    return nn.ReLU()


@register_block(
    "leaky_relu",
    category="activation",
    short="lrelu",
    params=[Param("negative_slope", "float", 0.01, minimum=0, help="slope for x < 0")],
)
def leaky_relu(ctx, in_shape, *, negative_slope):
    """max(0, x) + negative_slope · min(0, x)."""
    return nn.LeakyReLU(negative_slope)


@register_block("sigmoid", category="activation")
def sigmoid(ctx, in_shape):
    """1 / (1 + exp(-x)), as in LeNet."""
    return nn.Sigmoid()


@register_block("tanh", category="activation")
def tanh(ctx, in_shape):
    """Hyperbolic tangent."""
    return nn.Tanh()


@register_block("gelu", category="activation")
def gelu(ctx, in_shape):
    """Gaussian error linear unit."""
    return nn.GELU()


@register_block(
    "dropout",
    category="layer",
    short="drop",
    params=[Param("p", "float", 0.5, minimum=0, maximum=1, maximum_exclusive=True,
                  help="probability of zeroing an element during training")],
)
def dropout(ctx, in_shape, *, p):
    """Zero random elements during training (scaled so the expectation is unchanged)."""
    return nn.Dropout(p)


class Scale(nn.Module):
    """Multiply by a constant: ``x · factor`` (no parameters)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor!r}"


@register_block(
    "scale",
    category="layer",
    params=[Param("factor", "float", 0.5, minimum=-MAX_SCALE, maximum=MAX_SCALE,
                  help="the constant every element is multiplied by (−1 negates)")],
)
def scale(ctx, in_shape, *, factor):
    """Multiply every element by a constant (a scaled shortcut, a negation); no parameters."""
    return Scale(factor)


@register_block("flatten", category="layer")
def flatten(ctx, in_shape):
    """C×H×W → C·H·W features."""
    return nn.Flatten()


@register_block(
    "linear",
    category="layer",
    short="fc",
    params=[
        Param("out_features", "int", minimum=1, maximum=MAX_FEATURES, classes=True, help="features that come out"),
        Param("bias", "bool", True, help="learn an additive bias"),
    ],
)
def linear(ctx, in_shape, *, out_features, bias):
    """Fully connected layer."""
    if len(in_shape) != 1:
        raise ShapeError(
            f"linear expects flat features but receives a {fmt_shape(in_shape)} map",
            "add a flatten block (or global_avg_pool then flatten) before it",
            in_shape,
        )
    return nn.Linear(in_shape[0], out_features, bias=bias)
