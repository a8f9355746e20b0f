"""Shapes: the error for a block that does not fit, output-size arithmetic, shape text.

Blocks import this small module instead of the builder; it imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Shape = tuple[int, ...]


class ShapeError(Exception):
    """A block that does not fit the shape flowing into it.

    Attributes
    ----------
    message : what is wrong, in plain words.
    hint : what would make it fit.
    in_shape : the shape (without batch) that reached the block.
    path : where, as display text, e.g. ``block 4 (inception) › branch5x5.conv2``.
    block : index of the top-level block at fault (set by the builder).
    block_path : the innermost spec block at fault, e.g. ``(3, "body", 0)`` (set by the
        builder).
    """

    def __init__(self, message: str, hint: str = "", in_shape: Shape | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.in_shape = in_shape
        self.path = ""
        self.block: int | None = None
        self.block_path: tuple[int | str, ...] | None = None

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text}. Hint: {self.hint}" if self.hint else text


def fmt_shape(shape: Sequence[int] | None) -> str:
    """``(16, 14, 14)`` as ``16×14×14``; ``None`` as ``?``."""
    return "×".join(str(int(s)) for s in shape) if shape is not None else "?"


def fmt_size(value: Any, *, both: bool = False) -> str:
    """A kernel, stride or padding: ``3`` or ``(3, 3)`` as ``3``, ``(3, 5)`` as ``3×5``;
    with ``both``, a square one as ``3×3``."""
    h, w = (value[0], value[-1]) if isinstance(value, (tuple, list)) else (value, value)
    return f"{h}×{w}" if both or h != w else str(h)


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis (PyTorch's formula).

    ``⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1``
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def shortcut_stride(in_shape: Sequence[int], out_shape: Sequence[int]) -> int | None:
    """The stride of a 1×1 shortcut from a C×H×W ``in_shape`` to ``out_shape``: the smallest
    s with ⌈H/s⌉ = H' and ⌈W/s⌉ = W'; ``None`` when no stride gives that size."""
    return next((s for s in range(1, in_shape[1] + 1)
                 if -(-in_shape[1] // s) == out_shape[1] and -(-in_shape[2] // s) == out_shape[2]),
                None)


def pair(value: Any) -> tuple[int, int]:
    """An int or an ``(h, w)`` sequence as an ``(h, w)`` pair of ints."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[-1])
    return int(value), int(value)


def window_error(
    in_shape: Shape, kernel: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
) -> ShapeError | None:
    """Why a convolution or pooling window gives no output for a C×H×W ``in_shape``, or
    ``None`` when it fits: found in Python integers, before any tensor is made."""
    (kh, kw), (sh, sw) = pair(kernel), pair(stride)
    (ph, pw), (dh, dw) = pair(padding), pair(dilation)
    h, w = in_shape[1], in_shape[2]
    if conv_out(h, kh, sh, ph, dh) >= 1 and conv_out(w, kw, sw, pw, dw) >= 1:
        return None
    padded = f" (padding {ph})" if ph == pw and ph else f" (padding {ph}×{pw})" if ph or pw \
        else ""
    if dh > 1 or dw > 1:
        span = f"{dh * (kh - 1) + 1:,}×{dw * (kw - 1) + 1:,}"
        dil = f"{dh:,}" if dh == dw else f"{dh:,}×{dw:,}"
        return ShapeError(
            f"kernel {kh}×{kw} with dilation {dil} spans {span} pixels, more than "
            f"the {h}×{w} input{padded}",
            "lower the dilation or kernel_size, or add padding",
            in_shape,
        )
    return ShapeError(
        f"kernel {kh}×{kw} is larger than the {h}×{w} input{padded}",
        "lower kernel_size, add padding, or remove a pooling layer before it",
        in_shape,
    )
