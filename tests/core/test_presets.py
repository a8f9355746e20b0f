"""Presets: every one builds and round-trips, and each is faithful to a hand-written network.

The reference networks below are written directly from ARCHITECTURES.md, the course code and
d2l, with plain ``torch.nn``, never with the project's blocks. Big networks are compared on
the meta device (no memory, no arithmetic); small ones also compute the same numbers.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from reference_nets import CourseInceptionA
from torch import nn
from torch.overrides import TorchFunctionMode

from explorer.core import (
    ArchitectureSpec,
    SpecError,
    build_model,
    build_partial,
    check_output,
    get_preset,
    list_presets,
    validate,
)
from explorer.core.inspector import inspect_module
from explorer.core.presets import (
    preset_spec,
    torchvision_input_shape,
    torchvision_model,
    torchvision_names,
)

PRESETS = [p.name for p in list_presets()]

SMALL = ("course-inception", "course-resnet", "lenet", "plain20", "resnet20", "vgg11-narrow")
"""Presets cheap enough for a real forward pass on the CPU."""


# --------------------------------------------------------------------------- the course


class CourseInceptionNet(nn.Module):
    """The course's Inception net (its submodules registered in forward order here)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.incept1 = CourseInceptionA(in_channels=10)
        self.conv2 = nn.Conv2d(88, 20, kernel_size=5)
        self.incept2 = CourseInceptionA(in_channels=20)
        self.mp = nn.MaxPool2d(2)
        self.fc = nn.Linear(1408, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.mp(self.conv1(x)))
        x = self.incept1(x)
        x = F.relu(self.mp(self.conv2(x)))
        x = self.incept2(x)
        return self.fc(x.view(x.size(0), -1))  # the course adds log_softmax for NLL loss


class CourseResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv1(x))
        y = self.conv2(y)
        return F.relu(x + y)


class CourseResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5)
        self.rblock1 = CourseResidualBlock(16)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5)
        self.rblock2 = CourseResidualBlock(32)
        self.mp = nn.MaxPool2d(2)
        self.fc = nn.Linear(512, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mp(F.relu(self.conv1(x)))
        x = self.rblock1(x)
        x = self.mp(F.relu(self.conv2(x)))
        x = self.rblock2(x)
        return self.fc(x.view(x.size(0), -1))


# --------------------------------------------------------------------------- d2l


def d2l_lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def d2l_alexnet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 10))


