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
    "Tensor.tanh": lambda: meta(2, 3).tanh(),
    "Tensor.relu": lambda: meta(2, 3).relu(),
    "relu6": lambda: F.relu6(meta(2, 3, 4)),
    "selu": lambda: F.selu(meta(2, 3)),
    "silu": lambda: F.silu(meta(2, 3)),
    "mish": lambda: F.mish(meta(2, 3)),
    "hardtanh": lambda: F.hardtanh(meta(2, 3), -2.0, 2.0),
    "sigmoid": lambda: torch.sigmoid(meta(2, 3)),
    "F.sigmoid": lambda: F.sigmoid(meta(2, 3)),
    "Tensor.sigmoid": lambda: meta(2, 3).sigmoid(),
    "dropout": lambda: F.dropout(meta(2, 3), 0.5, training=True),
    "dropout2d": lambda: F.dropout2d(meta(2, 3, 4, 4), 0.2),
    "mean (2, 3) keepdim": lambda: meta(2, 8, 4, 5).mean((2, 3), keepdim=True),
    "mean -1": lambda: torch.mean(meta(2, 8, 4, 5), -1),
    "mean all": lambda: meta(2, 3).mean(),
    "sum [1, -1]": lambda: meta(2, 8, 4, 5).sum([1, -1]),
    "sum dim keepdim": lambda: torch.sum(meta(2, 8, 4), dim=0, keepdim=True),
    "sum all": lambda: torch.sum(meta(2, 3)),
    "batch_norm": lambda: F.batch_norm(meta(2, 3, 4, 4), meta(3), meta(3), training=False),
    "adaptive pool 1": lambda: F.adaptive_avg_pool2d(meta(2, 8, 7, 5), 1),
    "adaptive pool (3, None)": lambda: F.adaptive_avg_pool2d(meta(2, 8, 7, 5), (3, None)),
    "linear": lambda: F.linear(meta(2, 9), meta(4, 9), meta(4)),
    "linear 3-d": lambda: F.linear(meta(2, 5, 9), meta(4, 9)),
    "half": lambda: meta(2, 3, dtype=torch.float16) * meta(2, 3, dtype=torch.float16),
}


LEFT_TO_PYTORCH = {  # calls the rules leave to PyTorch: its own shapes all the same
    "sum over no dimension (all)": lambda: meta(2, 3).sum(()),
    "mean over dim=[] (all)": lambda: meta(2, 3).mean(dim=[]),
    "sigmoid input=": lambda: torch.sigmoid(input=meta(2, 3)),
    "sum input=": lambda: torch.sum(input=meta(2, 3, 4), dim=1),
    "relu input=": lambda: torch.relu(input=meta(2, 3)),
    "sigmoid out=": lambda: torch.sigmoid(meta(2, 3), out=meta(2, 3)),
}


@pytest.mark.parametrize("name", list(CASES) + list(LEFT_TO_PYTORCH))
def test_the_same_shape_and_dtype_as_pytorch(name):
    case = CASES.get(name) or LEFT_TO_PYTORCH[name]
    expected = case()
    with ShapeOnlyMode():
        got = case()
    assert got.is_meta
    assert (tuple(got.shape), got.dtype) == (tuple(expected.shape), expected.dtype)


