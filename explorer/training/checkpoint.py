"""Checkpoints: safetensors weights plus a JSON sidecar holding everything else.

``best.safetensors`` holds the model's state dict; ``best.json`` holds::

    {"format": "network-explorer/checkpoint", "version": 1,
     "architecture": {...}, "normalization": {"mean": [...], "std": [...]},
     "classes": [...], "epoch": 3, "metrics": {"test_accuracy": 0.98, ...},
     "weights": "best.safetensors"}

Nothing here unpickles a user's file: a ``.pt``/``.pth`` file is read with
``torch.load(weights_only=True)`` and refused when that fails.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from explorer.core.builder import Network, ShapeError, build_model, fmt_shape
from explorer.core.spec import ArchitectureSpec, SpecError, atomic_write_bytes, atomic_write_text

FORMAT = "network-explorer/checkpoint"
VERSION = 1
TORCH_SUFFIXES = (".pt", ".pth")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and the problem."""


@dataclass
class LoadedCheckpoint:
    """A loaded checkpoint: the model in eval mode on the CPU and what goes with it.

    ``mean`` and ``std`` are ``None`` for a plain ``.pt`` weights file, which does not say how
    its inputs were normalised; its ``classes`` are then ``"0"``, ``"1"`` …
    """

    model: nn.Module
    spec: ArchitectureSpec
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    classes: list[str]
    epoch: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    path: Path | None = None


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(sidecar, weights)`` for a checkpoint named by its .json, its .safetensors or stem."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".safetensors")


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    spec: ArchitectureSpec,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    classes: Sequence[str],
    epoch: int,
    metrics: dict[str, Any],
) -> Path:
    """Write ``<path>.safetensors`` and ``<path>.json``, each atomically; return the sidecar.

    The weights are copied to contiguous CPU tensors first (a snapshot: training may go on).
    ``metrics`` values are stored as Python floats; non-finite ones as ``null``.
    """
    sidecar, weights = checkpoint_paths(path)
    state = {
        name: tensor.detach().to("cpu", copy=True, memory_format=torch.contiguous_format)
        for name, tensor in model.state_dict().items()
    }
    atomic_write_bytes(weights, save_safetensors(state, metadata={"format": FORMAT}))
    document = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": spec.to_dict(),
        "normalization": {"mean": [float(v) for v in mean], "std": [float(v) for v in std]},
        "classes": [str(c) for c in classes],
        "epoch": int(epoch),
        "metrics": {str(k): _finite(v) for k, v in metrics.items()},
        "weights": weights.name,
    }
    atomic_write_text(sidecar, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return sidecar


def load_checkpoint(
    path: str | os.PathLike, *, spec: ArchitectureSpec | None = None
) -> LoadedCheckpoint:
    """Load a checkpoint into a model rebuilt from its architecture.

    Parameters
    ----------
    path
        The sidecar (.json), the weights (.safetensors), their common stem, or a PyTorch
        ``.pt``/``.pth`` file of weights.
    spec
        The architecture for a ``.pt`` file or a .safetensors file without a sidecar (they
        do not carry one). Ignored when a sidecar is found.

    Raises
    ------
    CheckpointError
        For a missing file, a sidecar that is not a Network Explorer checkpoint, corrupt or
        truncated weights, weights that do not match the architecture, or a ``.pt`` file
        that is more than plain weights.
    """
    path = Path(path)
    if path.suffix in TORCH_SUFFIXES:
        return _load_torch_file(path, spec)
    sidecar, weights = checkpoint_paths(path)
    if not sidecar.is_file():
        return _load_without_sidecar(path, sidecar, weights, spec)
    document = _read_sidecar(sidecar)
    try:
        arch = ArchitectureSpec.from_dict(document["architecture"])
        mean = tuple(float(v) for v in document["normalization"]["mean"])
        std = tuple(float(v) for v in document["normalization"]["std"])
        classes = [str(c) for c in document["classes"]]
        epoch = int(document.get("epoch", 0))
        metrics = {str(k): _finite(v) for k, v in dict(document.get("metrics", {})).items()}
        weights_name = str(document["weights"])
    except SpecError as exc:
        raise CheckpointError(f"{sidecar}: its architecture is not valid: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{sidecar}: a field is missing or malformed ({type(exc).__name__}: {exc})"
        ) from None
    if Path(weights_name).name != weights_name or weights_name in ("", ".", ".."):
        raise CheckpointError(
            f"{sidecar}: \"weights\" must name a file next to the sidecar, got {weights_name!r}"
        )
    weights = sidecar.with_name(weights_name)
    if not weights.is_file():
        raise CheckpointError(f"{weights}: no such file (the weights named by {sidecar.name})")
    model = _build(arch, sidecar)
    _load_state(model, _read_safetensors(weights), weights)
    model.eval()
    return LoadedCheckpoint(model, arch, mean, std, classes, epoch, metrics, sidecar)


# --------------------------------------------------------------------------- helpers


def _load_without_sidecar(
    path: Path, sidecar: Path, weights: Path, spec: ArchitectureSpec | None
) -> LoadedCheckpoint:
    """Plain .safetensors weights for a given architecture, or the reason they cannot load."""
    if spec is not None and weights.is_file():
        model = _build(spec, weights)
        _load_state(model, _read_safetensors(weights), weights)
        return _plain_weights(model, spec, weights)
    if not weights.is_file():
        raise CheckpointError(f"{path}: no such checkpoint ({sidecar.name} not found)")
    raise CheckpointError(
        f"{sidecar}: not found; the weights alone do not say which architecture they "
        "belong to (give the architecture to load them)"
    )


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _read_sidecar(sidecar: Path) -> dict:
    try:
        document = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{sidecar}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"{sidecar}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise CheckpointError(
            f'{sidecar}: not a Network Explorer checkpoint ("format" is {found!r}, '
            f'expected "{FORMAT}")'
        )
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise CheckpointError(
            f'{sidecar}: "version" is {version!r}; this release reads versions 1 to {VERSION}'
        )
    return document


