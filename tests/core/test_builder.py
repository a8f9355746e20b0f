"""The builder: inferred channels, readable names, partial builds with hinted errors."""

from __future__ import annotations

import dataclasses
import threading

import pytest
import torch
from torch import nn

from explorer.core import ArchitectureSpec, ShapeError, SpecError, build_model, build_partial
from explorer.core.presets import preset_spec


def spec_of(blocks, shape=(1, 28, 28), classes=10):
    return ArchitectureSpec.from_dict(
        {"name": "t", "input_shape": list(shape), "num_classes": classes, "blocks": blocks}
    )


def test_channels_and_features_are_inferred_and_names_readable():
    net = build_model(spec_of([
        {"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2},
        {"type": "relu"},
        {"type": "max_pool2d"},
        {"type": "conv2d", "out_channels": 16, "kernel_size": 5},
        {"type": "flatten"},
        {"type": "linear", "out_features": "classes"},
    ], classes=7))
    assert [n for n, _ in net.named_children()] == ["conv1", "relu1", "pool1", "conv2",
                                                    "flatten1", "fc1"]
    assert net.conv2.in_channels == 6
    assert net.fc1.in_features == 16 * 10 * 10
    assert net.fc1.out_features == 7
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 7)


def test_group_name_and_repeat():
    net = build_model(spec_of([
        {"type": "group", "name": "stage1", "repeat": 3,
         "blocks": [{"type": "conv2d", "out_channels": 4, "padding": 1}, {"type": "relu"}]},
    ]))
    assert [n for n, _ in net.stage1.named_children()] == [
        "conv1", "relu1", "conv2", "relu2", "conv3", "relu3"]
    assert net.stage1.conv2.in_channels == 4


@pytest.mark.parametrize(
    "blocks, index, words",
    [
        ([{"type": "max_pool2d", "kernel_size": 4}, {"type": "max_pool2d", "kernel_size": 4},
          {"type": "conv2d", "out_channels": 8, "kernel_size": 3}],
         2, ["kernel 3×3 is larger than the 1×1 input", "lower kernel_size"]),
        ([{"type": "conv2d", "out_channels": 8, "kernel_size": 29}],
         0, ["kernel 29×29 is larger than the 28×28 input"]),
        ([{"type": "conv2d", "out_channels": 8, "stride": 2}] * 5,  # 28 → 13 → 6 → 2 → fails
         3, ["larger than the 2×2 input"]),
        ([{"type": "flatten"}, {"type": "conv2d", "out_channels": 8}],
         1, ["expects a C×H×W input but receives 784", "before flatten"]),
        ([{"type": "conv2d", "out_channels": 8}, {"type": "linear", "out_features": 10}],
         1, ["linear expects flat features but receives a 8×26×26 map", "add a flatten"]),
        ([{"type": "residual", "body": [{"type": "conv2d", "out_channels": 8, "padding": 1}]}],
         0, ["identity shortcut carries 1×28×28", "conv1x1"]),
        ([{"type": "residual", "shortcut": "pad",
           "body": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3}]}],
         0, ["26×26", "padding kernel_size // 2"]),
        ([{"type": "parallel", "branches": [[{"type": "conv2d", "out_channels": 4}],
                                            [{"type": "conv2d", "out_channels": 4,
                                              "padding": 1}]]}],
         0, ["4×26×26", "4×28×28", "concatenation needs the same height and width"]),
        ([{"type": "parallel", "merge": "add",
           "branches": [[], [{"type": "conv2d", "out_channels": 4, "padding": 1}]]}],
         0, ["addition needs equal shapes"]),
        ([{"type": "residual", "body": [
            {"type": "conv2d", "out_channels": 1, "padding": 1},
            {"type": "max_pool2d", "kernel_size": 30}]}],
         0, ["body[1] (max_pool2d)", "kernel 30×30 is larger than the 28×28 input"]),
    ],
)
def test_shape_errors_stop_at_the_failing_block_with_a_hint(blocks, index, words):
    result = build_partial(spec_of(blocks), device="meta")
    assert isinstance(result.error, ShapeError)
    assert result.error.block == index
    assert len(result.blocks) == index
    text = str(result.error)
    assert text.startswith(f"block {index} (")
    for word in words:
        assert word in text
    with pytest.raises(ShapeError):
        build_model(spec_of(blocks), device="meta")


def test_spec_errors_are_returned_not_raised():
    result = build_partial(spec_of([{"type": "relu"}, {"type": "nope"}]))
    assert isinstance(result.error, SpecError)
    assert result.error.block == 1
    assert [b.type for b in result.blocks] == ["relu"]


def test_meta_build_allocates_no_weights():
    net = build_model(spec_of([{"type": "conv2d", "out_channels": 512},
                               {"type": "flatten"}, {"type": "linear", "out_features": 4096}]),
                      device="meta")
    assert all(p.is_meta for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) > 1_000_000_000


def test_conv1x1_shortcut_infers_any_stride():
    net = build_model(spec_of([
        {"type": "residual", "shortcut": "conv1x1", "body": [
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 3, "padding": 1}]},
    ], shape=(4, 5, 5)))
    assert net.residual1.shortcut.stride == (3, 3)
    assert net(torch.zeros(2, 4, 5, 5)).shape == (2, 8, 2, 2)


def test_group_names_never_collide():
    net = build_model(spec_of([
        {"type": "relu"},
        {"type": "group", "name": "relu1", "blocks": [{"type": "relu"}]},
        {"type": "group", "name": "stage", "blocks": [{"type": "relu"}]},
        {"type": "group", "name": "stage", "blocks": [{"type": "relu"}]},
    ]))
    assert [n for n, _ in net.named_children()] == ["relu1", "relu1_1", "stage", "stage_1"]


