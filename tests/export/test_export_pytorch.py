"""The PyTorch code export: same network as the app's, for every preset and block type."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from export_helpers import every_block_spec, load_code, randomise

from explorer.blocks.residual import VARIANTS as RESIDUAL_VARIANTS
from explorer.core.builder import build_model
from explorer.core.presets import preset_spec
from explorer.core.registry import list_blocks, list_presets
from explorer.core.spec import BlockSpec
from explorer.export.pytorch import export_pytorch

PRESETS = [p.name for p in list_presets()]

# Inputs small enough for a quick CPU forward pass (the layers are the preset's own; only the
# first linear layer after flatten changes size).
SMALL_INPUTS = {
    "alexnet": (1, 67, 67), "vgg11": (1, 32, 32), "vgg11-narrow": (1, 32, 32),
    "nin": (1, 67, 67), "googlenet": (1, 32, 32), "resnet18": (1, 32, 32),
    "densenet": (1, 32, 32),
}


def _meta_counts(model: torch.nn.Module) -> tuple[int, dict[str, tuple]]:
    state = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return sum(p.numel() for p in model.parameters()), state


def _check_same_network(spec, seed: int = 0) -> None:
    torch.manual_seed(seed)
    app = build_model(spec, device="cpu")
    randomise(app, seed)
    exported = load_code(export_pytorch(spec)).build_model()
    exported.load_state_dict(app.state_dict(), strict=True)
    assert {n for n, _ in exported.named_modules()} == {n for n, _ in app.named_modules()}
    app.eval()
    exported.eval()
    x = torch.randn(2, *spec.input_shape, generator=torch.Generator().manual_seed(seed))
    ours, theirs = _block_outputs(exported), _block_outputs(app)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), app(x), rtol=1e-4, atol=1e-5)
    assert list(ours) == list(theirs)
    for name in theirs:  # every block, so that a later layer cannot hide a difference
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-4, atol=1e-5, msg=name)


def _block_outputs(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    outputs: dict[str, torch.Tensor] = {}
    for name, child in model.named_children():
        child.register_forward_hook(lambda m, a, out, n=name: outputs.__setitem__(n, out))
    return outputs


@pytest.mark.parametrize("name", PRESETS)
def test_preset_parameter_count_and_names(name):
    spec = preset_spec(name)
    module = load_code(export_pytorch(spec), name)
    with torch.device("meta"):
        exported = module.build_model()
    assert _meta_counts(exported) == _meta_counts(build_model(spec, device="meta"))


@pytest.mark.parametrize("name", PRESETS)
def test_preset_same_outputs_with_same_weights(name):
    spec = preset_spec(name)
    if name in SMALL_INPUTS:
        spec = dataclasses.replace(spec, input_shape=SMALL_INPUTS[name])
    _check_same_network(spec)


def test_every_block_type_exports_to_the_same_network():
    spec = every_block_spec()
    used = {b.type for b in _walk(spec.blocks)}
    assert used == {b.name for b in list_blocks()}, "the test network misses a block type"
    variants = {b.params["variant"] for b in _walk(spec.blocks) if b.type == "residual_variant"}
    assert variants == set(RESIDUAL_VARIANTS), "the test network misses a residual variant"
    _check_same_network(spec)


def _walk(blocks):
    for block in blocks:
        block = BlockSpec.from_dict(block)
        yield block
        for value in block.params.values():
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                nested = item if isinstance(item, (list, tuple)) else [item]
                yield from _walk([b for b in nested if isinstance(b, (BlockSpec, dict))])


@pytest.mark.parametrize("init", ["xavier", "kaiming"])
def test_weight_initialisation_is_the_apps(init):
    spec = dataclasses.replace(preset_spec("course-resnet"), init=init)
    torch.manual_seed(7)
    app = build_model(spec, device="cpu")
    torch.manual_seed(7)
    exported = load_code(export_pytorch(spec)).build_model()
    for (name, a), (_, b) in zip(app.state_dict().items(), exported.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)


def test_code_is_course_style():
    code = export_pytorch(preset_spec("course-inception"))
    assert code.count("class ConcatBranches(nn.Module):") == 1
    assert code.count("class InceptionA(ConcatBranches):") == 1
    assert "self.inception1 = InceptionA(10, c1=16, c2a=16, c2b=24, c3a=16, c3b=24, c4=24)" \
        in code
    assert "self.inception2 = InceptionA(20, c1=16" in code
    assert "self.fc1 = nn.Linear(1408, 10)" in code  # inferred features written out
    assert "import explorer" not in code and "from explorer" not in code
    resnet = export_pytorch(preset_spec("resnet56"))
    assert "class Stage1(nn.Sequential):" in resnet
    assert 'for i in range(2, 10):' in resnet  # repeated blocks become a loop


def test_checkpoint_of_the_app_loads_with_build_model(tmp_path):
    from safetensors.torch import save_file

    spec = preset_spec("course-resnet")
    app = build_model(spec, device="cpu")
    randomise(app, 3)
    weights = tmp_path / "best.safetensors"
    save_file(app.state_dict(), weights)
    exported = load_code(export_pytorch(spec)).build_model(weights)
    x = torch.randn(1, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(exported.eval()(x), app.eval()(x))


def test_exported_module_runs_standalone(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(export_pytorch(preset_spec("lenet")), encoding="utf-8")
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "output (1, 10), 61,706 parameters" in done.stdout


def _ruff() -> str | None:
    beside = Path(sys.executable).with_name("ruff")
    return str(beside) if beside.exists() else shutil.which("ruff")


@pytest.mark.skipif(_ruff() is None, reason="ruff is not installed")
def test_generated_code_is_ruff_clean(tmp_path):
    for name in ("course-inception", "resnet56", "densenet", "googlenet"):
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(export_pytorch(preset_spec(name)))
    (tmp_path / "every_block.py").write_text(export_pytorch(every_block_spec()))
    done = subprocess.run([_ruff(), "check", "--no-cache", "--isolated", "--line-length", "100",
                           "--select", "E,F,W,I", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_block_classes_are_exported_as_written_in_their_family_file():
    """A block changes in one place: the exported class is the app's class, to the letter."""
    import inspect

    from explorer.blocks.class_source import EXPORTED

    code = export_pytorch(every_block_spec())
    for name, cls in EXPORTED.items():
        source = inspect.getsource(cls)
        body = source[source.index("class "):]
        assert code.count(body) == 1, name
    assert code.count("@exported") == 0 and "init_args" not in code
    assert 'ResidualVariant("constant_scaling", body=' in code


