"""Presets: the classic networks, faithful to ARCHITECTURES.md, and torchvision's models.

Each preset is a function returning its list of block dicts, registered with
:func:`~explorer.core.registry.register_preset`; :func:`preset_spec` turns one into an
:class:`~explorer.core.spec.ArchitectureSpec`. The last layer always has ``"classes"``
outputs, so a preset works for any number of classes.

torchvision's classification models can be looked at (not edited) through
:func:`torchvision_model`, built without weights and, by default, on the meta device.
"""

from __future__ import annotations

import copy
import difflib
import functools
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from explorer.core.registry import get_preset, list_presets, register_preset
from explorer.core.spec import ArchitectureSpec

TORCHVISION_PREFIX = "torchvision:"

D2L = "Dive into Deep Learning (d2l.ai)"


# --------------------------------------------------------------------------- block helpers


def _preset(name: str, **kwargs: Any) -> Callable:
    """:func:`register_preset`, each call returning fresh dicts (safe to edit in place)."""

    def decorate(fn: Callable[[], list]) -> Callable[[], list]:
        @functools.wraps(fn)
        def blocks() -> list:
            return copy.deepcopy(fn())

        register_preset(name, **kwargs)(blocks)
        return fn

    return decorate


def _conv(out_channels: int | str, kernel_size: int, stride: int = 1, padding: int = 0) -> dict:
    block: dict[str, Any] = {"type": "conv2d", "out_channels": out_channels,
                             "kernel_size": kernel_size}
    if stride != 1:
        block["stride"] = stride
    if padding:
        block["padding"] = padding
    return block


def _pool(kind: str, kernel_size: int, stride: int | None = None, padding: int = 0) -> dict:
    block: dict[str, Any] = {"type": f"{kind}_pool2d", "kernel_size": kernel_size}
    if stride is not None and stride != kernel_size:
        block["stride"] = stride
    if padding:
        block["padding"] = padding
    return block


def _linear(out_features: int | str) -> dict:
    return {"type": "linear", "out_features": out_features}


def _group(name: str, blocks: list[dict], repeat: int = 1) -> dict:
    block: dict[str, Any] = {"type": "group", "name": name, "blocks": blocks}
    if repeat != 1:
        block["repeat"] = repeat
    return block


RELU = {"type": "relu"}
SIGMOID = {"type": "sigmoid"}
BN = {"type": "batch_norm2d"}
FLATTEN = {"type": "flatten"}
GAP = {"type": "global_avg_pool"}
DROPOUT = {"type": "dropout", "p": 0.5}
HEAD = [GAP, FLATTEN, _linear("classes")]
"""Global average pool → flatten → linear to the class scores."""


def _fc_head() -> list[dict]:
    """AlexNet's and VGG's classifier: two dropout-regularised 4096-unit layers."""
    return [FLATTEN, _linear(4096), RELU, DROPOUT, _linear(4096), RELU, DROPOUT,
            _linear("classes")]


def _stem() -> list[dict]:
    """ResNet's and DenseNet's stem: conv 7×7 64 s2 p3 → BN → ReLU → max-pool 3 s2 p1."""
    return [_conv(64, 7, stride=2, padding=3), BN, RELU, _pool("max", 3, stride=2, padding=1)]


# --------------------------------------------------------------------------- the course


@_preset("course-inception", input_shape=(1, 28, 28),
         source="PyTorch course, Advanced CNNs (Inception)", tags=("course", "mnist"))
def course_inception() -> list[dict]:
    """The course's Inception net for MNIST (about 98 % test accuracy).

    conv 5×5 10 → max-pool → ReLU → Inception-A (88 channels) → conv 5×5 20 → max-pool → ReLU
    → Inception-A → flatten (1408) → linear. Trained with SGD (lr 0.01, momentum 0.5).
    """
    return [
        _conv(10, 5), _pool("max", 2), RELU,
        {"type": "inception_a"},
        _conv(20, 5), _pool("max", 2), RELU,
        {"type": "inception_a"},
        FLATTEN, _linear("classes"),
    ]


@_preset("course-resnet", input_shape=(1, 28, 28),
         source="PyTorch course, Advanced CNNs (ResNet)",
         tags=("course", "mnist", "residual"))
