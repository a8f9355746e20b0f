"""The architecture as data: an ordered list of blocks plus input shape and class count.

The JSON file format::

    {"format": "network-explorer/architecture", "version": 1,
     "name": "lenet", "input_shape": [1, 28, 28], "num_classes": 10,
     "blocks": [{"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2}, ...]}

Each block is ``{"type": <registered name>, <its parameters>}``; containers hold nested lists
of blocks. Validation names the offending block (by index, and path inside containers), the
field, the value and what would be valid.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.core.registry import Param, get_block, list_blocks

FORMAT = "network-explorer/architecture"
VERSION = 1

_UMASK = os.umask(0o022)  # read once, at import, before any thread could race on it
os.umask(_UMASK)


class SpecError(ValueError):
    """An architecture that cannot be used as written.

    Attributes
    ----------
    block : index of the top-level block at fault, or ``None`` for the architecture itself.
    path : readable location, e.g. ``block 3 (residual) › body[1] (conv2d)``.
    field : the offending key, when there is one.
    """

    def __init__(
        self, message: str, *, block: int | None = None, path: str = "", field: str = ""
    ) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.block = block
        self.path = path
        self.field = field


@dataclass
class BlockSpec:
    """One block: its registered type and the parameters the user set."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        for key, value in self.params.items():
            out[key] = _params_to_json(value)
        return out

    @classmethod
    def from_dict(cls, data: Any, *, block: int | None = None, path: str = "") -> BlockSpec:
        """Parse a block dict (nested lists of blocks included), without validating values."""
        where = path or (f"block {block}" if block is not None else "block")
        if isinstance(data, BlockSpec):
            return data
        if not isinstance(data, dict):
            raise SpecError(
                f"a block must be an object like {{\"type\": \"conv2d\", ...}}, "
                f"got {_short(data)}",
                block=block,
                path=where,
            )
        if "type" not in data:
            raise SpecError('the block has no "type"', block=block, path=where, field="type")
        params = {k: v for k, v in data.items() if k != "type"}
        return cls(type=data["type"], params=params)


def _params_to_json(value: Any) -> Any:
    if isinstance(value, BlockSpec):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_params_to_json(v) for v in value]
    return value


@dataclass
class ArchitectureSpec:
    """A whole network: name, input shape (C, H, W), number of classes and its blocks."""

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    blocks: list[BlockSpec]
    description: str = ""

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
        }
        if self.description:
            out["description"] = self.description
        out["blocks"] = [b.to_dict() for b in self.blocks]
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> ArchitectureSpec:
        """Parse and check the top-level fields; blocks are checked by :func:`validate`."""
        if not isinstance(data, dict):
            raise SpecError(f"an architecture must be a JSON object, got {_short(data)}")
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise SpecError(
                f'"format" is {fmt!r}; a Network Explorer architecture has "format": "{FORMAT}"',
                field="format",
            )
        version = data.get("version", VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
            raise SpecError(
                f'"version" is {version!r}; this release reads versions 1 to {VERSION}',
                field="version",
            )
        shape = data.get("input_shape")
        if (
            not isinstance(shape, (list, tuple))
            or len(shape) != 3
            or not all(_is_int(v) and v >= 1 for v in shape)
        ):
            raise SpecError(
                f'"input_shape" is {_short(shape)}; expected [channels, height, width], '
                "three integers ≥ 1 such as [1, 28, 28]",
                field="input_shape",
            )
        classes = data.get("num_classes", 10)
        if not _is_int(classes) or classes < 1:
            raise SpecError(
                f'"num_classes" is {_short(classes)}; expected an integer ≥ 1',
                field="num_classes",
            )
        blocks = data.get("blocks")
        if not isinstance(blocks, list):
            raise SpecError(
                f'"blocks" is {_short(blocks)}; expected a list of blocks', field="blocks"
            )
        name = data.get("name", "untitled")
        if not isinstance(name, str):
            raise SpecError(f'"name" is {_short(name)}; expected a text', field="name")
        return cls(
            name=name,
            input_shape=tuple(shape),
            num_classes=classes,
            blocks=[BlockSpec.from_dict(b, block=i) for i, b in enumerate(blocks)],
            description=str(data.get("description", "")),
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = "architecture") -> ArchitectureSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                f"column {exc.colno})"
            ) from None
        return cls.from_dict(data)