@pytest.mark.parametrize("name", [name for name in CASES if not name.startswith("linear")])
def test_answered_from_the_shapes_without_running_pytorchs_operation(name):
    """Only a new empty tensor is made (``linear`` runs as a 1×1 convolution on purpose)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Record(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.add(str(func))
            return func(*args, **(kwargs or {}))

    args = CASES[name]
    with Record() as record, ShapeOnlyMode():
        args()
    assert record.ops <= {"aten.empty.memory_format"}


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
        assert F.relu6(x, True) is x and F.silu(x, inplace=True) is x
        assert F.hardtanh(x, -1.0, 1.0, True) is x and F.dropout(x, 0.5, False, True) is x
        assert x.sigmoid_() is x and x.tanh_() is x
        assert F.dropout(x, 0.5, False) is x  # not training: PyTorch returns the input too
        assert F.relu(x) is not x and F.dropout(x, 0.5, True) is not x


@pytest.mark.parametrize("bad", [
    lambda: torch.cat([meta(2, 3, 5, 5), meta(2, 4, 6, 5)], dim=1),
    lambda: meta(2, 3) + meta(4, 3),
    lambda: F.linear(meta(2, 9), meta(4, 8)),
    lambda: meta(2, 3).mean(2),
    lambda: meta(2, 3).sum((1, 1)),
    lambda: F.batch_norm(meta(2, 8, 4, 4), meta(4), meta(4)),
    lambda: F.batch_norm(meta(2, 8, 4, 4), meta(8), meta(8), meta(3), training=False),
    lambda: F.batch_norm(meta(2, 8, 4, 4), running_mean=meta(8), running_var=meta(5)),
    lambda: F.dropout(meta(2, 3), 1.5),
    lambda: F.dropout(meta(2, 3), 0.5, None),
    lambda: F.dropout2d(meta(5), 0.2),
    lambda: F.hardtanh(meta(2, 3), min_val=2.0, max_val=-2.0),
])
@pytest.mark.filterwarnings("ignore:dropout2d. Received a 1-D input")  # PyTorch's, expected
def test_inputs_that_do_not_fit_get_pytorchs_own_error(bad):
    errors = (RuntimeError, IndexError, ValueError, TypeError)
    with pytest.raises(errors) as expected:
        bad()
    with ShapeOnlyMode(), pytest.raises(errors) as got:
        bad()
    assert (type(got.value), str(got.value)) == (type(expected.value), str(expected.value))


def test_mixed_dtypes_and_real_tensors_are_left_to_pytorch():
    with ShapeOnlyMode():
        mixed = meta(2, 3) + meta(2, 3, dtype=torch.float64)
        real = torch.ones(2, 3) + torch.ones(2, 3)
    assert mixed.dtype == torch.float64
    assert not real.is_meta and real.sum().item() == 12.0


def imports_torch_dynamo(code: str) -> str:
    """Whether ``code``, run in a fresh interpreter, imported torch._dynamo (``"True"`` or
    ``"False"``, as printed there)."""
    code += "import sys\nprint('torch._dynamo' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600)
    return out.stdout.strip()


def test_inspecting_every_preset_does_not_import_torch_dynamo():
    """Importing torch._dynamo costs seconds of CPU before the first table at start-up."""
    code = (
        "from explorer.core.inspector import inspect_spec\n"
        "from explorer.core.presets import preset_spec\n"
        "from explorer.core.registry import list_presets\n"
        "for p in list_presets():\n"
        "    s = inspect_spec(preset_spec(p.name), depth=8)\n"
        "    assert s.error is None, (p.name, s.error)\n"
    )
    assert imports_torch_dynamo(code) == "False"


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


FUNCTIONAL_NET = '''
import torch
import torch.nn.functional as F
from torch import nn


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.silu(self.conv1(x))
        x = F.dropout(F.relu6(self.conv2(x)), 0.3, self.training)
        x = x * torch.sigmoid(x.mean((2, 3), keepdim=True))
        x = F.hardtanh(F.mish(x), -3.0, 3.0).tanh()
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
'''


def test_inspecting_a_python_file_of_functional_activations_does_not_import_torch_dynamo(
        tmp_path):
    """A file network's own forward calls F.silu, sigmoid, dropout…: answered from shapes."""
    path = tmp_path / "gated.py"
    path.write_text(FUNCTIONAL_NET)
    code = (
        "from explorer.core.pyfile import FileRequest\n"
        "from explorer.core.pyfile.analyse import analyse\n"
        f"report = analyse(FileRequest({str(path)!r}))\n"
        "assert report.problem is None, report.problem\n"
        "assert report.summary.output_shape == (10,), report.summary.output_shape\n"
    )
    assert imports_torch_dynamo(code) == "False"
