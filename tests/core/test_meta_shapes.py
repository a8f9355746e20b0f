"""Shapes answered in Python on the meta device: the same shapes and dtypes as PyTorch's own
meta operations, PyTorch's errors for inputs that do not fit, and no torch._dynamo import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from explorer.core.meta_shapes import ShapeOnlyMode


def meta(*shape, dtype=torch.float32):
    return torch.empty(shape, device="meta", dtype=dtype)


CASES = {
    "cat dim 1": lambda: torch.cat([meta(2, 3, 5, 5), meta(2, 4, 5, 5)], dim=1),
    "cat last dim": lambda: torch.cat([meta(2, 3), meta(2, 7), meta(2, 1)], -1),
    "concat": lambda: torch.concat((meta(1, 2), meta(3, 2))),
    "add": lambda: meta(2, 3, 4, 4) + meta(2, 3, 4, 4),
    "add broadcast": lambda: meta(2, 3, 4, 4) + meta(3, 1, 1),
    "add broadcast left": lambda: meta(1, 4) + meta(5, 1),
    "add number": lambda: meta(2, 3) + 1,
    "radd number": lambda: 1.5 + meta(2, 3),
    "torch.add alpha": lambda: torch.add(meta(2, 3), meta(2, 3), alpha=2),
    "sub": lambda: meta(2, 3) - meta(2, 3),
    "rsub number": lambda: 1 - meta(4, 1, 2),
    "mul": lambda: meta(2, 3, 4) * meta(2, 1, 4),
    "rmul number": lambda: 0.5 * meta(2, 3),
    "relu": lambda: F.relu(meta(2, 3, 5)),
    "torch.relu": lambda: torch.relu(meta(2, 3)),
    "gelu": lambda: F.gelu(meta(2, 3)),
    "elu": lambda: F.elu(meta(2, 3), 0.5),
    "leaky_relu": lambda: F.leaky_relu(meta(2, 3), 0.2),
    "tanh": lambda: torch.tanh(meta(2, 3)),
    "batch_norm": lambda: F.batch_norm(meta(2, 3, 4, 4), meta(3), meta(3), training=False),
    "adaptive pool 1": lambda: F.adaptive_avg_pool2d(meta(2, 8, 7, 5), 1),
    "adaptive pool (3, None)": lambda: F.adaptive_avg_pool2d(meta(2, 8, 7, 5), (3, None)),
    "linear": lambda: F.linear(meta(2, 9), meta(4, 9), meta(4)),
    "linear 3-d": lambda: F.linear(meta(2, 5, 9), meta(4, 9)),
    "half": lambda: meta(2, 3, dtype=torch.float16) * meta(2, 3, dtype=torch.float16),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_same_shape_and_dtype_as_pytorch(name):
    expected = CASES[name]()
    with ShapeOnlyMode():
        got = CASES[name]()
    assert got.is_meta
    assert (tuple(got.shape), got.dtype) == (tuple(expected.shape), expected.dtype)


def test_in_place_operations_return_their_input():
    x = meta(2, 3)
    with ShapeOnlyMode():
        assert torch.relu_(x) is x
        assert F.relu(x, inplace=True) is x
        assert F.relu(x, True) is x
        assert F.leaky_relu(x, 0.1, True) is x
        y = x
        y += meta(2, 3)
        assert y is x
        assert x.add_(1) is x
        assert F.relu(x) is not x


@pytest.mark.parametrize("bad", [
    lambda: torch.cat([meta(2, 3, 5, 5), meta(2, 4, 6, 5)], dim=1),
    lambda: meta(2, 3) + meta(4, 3),
    lambda: F.linear(meta(2, 9), meta(4, 8)),
])
def test_inputs_that_do_not_fit_get_pytorchs_own_error(bad):
    with pytest.raises(RuntimeError) as expected:
        bad()
    with ShapeOnlyMode(), pytest.raises(RuntimeError) as got:
        bad()
    assert str(got.value) == str(expected.value)


def test_mixed_dtypes_and_real_tensors_are_left_to_pytorch():
    with ShapeOnlyMode():
        mixed = meta(2, 3) + meta(2, 3, dtype=torch.float64)
        real = torch.ones(2, 3) + torch.ones(2, 3)
    assert mixed.dtype == torch.float64
    assert not real.is_meta and real.sum().item() == 12.0


def test_inspecting_every_preset_does_not_import_torch_dynamo():
    """Importing torch._dynamo costs seconds of CPU before the first table at start-up."""
    code = (
        "import sys\n"
        "from explorer.core.inspector import inspect_spec\n"
        "from explorer.core.presets import preset_spec\n"
        "from explorer.core.registry import list_presets\n"
        "for p in list_presets():\n"
        "    s = inspect_spec(preset_spec(p.name), depth=8)\n"
        "    assert s.error is None, (p.name, s.error)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600)
    assert out.stdout.strip() == "False"


def test_linear_keeps_its_multiply_adds_for_the_cost_counter():
    from explorer.core.costs import OpCounter

    def count(x, bias):
        total = []
        with OpCounter(total.append):
            out = F.linear(x, meta(4, 9), bias)
        return tuple(out.shape), sum(total)

    for x, bias in ((meta(2, 9), meta(4)), (meta(2, 5, 9), None), (meta(9), meta(4))):
        expected = count(x, bias)
        with ShapeOnlyMode():
            assert count(x, bias) == expected
    assert count(meta(2, 9), meta(4)) == ((2, 4), 2 * 4 * 9 + 2 * 4)  # + one per bias add
