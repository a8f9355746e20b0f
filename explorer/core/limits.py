"""Bounds that no real network needs, so that no file can make us allocate or loop forever.

Each size, count and repeat of a block has a maximum in its parameter schema (the constants
below); a network as a whole is bounded in nesting depth and in the number of layers it
expands to; every tensor a block would create is sized in Python integers first (:func:`
check_elements`), so a shape that overflows or cannot fit is reported before PyTorch is asked.
The largest real networks sit far below: ResNet-152 has 152 layers, DenseNet-264 a block of
64 layers, VGG 4 convolutions a block, the widest layers a few thousand channels.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

from explorer.core.shapes import fmt_shape

MAX_CHANNELS = 65_536
"""out_channels, growth_rate, Inception branch widths."""
MAX_FLOWING_CHANNELS = 1_048_576
"""Channels that may reach a layer (concatenation adds up branches)."""
MAX_FEATURES = 1_048_576
"""out_features of a linear layer (2²⁰; ImageNet-21k has 21,841 classes)."""
MAX_CLASSES = MAX_FEATURES
MAX_KERNEL = 1_024
MAX_STRIDE = 1_024
MAX_PADDING = 1_024
MAX_DILATION = 1_024
MAX_SCALE = 1e6
"""Size of a constant factor (the ``scale`` block): real ones are 0.5, 1 − p, −1."""
MAX_NUM_CONVS = 64
"""Convolutions in one VGG block."""
MAX_DENSE_LAYERS = 1_024
"""Layers in one dense block."""
MAX_REPEAT = 1_000
MAX_INPUT_CHANNELS = MAX_CHANNELS
MAX_INPUT_SIZE = 1_000_000
"""Height or width of the input (a shapes-only summary of a huge image costs nothing)."""
MAX_NESTING = 32
"""Containers inside containers."""
MAX_LAYERS = 5_000
"""Blocks of a network once repeats, VGG convolutions and dense layers are counted out."""
MAX_ELEMENTS = 2**40
"""Elements of any one tensor (weights or one image's activations): 4 TiB of float32, far
past any machine, yet small enough that a batch of them never overflows PyTorch's 64-bit
sizes."""


class LimitError(ValueError):
    """A network past one of the bounds; the message says which and by how much."""


def elements(dims: Iterable[int]) -> int:
    """The product of ``dims`` in Python integers (no overflow)."""
    return math.prod(int(d) for d in dims)


def check_elements(what: str, dims: Iterable[int]) -> int:
    """The number of elements of a tensor of size ``dims``; :class:`LimitError` past
    :data:`MAX_ELEMENTS` (``what`` names the tensor, e.g. ``"the weights of conv2d"``)."""
    dims = tuple(int(d) for d in dims)
    n = elements(dims)
    if n > MAX_ELEMENTS:
        raise LimitError(
            f"{what} would be {fmt_shape(dims)} = {n:.3g} numbers ({format_bytes(4 * n)} as float32), "
            f"more than the {MAX_ELEMENTS:.3g} a tensor may have here"
        )
    return n


def format_bytes(n: int) -> str:
    """``1536`` as ``1.5 KiB``, up to ``EiB``."""
    for unit, size in (("EiB", 2**60), ("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30),
                       ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n} B"


# --------------------------------------------------------------------------- network size


def network_size(blocks: Iterable[Any]) -> tuple[int, int]:
    """``(layers, nesting)`` of a list of blocks (``BlockSpec`` or dicts), without recursion.

    ``layers`` counts every block once per repeat of the groups around it, a VGG block as its
    convolutions and a dense block as its layers; ``nesting`` is the deepest level of
    containers (0 for a flat network). Stops counting once past the bounds.
    """
    layers, deepest = 0, 0
    stack: list[tuple[Any, int, int]] = [(b, 0, 1) for b in blocks]  # block, depth, copies
    while stack:
        block, depth, copies = stack.pop()
        params = _params(block)
        kind = _type(block)
        layers += copies * _own_layers(kind, params)
        deepest = max(deepest, depth)
        if layers > MAX_LAYERS or deepest > MAX_NESTING:
            break
        repeat = params.get("repeat", 1) if kind == "group" else 1
        repeat = repeat if isinstance(repeat, int) and 1 <= repeat <= MAX_REPEAT else 1
        for child in _children(params):
            stack.append((child, depth + 1, copies * repeat))
    return layers, deepest


def check_network_size(blocks: Iterable[Any]) -> None:
    """:class:`LimitError` for a network nested deeper than :data:`MAX_NESTING` or with more
    than :data:`MAX_LAYERS` layers."""
    layers, nesting = network_size(blocks)
    if nesting > MAX_NESTING:
        raise LimitError(
            f"the blocks are nested more than {MAX_NESTING} containers deep; a network may "
            f"nest containers at most {MAX_NESTING} deep"
        )
    if layers > MAX_LAYERS:
        raise LimitError(
            f"the network has more than {MAX_LAYERS:,} layers once repeats are counted; at "
            f"most {MAX_LAYERS:,} are allowed (ResNet-152 has 152)"
        )


def _type(block: Any) -> Any:
    return block.get("type") if isinstance(block, dict) else getattr(block, "type", None)


def _params(block: Any) -> dict:
    if isinstance(block, dict):
        return block
    params = getattr(block, "params", None)
    return params if params is not None and hasattr(params, "get") else {}


def _own_layers(kind: Any, params: Any) -> int:
    """Layers a block expands to: a VGG block's convolutions, a dense block's layers; a value
    past its own bound counts as 1 (the block's schema reports it)."""
    name, bound = {"vgg_block": ("num_convs", MAX_NUM_CONVS),
                   "dense_block": ("num_layers", MAX_DENSE_LAYERS)}.get(kind, (None, 0)) \
        if isinstance(kind, str) else (None, 0)
    value = params.get(name) if name else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= bound:
        return value
    return 1


def _children(params: Any) -> list:
    out: list = []
    for key in ("blocks", "body"):
        value = params.get(key)
        if isinstance(value, (list, tuple)):
            out.extend(value)
    branches = params.get("branches")
    if isinstance(branches, (list, tuple)):
        for branch in branches:
            if isinstance(branch, (list, tuple)):
                out.extend(branch)
    return out


def available_memory(device: Any = "cpu") -> int | None:
    """Bytes of memory a run on ``device`` may use: a CUDA device's total memory, else the
    machine's physical memory; ``None`` where it cannot be told."""
    if getattr(device, "type", str(device).split(":")[0]) == "cuda":
        try:
            import torch

            return int(torch.cuda.get_device_properties(device).total_memory)
        except (RuntimeError, AssertionError, ValueError):
            return None
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
