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


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis (PyTorch's formula).

    ``⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1``
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pair(value: Any) -> tuple[int, int]:
    """An int or an ``(h, w)`` sequence as an ``(h, w)`` pair of ints."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[-1])
    return int(value), int(value)