def load_spec(path: str | os.PathLike) -> ArchitectureSpec:
    """Read an architecture JSON file; :class:`SpecError` for a missing or malformed file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read as a text file ({exc})") from None
    return ArchitectureSpec.from_json(text, source=str(path))


def save_spec(spec: ArchitectureSpec, path: str | os.PathLike) -> None:
    """Write ``spec`` as JSON atomically (a temporary file in the same folder, then replace)."""
    atomic_write_text(Path(path), spec.to_json())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # keep an existing file's permissions; a new one gets the usual ones (not mkstemp's 0600)
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o666 & ~_UMASK
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- validation


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: Any) -> str:
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def validate_block(
    block: BlockSpec, *, index: int | None = None, path: str = ""
) -> dict[str, Any]:
    """Check a block against its schema; return its parameters with defaults filled in.

    Nested blocks of containers are validated recursively and returned as lists of
    ``(BlockSpec, params)`` pairs.

    Raises
    ------
    SpecError
        Naming the block, the field, the value and what would be valid.
    """
    where = path or (f"block {index}" if index is not None else "block")
    if not isinstance(block.type, str):
        raise SpecError(
            f'"type" is {_short(block.type)}; expected the name of a block',
            block=index, path=where, field="type",
        )
    try:
        definition = get_block(block.type)
    except KeyError:
        known = ", ".join(b.name for b in list_blocks())
        raise SpecError(
            f"unknown block type {block.type!r}; known types: {known}",
            block=index, path=where, field="type",
        ) from None
    where = f"{where} ({block.type})"
    names = {p.name for p in definition.params}
    for key in block.params:
        if key not in names:
            valid = ", ".join(sorted(names)) or "none"
            raise SpecError(
                f"unknown parameter {key!r}; {block.type} takes: {valid}",
                block=index, path=where, field=key,
            )
    out: dict[str, Any] = {}
    for param in definition.params:
        if param.name in block.params:
            out[param.name] = _check_value(param, block.params[param.name], index, where)
        elif param.required:
            raise SpecError(
                f'missing parameter "{param.name}" ({param.describe()})',
                block=index, path=where, field=param.name,
            )
        else:
            out[param.name] = param.default
    return out


def _check_value(param: Param, value: Any, index: int | None, where: str) -> Any:
    def fail() -> SpecError:
        return SpecError(
            f"{param.name} = {_short(value)} is not valid; expected {param.describe()}",
            block=index, path=where, field=param.name,
        )

    if value is None and param.default is None:
        return None
    kind = param.kind
    if kind == "int":
        if param.classes and value == "classes":
            return value
        if not _is_int(value) or not _in_range(param, value):
            raise fail()
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail()
        if not math.isfinite(value) or not _in_range(param, value):
            raise fail()
        return float(value)
    if kind == "size":
        items = value if isinstance(value, (list, tuple)) else [value]
        if len(items) not in (1, 2) or not all(_is_int(v) and _in_range(param, v) for v in items):
            raise fail()
        return value if _is_int(value) else tuple(items) if len(items) == 2 else items[0]
    if kind == "bool":
        if not isinstance(value, bool):
            raise fail()
        return value
    if kind == "choice":
        if value not in param.choices:
            raise fail()
        return value
    if kind == "str":
        if not isinstance(value, str) or (
            param.name_like and value and not (value.isidentifier() and value.isascii())
        ):
            raise fail()
        return value
    if kind == "blocks":
        return _check_blocks(param.name, value, index, where)
    if kind == "branches":
        if not isinstance(value, list) or not value:
            raise fail()
        return [
            _check_blocks(f"{param.name}[{i}]", branch, index, where)
            for i, branch in enumerate(value)
        ]
    raise AssertionError(kind)


def _check_blocks(name: str, value: Any, index: int | None, where: str) -> list:
    if not isinstance(value, list):
        raise SpecError(
            f"{name} = {_short(value)} is not valid; expected a list of blocks",
            block=index, path=where, field=name,
        )
    checked = []
    for i, item in enumerate(value):
        sub_path = f"{where} › {name}[{i}]"
        sub = BlockSpec.from_dict(item, block=index, path=sub_path)
        checked.append((sub, validate_block(sub, index=index, path=sub_path)))
    return checked


def _in_range(param: Param, value: float) -> bool:
    if param.minimum is not None and value < param.minimum:
        return False
    return param.maximum is None or (
        value < param.maximum if param.maximum_exclusive else value <= param.maximum
    )


def validate(spec: ArchitectureSpec) -> list[dict[str, Any]]:
    """Validate every block of ``spec``; return their checked parameters, in order."""
    return [validate_block(b, index=i) for i, b in enumerate(spec.blocks)]
