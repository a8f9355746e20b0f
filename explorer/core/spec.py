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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.core import limits
from explorer.core.registry import Param, get_block, list_blocks

FORMAT = "network-explorer/architecture"
VERSION = 1
INITS = ("default", "xavier", "kaiming")
"""Network-level weight initialisation: PyTorch's default, Xavier (Glorot) or Kaiming (He)."""

BlockPath = tuple[int | str, ...]
"""Where a block sits: indices into block lists and the names of the fields between them.

``(3,)`` is the fourth top-level block, ``(3, "body", 0)`` the first block of its body,
``(5, "branches", 1, 0)`` the first block of the second branch of a parallel block.
"""

MAX_FILE_BYTES = 2 * 2**20
"""An architecture file's size limit: the largest network allowed (``limits.MAX_LAYERS``
layers) takes under 1 MiB as JSON; a larger file is refused before it is parsed."""

_UMASK = os.umask(0o022)  # read once, at import, before any thread could race on it
os.umask(_UMASK)


class SpecError(ValueError):
    """An architecture that cannot be used as written.

    Attributes
    ----------
    block : index of the top-level block at fault, or ``None`` for the architecture itself.
    path : readable location, e.g. ``block 3 (residual) › body[1] (conv2d)``.
    field : the offending key, when there is one.
    block_path : the block at fault as a :data:`BlockPath`, e.g. ``(3, "body", 1)``.
    """

    def __init__(
        self,
        message: str,
        *,
        block: int | None = None,
        path: str = "",
        field: str = "",
        block_path: BlockPath | None = None,
    ) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.block = block
        self.path = path
        self.field = field
        self.block_path = block_path if block_path is not None else (
            (block,) if block is not None else None
        )


