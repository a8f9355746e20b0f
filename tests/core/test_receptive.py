"""Receptive fields from the traced data flow, checked against values worked out by hand.

A field grows by ``dilation · (kernel − 1) · step`` at each window and the step multiplies by
the stride; merges take the widest path; what follows a merge continues from it.
"""

from __future__ import annotations

import threading

import torch
from torch import nn

from explorer.core import ArchitectureSpec, build_model
from explorer.core.inspector import inspect_module, inspect_spec, inspect_torchvision
from explorer.core.presets import preset_spec
from explorer.core.receptive import Field, receptive_fields


def conv(out_channels, kernel_size=3, **params) -> dict:
    return {"type": "conv2d", "out_channels": out_channels, "kernel_size": kernel_size, **params}


def fields(blocks, shape=(4, 32, 32)) -> list[tuple[str, int | None, int | None]]:
    spec = ArchitectureSpec.from_dict(
        {"name": "t", "input_shape": list(shape), "num_classes": 10, "blocks": blocks})
    summary = inspect_spec(spec, depth=1)
    assert summary.error is None and not [w for w in summary.warnings if "receptive" in w]
    return [(r.name, r.receptive_field, r.effective_stride) for r in summary.layers]


def test_two_3x3_convolutions_see_5x5():
    assert fields([conv(4, padding=1), conv(4, padding=1)]) == [
        ("conv1", 3, 1), ("conv2", 5, 1)]


def test_a_stride_2_chain_doubles_the_step():
    # 3; 3 + 2·2 = 7; 7 + 2·4 = 15 — and a 2×2 max-pool then adds 1·8
    assert fields([conv(4, stride=2), conv(4, stride=2), conv(4, stride=2),
                   {"type": "max_pool2d"}], shape=(1, 64, 64)) == [
        ("conv1", 3, 2), ("conv2", 7, 4), ("conv3", 15, 8), ("pool1", 23, 16)]


def test_dilation_spreads_the_window():
    assert fields([conv(4, padding=2, dilation=2)]) == [("conv1", 5, 1)]


def test_resnet18_sees_435_pixels_at_its_last_stage():
    # stem: 7 (step 2), max-pool 3 → 11 (step 4); each 3×3 conv adds 2·step; a stage's first
    # conv doubles the step after it: 43, 99, 211, 435.
    summary = inspect_spec(preset_spec("resnet18"), depth=1)
    rows = {r.name: (r.receptive_field, r.effective_stride) for r in summary.layers}
    assert rows["stem"] == (11, 4)
    assert [rows[f"stage{i}"] for i in (1, 2, 3, 4)] == [(43, 4), (99, 8), (211, 16), (435, 32)]
    assert rows["fc1"][0] == 435  # global pooling: at least the whole 96-pixel input


def test_inception_takes_its_widest_branch():
    # after a stride-2 3×3 conv (field 3, step 2) the branches see 3 + 0 (1×1), 3 + 2·2 (3×3),
    # 3 + 4·2 = 11 (5×5) and 3 + 2·2 (3×3 pool, 1×1): the 5×5 branch, not the last one
    inception = {"type": "inception", "c1": 2, "c2a": 2, "c2b": 2, "c3a": 2, "c3b": 2, "c4": 2}
    assert fields([conv(4, stride=2, padding=1), inception])[1] == ("inception1", 11, 2)
    assert fields([{"type": "inception_a"}])[0][1] == 5  # the course's: 5×5 and 3×3 → 3×3


def test_a_residual_block_takes_its_body_not_its_shortcut():
    assert fields([{"type": "resnet_basic", "out_channels": 8, "stride": 2}])[0] == (
        "residual1", 7, 2)
    assert fields([{"type": "resnet_basic", "out_channels": 8, "shortcut": "pad",
                    "stride": 2}])[0] == ("residual1", 7, 2)


def test_a_dense_block_chains_its_layers_through_the_concatenations():
    # each layer's 3×3 conv reads the concatenation of everything before it: 1 + 4·2 = 9
    assert fields([{"type": "dense_block", "num_layers": 4, "growth_rate": 2}]) == [
        ("dense1", 9, 1)]


