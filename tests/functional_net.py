"""A hand-written module whose forward works with functional calls (``F.conv2d``, ``x @ w``,
attention) around one submodule, and its multiply-adds worked out by hand: shared by the cost
tests of the summary (tests/core/test_costs.py) and of the layer table."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Functional(nn.Module):
    """A block whose forward does its work with functional calls and its own weights:
    ``F.conv2d``, a matrix product ``x @ w`` and scaled dot-product attention, around one
    ``nn.Linear`` submodule.
    """

    def __init__(self) -> None:
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(8, 3, 3, 3))  # 8 filters of 3×3 over 3 channels
        self.w = nn.Parameter(torch.empty(8, 16))
        self.proj = nn.Linear(16, 16)  # a submodule: its cost is its own row

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.kernel, padding=1)  # (1, 8, 4, 4)
        tokens = y.flatten(2).transpose(1, 2)  # (1, 16 tokens, 8)
        t = tokens @ self.w  # (1, 16, 16)
        q = self.proj(t)  # (1, 16, 16)
        a = F.scaled_dot_product_attention(q[:, None], t[:, None], t[:, None])  # (1, 1, 16, 16)
        return a.flatten(1)


class Wrapper(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Functional()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


# Worked out by hand for a 3×4×4 input:
#   F.conv2d, no bias: 8 filters × (3·3·3) weights × 4·4 output positions  =  3,456
#   tokens @ w: 16 tokens × 8 in × 16 out                                    =  2,048
#   proj (Linear 16→16 with bias): 16 tokens × (16·16 + 16)                  =  4,352
#   attention: q·kᵀ 16×16 scores × 16 dims, then scores·v 16×16 × 16 dims    =  8,192
CONV, MATMUL, PROJ, ATTENTION = 8 * 27 * 16, 16 * 8 * 16, 16 * (16 * 16 + 16), 2 * 16 * 16 * 16
FUNCTIONAL_TOTAL = CONV + MATMUL + PROJ + ATTENTION  # 18,048