def _read_safetensors(weights: Path) -> dict[str, torch.Tensor]:
    try:
        data = weights.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{weights}: cannot be read ({exc})") from None
    try:
        return load_safetensors(data)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as exc:
        raise CheckpointError(
            f"{weights}: the weights file is corrupt or truncated ({len(data)} bytes; "
            f"safetensors says: {exc})"
        ) from None


def _build(spec: ArchitectureSpec, source: Path) -> Network:
    try:
        return build_model(spec, device="cpu")
    except (SpecError, ShapeError) as exc:
        raise CheckpointError(f"{source}: its architecture cannot be built: {exc}") from None


def _load_state(model: Network, state: dict[str, Any], source: Path) -> None:
    """Copy ``state`` into ``model``, naming the first tensor that does not fit."""
    expected = model.state_dict()
    problem = None
    for name, tensor in expected.items():
        if name not in state:
            problem = f"the tensor {name!r} ({fmt_shape(tensor.shape)}) is missing"
            break
        given = state[name]
        if not torch.is_tensor(given):
            problem = f"{name!r} is a {type(given).__name__}, not a tensor"
            break
        if tuple(given.shape) != tuple(tensor.shape):
            problem = (
                f"the tensor {name!r} is {fmt_shape(given.shape) or 'a scalar'} but the "
                f"architecture needs {fmt_shape(tensor.shape) or 'a scalar'}"
            )
            break
    else:
        unexpected = [name for name in state if name not in expected]
        if unexpected:
            problem = f"it has a tensor {unexpected[0]!r} that the architecture does not"
    if problem is not None:
        raise CheckpointError(
            f"{source}: the weights do not match the architecture {model.spec.name!r}: "
            f"{problem}"
        )
    model.load_state_dict(state, strict=True)


def _plain_weights(model: nn.Module, spec: ArchitectureSpec, source: Path) -> LoadedCheckpoint:
    model.eval()
    classes = [str(i) for i in range(spec.num_classes)]
    return LoadedCheckpoint(model, spec, None, None, classes, 0, {}, source)


def _load_torch_file(path: Path, spec: ArchitectureSpec | None) -> LoadedCheckpoint:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if spec is None:
        raise CheckpointError(
            f"{path}: a {path.suffix} file holds weights only; choose the architecture "
            "they belong to"
        )
    try:
        loaded = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CheckpointError(
            f"{path}: refused: it is not a plain weights file (it holds Python objects that "
            "would have to be run to load it, which is unsafe for a file from elsewhere). "
            "Save a state dict instead: torch.save(model.state_dict(), path)"
            + (f". PyTorch said: {first}" if first else "")
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch file ({exc})") from None
    state = _state_dict_of(loaded)
    if state is None:
        raise CheckpointError(
            f"{path}: holds a {type(loaded).__name__}, not a state dict of named tensors"
        )
    model = _build(spec, path)
    _load_state(model, state, path)
    return _plain_weights(model, spec, path)


def _state_dict_of(loaded: Any) -> dict[str, torch.Tensor] | None:
    """The tensors of a plain state dict, of one wrapped as ``{"state_dict": ...}`` (or
    ``model_state_dict``, ``model``), with a ``module.`` prefix (DataParallel) removed."""
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not loaded:
        return None
    if not all(isinstance(k, str) for k in loaded):
        return None
    if all(k.startswith("module.") for k in loaded):
        loaded = {k[len("module."):]: v for k, v in loaded.items()}
    return loaded
