"""A user's plain stack of layers as an editable network: same parameters, same outputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.builder import build_model
from explorer.core.pyfile.convert import ConvertError, copy_weights, to_spec
from explorer.core.pyfile.network import FileNetwork, FileNetworkError, build_network


class CourseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.pooling = nn.MaxPool2d(2)
        self.fc = nn.Linear(320, 10)

    def forward(self, x):
        batch_size = x.size(0)
        x = F.relu(self.pooling(self.conv1(x)))
        x = F.relu(self.pooling(self.conv2(x)))
        return self.fc(x.view(batch_size, -1))


class ConvBN(nn.Module):
    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding="same" if stride == 1
                              else 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out, momentum=0.2)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


def nested():
    return nn.Sequential(
        nn.Sequential(ConvBN(3, 8), nn.MaxPool2d(3, stride=1, padding=1)),
        ConvBN(8, 16, stride=2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Dropout(0.3), nn.Linear(16, 32), nn.LeakyReLU(0.2), nn.Linear(32, 5))


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(), nn.Linear(16 * 5 * 5, 120),
        nn.Sigmoid(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


@pytest.mark.parametrize("make, shape", [(CourseNet, (1, 28, 28)), (nested, (3, 32, 32)),
                                         (lenet, (1, 28, 28)),
                                         (lambda: nn.Conv2d(1, 3, 5), (1, 8, 8))])
def test_round_trip_parameters_and_outputs(make, shape):
    torch.manual_seed(0)
    model = make().eval()
    for module in model.modules():  # batch-norm statistics that are not the defaults
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    conversion = to_spec(model, shape, name="mine")
    network = build_model(conversion.spec, device="cpu").eval()
    assert sum(p.numel() for p in network.parameters()) == \
        sum(p.numel() for p in model.parameters())
    copy_weights(model, network, conversion)
    x = torch.randn(3, *shape)
    with torch.no_grad():
        assert torch.allclose(network(x), model(x), atol=1e-5)


def test_spec_reads_like_the_code():
    spec = to_spec(CourseNet(), (1, 28, 28), name="net").spec
    assert [b.to_dict() for b in spec.blocks] == [
        {"type": "conv2d", "out_channels": 10, "kernel_size": 5},
        {"type": "max_pool2d", "kernel_size": 2}, {"type": "relu"},
        {"type": "conv2d", "out_channels": 20, "kernel_size": 5},
        {"type": "max_pool2d", "kernel_size": 2}, {"type": "relu"},
        {"type": "flatten"}, {"type": "linear", "out_features": "classes"}]
    assert spec.num_classes == 10 and spec.input_shape == (1, 28, 28)
    blocks = to_spec(nested(), (3, 32, 32), name="n").spec.to_dict()["blocks"]
    inner = blocks[0]["blocks"]
    assert inner[0]["type"] == "group" and inner[1] == {"type": "max_pool2d", "kernel_size": 3,
                                                        "stride": 1, "padding": 1}
    assert inner[0]["blocks"][0] == {"type": "conv2d", "out_channels": 8, "kernel_size": 3,
                                     "padding": 1, "bias": False}


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        return x + self.conv(x)


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


class LogSoftmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


@pytest.mark.parametrize("model, shape, words", [
    (Residual(), (1, 8, 8), ["the network (Residual)", "add", "combines several tensors"]),
    (Shared(), (1, 8, 8), ["conv (Conv2d)", "used twice"]),
    (LogSoftmax(), (1, 28, 28), ["log_softmax", "raw class scores"]),
    (nn.Sequential(nn.Conv2d(2, 4, 3, groups=2)), (2, 8, 8), ["0 (Conv2d)", "groups=2"]),
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm1d(4)), (1, 8, 8),
     ["1 (BatchNorm1d)", "no block"]),
])
def test_what_cannot_be_converted_says_which_module_and_why(model, shape, words):
    with pytest.raises(ConvertError) as info:
        to_spec(model, shape, name="x")
    for word in words:
        assert word in str(info.value), str(info.value)


def test_file_network_builds_from_the_inspected_text(tmp_path):
    path = tmp_path / "net.py"
    path.write_text("from torch import nn\nnet = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))\n")
    network = FileNetwork(str(path), path.read_text(), "net", (1, 2, 2), 3)
    path.write_text("raise SystemExit('the file changed on disk meanwhile')\n")
    model = build_network(network)
    assert sum(p.numel() for p in model.parameters()) == 15
    assert network.to_dict()["format"] == "network-explorer/python-file"
    broken = FileNetwork(str(path), "import sys\nsys.exit(2)\n", "net", (1, 2, 2), 3)
    with pytest.raises(FileNetworkError, match=r"line 2.*sys.exit\(2\)"):
        broken.build()