def course_resnet() -> list[dict]:
    """The course's residual net for MNIST (about 99 % test accuracy).

    conv 5×5 16 → ReLU → max-pool → residual block → conv 5×5 32 → ReLU → max-pool →
    residual block → flatten (512) → linear.
    """
    return [
        _conv(16, 5), RELU, _pool("max", 2),
        {"type": "simple_residual"},
        _conv(32, 5), RELU, _pool("max", 2),
        {"type": "simple_residual"},
        FLATTEN, _linear("classes"),
    ]


# --------------------------------------------------------------------------- modern CNNs


@_preset("lenet", input_shape=(1, 28, 28), init="xavier",
         source=f"{D2L} §7.6; LeCun et al. 1998", tags=("classic", "d2l", "mnist"))
def lenet() -> list[dict]:
    """LeNet-5: sigmoid activations and average pooling, as in d2l (61,706 parameters).

    Xavier-initialised, as d2l trains it: with PyTorch's default initialisation and d2l's
    settings (SGD, lr 0.9) the sigmoid network stays at chance for epochs.

    conv 5×5 6 p2 → sigmoid → avg-pool → conv 5×5 16 → sigmoid → avg-pool → flatten →
    linear 120 → sigmoid → linear 84 → sigmoid → linear.
    """
    return [
        _conv(6, 5, padding=2), SIGMOID, _pool("avg", 2),
        _conv(16, 5), SIGMOID, _pool("avg", 2),
        FLATTEN, _linear(120), SIGMOID, _linear(84), SIGMOID, _linear("classes"),
    ]


@_preset("alexnet", input_shape=(1, 224, 224),
         source=f"{D2L} §8.1; Krizhevsky et al. 2012", tags=("classic", "d2l"))
def alexnet() -> list[dict]:
    """AlexNet: five convolutions, ReLU and dropout, as in d2l (about 46.8 M parameters).

    conv 11×11 96 s4 p1 → max-pool 3 s2 → conv 5×5 256 p2 → max-pool → 3 × conv 3×3
    (384, 384, 256) → max-pool → two 4096-unit layers with dropout → linear.
    """
    return [
        _conv(96, 11, stride=4, padding=1), RELU, _pool("max", 3, stride=2),
        _conv(256, 5, padding=2), RELU, _pool("max", 3, stride=2),
        _conv(384, 3, padding=1), RELU,
        _conv(384, 3, padding=1), RELU,
        _conv(256, 3, padding=1), RELU, _pool("max", 3, stride=2),
        *_fc_head(),
    ]


VGG11 = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
"""VGG-11's blocks as (number of convolutions, channels)."""


