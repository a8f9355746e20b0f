"""The parallel block's merges and the scale layer, with values a user can check by hand."""

from __future__ import annotations

import torch

from explorer.core.builder import build_model, build_partial
from explorer.core.spec import ArchitectureSpec


def _net(blocks: list[dict], shape=(2, 3, 3)) -> ArchitectureSpec:
    return ArchitectureSpec.from_dict({"name": "m", "input_shape": list(shape),
                                       "num_classes": 2, "blocks": blocks})


def _scale(factor: float) -> dict:
    return {"type": "scale", "factor": factor}


def test_add_and_multiply_merge_every_branch():
    x = torch.randn(1, 2, 3, 3)
    for merge, want in (("add", (2 + 3 + 1) * x), ("multiply", (2 * 3) * x**3)):
        spec = _net([{"type": "parallel", "merge": merge,
                      "branches": [[_scale(2)], [_scale(3)], []]}])
        torch.testing.assert_close(build_model(spec)(x), want)


def test_highway_gates_the_first_branch_against_the_second():
    spec = _net([{"type": "parallel", "merge": "highway",
                  "branches": [[_scale(10)], [_scale(-1)], [_scale(0.0), {"type": "sigmoid"}]]}])
    x = torch.randn(1, 2, 3, 3)
    # the gate is sigmoid(0) = 0.5: 0.5 · 10x + 0.5 · (−x)
    torch.testing.assert_close(build_model(spec)(x), 4.5 * x)


def test_highway_needs_three_branches_and_equal_shapes():
    two = build_partial(_net([{"type": "parallel", "merge": "highway",
                               "branches": [[], []]}]), device="meta")
    assert "takes three branches" in str(two.error) and "has 2" in str(two.error)
    wide = build_partial(_net([{"type": "parallel", "merge": "multiply", "branches": [
        [], [{"type": "conv2d", "out_channels": 5, "kernel_size": 1}]]}]), device="meta")
    assert "multiplication needs equal shapes" in str(wide.error)
    assert "2×3×3" in str(wide.error) and "5×3×3" in str(wide.error)
