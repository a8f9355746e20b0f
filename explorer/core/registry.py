"""Registries of blocks and presets, with a parameter schema per block.

A block is registered by name with a factory ``factory(ctx, in_shape, **params)`` returning
an ``nn.Module`` (or ``(module, output_shape)`` when it already knows the shape, as containers
do from their nested blocks) and a list of :class:`Param` describing what a user may set.
The schema drives validation (:func:`explorer.core.spec.validate_block`) and the property
form in the window. This module imports neither torch nor Qt.
"""

from __future__ import annotations

import fnmatch
import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

REQUIRED = object()
"""Default of a parameter the user must give."""

PARAM_KINDS = ("int", "float", "bool", "choice", "size", "str", "blocks", "branches")


@dataclass(frozen=True)
class Param:
    """One parameter of a block.

    Attributes
    ----------
    name : the key in the block's JSON object (PyTorch's own name where one exists).
    kind : ``int``, ``float``, ``bool``, ``choice``, ``str``, ``size`` (an int or an
        ``[h, w]`` pair), ``blocks`` (a list of blocks) or ``branches`` (a list of lists).
    default : the value used when the key is absent; :data:`REQUIRED` when it must be given;
        ``None`` where the block derives it (e.g. a pooling stride equal to its kernel).
    minimum, maximum : inclusive bounds for numbers (``minimum_exclusive`` and
        ``maximum_exclusive`` make a bound strict, as for a learning rate or a dropout
        probability).
    choices : valid values of a ``choice``.
    classes : an ``int`` that may also be the string ``"classes"``, meaning the number of
        classes of the architecture.
    name_like : a ``str`` that becomes a submodule name: letters, digits and ``_`` only, not
        starting with a digit (or empty).
    help : one line for a tooltip or ``--help``.
    applies_when : ``((other, (value, ...)), ...)``: the parameter is used only while every
        ``other`` parameter has one of its values (e.g. ``(("optimizer", ("sgd",)),)`` for a
        momentum); empty: always. See :meth:`applies`.
    """

    name: str
    kind: str
    default: Any = REQUIRED
    minimum: float | None = None
    maximum: float | None = None
    maximum_exclusive: bool = False
    minimum_exclusive: bool = False
    choices: tuple = ()
    classes: bool = False
    name_like: bool = False
    help: str = ""
    applies_when: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"parameter {self.name!r}: a choice needs choices")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether the parameter is used given the other parameters' ``values``."""
        return all(values.get(other) in allowed for other, allowed in self.applies_when)

    def condition(self) -> str:
        """:attr:`applies_when` in words, e.g. ``optimizer is 'sgd'``; empty when always."""
        return " and ".join(
            f"{other} is " + " or ".join(repr(v) for v in allowed)
            for other, allowed in self.applies_when
        )

    def in_range(self, value: float) -> bool:
        """Whether a number lies within :attr:`minimum` and :attr:`maximum` (each bound
        inclusive unless marked exclusive)."""
        low, high = self.minimum, self.maximum
        if low is not None and (value <= low if self.minimum_exclusive else value < low):
            return False
        return high is None or (value < high if self.maximum_exclusive else value <= high)

    def describe(self) -> str:
        """The valid values in words, e.g. ``an integer ≥ 1`` or ``one of 'max', 'avg'``."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind in ("int", "float", "size"):
            noun = {"int": "an integer", "float": "a number", "size": "an integer or [h, w]"}[
                self.kind
            ]
            bounds = []
            if self.minimum is not None:
                bounds.append(f"{'>' if self.minimum_exclusive else '≥'} {_bound(self.minimum)}")
            if self.maximum is not None:
                bounds.append(f"{'<' if self.maximum_exclusive else '≤'} {_bound(self.maximum)}")
            text = noun + (" " + " and ".join(bounds) if bounds else "")
            if self.classes:
                text += ' or "classes"'
            if self.default is None:
                text += " or null"
            return text
        if self.name_like:
            return "a name of letters, digits and _, not starting with a digit (e.g. stage2)"
        return {
            "bool": "true or false",
            "str": "a text",
            "blocks": "a list of blocks",
            "branches": "a list of branches, each a list of blocks",
        }[self.kind]

    def to_json(self) -> dict:
        """The schema entry as plain JSON (for ``explorer blocks --json`` and the UI)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "required": self.required}
        if not self.required:
            out["default"] = self.default
        for key in ("minimum", "maximum"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("minimum_exclusive", "maximum_exclusive"):
            if getattr(self, key):
                out[key] = True
        if self.choices:
            out["choices"] = list(self.choices)
        if self.classes:
            out["classes"] = True
        if self.name_like:
            out["name_like"] = True
        if self.help:
            out["help"] = self.help
        if self.applies_when:
            out["applies_when"] = {other: list(allowed) for other, allowed in self.applies_when}
        return out


def settings_text(definition: BlockDef | None, params: Mapping[str, Any]) -> str:
    """``name value`` for each parameter not at its default (nested blocks left out)."""
    parts = []
    for key, value in params.items():
        param = definition.param(key) if definition is not None else None
        if param is not None and (param.kind in ("blocks", "branches") or param.name_like
                                  or (not param.required and value == param.default)):
            continue
        parts.append(f"{key.replace('_', ' ')} {_value_text(value)}")
    return ", ".join(parts)


def _value_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _bound(value: float) -> str:
    """An integer bound in full (2**63 - 1, not 9.22337e+18); other numbers as ``:g``."""
    return str(value) if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class BlockDef:
    """A registered block type."""

    name: str
    factory: Callable
    params: tuple[Param, ...]
    category: str
    short: str
    doc: str = ""
    container: bool = False
    describer: Callable[[dict[str, Any]], str] | None = None

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def describe(self, params: Mapping[str, Any]) -> str:
        """A block's settings in one short line, as the tree, the diagram and the summary
        show it (``5×5, 10 ch, s2``): the family's own words, or else the parameters set to
        something other than their default. Tolerates values that do not validate."""
        values = {p.name: p.default if not p.required else
                  () if p.kind in ("blocks", "branches") else "?" for p in self.params}
        values.update(params)
        if self.describer is not None:
            try:
                return self.describer(values)
            except (TypeError, ValueError, KeyError, IndexError):  # values that do not validate
                pass
        return settings_text(self, params)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "category": self.category,
            "doc": self.doc,
            "params": [p.to_json() for p in self.params],
        }