def _vgg(ratio: int) -> list[dict]:
    """VGG-11 with every block's channels divided by ``ratio``."""
    blocks = [{"type": "vgg_block", "num_convs": n, "out_channels": c // ratio} for n, c in VGG11]
    return [*blocks, *_fc_head()]


@_preset("vgg11", input_shape=(1, 224, 224),
         source=f"{D2L} §8.2; Simonyan & Zisserman 2014", tags=("classic", "d2l"))
def vgg11() -> list[dict]:
    """VGG-11: five VGG blocks (8 convolutions) and three linear layers (about 129 M parameters).

    VGG blocks (convs, channels) (1, 64), (1, 128), (2, 256), (2, 512), (2, 512), each ending in
    a 2×2 max-pool, then two 4096-unit layers with dropout → linear.
    """
    return _vgg(1)


@_preset("vgg11-narrow", input_shape=(1, 224, 224),
         source=f"{D2L} §8.2 (ratio 4)", tags=("classic", "d2l"))
def vgg11_narrow() -> list[dict]:
    """VGG-11 with a quarter of the channels, as d2l trains it on a laptop.

    Channels 16, 32, 64, 128, 128; the two 4096-unit layers are kept, as in d2l.
    """
    return _vgg(4)


@_preset("nin", input_shape=(1, 224, 224),
         source=f"{D2L} §8.3; Lin et al. 2013", tags=("classic", "d2l"))
def nin() -> list[dict]:
    """Network in Network: 1×1 convolutions and global average pooling, no linear layer.

    NiN(11, 96, s4) → max-pool 3 s2 → NiN(5, 256, p2) → max-pool → NiN(3, 384, p1) →
    max-pool → dropout → NiN(3, classes, p1) → global average pool → flatten.
    """
    return [
        {"type": "nin_block", "out_channels": 96, "kernel_size": 11, "stride": 4},
        _pool("max", 3, stride=2),
        {"type": "nin_block", "out_channels": 256, "kernel_size": 5, "padding": 2},
        _pool("max", 3, stride=2),
        {"type": "nin_block", "out_channels": 384, "kernel_size": 3, "padding": 1},
        _pool("max", 3, stride=2),
        DROPOUT,
        {"type": "nin_block", "out_channels": "classes", "kernel_size": 3, "padding": 1},
        GAP, FLATTEN,
    ]


GOOGLENET = (
    (64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64),
    (192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
    (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128),
    (256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128),
)
"""GoogLeNet's nine Inception blocks as (c1, c2a, c2b, c3a, c3b, c4)."""


def _inceptions(first: int, last: int) -> list[dict]:
    keys = ("c1", "c2a", "c2b", "c3a", "c3b", "c4")
    return [{"type": "inception", **dict(zip(keys, c))} for c in GOOGLENET[first:last]]


@_preset("googlenet", input_shape=(1, 96, 96),
         source=f"{D2L} §8.4; Szegedy et al. 2015", tags=("classic", "d2l", "inception"))
def googlenet() -> list[dict]:
    """GoogLeNet: nine Inception blocks in three stages, as d2l trains it on 96×96 inputs.

    Stem conv 7×7 64 s2 → max-pool; conv 1×1 64 → conv 3×3 192 → max-pool; Inception blocks
    2 + 5 + 2 with a max-pool 3 s2 after the first two stages; global average pool → linear.
    """
    pool = _pool("max", 3, stride=2, padding=1)
    return [
        _group("stem", [_conv(64, 7, stride=2, padding=3), RELU, pool]),
        _group("stage2", [_conv(64, 1), RELU, _conv(192, 3, padding=1), RELU, pool]),
        _group("stage3", [*_inceptions(0, 2), pool]),
        _group("stage4", [*_inceptions(2, 7), pool]),
        _group("stage5", _inceptions(7, 9)),
        *HEAD,
    ]


@_preset("resnet18", input_shape=(1, 96, 96),
         source=f"{D2L} §8.6; He et al. 2015", tags=("classic", "d2l", "residual"))
def resnet18() -> list[dict]:
    """ResNet-18: a stem and four stages of two residual blocks, as in d2l (about 11.2 M).

    Stages of 64, 128, 256, 512 channels; the first block of stages 2–4 halves the size
    (stride 2) and has a 1×1 conv shortcut; global average pool → linear.
    """
    stages = [_group("stage1", [{"type": "resnet_basic", "out_channels": 64}], repeat=2)]
    for i, channels in enumerate((128, 256, 512), start=2):
        stages.append(_group(f"stage{i}", [
            {"type": "resnet_basic", "out_channels": channels, "stride": 2,
             "shortcut": "conv1x1"},
            {"type": "resnet_basic", "out_channels": channels},
        ]))
    return [_group("stem", _stem()), *stages, *HEAD]


@_preset("densenet", input_shape=(1, 96, 96),
         source=f"{D2L} §8.7; Huang et al. 2017", tags=("classic", "d2l", "dense"))
def densenet() -> list[dict]:
    """DenseNet: four dense blocks (growth rate 32) joined by transition layers, as in d2l.

    ResNet's stem; dense blocks of 4 BN → ReLU → conv 3×3 layers, each output concatenated to
    its input; transitions halve the channels and the size; BN → ReLU → global average pool.
    """
    dense = {"type": "dense_block", "num_layers": 4, "growth_rate": 32}
    body = [dense, {"type": "transition"}] * 3 + [dense]
    return [_group("stem", _stem()), *body, BN, RELU, *HEAD]


# --------------------------------------------------------------------------- plain vs residual


def _plain(n: int) -> list[dict]:
    """He et al.'s 6n+2-layer CIFAR net without shortcuts."""
    layer = [_conv(16, 3, padding=1), BN, RELU]
    stages = [_group("stage1", layer, repeat=2 * n)]
    for i, channels in enumerate((32, 64), start=2):
        first = [_conv(channels, 3, stride=2, padding=1), BN, RELU]
        rest = [_conv(channels, 3, padding=1), BN, RELU] * (2 * n - 1)
        stages.append(_group(f"stage{i}", first + rest))
    return [_group("stem", layer), *stages, *HEAD]


def _resnet_cifar(n: int) -> list[dict]:
    """He et al.'s 6n+2-layer CIFAR ResNet, zero-padded identity shortcuts (option A)."""
    def block(channels: int, stride: int = 1) -> dict:
        out: dict[str, Any] = {"type": "resnet_basic", "out_channels": channels}
        if stride != 1:
            out["stride"] = stride
        out["shortcut"] = "pad"
        return out

    stages = [_group("stage1", [block(16)], repeat=n)]
    for i, channels in enumerate((32, 64), start=2):
        stages.append(_group(f"stage{i}", [block(channels, 2)] + [block(channels)] * (n - 1)))
    return [_group("stem", [_conv(16, 3, padding=1), BN, RELU]), *stages, *HEAD]


PAPER = "He et al. 2015, Deep Residual Learning, §4.2 (CIFAR-10)"


@_preset("plain20", input_shape=(3, 32, 32), source=PAPER, tags=("cifar", "plain"))
def plain20() -> list[dict]:
    """Plain 20-layer CIFAR net: 19 conv 3×3 + BN + ReLU layers, no shortcuts (about 0.27 M).

    Three stages of 6 layers with 16, 32, 64 channels on 32×32, 16×16, 8×8 maps.
    """
    return _plain(3)


@_preset("resnet20", input_shape=(3, 32, 32), source=PAPER, tags=("cifar", "residual"))
def resnet20() -> list[dict]:
    """ResNet-20 for CIFAR: plain20 plus an identity shortcut every two layers (about 0.27 M).

    Three stages of 3 residual blocks; where the channels double, the shortcut subsamples and
    zero-pads (option A), so it adds no parameters.
    """
    return _resnet_cifar(3)


@_preset("plain56", input_shape=(3, 32, 32), source=PAPER, tags=("cifar", "plain"))
def plain56() -> list[dict]:
    """Plain 56-layer CIFAR net: deeper, yet worse than plain20 (degradation; about 0.85 M).

    Three stages of 18 conv 3×3 + BN + ReLU layers with 16, 32, 64 channels.
    """
    return _plain(9)


@_preset("resnet56", input_shape=(3, 32, 32), source=PAPER, tags=("cifar", "residual"))
def resnet56() -> list[dict]:
    """ResNet-56 for CIFAR: the shortcuts let the deeper net beat ResNet-20 (about 0.85 M).

    Three stages of 9 residual blocks with zero-padded identity shortcuts (option A).
    """
    return _resnet_cifar(9)


# --------------------------------------------------------------------------- public helpers


def preset_spec(
    name: str,
    *,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
) -> ArchitectureSpec:
    """The architecture of a preset, optionally for another input shape or class count.

    Parameters
    ----------
    name : a registered preset, e.g. ``"lenet"``.
    input_shape : (C, H, W); the preset's own when ``None``.
    num_classes : the preset's own (10) when ``None``.

    Raises
    ------
    KeyError
        For an unknown preset, naming the known ones.
    SpecError
        For an invalid ``input_shape`` or ``num_classes``.
    """
    try:
        preset = get_preset(name)
    except KeyError:
        known = ", ".join(p.name for p in list_presets())
        raise KeyError(f"unknown preset {name!r}; known presets: {known}") from None
    return ArchitectureSpec.from_dict({
        "name": preset.name,
        "description": preset.doc,
        "input_shape": list(input_shape if input_shape is not None else preset.input_shape),
        "num_classes": num_classes if num_classes is not None else preset.num_classes,
        "blocks": preset.blocks(),
        "init": preset.init,
    })


def torchvision_names() -> list[str]:
    """torchvision's classification models, as ``torchvision:<name>``."""
    from torchvision import models

    return [TORCHVISION_PREFIX + n for n in models.list_models(module=models)]


def _torchvision_arch(name: str) -> str:
    """The torchvision model name in ``torchvision:<name>``; ``KeyError`` if there is none."""
    arch = name.removeprefix(TORCHVISION_PREFIX)
    names = [n.removeprefix(TORCHVISION_PREFIX) for n in torchvision_names()]
    if arch not in names:
        close = difflib.get_close_matches(arch, names, n=5) or names[:5]
        raise KeyError(
            f"unknown torchvision model {name!r}; for example "
            + ", ".join(TORCHVISION_PREFIX + n for n in close)
            + f" ({len(names)} in all)"
        )
    return arch


def torchvision_input_shape(name: str) -> tuple[int, int, int]:
    """The input (C, H, W) a torchvision model was designed for, e.g. (3, 224, 224).

    (3, 299, 299) for Inception-v3, (3, 600, 600) for EfficientNet-B7: the smallest crop
    size among its published weights' transforms (torchvision's metadata, nothing is
    downloaded). ViT-H/14, built without weights, accepts only 224.
    """
    from torchvision import models

    arch = _torchvision_arch(name)
    crops = [getattr(w.transforms, "keywords", {}).get("crop_size", 224)
             for w in models.get_model_weights(arch)]
    size = min(crops, default=224)
    return (3, size, size)


# Training-only auxiliary classifiers are left out, so counts match torchvision's published ones
_WITHOUT_AUX = {"googlenet": {"aux_logits": False}, "inception_v3": {"aux_logits": False}}


_FACTORIES = frozenset({
    torch.empty, torch.empty_strided, torch.zeros, torch.ones, torch.full, torch.eye,
    torch.rand, torch.randn, torch.randint, torch.randperm, torch.arange, torch.linspace,
    torch.logspace, torch.tensor, torch.as_tensor, torch.asarray, torch.scalar_tensor,
    torch.tril_indices, torch.triu_indices,
})
"""The public tensor factories that take a ``device`` (those ``torch.device(...)`` redirects)."""


_FILLS = frozenset({
    *(getattr(nn.init, name) for name in nn.init.__all__ if name.endswith("_")),
    *(getattr(torch.Tensor, name) for name in (
        "normal_", "uniform_", "zero_", "fill_", "erfinv_", "clamp_",
        "mul_", "add_", "copy_")),
})
"""Initialisations, and the in-place steps they are made of, that change values only."""


class _MetaWeights(TorchFunctionMode):
    """Like ``torch.device("meta")``, but integer tensors are made on the CPU, and filling a
    meta tensor with initial values is skipped.

    Some builders compute their layer sizes with tensors (RegNet's block widths) and read
    them back, which a meta tensor cannot do (``torch.device("meta")`` fails there with
    "Cannot copy out of meta tensor"); weights are floating-point and stay on meta. A meta
    tensor has no values, yet PyTorch runs most initialisations on it step by step in Python
    (``normal_`` ≈ 5 ms a weight): a weight comes back as it is.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _FILLS and args and torch.is_tensor(args[0]) and args[0].is_meta:
            return args[0]
        if func in _FACTORIES and kwargs.get("device") is None:
            out = func(*args, **{**kwargs, "device": "meta"})
            if out.is_floating_point() or out.is_complex():
                return out
        return func(*args, **kwargs)


def torchvision_model(
    name: str,
    *,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int = 10,
    device: str | torch.device = "meta",
) -> nn.Module:
    """A torchvision classification model, to look at: random weights, never downloaded.

    Parameters
    ----------
    name : ``torchvision:<model>``, e.g. ``"torchvision:resnet50"``.
    input_shape : (C, H, W) to inspect it with, stored as ``model.input_shape``; by default
        :func:`torchvision_input_shape`.
    num_classes : outputs of the last layer.
    device : where the weights live; on ``"meta"`` (the default) they take no memory.

    Returns
    -------
    The model in eval mode; GoogLeNet and Inception-v3 without their auxiliary classifiers.

    Raises
    ------
    KeyError
        For an unknown name, suggesting valid ones.
    """
    from torchvision import models

    arch = _torchvision_arch(name)
    meta = torch.device(device).type == "meta"
    with warnings.catch_warnings():
        # GoogLeNet and Inception-v3 warn that their default initialisation may change
        warnings.filterwarnings("ignore", "The default weight initialization", FutureWarning)
        with _MetaWeights() if meta else torch.device(device):
            model = models.get_model(arch, weights=None, num_classes=num_classes,
                                     **_WITHOUT_AUX.get(arch, {}))
    model = model.to(device).eval()
    model.input_shape = (
        tuple(input_shape) if input_shape is not None else torchvision_input_shape(name)
    )
    return model
