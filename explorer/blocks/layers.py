"""Single layers: convolution, pooling, normalisation, activations, dropout, flatten, linear.

Input channels and features are inferred from the shape that flows in; a user only says what
comes out. Each factory returns a PyTorch layer (torch is imported when a block is built, not
when the blocks are listed).
"""

from __future__ import annotations

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
from explorer.core.shapes import ShapeError, fmt_shape, fmt_size, window_error

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu")


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


def window_text(kernel, stride=1, padding=0, *, pool: bool = False) -> str:
    """A window in a block description: ``5×5``, then ``, s2`` and ``, p1`` where they are not
    the default (a pooling stride equal to its kernel, or none, is the default)."""
    text = fmt_size(kernel, both=True)
    if stride not in (None, 1, (1, 1), [1, 1]) and not (pool and stride == kernel):
        text += f", s{fmt_size(stride)}"
    if padding not in (None, 0, (0, 0), [0, 0]):
        text += f", p{fmt_size(padding)}"
    return text


def conv_text(p: dict) -> str:
    """A convolution's description: kernel, channels, then stride and padding if set."""
    window = window_text(p["kernel_size"], p["stride"], p["padding"])
    kernel, _, rest = window.partition(", ")
    return f"{kernel}, {p['out_channels']} ch" + (f", {rest}" if rest else "")


def _pool_text(p: dict) -> str:
    return window_text(p["kernel_size"], p["stride"], p["padding"], pool=True)


CHANNELS = Param("out_channels", "int", minimum=1, maximum=MAX_CHANNELS, classes=True,
                 help="channels that come out")


@register_block(
    "conv2d",
    category="layer",
    short="conv",
    describe=conv_text,
    params=[
        CHANNELS,
        *kernel_params(),
        Param("dilation", "size", 1, minimum=1, maximum=MAX_DILATION, help="spacing between kernel taps"),
        Param("bias", "bool", True, help="learn an additive bias per channel"),
    ],
)
def conv2d(ctx, in_shape, *, out_channels, kernel_size, stride, padding, dilation, bias):
    """2-D convolution."""
    from torch import nn

    channels = spatial_channels("conv2d", in_shape)
    _check_window(in_shape, kernel_size, stride, padding, dilation)
    return nn.Conv2d(channels, out_channels, kernel_size, stride, padding, dilation, bias=bias)


@register_block("max_pool2d", category="layer", short="pool",
                params=kernel_params(kernel=2, stride=None), describe=_pool_text)
def max_pool2d(ctx, in_shape, *, kernel_size, stride, padding):
    """2-D max pooling (stride defaults to the kernel size)."""
    from torch import nn

    spatial_channels("max_pool2d", in_shape)
    _check_window(in_shape, kernel_size, kernel_size if stride is None else stride, padding)
    return nn.MaxPool2d(kernel_size, stride, padding)


@register_block("avg_pool2d", category="layer", short="pool",
                params=kernel_params(kernel=2, stride=None), describe=_pool_text)
def avg_pool2d(ctx, in_shape, *, kernel_size, stride, padding):
    """2-D average pooling (stride defaults to the kernel size)."""
    from torch import nn

    spatial_channels("avg_pool2d", in_shape)
    _check_window(in_shape, kernel_size, kernel_size if stride is None else stride, padding)
    return nn.AvgPool2d(kernel_size, stride, padding)


@register_block("global_avg_pool", category="layer", short="gap")
def global_avg_pool(ctx, in_shape):
    """Average each channel over the whole map, giving C×1×1."""
    from torch import nn

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
    from torch import nn

    return nn.BatchNorm2d(spatial_channels("batch_norm2d", in_shape), eps=eps, momentum=momentum)


@register_block("relu", category="activation")
def relu(ctx, in_shape):
    """max(0, x)."""
    from torch import nn

    return nn.ReLU()


@register_block(
    "leaky_relu",
    category="activation",
    short="lrelu",
    params=[Param("negative_slope", "float", 0.01, minimum=0, help="slope for x < 0")],
)
def leaky_relu(ctx, in_shape, *, negative_slope):
    """max(0, x) + negative_slope · min(0, x)."""
    from torch import nn

    return nn.LeakyReLU(negative_slope)


@register_block("sigmoid", category="activation")
def sigmoid(ctx, in_shape):
    """1 / (1 + exp(-x)), as in LeNet."""
    from torch import nn

    return nn.Sigmoid()


@register_block("tanh", category="activation")
def tanh(ctx, in_shape):
    """Hyperbolic tangent."""
    from torch import nn

    return nn.Tanh()


@register_block("gelu", category="activation")
def gelu(ctx, in_shape):
    """Gaussian error linear unit."""
    from torch import nn

    return nn.GELU()


@register_block(
    "dropout",
    category="layer",
    short="drop",
    describe=lambda p: f"p {p['p']}",
    params=[Param("p", "float", 0.5, minimum=0, maximum=1, maximum_exclusive=True,
                  help="probability of zeroing an element during training")],
)
def dropout(ctx, in_shape, *, p):
    """Zero random elements during training (scaled so the expectation is unchanged)."""
    from torch import nn

    return nn.Dropout(p)


@register_block(
    "scale",
    category="layer",
    describe=lambda p: f"× {p['factor']}",
    params=[Param("factor", "float", 0.5, minimum=-MAX_SCALE, maximum=MAX_SCALE,
                  help="the constant every element is multiplied by (−1 negates)")],
)
def scale(ctx, in_shape, *, factor):
    """Multiply every element by a constant (a scaled shortcut, a negation); no parameters."""
    from explorer.blocks.modules.layers import Scale

    return Scale(factor)


@register_block("flatten", category="layer")
def flatten(ctx, in_shape):
    """C×H×W → C·H·W features."""
    from torch import nn

    return nn.Flatten()


@register_block(
    "linear",
    category="layer",
    short="fc",
    describe=lambda p: f"{p['out_features']} out",
    params=[
        Param("out_features", "int", minimum=1, maximum=MAX_FEATURES, classes=True, help="features that come out"),
        Param("bias", "bool", True, help="learn an additive bias"),
    ],
)
def linear(ctx, in_shape, *, out_features, bias):
    """Fully connected layer."""
    from torch import nn

    if len(in_shape) != 1:
        raise ShapeError(
            f"linear expects flat features but receives a {fmt_shape(in_shape)} map",
            "add a flatten block (or global_avg_pool then flatten) before it",
            in_shape,
        )
    return nn.Linear(in_shape[0], out_features, bias=bias)