@dataclass(frozen=True)
class PresetDef:
    """A registered preset: a function returning the list of blocks for given sizes."""

    name: str
    blocks: Callable[[], list]
    input_shape: tuple[int, int, int]
    num_classes: int
    doc: str
    source: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    init: str = "default"


T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (blocks, presets), filled by importing the modules that
    register them.

    The first lookup imports those modules once, under a lock, so a second thread waits for
    the whole registry instead of seeing part of it. The registry counts as loaded only after
    every import succeeded; a failed import is rolled back and raised, and the next lookup
    tries again.
    """

    def __init__(self, kind: str, modules: tuple[str, ...]) -> None:
        self.kind = kind
        self.modules = modules
        self._entries: dict[str, T] = {}
        self._loaded = False
        self._lock = threading.RLock()
        self._import = importlib.import_module

    def register(self, name: str, entry: T) -> None:
        """Add ``entry`` as ``name``; ``ValueError`` if the name is taken."""
        with self._lock:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = entry

    def load(self) -> None:
        """Import the registering modules, once; safe to call from any thread."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            before = dict(self._entries)
            try:
                for module in self.modules:
                    self._import(module)
            except BaseException:
                self._entries = before
                raise
            self._loaded = True

    def get(self, name: str) -> T:
        """The entry registered as ``name``; ``KeyError`` otherwise."""
        self.load()
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}") from None

    def list(self, pattern: str = "*") -> list[T]:
        """Entries whose name matches the shell-style ``pattern``, in registration order."""
        self.load()
        with self._lock:
            items = list(self._entries.items())
        return [entry for name, entry in items if fnmatch.fnmatchcase(name, pattern)]

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        self.load()
        with self._lock:
            return list(self._entries)


BLOCKS: Registry[BlockDef] = Registry("block type", ("explorer.blocks",))
PRESETS: Registry[PresetDef] = Registry(
    "preset", ("explorer.blocks", "explorer.core.presets")
)


def load_registries() -> None:
    """Load every block and preset now (at start-up, or in a worker thread)."""
    BLOCKS.load()
    PRESETS.load()


def register_block(
    name: str,
    *,
    params: list[Param] | tuple[Param, ...] = (),
    category: str,
    short: str | None = None,
    container: bool = False,
    describe: Callable[[dict[str, Any]], str] | None = None,
) -> Callable:
    """Decorator registering ``factory(ctx, in_shape, **params)`` as ``name``.

    The factory returns the module, or ``(module, output_shape)`` to spare a shape inference.
    ``describe(params)`` (defaults filled in) says the block's settings in one short line for
    every view (see :meth:`BlockDef.describe`).

    Raises
    ------
    ValueError
        If ``name`` is already registered.
    """

    def decorate(factory: Callable) -> Callable:
        BLOCKS.register(name, BlockDef(
            name=name,
            factory=factory,
            params=tuple(params),
            category=category,
            short=short or name,
            doc=(factory.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
            container=container,
            describer=describe,
        ))
        return factory

    return decorate


def describe_block(block: Any) -> str:
    """A block's (a :class:`~explorer.core.spec.BlockSpec`'s) settings in one short line,
    in its family's words; an unknown type lists what it sets."""
    params = dict(getattr(block, "params", {}) or {})
    try:
        definition = get_block(block.type)
    except (KeyError, TypeError):
        return settings_text(None, params)
    return definition.describe(params)


def get_block(name: str) -> BlockDef:
    """The block registered as ``name``; ``KeyError`` otherwise."""
    return BLOCKS.get(name)


def list_blocks(pattern: str = "*") -> list[BlockDef]:
    """Registered blocks whose name matches the shell-style ``pattern``, sorted by category."""
    return sorted(BLOCKS.list(pattern), key=lambda b: (b.category, b.name))


def register_preset(
    name: str,
    *,
    input_shape: tuple[int, int, int],
    num_classes: int = 10,
    source: str = "",
    tags: tuple[str, ...] = (),
    init: str = "default",
) -> Callable:
    """Decorator registering a function that returns a preset's list of block dicts.

    ``init`` is the preset's weight initialisation (``ArchitectureSpec.init``).
    """

    def decorate(fn: Callable) -> Callable:
        PRESETS.register(name, PresetDef(
            name=name,
            blocks=fn,
            input_shape=tuple(input_shape),
            num_classes=num_classes,
            doc=(fn.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
            source=source,
            tags=tuple(tags),
            init=init,
        ))
        return fn

    return decorate


def get_preset(name: str) -> PresetDef:
    """The preset registered as ``name``; ``KeyError`` otherwise."""
    return PRESETS.get(name)


def list_presets(pattern: str = "*") -> list[PresetDef]:
    """Registered presets whose name matches ``pattern``, in registration order."""
    return PRESETS.list(pattern)