def test_a_class_that_uses_an_app_helper_is_refused_with_its_name():
    from torch import nn

    from explorer.blocks import layers
    from explorer.blocks.class_source import SourceError, class_source, exported

    @exported
    class UsesHelper(nn.Module):
        def forward(self, x):
            return x * layers.ACTIVATIONS.index("relu")

    try:
        with pytest.raises(SourceError, match="UsesHelper uses layers"):
            class_source(UsesHelper)
    finally:
        from explorer.blocks.class_source import EXPORTED
        del EXPORTED["UsesHelper"]


def test_the_bundle_keeps_the_block_sources_the_export_reads():
    recipe = (Path(__file__).parents[2] / "packaging" / "network-explorer.spec").read_text()
    assert '"explorer.blocks": "pyz+py"' in recipe


def test_a_non_square_window_is_exported_as_it_is_and_the_checkpoint_loads(tmp_path):
    from safetensors.torch import save_file

    from explorer.core.spec import ArchitectureSpec

    spec = ArchitectureSpec.from_dict({
        "name": "oblong", "input_shape": [1, 20, 24], "num_classes": 3, "blocks": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": [3, 5], "stride": [2, 1],
             "padding": [1, 2]},
            {"type": "max_pool2d", "kernel_size": [2, 3], "stride": [2, 1]},
            {"type": "conv2d", "out_channels": 5, "kernel_size": [1, 3], "dilation": [1, 2]},
            {"type": "flatten"}, {"type": "linear", "out_features": "classes"},
        ]})
    app = build_model(spec, device="cpu")
    randomise(app, 5)
    weights = tmp_path / "best.safetensors"
    save_file(app.state_dict(), weights)
    module = load_code(export_pytorch(spec))
    exported = module.build_model(weights)
    conv1, pool1, conv2 = exported.conv1, exported.pool1, exported.conv2
    assert (conv1.kernel_size, conv1.stride, conv1.padding) == ((3, 5), (2, 1), (1, 2))
    assert (tuple(pool1.kernel_size), tuple(pool1.stride)) == ((2, 3), (2, 1))
    assert (conv2.kernel_size, conv2.dilation) == ((1, 3), (1, 2))
    x = torch.randn(2, 1, 20, 24, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(exported.eval()(x), app.eval()(x))


@pytest.mark.parametrize("layer", [
    torch.nn.MaxPool2d(3, 2, ceil_mode=True), torch.nn.AvgPool2d(2, ceil_mode=True),
    torch.nn.MaxPool2d((2, 3), (2, 1), padding=(1, 0)),
])
def test_a_pooling_layers_code_rebuilds_it_and_its_output_size(layer):
    """The code written for a pooling layer makes the same layer: kernel, stride, padding
    and ceil_mode, so a 7×7 map pools to the same size."""
    from explorer.export.pytorch import module_expressions

    (expression,), _, _ = module_expressions([("pool", layer)])
    rebuilt = eval(expression, {"nn": torch.nn})  # our own generated code
    for name in ("kernel_size", "stride", "padding", "ceil_mode"):
        assert getattr(rebuilt, name) == getattr(layer, name), (name, expression)
    x = torch.randn(1, 2, 7, 7)
    assert rebuilt(x).shape == layer(x).shape
