"""Hand-checked numbers and behaviour of the inception, residual, dense and classic blocks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from reference_nets import CourseInceptionA
from torch import nn

from explorer.blocks.modules.residual import POST_ACTIVATION_VARIANTS, ShortcutDropout
from explorer.blocks.residual import VARIANTS
from explorer.core import ArchitectureSpec, BlockSpec, ShapeError, build_model, build_partial
from explorer.core.inspector import inspect_spec
from explorer.core.summary import format_table


def build(blocks: list[dict], input_shape: tuple, num_classes: int = 10):
    spec = ArchitectureSpec("families", input_shape, num_classes,
                            [BlockSpec.from_dict(b) for b in blocks])
    return build_model(spec)


def out_shape(blocks: list[dict], input_shape: tuple) -> tuple:
    spec = ArchitectureSpec("families", input_shape, 10, [BlockSpec.from_dict(b) for b in blocks])
    result = build_partial(spec)
    assert result.error is None, str(result.error)
    return result.out_shape


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy parameters in registration order (the two modules list them alike)."""
    with torch.no_grad():
        for a, b in zip(src.parameters(), dst.parameters(), strict=True):
            b.copy_(a)


# --------------------------------------------------------------------------- inception


def test_inception_a_gives_88_channels():
    assert out_shape([{"type": "inception_a"}], (10, 12, 12)) == (88, 12, 12)


def test_inception_a_parameters_by_hand():
    # On 10 input channels (weights + biases):
    #   branch1x1     1×1 10→16: 10·16 + 16                          =   176
    #   branch5x5     1×1 10→16: 176;  5×5 16→24: 16·24·25 + 24 = 9624 → 9800
    #   branch3x3dbl  1×1 10→16: 176;  3×3 16→24: 16·24·9 + 24 = 3480;
    #                 3×3 24→24: 24·24·9 + 24 = 5208                  → 8864
    #   branch_pool   1×1 10→24: 10·24 + 24                          =   264
    #   total 176 + 9800 + 8864 + 264                                = 19104
    assert count(build([{"type": "inception_a"}], (10, 12, 12))) == 19104


def test_inception_a_matches_the_course_code():
    torch.manual_seed(0)
    ours = build([{"type": "inception_a"}], (10, 12, 12))[0]
    course = CourseInceptionA(10)
    copy_weights(course, ours)
    x = torch.randn(2, 10, 12, 12)
    torch.testing.assert_close(ours(x), course(x))
    assert [n for n, _ in ours.named_children()] == [
        "branch1x1", "branch5x5", "branch3x3dbl", "branch_pool"]


def test_googlenet_first_inception_by_hand():
    # (64, (96, 128), (16, 32), 32) on 192 channels:
    #   1×1 192→64: 12352 | 1×1 192→96: 18528, 3×3 96→128: 110720
    #   | 1×1 192→16: 3088, 5×5 16→32: 12832 | 1×1 192→32: 6176   → 163696
    block = {"type": "inception", "c1": 64, "c2a": 96, "c2b": 128, "c3a": 16, "c3b": 32,
             "c4": 32}
    assert out_shape([block], (192, 28, 28)) == (256, 28, 28)
    assert count(build([block], (192, 28, 28))) == 163696


def test_inception_rejects_flat_input():
    spec = ArchitectureSpec("flat", (8, 4, 4), 10, [
        BlockSpec("flatten"), BlockSpec("inception_a")])
    error = build_partial(spec).error
    assert isinstance(error, ShapeError) and "flatten" in error.hint


# --------------------------------------------------------------------------- residual


class D2lResidual(nn.Module):
    """d2l's ``Residual`` (with explicit input channels instead of lazy layers)."""

    def __init__(self, in_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, num_channels, 3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, 3, padding=1)
        self.conv3 = nn.Conv2d(in_channels, num_channels, 1, stride=strides) if use_1x1conv \
            else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3:
            x = self.conv3(x)
        return F.relu(y + x)


@pytest.mark.parametrize("out_channels, stride", [(8, 1), (16, 2), (6, 3)])
def test_resnet_basic_matches_d2l(out_channels, stride):
    torch.manual_seed(0)
    block = {"type": "resnet_basic", "out_channels": out_channels, "stride": stride}
    ours = build([block], (8, 11, 11))[0]
    d2l = D2lResidual(8, out_channels, use_1x1conv=(out_channels, stride) != (8, 1),
                      strides=stride)
    assert count(ours) == count(d2l)
    names = ["conv1", "bn1", "conv2", "bn2"] + (["shortcut"] if d2l.conv3 else [])
    with torch.no_grad():
        for name in names:
            for a, b in zip(getattr(d2l, "conv3" if name == "shortcut" else name).parameters(),
                            getattr(ours, name).parameters(), strict=True):
                a.normal_(0, 0.5)
                b.copy_(a)
    ours.eval()
    d2l.eval()
    x = torch.randn(2, 8, 11, 11)
    torch.testing.assert_close(ours(x), d2l(x))


