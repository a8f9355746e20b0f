"""Build-along: every step of GoogLeNet and ResNet-18 shows the shape d2l prints, the step's
code runs and prints it too, a temporary head only where the network does not end in the
classes yet, and the notes say what the block is for."""

from __future__ import annotations

import pytest
import torch

from explorer.core.buildalong import BuildAlong, build_steps
from explorer.core.presets import preset_spec

# d2l §8.4 and §8.6 print these shapes for a 1×96×96 input after b1 … b5 and the head
GOOGLENET = [
    ("conv2d → relu", (64, 48, 48)), ("max_pool2d", (64, 24, 24)),
    ("conv2d → relu", (64, 24, 24)), ("conv2d → relu", (192, 24, 24)),
    ("max_pool2d", (192, 12, 12)),
    ("inception", (256, 12, 12)), ("inception", (480, 12, 12)), ("max_pool2d", (480, 6, 6)),
    ("inception", (512, 6, 6)), ("inception", (512, 6, 6)), ("inception", (512, 6, 6)),
    ("inception", (528, 6, 6)), ("inception", (832, 6, 6)), ("max_pool2d", (832, 3, 3)),
    ("inception", (832, 3, 3)), ("inception", (1024, 3, 3)),
    ("global_avg_pool", (1024, 1, 1)), ("flatten", (1024,)), ("linear", (10,)),
]
RESNET18 = [
    ("conv2d → batch_norm2d → relu", (64, 48, 48)), ("max_pool2d", (64, 24, 24)),
    ("resnet_basic", (64, 24, 24)), ("resnet_basic", (64, 24, 24)),
    ("resnet_basic", (128, 12, 12)), ("resnet_basic", (128, 12, 12)),
    ("resnet_basic", (256, 6, 6)), ("resnet_basic", (256, 6, 6)),
    ("resnet_basic", (512, 3, 3)), ("resnet_basic", (512, 3, 3)),
    ("global_avg_pool", (512, 1, 1)), ("flatten", (512,)), ("linear", (10,)),
]


@pytest.mark.parametrize("name, expected", [("googlenet", GOOGLENET), ("resnet18", RESNET18)])
def test_every_step_has_the_right_shape_and_runnable_code(name, expected):
    spec = preset_spec(name)
    along = BuildAlong(spec)
    assert [" → ".join(s.types) for s in along.steps] == [t for t, _ in expected]
    namespace: dict = {}
    previous = tuple(spec.input_shape)
    total = 0
    for index, (_, shape) in enumerate(expected):
        view = along.view(index)
        assert view.out_shape == shape and view.in_shape == previous, (index, view.step.title)
        # the network shown ends in the classes; a head is added unless it already does
        assert view.summary.ok and view.summary.output_shape == (10,)
        assert (view.head_from is None) == (shape == (10,))
        if view.head_from is not None:
            assert [b.type for b in view.spec.blocks[view.head_from:]] == (
                ["linear"] if len(shape) == 1 else ["flatten", "linear"])
        # the step's code, run after the ones before it, prints this shape
        exec(view.code, namespace)  # noqa: S102 (our own generated code)
        assert tuple(namespace["X"].shape) == (1, *shape)
        assert f"torch.Size([1, {', '.join(map(str, shape))}])" in view.code
        total += view.params
        previous = shape
    # the steps' parameters add up to the whole network's
    assert total == view.summary.total_params


def test_step_deltas_and_edit_from_here():
    along = BuildAlong(preset_spec("resnet18"))
    steps = along.steps
    view = along.view(4)  # the first block of stage 2: stride 2, 1×1 shortcut
    conv = 64 * 128 * 9 + 128 * 128 * 9 + 128  # conv1 and conv2 (with biases) …
    assert view.params == conv + 128 + 4 * 128 + 64 * 128 + 128  # … + conv2 bias, 2 BN, 1×1
    assert view.mult_adds > 0 and view.receptive_after > view.receptive_before
    assert "1×1 convolution with stride 2" in view.note and "64 to 128 channels" in view.note
    # the network up to this step is a spec of its own, the groups kept
    assert [b.type for b in steps[4].spec.blocks] == ["group", "group", "group"]
    assert steps[4].paths == ((2, "blocks", 0),)
    with torch.no_grad():
        assert view.delta_text().startswith("64×24×24 → 128×12×12 · +230,272 parameters")


def test_notes_explain_the_blocks():
    note = BuildAlong(preset_spec("googlenet")).view(5).note
    assert "1×1 comes before the 5×5" in note and "192 channels to 96 and 16" in note
    dense = BuildAlong(preset_spec("densenet"))
    index = next(i for i, s in enumerate(dense.steps) if s.types[0] == "transition")
    assert "without a transition the channel count" in dense.view(index).note


def test_repeated_groups_are_unrolled_into_steps():
    steps = build_steps(preset_spec("resnet20"))
    assert sum(s.types == ("resnet_basic",) for s in steps) == 9
    assert all(b.params.get("repeat", 1) == 1 for b in steps[-1].spec.blocks)
