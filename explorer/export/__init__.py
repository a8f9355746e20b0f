"""Exports a network leaves the app as: PyTorch code, a training script, an ONNX model.

No Qt here: the CLI (``explorer export``) and the window's File menu both call
:func:`write_export`. Importing the package does not import torch (``explorer --help`` lists
:data:`FORMATS`); the exporters are loaded on first use.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.core.spec import ArchitectureSpec

if TYPE_CHECKING:
    from explorer.export.pytorch import WeightsInfo

FORMATS = ("pytorch", "script", "onnx")
"""``pytorch``: a module (model.py); ``script``: a training script (train.py); ``onnx``."""

SUFFIXES = {"pytorch": ".py", "script": ".py", "onnx": ".onnx"}

__all__ = ["FORMATS", "ExportError", "TrainedWeights", "export_pytorch", "export_text",
           "load_weights", "write_export"]


def __getattr__(name: str) -> Any:
    if name in ("ExportError", "WeightsInfo", "export_pytorch"):
        from explorer.export import pytorch

        return getattr(pytorch, name)
    raise AttributeError(f"module 'explorer.export' has no attribute {name!r}")


@dataclass(frozen=True)
class TrainedWeights:
    """Weights read from a checkpoint, checked against the architecture being exported."""

    state: dict
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    classes: tuple[str, ...]
    source: Path


def load_weights(spec: ArchitectureSpec, path: str | os.PathLike) -> TrainedWeights:
    """Read a checkpoint (the app's .json/.safetensors, or a .pt state dict) for ``spec``.

    Raises
    ------
    ExportError
        When the file cannot be loaded or its tensors do not fit ``spec``'s network.
    """
    from explorer.core.builder import build_model
    from explorer.export.pytorch import ExportError
    from explorer.training.checkpoint import CheckpointError, load_checkpoint

    try:
        loaded = load_checkpoint(path, spec=spec)
    except CheckpointError as exc:
        raise ExportError(str(exc)) from None
    state = loaded.model.state_dict()
    expected = {k: tuple(v.shape) for k, v in build_model(spec, device="meta").state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        wrong = next((k for k in expected if found.get(k) != expected[k]), None)
        detail = (f"{wrong!r} is {found.get(wrong, 'missing')}, {spec.name} needs {expected[wrong]}"
                  if wrong else f"it has {next(k for k in found if k not in expected)!r}")
        raise ExportError(f"{path}: the weights belong to {loaded.spec.name!r} and do not fit "
                          f"{spec.name!r} ({detail})")
    return TrainedWeights(state, loaded.mean, loaded.std, tuple(loaded.classes), Path(path))


def export_text(spec: ArchitectureSpec, fmt: str, weights: WeightsInfo | None = None) -> str:
    """The source of a ``pytorch`` or ``script`` export."""
    from explorer.export.pytorch import ExportError, export_pytorch

    if fmt == "pytorch":
        return export_pytorch(spec, weights=weights)
    if fmt == "script":
        from explorer.export.script import export_script

        return export_script(spec, weights=weights)
    raise ExportError(f"format {fmt!r} is not text; choose one of {', '.join(FORMATS)}")


def write_export(
    spec: ArchitectureSpec,
    fmt: str,
    path: str | os.PathLike,
    *,
    weights: str | os.PathLike | None = None,
) -> list[Path]:
    """Write an export of ``spec`` to ``path``; return the files written.

    With ``weights`` (a checkpoint), ``onnx`` holds them inside; ``pytorch`` and ``script``
    get them as ``<path stem>.pt`` beside the code, which loads them by default.

    Raises
    ------
    SpecError, ShapeError
        When the network cannot be built.
    ExportError
        For an unknown format, unusable weights or a network PyTorch cannot export.
    OSError
        When a file cannot be written.
    """
    from explorer.core.spec import atomic_write_bytes, atomic_write_text
    from explorer.export.pytorch import ExportError, WeightsInfo

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    trained = load_weights(spec, weights) if weights is not None else None
    if fmt == "onnx":
        from explorer.export.onnx_export import export_onnx

        return [export_onnx(spec, path, trained.state if trained else None)]
    info = None
    written = []
    if trained is not None:
        import torch

        weights_path = path.with_suffix(".pt")
        buffer = io.BytesIO()
        torch.save({k: v.contiguous() for k, v in trained.state.items()}, buffer)
        info = WeightsInfo(weights_path.name, trained.mean, trained.std, trained.classes)
        text = export_text(spec, fmt, info)  # before writing anything: errors leave no files
        atomic_write_bytes(weights_path, buffer.getvalue())
        written.append(weights_path)
    else:
        text = export_text(spec, fmt)
    atomic_write_text(path, text)
    return [path, *written]