def test_steps_after_a_merge_count():
    merge_then_conv = {"type": "group", "name": "g", "blocks": [
        {"type": "parallel", "merge": "add", "branches": [[conv(4, padding=1)], []]},
        conv(4, 5, padding=2),
    ]}
    assert fields([merge_then_conv]) == [("g", 7, 1)]


def test_nested_rows_have_their_own_fields():
    spec = ArchitectureSpec.from_dict({"name": "t", "input_shape": [4, 16, 16], "num_classes": 3,
                                       "blocks": [{"type": "resnet_basic", "out_channels": 4}]})
    rows = {r.name: r.receptive_field for r in inspect_spec(spec, depth=3).layers}
    assert rows["residual1.conv1"] == 3 and rows["residual1.conv2"] == 5
    assert rows["residual1.relu_out"] == 5 and rows["residual1"] == 5


def test_torchvision_resnet18_gets_the_same_435():
    rows = {r.name: r.receptive_field for r in inspect_torchvision("torchvision:resnet18",
                                                                   depth=1).layers}
    assert rows["layer4"] == 435 and rows["maxpool"] == 11


class Permuting(nn.Module):
    """A layer whose spatial effect is not modelled: it swaps height and width."""

    def forward(self, x):
        return x.permute(0, 1, 3, 2)


def test_an_unknown_operation_stops_the_field_and_says_where():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), Permuting(), nn.Conv2d(2, 2, 3))
    summary = inspect_module(model, (1, 12, 12), depth=1)
    assert [r.receptive_field for r in summary.layers] == [3, None, None]
    assert any(w.startswith("receptive field unknown from permute on") for w in summary.warnings)


class SizeDependent(nn.Module):
    """Control flow on the input's size, which a symbolic trace (torch.fx) cannot follow."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(x)) if x.shape[-1] > 4 else self.conv(x)


def test_the_forward_pass_is_watched_not_traced():
    summary = inspect_module(SizeDependent(), (1, 8, 8))
    assert [(r.name, r.receptive_field, r.effective_stride) for r in summary.layers] == [
        ("conv", 3, 1), ("pool", 4, 2)]
    assert not summary.warnings


def test_receptive_fields_leave_the_module_as_it_was():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2))
    result = receptive_fields(model, (3, 16, 16))
    assert result.reason is None
    assert result.get(model[0]) == Field(3, 1) and result.get(model[2]) == Field(4, 2)
    assert all(not p.is_meta for p in model.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_inspecting_on_one_thread_leaves_a_network_on_another_alone():
    """The watch is thread-local: a network running meanwhile (training, say) is untouched."""
    torch.manual_seed(0)
    running = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 3))
    x = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        expected = running(x)
    stop, failures, runs = threading.Event(), [], [0]

    def run() -> None:
        while not stop.is_set():
            try:
                with torch.no_grad():
                    assert torch.equal(running(x), expected)
                runs[0] += 1
            except Exception as exc:  # noqa: BLE001 — collected for the assertion below
                failures.append(exc)
                return

    network = build_model(preset_spec("course-resnet"), device="meta")
    worker = threading.Thread(target=run)
    worker.start()
    try:
        for _ in range(30):
            assert receptive_fields(network, (1, 28, 28)).reason is None
    finally:
        stop.set()
        worker.join()
    assert not failures and runs[0] > 0


def test_a_functional_pooling_without_a_stride_steps_by_its_kernel():
    """``F.max_pool2d(x, 2)`` in a file's ``forward`` strides by 2, as PyTorch does: the
    3×3 conv after it sees 4 + 2·2 = 8 pixels, 2 apart."""
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 4, 3), nn.Conv2d(4, 4, 3)

        def forward(self, x):
            return self.conv2(F.max_pool2d(self.conv1(x), 2))

    rows = inspect_module(Net(), (1, 28, 28)).layers
    assert [(r.name, r.receptive_field, r.effective_stride) for r in rows] == [
        ("conv1", 3, 1), ("conv2", 8, 2)]