def test_resnet_basic_auto_shortcut():
    same = build([{"type": "resnet_basic", "out_channels": 8}], (8, 8, 8))[0]
    assert isinstance(same.shortcut, nn.Identity)
    wider = build([{"type": "resnet_basic", "out_channels": 16, "stride": 2}], (8, 8, 8))[0]
    assert isinstance(wider.shortcut, nn.Conv2d) and wider.shortcut.stride == (2, 2)
    assert wider.shortcut.kernel_size == (1, 1) and wider.shortcut.bias is not None


def test_resnet_basic_odd_size_and_stride():
    assert out_shape([{"type": "resnet_basic", "out_channels": 8, "stride": 2}],
                     (4, 15, 15)) == (8, 8, 8)
    assert out_shape([{"type": "resnet_basic", "out_channels": 8, "stride": 3,
                       "shortcut": "conv1x1"}], (4, 5, 5)) == (8, 2, 2)


@pytest.mark.parametrize("change", [{"out_channels": 16}, {"out_channels": 8, "stride": 2}])
def test_identity_shortcut_that_cannot_fit_says_conv1x1(change):
    spec = ArchitectureSpec("bad", (8, 16, 16), 10, [
        BlockSpec("resnet_basic", {**change, "shortcut": "identity"})])
    result = build_partial(spec)
    assert isinstance(result.error, ShapeError)
    assert result.error.block == 0
    assert "conv1x1" in result.error.hint and "conv1x1" in str(result.error)
    with pytest.raises(ShapeError, match="identity shortcut"):
        build_model(spec)


def test_pad_shortcut_cannot_drop_channels():
    spec = ArchitectureSpec("bad", (8, 16, 16), 10, [
        BlockSpec("resnet_basic", {"out_channels": 4, "shortcut": "pad"})])
    assert "conv1x1" in build_partial(spec).error.hint


def test_resnet_basic_none_is_a_plain_block():
    block = build([{"type": "resnet_basic", "out_channels": 8, "shortcut": "none"}],
                  (8, 8, 8))[0].eval()
    assert block.shortcut is None
    x = torch.randn(2, 8, 8, 8)
    with torch.no_grad():
        body = block.bn2(block.conv2(block.relu1(block.bn1(block.conv1(x)))))
        torch.testing.assert_close(block(x), body.relu())


def test_simple_residual_keeps_the_shape_and_matches_the_course():
    # course: conv 3×3 16→16 twice: 2 · (16·16·9 + 16) = 4640 parameters
    block = build([{"type": "simple_residual"}], (16, 12, 12))[0]
    assert count(block) == 4640
    x = torch.randn(2, 16, 12, 12)
    with torch.no_grad():
        expected = F.relu(x + block.conv2(F.relu(block.conv1(x))))
        torch.testing.assert_close(block(x), expected)


def test_bottleneck_default_width():
    block = build([{"type": "bottleneck", "out_channels": 64}], (64, 8, 8))[0]
    assert block.conv1.out_channels == 16 and block.conv3.out_channels == 64
    assert isinstance(block.shortcut, nn.Identity)
    narrow = build([{"type": "bottleneck", "out_channels": 2}], (2, 4, 4))[0]
    assert narrow.conv1.out_channels == 1
    wide = build([{"type": "bottleneck", "out_channels": 32, "bottleneck_channels": 8,
                   "stride": 2}], (16, 8, 8))
    assert wide[0].conv2.stride == (2, 2) and tuple(wide(torch.randn(2, 16, 8, 8)).shape) == (
        2, 32, 4, 4)


# --------------------------------------------------------------------------- variants


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("out_channels, stride, expected", [
    (None, 1, (8, 9, 9)), (12, 1, (12, 9, 9)), (None, 2, (8, 5, 5)), (16, 2, (16, 5, 5)),
])
def test_residual_variant_builds_and_runs(variant, out_channels, stride, expected):
    block = {"type": "residual_variant", "variant": variant, "out_channels": out_channels,
             "stride": stride}
    network = build([block], (8, 9, 9))
    for mode in (network.train, network.eval):
        mode()
        assert tuple(network(torch.randn(2, 8, 9, 9)).shape) == (2, *expected)
    module = network[0]
    assert (module.relu_out is not None) == (variant in POST_ACTIVATION_VARIANTS)
    changes = (out_channels, stride) != (None, 1)
    projects = changes or variant == "conv_shortcut"
    convs = [m for m in [module.shortcut, *module.shortcut.children()]
             if isinstance(m, nn.Conv2d)]
    assert len(convs) == (1 if projects else 0)


