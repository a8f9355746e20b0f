"""The ONNX export: a valid model file (onnx.checker), and ONNX Runtime gives the app's outputs."""

from __future__ import annotations

import pytest
import torch
from export_helpers import every_block_spec, randomise

from explorer.core.builder import build_model
from explorer.core.presets import preset_spec
from explorer.export import write_export
from explorer.export.onnx_export import OPSET
from explorer.training.checkpoint import save_checkpoint

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")


def _run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"images": x.numpy()})[0])


@pytest.mark.parametrize("name", ["course-inception", "resnet20"])
def test_onnx_with_trained_weights_matches_the_app(name, tmp_path):
    spec = preset_spec(name)
    app = build_model(spec, device="cpu")
    randomise(app, 1)
    checkpoint = save_checkpoint(tmp_path / "best", app, spec, mean=[0.5], std=[0.5],
                                 classes=[str(i) for i in range(10)], epoch=1, metrics={})
    path = tmp_path / f"{name}.onnx"
    assert write_export(spec, "onnx", path, weights=checkpoint) == [path]
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
    assert not list(tmp_path.glob("*.data")), "the weights must be inside the file"
    for seed in range(3):  # another batch size than the exporter's example
        x = torch.randn(3, *spec.input_shape, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            expected = app.eval()(x)
        # float32 rounding grows with the scores' size (random weights give thousands)
        scale = float(expected.abs().max())
        torch.testing.assert_close(_run_onnx(path, x), expected, rtol=1e-4, atol=1e-5 * scale)


def test_every_block_type_exports_to_onnx(tmp_path):
    spec = every_block_spec()
    path = tmp_path / "every.onnx"
    write_export(spec, "onnx", path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert _run_onnx(path, torch.randn(1, *spec.input_shape)).shape == (1, spec.num_classes)


def test_a_non_square_input_and_kernel_export_as_they_are(tmp_path):
    """A 1×20×24 input through a 3×5 kernel: the ONNX file takes 20×24 images, its Conv has
    the 3×5 kernel, and it gives the app's scores."""
    from explorer.core.spec import ArchitectureSpec

    spec = ArchitectureSpec.from_dict({
        "name": "oblong", "input_shape": [1, 20, 24], "num_classes": 3, "blocks": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": [3, 5], "stride": [2, 1]},
            {"type": "flatten"}, {"type": "linear", "out_features": "classes"},
        ]})
    app = build_model(spec, device="cpu")
    randomise(app, 2)
    path = tmp_path / "oblong.onnx"
    from explorer.export.onnx_export import write_onnx

    write_onnx(app, tuple(spec.input_shape), path, spec.name)
    model = onnx.load(str(path))
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    assert dims == [1, 20, 24]
    (conv,) = [n for n in model.graph.node if n.op_type == "Conv"]
    attributes = {a.name: list(a.ints) for a in conv.attribute}
    assert attributes["kernel_shape"] == [3, 5] and attributes["strides"] == [2, 1]
    x = torch.randn(2, 1, 20, 24, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(_run_onnx(path, x), app.eval()(x), rtol=1e-4, atol=1e-4)
