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

import io
import json
import math
import os
import pickle
import re
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
from explorer.core.limits import available_memory, format_bytes
from explorer.core.spec import ArchitectureSpec, SpecError, atomic_write_bytes, atomic_write_text
from explorer.files import FileProblem, check_regular, read_bytes
from explorer.training.runs import CHECKPOINT_FORMAT

MAX_SIDECAR_BYTES = 64 * 2**20
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
    atomic_write_bytes(weights, save_safetensors(state, metadata={"format": CHECKPOINT_FORMAT}))
    document = {
        "format": CHECKPOINT_FORMAT,
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
    if not _exists(sidecar):
        return _load_without_sidecar(path, sidecar, weights, spec)
    arch, mean, std, classes, epoch, metrics, weights_name = _sidecar_fields(
        _read_sidecar(sidecar), sidecar)
    if Path(weights_name).name != weights_name or weights_name in ("", ".", ".."):
        raise CheckpointError(
            f"{sidecar}: \"weights\" must name a file next to the sidecar, got {weights_name!r}"
        )
    weights = sidecar.with_name(weights_name)
    if not _exists(weights):
        raise CheckpointError(f"{weights}: no such file (the weights named by {sidecar.name})")
    _check_file(weights, "a .safetensors weights file")
    model = _build(arch, sidecar)
    _load_state(model, _read_safetensors(weights), weights)
    model.eval()
    return LoadedCheckpoint(model, arch, mean, std, classes, epoch, metrics, sidecar)


# --------------------------------------------------------------------------- helpers


def _load_without_sidecar(
    path: Path, sidecar: Path, weights: Path, spec: ArchitectureSpec | None
) -> LoadedCheckpoint:
    """Plain .safetensors weights for a given architecture, or the reason they cannot load."""
    if spec is not None and _exists(weights):
        _check_file(weights, "a .safetensors weights file")
        model = _build(spec, weights)
        _load_state(model, _read_safetensors(weights), weights)
        return _plain_weights(model, spec, weights)
    if not _exists(weights):
        raise CheckpointError(f"{path}: no such checkpoint ({sidecar.name} not found)")
    raise CheckpointError(
        f"{sidecar}: not found; the weights alone do not say which architecture they "
        "belong to (give the architecture to load them)"
    )


def _sidecar_fields(document: dict, sidecar: Path) -> tuple:
    """``(arch, mean, std, classes, epoch, metrics, weights_name)`` of a sidecar, each
    checked; :class:`CheckpointError` naming the field that is missing or malformed."""
    _refuse_python_file(document.get("architecture"), sidecar)
    try:
        arch = ArchitectureSpec.from_dict(document["architecture"])
        mean, std = _normalization(document["normalization"], arch.input_shape[0])
        classes = document["classes"]
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise TypeError("\"classes\" must be a list of class names")
        epoch = document.get("epoch", 0)
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise TypeError(f"\"epoch\" must be an integer ≥ 0, got {epoch!r}")
        metrics = document.get("metrics", {})
        if not isinstance(metrics, dict):
            raise TypeError("\"metrics\" must be an object")
        metrics = {str(k): _finite(v) for k, v in metrics.items()}
        weights_name = document["weights"]
        if not isinstance(weights_name, str):
            raise TypeError("\"weights\" must be a file name")
    except SpecError as exc:
        raise CheckpointError(f"{sidecar}: its architecture is not valid: {exc}") from None
    except KeyError as exc:
        raise CheckpointError(f"{sidecar}: the field {exc} is missing") from None
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{sidecar}: a field is malformed: {exc}") from None
    if len(classes) != arch.num_classes:
        raise CheckpointError(
            f"{sidecar}: names {len(classes)} classes but its architecture has "
            f"{arch.num_classes} outputs; the two must agree"
        )
    return arch, mean, std, classes, epoch, metrics, weights_name


def _refuse_python_file(arch, sidecar: Path) -> None:
    """A run of a network from a user's Python file holds that file's weights: loading them
    means running the file, which the app does only to train it."""
    if isinstance(arch, dict) and arch.get("format") == "network-explorer/python-file":
        raise CheckpointError(
            f"{sidecar}: the weights of {arch.get('name', '?')}, a network from the Python file "
            f"{arch.get('path', '?')}; load them in your code: "
            "model.load_state_dict(safetensors.torch.load_file(\"best.safetensors\"))")


def _exists(path: Path) -> bool:
    """Whether anything is at ``path`` (a FIFO too: it is refused by name, not overlooked)."""
    try:
        os.stat(path)
    except OSError:
        return False
    return True


def _check_file(path: Path, what: str) -> None:
    try:
        check_regular(path, what)
    except FileProblem as exc:
        raise CheckpointError(str(exc)) from None


def _read(path: Path, what: str, max_bytes: int | None = None) -> bytes:
    try:
        return read_bytes(path, what, max_bytes=max_bytes)
    except FileProblem as exc:
        raise CheckpointError(str(exc)) from None


def _normalization(value: Any, channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The ``(mean, std)`` of a sidecar: finite numbers, one per input channel (or one for
    all), every std > 0; ``ValueError`` naming what is wrong."""
    if not isinstance(value, dict):
        raise TypeError("\"normalization\" must be an object with \"mean\" and \"std\"")
    out = []
    for key in ("mean", "std"):
        numbers = value[key]
        if not isinstance(numbers, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers
        ):
            raise TypeError(f"normalization {key} must be a list of numbers, got {numbers!r}")
        if len(numbers) not in (1, channels):
            raise ValueError(f"normalization {key} has {len(numbers)} values for "
                             f"{channels} input channels")
        if not all(math.isfinite(v) for v in numbers) or (
            key == "std" and not all(v > 0 for v in numbers)
        ):
            valid = "numbers > 0" if key == "std" else "finite numbers"
            raise ValueError(f"normalization {key} is {numbers}; expected {valid}")
        out.append(tuple(float(v) for v in numbers))
    return out[0], out[1]


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _read_sidecar(sidecar: Path) -> dict:
    data = _read(sidecar, "a checkpoint's .json sidecar", MAX_SIDECAR_BYTES)
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{sidecar}: is not a text file (byte {exc.start} is not "
                              "UTF-8); expected a checkpoint's .json sidecar") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(
            f"{sidecar}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except (RecursionError, ValueError) as exc:
        raise CheckpointError(f"{sidecar}: cannot be read as JSON ({type(exc).__name__})") \
            from None
    if not isinstance(document, dict) or document.get("format") != CHECKPOINT_FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise CheckpointError(
            f'{sidecar}: not a Network Explorer checkpoint ("format" is {found!r}, '
            f'expected "{CHECKPOINT_FORMAT}")'
        )
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise CheckpointError(
            f'{sidecar}: "version" is {version!r}; this release reads versions 1 to {VERSION}'
        )
    return document


def _read_safetensors(weights: Path) -> dict[str, torch.Tensor]:
    data = _read(weights, "a .safetensors weights file")
    try:
        return load_safetensors(data)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as exc:
        raise CheckpointError(
            f"{weights}: the weights file is corrupt or truncated ({len(data)} bytes; "
            f"safetensors says: {exc})"
        ) from None


def _build(spec: ArchitectureSpec, source: Path) -> Network:
    """The model on the CPU, after a shapes-only build has shown that it fits in memory."""
    try:
        meta = build_model(spec, device="meta")
    except (SpecError, ShapeError) as exc:
        raise CheckpointError(f"{source}: its architecture cannot be built: {exc}") from None
    size = sum(p.numel() * p.element_size() for p in meta.parameters())
    memory = available_memory()
    if memory is not None and size > memory:
        raise CheckpointError(
            f"{source}: its architecture's weights take {size:,} bytes ({format_bytes(size)}), "
            f"more than this machine's {format_bytes(memory)} of memory"
        )
    return build_model(spec, device="cpu", generator=torch.Generator())  # weights follow


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
    _check_file(path, f"a PyTorch {path.suffix} file of weights")
    if spec is None:
        raise CheckpointError(
            f"{path}: a {path.suffix} file holds weights only; choose the architecture "
            "they belong to"
        )
    data = _read(path, f"a PyTorch {path.suffix} file of weights")
    if not data.startswith((b"PK\x03\x04", b"\x80")):  # a zip archive, or a legacy pickle
        raise CheckpointError(
            f"{path}: not a PyTorch file ({_first_bytes(data)}); expected weights saved with "
            "torch.save(model.state_dict(), path)"
        )
    try:
        loaded = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        found = _unpickler_problem(str(exc))
        if found is not None:
            raise CheckpointError(
                f"{path}: refused: it is not a plain weights file: it holds {found}, which "
                "would have to be run to load it (unsafe for a file from elsewhere). Save a "
                "state dict instead: torch.save(model.state_dict(), path)"
            ) from None
        raise CheckpointError(
            f"{path}: not a readable PyTorch file (its contents are damaged or are not "
            "tensors); expected weights saved with torch.save(model.state_dict(), path)"
        ) from None
    except Exception:  # noqa: BLE001 — weights_only runs no code; any failure is a bad file
        raise CheckpointError(
            f"{path}: not a readable PyTorch file ({len(data):,} bytes that torch.load cannot "
            "read); expected weights saved with torch.save(model.state_dict(), path)"
        ) from None
    state = _state_dict_of(loaded)
    if state is None:
        raise CheckpointError(
            f"{path}: holds a {type(loaded).__name__}, not a state dict of named tensors"
        )
    model = _build(spec, path)
    _load_state(model, state, path)
    return _plain_weights(model, spec, path)


def _first_bytes(data: bytes) -> str:
    if not data:
        return "the file is empty"
    head = data[:16]
    text = head.decode("ascii", "replace")
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return f"it starts with the text {text.strip()[:16]!r}"
    return f"it starts with the bytes {head[:8].hex(' ')}"


def _unpickler_problem(message: str) -> str | None:
    """What PyTorch's safe unpickler refused, in words (``the Python object builtins.print``),
    or ``None`` when the file is simply not a pickle of tensors; PyTorch's advice to load it
    unsafely is never repeated."""
    match = re.search(r"Unsupported global: GLOBAL ([\w.]+)", message)
    if match:
        return f"the Python object {match.group(1)}"
    if "Unsupported global" in message or "GLOBAL" in message:
        return "Python objects"
    return None


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