def test_full_preact_has_no_relu_after_the_addition():
    module = build([{"type": "residual_variant"}], (8, 6, 6))[0]
    assert module.relu_out is None
    assert [n for n, _ in module.body.named_children()] == [
        "bn1", "relu1", "conv1", "bn2", "relu2", "conv2"]
    # with F(x) = 0 the block passes a negative input through unchanged
    with torch.no_grad():
        for p in module.body.parameters():
            p.zero_()
        x = -torch.rand(2, 8, 6, 6) - 0.1
        torch.testing.assert_close(module(x), x)


# factor on x when F(x) = 0 (and, for the gates, g = sigmoid(0) = 1/2)
ZERO_RESIDUAL = {
    "original": 1.0,
    "constant_scaling": 0.5,
    "shortcut_scaling": 0.5,
    "conv_shortcut": 1.0,  # the 1×1 conv is set to the identity
    "dropout_shortcut": 0.5,  # eval mode: the expectation, 1 − p
    "exclusive_gating": 0.5,
    "shortcut_only_gating": 0.5,
    "bn_after_addition": 1 / (1 + 1e-5) ** 0.5,  # a fresh BN in eval: x / √(1 + eps)
    "relu_before_add": 1.0,
    "relu_only_preact": 1.0,
    "full_preact": 1.0,
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_residual_variant_combines_shortcut_as_the_paper_says(variant):
    module = build([{"type": "residual_variant", "variant": variant}], (4, 5, 5))[0].eval()
    with torch.no_grad():
        for part in (module.body, module.gate):
            for p in part.parameters() if part is not None else ():
                p.zero_()
        if variant == "conv_shortcut":
            module.shortcut.weight.copy_(torch.eye(4)[:, :, None, None])
            module.shortcut.bias.zero_()
        x = torch.randn(2, 4, 5, 5)
        expected = ZERO_RESIDUAL[variant] * x
        if variant in POST_ACTIVATION_VARIANTS:
            expected = expected.relu()
        torch.testing.assert_close(module(x), expected)


def zero_body(variant: str, p: float = 0.5) -> nn.Module:
    module = build([{"type": "residual_variant", "variant": variant, "p": p}], (4, 5, 5))[0]
    with torch.no_grad():
        for param in module.body.parameters():
            param.zero_()
    return module


def test_dropout_shortcut_drops_in_training_without_rescaling():
    module = zero_body("dropout_shortcut")
    assert isinstance(module.shortcut, ShortcutDropout) and module.shortcut.p == 0.5
    x = torch.rand(4, 4, 5, 5) + 0.1
    with torch.no_grad():
        out = module.train()(x)
    kept = out != 0
    assert 0 < kept.float().mean() < 1
    torch.testing.assert_close(out[kept], x[kept])  # PyTorch's Dropout would give 2·x


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_dropout_shortcut_scales_the_shortcut_by_1_minus_p_in_expectation(p):
    module = zero_body("dropout_shortcut", p)
    x = (torch.rand(1, 4, 5, 5) + 0.5).expand(4000, -1, -1, -1)  # positive: ReLU passes it
    torch.manual_seed(0)
    with torch.no_grad():
        mean = module.train()(x).mean(dim=0)
        torch.testing.assert_close(mean, (1 - p) * x[0], rtol=0.05, atol=0)
        torch.testing.assert_close(module.eval()(x[:1])[0], (1 - p) * x[0])


class HandShortcutScaling(nn.Module):
    """relu(F(x) + 0.5·x) with the original F (He et al. 2016, Fig. 2b, F not scaled)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)

    def forward(self, x):
        fx = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(fx + 0.5 * x)


class HandDropoutShortcut(HandShortcutScaling):
    """Evaluated: relu(F(x) + (1 − p)·x), the dropout shortcut's expectation (p = 0.5)."""


class HandBNAfterAddition(nn.Module):
    """conv-BN-ReLU-conv, add, BN, ReLU (He et al. 2016, Fig. 4b)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.bn_out = nn.BatchNorm2d(c)

    def forward(self, x):
        fx = self.conv2(F.relu(self.bn1(self.conv1(x))))
        return F.relu(self.bn_out(fx + x))


@pytest.mark.parametrize("variant, hand", [
    ("shortcut_scaling", HandShortcutScaling),
    ("dropout_shortcut", HandDropoutShortcut),
    ("bn_after_addition", HandBNAfterAddition),
])
def test_new_variants_equal_hand_written_blocks(variant, hand):
    torch.manual_seed(0)
    ours = build([{"type": "residual_variant", "variant": variant}], (6, 7, 7))[0]
    reference = hand(6)
    with torch.no_grad():
        for a in reference.parameters():
            a.normal_(0, 0.5)
        for module in reference.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.3)
                module.running_var.uniform_(0.5, 1.5)
    ours.load_state_dict(dict(zip(ours.state_dict(), reference.state_dict().values())))
    x = torch.randn(3, 6, 7, 7)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), reference.eval()(x))


@pytest.mark.parametrize("block, detail", [
    ({"variant": "original"}, "original"),
    ({"variant": "constant_scaling"}, "constant_scaling, scale 0.5"),
    ({"variant": "shortcut_scaling", "scale": 0.8}, "shortcut_scaling, scale 0.8"),
    ({"variant": "dropout_shortcut", "p": 0.3}, "dropout_shortcut, p 0.3"),
    ({"variant": "bn_after_addition"}, "bn_after_addition"),
    ({}, "full_preact"),
])
def test_summary_rows_show_the_variant_and_its_settings(block, detail):
    spec = ArchitectureSpec("v", (4, 6, 6), 10,
                            (BlockSpec.from_dict({"type": "residual_variant", **block}),))
    summary = inspect_spec(spec, depth=1)
    assert (summary.layers[0].type, summary.layers[0].detail) == ("residual_variant", detail)
    assert summary.layers[0].to_json()["detail"] == detail
    assert f"residual_variant ({detail})" in format_table(summary)


# --------------------------------------------------------------------------- dense


def test_dense_channel_arithmetic():
    # d2l: DenseBlock(2, 10) on 3 channels gives 3 + 2·10 = 23; transition_block(10) → 10
    assert out_shape([{"type": "dense_block", "num_layers": 2, "growth_rate": 10}],
                     (3, 8, 8)) == (23, 8, 8)
    assert out_shape([{"type": "dense_block", "num_layers": 2, "growth_rate": 10},
                      {"type": "transition", "out_channels": 10}], (3, 8, 8)) == (10, 4, 4)
    # DenseNet: 64 + 4·32 = 192, halved to 96; 96 + 128 = 224 → 112; 240 → 120; 248
    stage = [{"type": "dense_block"}, {"type": "transition"}]
    assert out_shape(stage, (64, 16, 16)) == (96, 8, 8)
    assert out_shape(stage * 3 + [{"type": "dense_block"}], (64, 16, 16)) == (248, 2, 2)
    # the default transition halves, rounding down, and keeps at least one channel
    assert out_shape([{"type": "transition"}], (5, 4, 4)) == (2, 2, 2)
    assert out_shape([{"type": "transition"}], (1, 4, 4)) == (1, 2, 2)


def test_dense_block_layers_see_all_previous_channels():
    block = build([{"type": "dense_block", "num_layers": 3, "growth_rate": 4}], (6, 5, 5))[0]
    assert [layer.conv.in_channels for layer in block.children()] == [6, 10, 14]
    x = torch.randn(2, 6, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(block(x)[:, :6], x)  # the input is passed on unchanged


# --------------------------------------------------------------------------- classic


def test_nin_block_classes_and_parameters():
    # NiN(11, 96, s4) on 3×224×224: 3·96·121 + 96 = 34944; two 1×1 96→96: 2 · 9312 → 53568
    network = build([{"type": "nin_block", "out_channels": 96, "kernel_size": 11,
                      "stride": 4}], (3, 224, 224))
    assert count(network) == 53568
    assert out_shape([{"type": "nin_block", "out_channels": 96, "kernel_size": 11,
                       "stride": 4}], (3, 224, 224)) == (96, 54, 54)
    last = build([{"type": "nin_block", "out_channels": "classes", "kernel_size": 3,
                   "padding": 1}], (8, 5, 5), num_classes=7)[0]
    assert last.conv3.out_channels == 7


def test_vgg_block_names_and_shape():
    block = build([{"type": "vgg_block", "num_convs": 2, "out_channels": 16}], (3, 8, 8))[0]
    assert [n for n, _ in block.named_children()] == [
        "conv1", "relu1", "conv2", "relu2", "pool"]
    assert out_shape([{"type": "vgg_block", "num_convs": 3, "out_channels": 16}],
                     (3, 9, 9)) == (16, 4, 4)