# --------------------------------------------------------------------------- initialisation

INIT_NET = [
    {"type": "conv2d", "out_channels": 32, "kernel_size": 5},
    {"type": "batch_norm2d"},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "linear", "out_features": 256},
    {"type": "linear", "out_features": "classes"},
]


def built_with(init: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(dataclasses.replace(spec_of(INIT_NET, shape=(8, 12, 12)), init=init))


def weighted(net):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@pytest.mark.parametrize("init", ["xavier", "kaiming"])
def test_init_sets_the_spread_of_the_weights_only(init):
    net = built_with(init)
    for layer in weighted(net):
        w = layer.weight
        fan_out, fan_in = w.shape[0] * w[0, 0].numel(), w[0].numel()
        if init == "xavier":  # uniform on ±√(6 / (fan_in + fan_out))
            bound = (6 / (fan_in + fan_out)) ** 0.5
            assert w.abs().max() <= bound
            expected = bound / 3 ** 0.5
        else:  # normal with std √(2 / fan_in)
            expected = (2 / fan_in) ** 0.5
        assert w.std().item() == pytest.approx(expected, rel=0.1)
        assert abs(w.mean().item()) < 0.1 * expected
        # the biases keep PyTorch's initialisation, as d2l's init_cnn leaves them
        assert torch.count_nonzero(layer.bias) > 0
        assert layer.bias.abs().max() <= 1 / fan_in ** 0.5
    bn = net[1]  # batch norm keeps its own: weight 1, bias 0
    assert torch.equal(bn.weight, torch.ones(32)) and torch.equal(bn.bias, torch.zeros(32))


def test_default_init_is_pytorchs():
    net = built_with("default")
    for layer in weighted(net):
        fan_in = layer.weight[0].numel()
        bound = 1 / fan_in ** 0.5  # kaiming_uniform_(a=√5): uniform on ±1/√fan_in
        assert layer.weight.abs().max() <= bound
        assert layer.weight.std().item() == pytest.approx(bound / 3 ** 0.5, rel=0.1)
        assert torch.count_nonzero(layer.bias) > 0
    fc = weighted(net)[1]  # 4608 → 256: default spread 0.0085, Xavier's 0.0198, He's 0.0208
    assert fc.weight.std() < 0.5 * weighted(built_with("xavier"))[1].weight.std()


@pytest.mark.parametrize("init", ["default", "xavier", "kaiming"])
def test_a_seeded_build_is_reproducible(init):
    first, again, other = built_with(init), built_with(init), built_with(init, seed=1)
    for a, b, c in zip(first.state_dict().values(), again.state_dict().values(),
                       other.state_dict().values()):
        assert torch.equal(a, b)
    assert not torch.equal(first[0].weight, other[0].weight)


def test_init_on_meta_allocates_nothing():
    spec = dataclasses.replace(spec_of(INIT_NET, shape=(8, 12, 12)), init="kaiming")
    assert all(p.is_meta for p in build_model(spec, device="meta").parameters())


# --------------------------------------------------------------------------- private generator


@pytest.mark.parametrize("init", ["default", "xavier", "kaiming"])
def test_a_generator_gives_the_engines_weights_and_leaves_the_global_rng(init):
    """Models built off the training thread draw from a generator of their own: the global
    state is the same after, and the weights are those the engine draws for that seed."""
    from explorer.training.engine import PrivateRNG

    spec = dataclasses.replace(preset_spec("course-resnet"), init=init)
    torch.manual_seed(11)
    before = torch.get_rng_state()
    private = build_model(spec, "cpu", generator=torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), before)
    with PrivateRNG(5, torch.device("cpu")).active():
        engine = build_model(spec, "cpu")
    for (name, a), b in zip(private.state_dict().items(), engine.state_dict().values()):
        assert torch.equal(a, b), name
    other = build_model(spec, "cpu", generator=torch.Generator().manual_seed(6))
    assert not torch.equal(other.conv1.weight, private.conv1.weight)


def test_builds_on_another_thread_do_not_disturb_a_seeded_build():
    """A run seeds the global RNG and builds while the inference thread builds snapshots:
    the run's first weights are what its seed gives, build after build."""
    spec = preset_spec("course-resnet")
    torch.manual_seed(3)
    expected = build_model(spec, "cpu").state_dict()
    stop = threading.Event()

    def other_thread():
        while not stop.is_set():
            build_model(spec, "cpu", generator=torch.Generator())

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:
        for _ in range(8):
            with torch.random.fork_rng():
                torch.manual_seed(3)
                got = build_model(spec, "cpu").state_dict()
            assert all(torch.equal(got[k], v) for k, v in expected.items())
    finally:
        stop.set()
        worker.join()


def test_a_real_build_finds_linear_shapes_without_pytorchs_meta_decompositions():
    """A build with real weights (``explorer gradients``, ``predict``, ``export``, a training
    start) finds each block's output on meta stand-ins; its linear layers are answered from
    their shapes, not by PyTorch's Python decomposition of a meta matrix product, whose first
    call costs about a second of imports in a process that has made no optimizer yet.
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class MetaOps(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.seen: set[str] = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if any(isinstance(t, torch.Tensor) and t.is_meta for t in tree_leaves((args, kwargs))):
                self.seen.add(func.overloadpacket.__name__)
            return func(*args, **kwargs)

    with MetaOps() as ops:
        model = build_model(preset_spec("lenet"))
    assert "convolution" in ops.seen  # the shapes were found on the meta device, and watched
    assert not ops.seen & {"addmm", "mm", "linear"}, sorted(ops.seen)
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
    assert not any(p.is_meta for p in model.parameters())
