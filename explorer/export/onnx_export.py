"""Export a network as an ONNX model file (weights inside), for Netron and ONNX runtimes.

Opset 18, chosen deliberately: it is the native opset of PyTorch's ``torch.export``-based
ONNX exporter (the TorchScript one is deprecated and slated for removal), every operator our
blocks need (Conv, pooling, BatchNormalization, the activations, Concat, Pad, Slice, Gemm)
exists in it, and ONNX Runtime (1.14 and later), Netron, OpenVINO and TensorRT all read it;
a newer opset would shut out older runtimes for no gain. The batch dimension is dynamic.

Needs the optional packages ``onnx`` and ``onnxscript`` (``pip install
"network-explorer[export]"``); the written file is checked with ``onnx.checker``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from explorer.core.builder import build_model
from explorer.core.spec import ArchitectureSpec
from explorer.export.pytorch import ExportError

OPSET = 18
INPUT_NAME = "images"
OUTPUT_NAME = "scores"


def export_onnx(spec: ArchitectureSpec, path: str | os.PathLike,
                state: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``spec``'s network (with the weights in ``state``, if given) to ``path``.

    The file is written atomically and passes ``onnx.checker.check_model``. Input
    ``images`` (batch × C × H × W, float32, normalised as in training), output ``scores``
    (batch × classes, before softmax).

    Raises
    ------
    SpecError, ShapeError
        When the network cannot be built.
    ExportError
        When onnx/onnxscript are missing or PyTorch cannot export the network.
    OSError
        When ``path`` cannot be written.
    """
    _require_onnx()
    model = build_model(spec, device="cpu", generator=torch.Generator())  # not the global RNG
    if state is not None:
        model.load_state_dict(state, strict=True)
    return write_onnx(model, tuple(spec.input_shape), path, spec.name)


def write_onnx(model: nn.Module, input_shape: tuple[int, ...], path: str | os.PathLike,
               name: str) -> Path:
    """Write ``model`` (any module taking one ``input_shape`` image batch) to ``path`` as
    :func:`export_onnx` does; the model is switched to eval mode."""
    onnx = _require_onnx()
    path = Path(path)
    model.eval()
    example = torch.zeros(2, *input_shape)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        _export(model, example, Path(tmp))
        proto = onnx.load(tmp)
        proto.doc_string = f"{name}: exported from Network Explorer"
        onnx.checker.check_model(proto, full_check=True)
        onnx.save(proto, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _export(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """``torch.export``-based export; the TorchScript exporter when that fails (it does for
    a submodule named like a Python keyword, e.g. a group called ``class``)."""
    chatter = io.StringIO()  # the exporter prints its progress on stdout
    names = {"input_names": [INPUT_NAME], "output_names": [OUTPUT_NAME], "opset_version": OPSET}
    try:
        with contextlib.redirect_stdout(chatter), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(model, (example,), str(path), dynamo=True,
                                  dynamic_shapes=({0: torch.export.Dim("batch")},),
                                  external_data=False, verbose=False, **names)
            except Exception:  # noqa: BLE001 (any failure: try the other exporter)
                torch.onnx.export(model, (example,), str(path), dynamo=False,
                                  dynamic_axes={INPUT_NAME: {0: "batch"},
                                                OUTPUT_NAME: {0: "batch"}}, **names)
    except Exception as exc:  # the exporters raise many kinds; report them as one
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise ExportError(f"PyTorch could not export the network to ONNX: {first}") from exc


def _require_onnx():
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError as exc:
        raise ExportError(
            f"ONNX export needs the {exc.name} package: pip install "
            "'network-explorer[export]' (or pip install onnx onnxscript)"
        ) from None
    return onnx