def d2l_vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def d2l_vgg(ratio: int = 1) -> nn.Module:
    conv_arch = [(n, c // ratio) for n, c in ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))]
    blocks, in_channels = [], 1
    for num_convs, out_channels in conv_arch:
        blocks.append(d2l_vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    return nn.Sequential(
        *blocks, nn.Flatten(),
        nn.Linear(in_channels * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 10))


def d2l_nin_block(in_channels: int, out_channels: int, kernel_size: int, strides: int,
                  padding: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())


def d2l_nin() -> nn.Module:
    return nn.Sequential(
        d2l_nin_block(1, 96, kernel_size=11, strides=4, padding=0),
        nn.MaxPool2d(3, stride=2),
        d2l_nin_block(96, 256, kernel_size=5, strides=1, padding=2),
        nn.MaxPool2d(3, stride=2),
        d2l_nin_block(256, 384, kernel_size=3, strides=1, padding=1),
        nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5),
        d2l_nin_block(384, 10, kernel_size=3, strides=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten())


class D2lInception(nn.Module):
    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int],
                 c4: int) -> None:
        super().__init__()
        self.p1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
        self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p1 = F.relu(self.p1_1(x))
        p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
        p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
        p4 = F.relu(self.p4_2(self.p4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)


def d2l_googlenet() -> nn.Module:
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b2 = nn.Sequential(nn.Conv2d(64, 64, kernel_size=1), nn.ReLU(),
                       nn.Conv2d(64, 192, kernel_size=3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b3 = nn.Sequential(D2lInception(192, 64, (96, 128), (16, 32), 32),
                       D2lInception(256, 128, (128, 192), (32, 96), 64),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b4 = nn.Sequential(D2lInception(480, 192, (96, 208), (16, 48), 64),
                       D2lInception(512, 160, (112, 224), (24, 64), 64),
                       D2lInception(512, 128, (128, 256), (24, 64), 64),
                       D2lInception(512, 112, (144, 288), (32, 64), 64),
                       D2lInception(528, 256, (160, 320), (32, 128), 128),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b5 = nn.Sequential(D2lInception(832, 256, (160, 320), (32, 128), 128),
                       D2lInception(832, 384, (192, 384), (48, 128), 128),
                       nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, 10))


class D2lResidual(nn.Module):
    def __init__(self, input_channels: int, num_channels: int, use_1x1conv: bool = False,
                 strides: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1,
                               stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = (nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
                      if use_1x1conv else None)
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3 is not None:
            x = self.conv3(x)
        return F.relu(y + x)


def d2l_resnet_block(input_channels: int, num_channels: int, num_residuals: int,
                     first_block: bool = False) -> list[nn.Module]:
    return [
        D2lResidual(input_channels, num_channels, use_1x1conv=True, strides=2)
        if i == 0 and not first_block else D2lResidual(num_channels, num_channels)
        for i in range(num_residuals)
    ]


def d2l_stem() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3),
                         nn.BatchNorm2d(64), nn.ReLU(),
                         nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


def d2l_resnet18() -> nn.Module:
    return nn.Sequential(
        d2l_stem(),
        nn.Sequential(*d2l_resnet_block(64, 64, 2, first_block=True)),
        nn.Sequential(*d2l_resnet_block(64, 128, 2)),
        nn.Sequential(*d2l_resnet_block(128, 256, 2)),
        nn.Sequential(*d2l_resnet_block(256, 512, 2)),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, 10))


def d2l_conv_block(input_channels: int, num_channels: int) -> nn.Module:
    return nn.Sequential(nn.BatchNorm2d(input_channels), nn.ReLU(),
                         nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1))


class D2lDenseBlock(nn.Module):
    def __init__(self, num_convs: int, input_channels: int, num_channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(*[
            d2l_conv_block(num_channels * i + input_channels, num_channels)
            for i in range(num_convs)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.net:
            x = torch.cat((x, blk(x)), dim=1)
        return x


def d2l_transition_block(input_channels: int, num_channels: int) -> nn.Module:
    return nn.Sequential(nn.BatchNorm2d(input_channels), nn.ReLU(),
                         nn.Conv2d(input_channels, num_channels, kernel_size=1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


def d2l_densenet() -> nn.Module:
    num_channels, growth_rate = 64, 32
    blks: list[nn.Module] = []
    for i, num_convs in enumerate((4, 4, 4, 4)):
        blks.append(D2lDenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate
        if i != 3:
            blks.append(d2l_transition_block(num_channels, num_channels // 2))
            num_channels = num_channels // 2
    return nn.Sequential(
        d2l_stem(), *blks, nn.BatchNorm2d(num_channels), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(num_channels, 10))


# --------------------------------------------------------------------------- He et al. 2015
# The convolutions keep their bias, as the project's resnet_basic (d2l's block) does, so the
# plain and residual nets have equal counts (the paper's nets have no conv bias: 269,722
# parameters for 20 layers, 688 fewer than here).


class CifarBasicBlock(nn.Module):
    """Two 3×3 conv + BN; option A shortcut: subsample and zero-pad the new channels."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = (planes - in_planes) // 2
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x[:, :, ::self.stride, ::self.stride]
        shortcut = F.pad(shortcut, (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + shortcut)


def cifar_resnet(n: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, 16, kernel_size=3, padding=1),
                               nn.BatchNorm2d(16), nn.ReLU()]
    in_planes = 16
    for planes, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(n):
            layers.append(CifarBasicBlock(in_planes, planes, stride if i == 0 else 1))
            in_planes = planes
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def cifar_plain(n: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, 16, kernel_size=3, padding=1),
                               nn.BatchNorm2d(16), nn.ReLU()]
    in_planes = 16
    for planes, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(2 * n):
            layers += [nn.Conv2d(in_planes, planes, kernel_size=3,
                                 stride=stride if i == 0 else 1, padding=1),
                       nn.BatchNorm2d(planes), nn.ReLU()]
            in_planes = planes
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


REFERENCES = {
    # name: (hand-written network, its parameter count with 10 classes)
    "course-inception": (CourseInceptionNet, 97_298),
    "course-resnet": (CourseResNet, 41_514),
    "lenet": (d2l_lenet, 61_706),  # d2l's count
    "alexnet": (d2l_alexnet, 46_764_746),
    "vgg11": (d2l_vgg, 128_806_154),
    "vgg11-narrow": (lambda: d2l_vgg(ratio=4), 43_093_322),
    "nin": (d2l_nin, 1_992_166),
    "googlenet": (d2l_googlenet, 5_977_530),
    "resnet18": (d2l_resnet18, 11_178_378),
    "densenet": (d2l_densenet, 758_226),
    "plain20": (lambda: cifar_plain(3), 270_410),
    "resnet20": (lambda: cifar_resnet(3), 270_410),
    "plain56": (lambda: cifar_plain(9), 855_050),
    "resnet56": (lambda: cifar_resnet(9), 855_050),
}

def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def meta_build(name: str) -> nn.Module:
    result = build_partial(preset_spec(name), device="meta")
    assert result.error is None, str(result.error)
    return result.network


# --------------------------------------------------------------------------- every preset


def test_every_preset_has_a_hand_written_reference():
    assert set(REFERENCES) <= set(PRESETS)
    missing = sorted(set(PRESETS) - set(REFERENCES))
    assert not missing, f"write a reference network for {missing} in REFERENCES"


@pytest.mark.parametrize("name", PRESETS)
def test_builds_on_meta_for_any_class_count(name):
    preset = get_preset(name)
    for classes in (preset.num_classes, 3):
        spec = preset_spec(name, num_classes=classes)
        result = build_partial(spec, device="meta")
        assert result.error is None, str(result.error)
        assert result.out_shape == (classes,)
        assert check_output(spec, result.out_shape) is None


@pytest.mark.parametrize("name", PRESETS)
def test_json_round_trip(name):
    spec = preset_spec(name)
    again = ArchitectureSpec.from_json(spec.to_json())
    assert again.to_dict() == spec.to_dict()
    assert (again.name, again.description) == (name, get_preset(name).doc)
    validate(again)


@pytest.mark.parametrize("name", PRESETS)
def test_describes_itself(name):
    preset = get_preset(name)
    assert preset.doc.endswith(".") and len(preset.doc) <= 100
    assert preset.source and preset.tags


@pytest.mark.parametrize("name", SMALL)
def test_forward_on_cpu(name):
    torch.manual_seed(0)
    spec = preset_spec(name)
    model = build_model(spec).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *spec.input_shape))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


SMALL_INPUT = {"alexnet": 67, "vgg11": 32, "vgg11-narrow": 32, "nin": 67, "googlenet": 32,
               "resnet18": 32, "densenet": 32, "plain20": 8, "resnet20": 8, "plain56": 8,
               "resnet56": 8}
"""A smaller height and width for the big presets, so a real forward pass takes well under 1 s
(the others run on their own input)."""


def small_spec(name: str) -> ArchitectureSpec:
    channels = get_preset(name).input_shape[0]
    size = SMALL_INPUT.get(name)
    return preset_spec(name, input_shape=(channels, size, size) if size else None)


@pytest.mark.parametrize("name", PRESETS)
def test_meta_build_materialised_computes_what_a_cpu_build_computes(name):
    """A network built (and inspected) on meta, given real weights, equals a CPU-built one."""
    spec = small_spec(name)
    torch.manual_seed(0)
    on_cpu = build_model(spec).eval()
    on_meta = build_model(spec, device="meta")
    inspect_module(on_meta, spec.input_shape)  # the inspector's fast path must not stick either
    assert not [n for n, m in on_meta.named_modules() if "forward" in vars(m)]
    on_meta.to_empty(device="cpu")
    on_meta.load_state_dict(on_cpu.state_dict())
    on_meta.eval()
    x = torch.randn(2, *spec.input_shape)
    with torch.no_grad():
        assert torch.equal(on_meta(x), on_cpu(x))

    torch.manual_seed(0)
    again = build_model(spec).eval()
    with torch.no_grad():
        assert torch.equal(again(x), on_cpu(x))


# --------------------------------------------------------------------------- faithfulness


# What each operation's settings are called after its input, with the default of each one
# left out (so ``F.avg_pool2d(x, 3, 1, 1)`` and ``nn.AvgPool2d(3, 1, 1)`` read alike).
_SETTINGS: dict[str, tuple[tuple[str, Any], ...]] = {
    "conv2d": (("weight", None), ("bias", None), ("stride", 1), ("padding", 0),
               ("dilation", 1), ("groups", 1)),
    "linear": (("weight", None), ("bias", None)),
    "batch_norm": (("running_mean", None), ("running_var", None), ("weight", None),
                   ("bias", None), ("training", False), ("momentum", 0.1), ("eps", 1e-5)),
    "dropout": (("p", 0.5), ("training", True)),
    "max_pool2d": (("kernel_size", None), ("stride", None), ("padding", 0), ("dilation", 1),
                   ("ceil_mode", False)),
    "avg_pool2d": (("kernel_size", None), ("stride", None), ("padding", 0),
                   ("ceil_mode", False), ("count_include_pad", True)),
    "adaptive_avg_pool2d": (("output_size", None),),
    "cat": (("dim", 0),),
    "pad": (("pad", None), ("mode", "constant"), ("value", None)),
}
_PAIRS = ("kernel_size", "stride", "padding", "dilation", "output_size")
_RESHAPES = {"view", "reshape", "flatten"}
_ALIASES = {"__add__": "add", "__radd__": "add", "__iadd__": "add", "__mul__": "mul",
            "__rmul__": "mul"}


def _plain(value: Any) -> Any:
    """Tensors as their shape, sizes as (h, w) pairs, lists as tuples."""
    if torch.is_tensor(value):
        return tuple(value.shape)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


class _ForwardTrace(TorchFunctionMode):
    """Every torch operation one forward pass calls, in order, with its settings."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[tuple] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if torch.is_tensor(out):  # sizes, dims and other metadata queries are no layer
            self._record(getattr(func, "__name__", str(func)), args, kwargs, out)
        return out

    def _record(self, name: str, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        name = _ALIASES.get(name, name)
        first = args[0] if args else None
        if name in _RESHAPES | {"__getitem__", "pad", "contiguous"} and torch.is_tensor(first) \
                and first.shape == out.shape:
            return  # a no-op view or zero padding, however it is written
        if name in _RESHAPES:
            self.ops.append(("reshape", (), tuple(out.shape)))
            return
        if name in _SETTINGS:
            bound = dict(zip((n for n, _ in _SETTINGS[name]), args[1:]))
            bound.update((k, v) for k, v in kwargs.items() if k in dict(_SETTINGS[name]))
            settings = {k: _plain(bound.get(k, default)) for k, default in _SETTINGS[name]}
            for key in _PAIRS:
                if isinstance(settings.get(key), int):
                    settings[key] = (settings[key], settings[key])
            if "stride" in settings and settings.get("kernel_size") and not settings["stride"]:
                settings["stride"] = settings["kernel_size"]  # pooling: stride = kernel size
            detail = tuple(sorted(settings.items()))
        else:
            detail = tuple(_plain(a) for a in args[1:]) + tuple(
                sorted((k, _plain(v)) for k, v in kwargs.items() if k != "inplace"))
        self.ops.append((name, detail, tuple(out.shape)))


def forward_trace(model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple]:
    """The operations of ``model`` (eval mode, on meta) in forward order, with settings.

    Parameter-free ones included: activations, dropout with its ``p``, pooling with kernel,
    stride and padding, additions and concatenations.
    """
    trace, x = _ForwardTrace(), torch.empty(2, *input_shape, device="meta")
    with torch.no_grad(), trace:
        out = model.eval()(x)
    assert out.shape == (2, 10)
    return trace.ops


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_same_forward_as_the_reference(name):
    factory, expected = REFERENCES[name]
    with torch.device("meta"):
        reference = factory()
    model = meta_build(name)
    assert param_count(model) == param_count(reference) == expected
    shape = get_preset(name).input_shape
    ours, theirs = forward_trace(model, shape), forward_trace(reference, shape)
    assert ours == theirs
    kinds = {op[0] for op in ours}
    assert {"conv2d", "linear"} & kinds and len(kinds) > 2  # the trace sees every kind


def layers_in_call_order(model: nn.Module, input_shape: tuple[int, ...]) -> list[nn.Module]:
    """The modules holding weights or buffers, in the order a forward pass calls them."""
    called: list[nn.Module] = []
    handles = [
        m.register_forward_hook(lambda mod, args, out: called.append(mod))
        for m in model.modules()
        if next(itertools.chain(m.parameters(recurse=False), m.buffers(recurse=False)), None)
        is not None
    ]
    try:
        with torch.no_grad():
            model(torch.empty(1, *input_shape, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return called


def randomize(model: nn.Module) -> None:
    """Random weights of a sensible scale, and non-trivial batch-norm statistics, so a
    misplaced BN or ReLU changes the output."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.normal_(0.0, (2.0 / fan_in) ** 0.5)
                module.bias.normal_(0.0, 0.1)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.2)
                module.running_mean.normal_(0.0, 0.2)
                module.running_var.uniform_(0.5, 1.5)


TOO_BIG_TO_RUN = {"vgg11": "129 M weights and 7.6 G mult-adds; vgg11-narrow runs the same code"}


@pytest.mark.parametrize("name", sorted(set(REFERENCES) - set(TOO_BIG_TO_RUN)))
def test_computes_what_the_reference_computes(name):
    """Same weights (copied layer by layer in the order they are used), same outputs."""
    shape = get_preset(name).input_shape
    with torch.device("meta"):
        reference = REFERENCES[name][0]()
    model = meta_build(name)
    pairs = list(zip(layers_in_call_order(model, shape), layers_in_call_order(reference, shape),
                     strict=True))
    for module in (reference, model):
        module.to_empty(device="cpu")
    torch.manual_seed(0)
    randomize(reference)
    for ours, theirs in pairs:
        assert type(ours) is type(theirs)
        ours.load_state_dict(theirs.state_dict())
    x = torch.randn(1, *shape)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), reference.eval()(x), rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- preset_spec


def test_preset_spec_overrides():
    spec = preset_spec("lenet", num_classes=5)
    assert spec.name == "lenet" and spec.description == get_preset("lenet").doc
    assert build_partial(spec, device="meta").out_shape == (5,)

    spec = preset_spec("resnet18", input_shape=(3, 64, 64))
    result = build_partial(spec, device="meta")
    assert result.error is None and result.out_shape == (10,)
    assert result.network.stem.conv1.weight.shape == (64, 3, 7, 7)
    assert result.blocks[0].out_shape == (64, 16, 16)


def test_preset_specs_cannot_be_changed_in_place():
    spec = preset_spec("resnet18")
    with pytest.raises(TypeError):
        spec.blocks[0].params["blocks"][0].params["out_channels"] = 5
    with pytest.raises(AttributeError):
        spec.blocks[0].type = "relu"
    assert preset_spec("resnet18") == spec


def test_preset_spec_rejects_unknown_names_and_bad_sizes():
    with pytest.raises(KeyError, match="known presets: .*lenet"):
        preset_spec("lenet6")
    with pytest.raises(SpecError, match="input_shape"):
        preset_spec("lenet", input_shape=(1, 0, 28))
    with pytest.raises(SpecError, match="num_classes"):
        preset_spec("lenet", num_classes=0)


# --------------------------------------------------------------------------- torchvision


def test_torchvision_resnet18_on_meta():
    model = torchvision_model("torchvision:resnet18", num_classes=1000)
    assert param_count(model) == 11_689_512
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert model.input_shape == (3, 224, 224)
    assert not model.training


def test_torchvision_models_that_size_layers_with_tensors_build_on_meta():
    model = torchvision_model("torchvision:regnet_x_400mf")  # RegNet computes its widths
    assert {t.device.type for t in [*model.parameters(), *model.buffers()]} == {"meta"}
    assert model(torch.empty(2, *model.input_shape, device="meta")).shape == (2, 10)


def test_torchvision_input_shapes():
    assert torchvision_input_shape("torchvision:resnet50") == (3, 224, 224)
    assert torchvision_input_shape("torchvision:inception_v3") == (3, 299, 299)
    assert torchvision_input_shape("torchvision:vit_h_14") == (3, 224, 224)
    model = torchvision_model("torchvision:inception_v3", input_shape=(3, 320, 320))
    assert model.input_shape == (3, 320, 320)
    assert model(torch.empty(2, 3, 299, 299, device="meta")).shape == (2, 10)


def test_torchvision_unknown_names():
    assert "torchvision:resnet18" in torchvision_names()
    with pytest.raises(KeyError, match="torchvision:resnet50"):
        torchvision_model("torchvision:resnet5")
    with pytest.raises(KeyError):
        torchvision_input_shape("torchvision:lenet")


def test_lenet_is_xavier_initialised_as_in_d2l():
    spec = preset_spec("lenet", num_classes=5)
    assert spec.init == "xavier" and spec.to_dict()["init"] == "xavier"
    torch.manual_seed(0)
    fc = build_model(spec).fc1  # 400 → 120: Xavier's bound √(6/520), PyTorch's 1/√400
    assert fc.weight.abs().max() > 1.5 / 400 ** 0.5
    assert {preset_spec(p).init for p in PRESETS if p != "lenet"} == {"default"}