class Params(Mapping):
    """The read-only, hashable parameters of a block (nested blocks and lists included)."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, Any] = ()) -> None:
        self._data = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._data)


@dataclass(frozen=True)
class BlockSpec:
    """One block: its registered type and the parameters the user set.

    Immutable: nested blocks (dicts with a ``"type"``) are parsed into :class:`BlockSpec` up
    front and lists become tuples, so a spec shared with a worker thread cannot change under
    it. Change a block with :meth:`with_params` or the edits of :mod:`explorer.core.edit`.
    """

    type: str
    params: Mapping[str, Any] = field(default_factory=Params)

    def __post_init__(self) -> None:
        if not isinstance(self.params, Mapping):
            raise SpecError(
                f"the parameters of a block must be an object, got {_short(self.params)}"
            )
        if not isinstance(self.params, Params) or any(
            isinstance(v, (list, dict)) for v in self.params.values()
        ):
            object.__setattr__(
                self, "params", Params({k: _freeze(v) for k, v in self.params.items()})
            )

    def with_params(self, **changes: Any) -> BlockSpec:
        """A copy with ``changes`` applied; a value of ``None`` removes the key (its default)."""
        params = dict(self.params)
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return BlockSpec(self.type, params)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        for key, value in self.params.items():
            out[key] = _thaw(value)
        return out

    @classmethod
    def from_dict(cls, data: Any, *, block: int | None = None, path: str = "",
                  block_path: BlockPath | None = None) -> BlockSpec:
        """Parse a block dict (nested lists of blocks included), without validating values."""
        if isinstance(data, BlockSpec):
            return data
        where = path or (f"block {block}" if block is not None else "block")
        if not isinstance(data, dict):
            raise SpecError(
                f"a block must be an object like {{\"type\": \"conv2d\", ...}}, "
                f"got {_short(data)}",
                block=block, path=where, block_path=block_path,
            )
        if "type" not in data:
            raise SpecError('the block has no "type"', block=block, path=where, field="type",
                            block_path=block_path)
        params = {}
        for key, value in data.items():
            if key != "type":
                trail = (*block_path, key) if block_path is not None else None
                params[key] = _freeze(value, block, f"{where} › {key}", trail)
        return cls(type=data["type"], params=Params(params))


def _freeze(value: Any, block: int | None = None, where: str = "block",
            trail: BlockPath | None = None) -> Any:
    """JSON values as immutable ones: dicts with a type → BlockSpec, lists → tuples.

    ``trail`` is the block path that leads to ``value`` (it becomes a nested block's path).
    """
    if isinstance(value, dict):
        return BlockSpec.from_dict(value, block=block, path=where, block_path=trail)
    if isinstance(value, (list, tuple)):
        return tuple(
            _freeze(v, block, f"{where}[{i}]", (*trail, i) if trail is not None else None)
            for i, v in enumerate(value)
        )
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, BlockSpec):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class ArchitectureSpec:
    """A whole network: name, input shape (C, H, W), number of classes and its blocks.

    Immutable (change it with :func:`dataclasses.replace` or :mod:`explorer.core.edit`);
    ``init`` is the weight initialisation, one of :data:`INITS`.
    """

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    blocks: tuple[BlockSpec, ...]
    description: str = ""
    init: str = "default"

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        if not isinstance(self.blocks, tuple) or not all(
            isinstance(b, BlockSpec) for b in self.blocks
        ):
            object.__setattr__(self, "blocks", tuple(
                BlockSpec.from_dict(b, block=i, block_path=(i,))
                for i, b in enumerate(self.blocks)
            ))

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
        if self.init != "default":
            out["init"] = self.init
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
        if not _is_int(version) or not 1 <= version <= VERSION:
            raise SpecError(
                f'"version" is {version!r}; this release reads versions 1 to {VERSION}',
                field="version",
            )
        shape = data.get("input_shape")
        if (
            not isinstance(shape, (list, tuple))
            or len(shape) != 3
            or not all(_is_int(v) and v >= 1 for v in shape)
            or shape[0] > limits.MAX_INPUT_CHANNELS
            or max(shape[1:]) > limits.MAX_INPUT_SIZE
        ):
            raise SpecError(
                f'"input_shape" is {_short(shape)}; expected [channels, height, width], '
                f"three integers ≥ 1 such as [1, 28, 28] (at most "
                f"{limits.MAX_INPUT_CHANNELS:,} channels and {limits.MAX_INPUT_SIZE:,} pixels "
                "a side)",
                field="input_shape",
            )
        classes = data.get("num_classes", 10)
        if not _is_int(classes) or not 1 <= classes <= limits.MAX_CLASSES:
            raise SpecError(
                f'"num_classes" is {_short(classes)}; expected an integer ≥ 1 and '
                f"≤ {limits.MAX_CLASSES:,}",
                field="num_classes",
            )
        blocks = data.get("blocks")
        if not isinstance(blocks, list):
            raise SpecError(
                f'"blocks" is {_short(blocks)}; expected a list of blocks', field="blocks"
            )
        try:  # before the blocks are parsed (which recurses into containers)
            limits.check_network_size(blocks)
        except limits.LimitError as exc:
            raise SpecError(str(exc), field="blocks") from None
        name = data.get("name", "untitled")
        if not isinstance(name, str):
            raise SpecError(f'"name" is {_short(name)}; expected a text', field="name")
        init = data.get("init", "default")
        if init not in INITS:
            raise SpecError(
                f'"init" is {_short(init)}; expected one of ' + ", ".join(map(repr, INITS)),
                field="init",
            )
        return cls(
            name=name,
            input_shape=tuple(shape),
            num_classes=classes,
            blocks=tuple(
                BlockSpec.from_dict(b, block=i, block_path=(i,)) for i, b in enumerate(blocks)
            ),
            description=str(data.get("description", "")),
            init=init,
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = "architecture") -> ArchitectureSpec:
        if not text.strip():
            raise SpecError(f"{source}: the file is empty; expected an architecture (JSON "
                            "with \"input_shape\", \"num_classes\" and \"blocks\")")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            end = len(text.rstrip())
            if exc.pos >= end:  # the text stopped where more was expected
                line = text.count("\n", 0, end) + 1
                raise SpecError(
                    f"{source}: the file ends early (truncated?) at line {line}; the "
                    "JSON stops before its closing brackets"
                ) from None
            raise SpecError(
                f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                f"column {exc.colno})"
            ) from None
        except RecursionError:
            raise SpecError(f"{source}: its JSON is nested too deeply to be an "
                            "architecture") from None
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            raise SpecError(f"{source} holds a value that cannot be read ({exc})") from None
        if _json_depth(data) > MAX_JSON_DEPTH:
            raise SpecError(
                f"{source}: its JSON is nested more than {MAX_JSON_DEPTH} levels deep; an "
                f"architecture nests containers at most {limits.MAX_NESTING} deep"
            )
        return cls.from_dict(data)


MAX_JSON_DEPTH = 4 * limits.MAX_NESTING + 16
"""Nesting of JSON objects and lists in an architecture file (containers take up to three
levels each: a block, its branches, a branch)."""


def _json_depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict)
                                                  else item))
    return deepest


def slot_kind(block: BlockSpec, key: str) -> str | None:
    """``"blocks"`` or ``"branches"`` when ``key`` of ``block`` holds nested blocks, else None."""
    try:
        param = get_block(block.type).param(key)
    except (KeyError, TypeError):
        return None
    return param.kind if param is not None and param.kind in ("blocks", "branches") else None


def format_path(spec: ArchitectureSpec, path: BlockPath) -> str:
    """A block path as display text, e.g. ``block 3 (residual) › body[0] (conv2d)``."""
    blocks: Any = spec.blocks
    parts: list[str] = []
    label, i = "block {}", 0
    while i < len(path):
        index = path[i]
        block = blocks[index] if _is_int(index) and 0 <= index < len(blocks) else None
        parts.append(label.format(index) + (f" ({block.type})" if block is not None else ""))
        if block is None or i + 2 >= len(path) or not isinstance(path[i + 1], str):
            break
        key = path[i + 1]
        value = block.params.get(key, ())
        if slot_kind(block, key) == "branches":
            branch = path[i + 2]
            label = f"{key}[{branch}][{{}}]"
            ok = _is_int(branch) and isinstance(value, tuple) and 0 <= branch < len(value)
            blocks, i = (value[branch] if ok else ()), i + 3
        else:
            label, blocks, i = f"{key}[{{}}]", value, i + 2
        if not isinstance(blocks, tuple):
            blocks = ()
    return " › ".join(parts)


def load_spec(path: str | os.PathLike) -> ArchitectureSpec:
    """Read an architecture JSON file; :class:`SpecError` for a missing or malformed file."""
    from explorer.files import FileProblem, read_bytes

    path = Path(path)
    try:
        data = read_bytes(path, "an architecture .json file", max_bytes=MAX_FILE_BYTES)
    except FileProblem as exc:
        raise SpecError(str(exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: is not a text file (byte {exc.start} is not UTF-8); "
                        "expected an architecture .json file") from None
    return ArchitectureSpec.from_json(text, source=str(path))


def save_spec(spec: ArchitectureSpec, path: str | os.PathLike) -> None:
    """Write ``spec`` as JSON atomically (a temporary file in the same folder, then replace)."""
    atomic_write_text(Path(path), spec.to_json())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new, never half.

    On any failure (a full disk, say) the temporary file is removed and the old file is left
    as it was; the ``OSError`` raised names ``path`` (``exc.filename``).
    """
    path = Path(path)
    try:
        _atomic_write(path, data)
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


def _atomic_write(path: Path, data: bytes) -> None:
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
    block: BlockSpec,
    *,
    index: int | None = None,
    path: str = "",
    block_path: BlockPath | None = None,
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
    if block_path is None and index is not None:
        block_path = (index,)
    here = {"block": index, "block_path": block_path}
    if not path:  # a top-level call: bound the nesting before recursing into it
        check_size(block, index=index)
    if not isinstance(block.type, str):
        raise SpecError(
            f'"type" is {_short(block.type)}; expected the name of a block',
            path=where, field="type", **here,
        )
    try:
        definition = get_block(block.type)
    except KeyError:
        known = ", ".join(b.name for b in list_blocks())
        raise SpecError(
            f"unknown block type {block.type!r}; known types: {known}",
            path=where, field="type", **here,
        ) from None
    where = f"{where} ({block.type})"
    names = {p.name for p in definition.params}
    for key in block.params:
        if key not in names:
            valid = ", ".join(sorted(names)) or "none"
            raise SpecError(
                f"unknown parameter {key!r}; {block.type} takes: {valid}",
                path=where, field=key, **here,
            )
    out: dict[str, Any] = {}
    for param in definition.params:
        if param.name in block.params:
            out[param.name] = _check_value(param, block.params[param.name], where, here)
        elif param.required:
            raise SpecError(
                f'missing parameter "{param.name}" ({param.describe()})',
                path=where, field=param.name, **here,
            )
        else:
            out[param.name] = param.default
    return out


def _check_value(param: Param, value: Any, where: str, here: dict) -> Any:
    def fail() -> SpecError:
        return SpecError(
            f"{param.name} = {_short(_thaw(value))} is not valid; expected {param.describe()}",
            path=where, field=param.name, **here,
        )

    if value is None and param.default is None:
        return None
    kind = param.kind
    if kind == "int":
        if param.classes and value == "classes":
            return value
        if not _is_int(value) or not param.in_range(value):
            raise fail()
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail()
        if not math.isfinite(value) or not param.in_range(value):
            raise fail()
        return float(value)
    if kind == "size":
        items = value if isinstance(value, (list, tuple)) else (value,)
        if len(items) not in (1, 2) or not all(_is_int(v) and param.in_range(v) for v in items):
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
        return _check_blocks(param.name, (param.name,), value, where, here)
    if kind == "branches":
        if not isinstance(value, (list, tuple)) or not value:
            raise fail()
        return [
            _check_blocks(f"{param.name}[{i}]", (param.name, i), branch, where, here)
            for i, branch in enumerate(value)
        ]
    raise AssertionError(kind)


def _check_blocks(name: str, key: BlockPath, value: Any, where: str, here: dict) -> list:
    if not isinstance(value, (list, tuple)):
        raise SpecError(
            f"{name} = {_short(_thaw(value))} is not valid; expected a list of blocks",
            path=where, field=name, **here,
        )
    index, parent = here["block"], here["block_path"]
    checked = []
    for i, item in enumerate(value):
        sub_path = f"{where} › {name}[{i}]"
        sub_block_path = (*parent, *key, i) if parent is not None else None
        sub = BlockSpec.from_dict(item, block=index, path=sub_path, block_path=sub_block_path)
        checked.append(
            (sub, validate_block(sub, index=index, path=sub_path, block_path=sub_block_path))
        )
    return checked


def check_size(block: BlockSpec, *, index: int | None = None, before: int = 0) -> int:
    """Check the nesting depth of ``block`` and the layers of the network up to it.

    ``before`` is the number of layers of the blocks before it; returns the number including
    this block's. :class:`SpecError` past :data:`limits.MAX_NESTING` or
    :data:`limits.MAX_LAYERS`.
    """
    layers, nesting = limits.network_size([block])
    where = f"block {index} ({block.type})" if index is not None else f"block ({block.type})"
    here = {"block": index, "block_path": (index,) if index is not None else None}
    if nesting > limits.MAX_NESTING:
        raise SpecError(
            f"containers are nested more than {limits.MAX_NESTING} deep inside it; at most "
            f"{limits.MAX_NESTING} levels are allowed", path=where, **here,
        )
    if before + layers > limits.MAX_LAYERS:
        raise SpecError(
            f"the network has more than {limits.MAX_LAYERS:,} layers up to this block "
            f"(repeats counted out); at most {limits.MAX_LAYERS:,} are allowed (ResNet-152 "
            "has 152)", path=where, **here,
        )
    return before + layers


def validate(spec: ArchitectureSpec) -> list[dict[str, Any]]:
    """Validate every block of ``spec``; return their checked parameters, in order."""
    checked, layers = [], 0
    for i, block in enumerate(spec.blocks):
        layers = check_size(block, index=i, before=layers)
        checked.append(validate_block(block, index=i))
    return checked
