"""Block classes that are their own exported code.

A block class decorated with :func:`exported` is written into the PyTorch export as it stands
in its family file (its source, read with :mod:`inspect`), so a block is changed in one
place. Such a class must depend only on ``torch``, ``nn``, ``F``, the standard library and
other exported classes; every instance remembers the arguments it was made with
(``init_args``), from which the export writes its constructor call. The desktop bundle keeps
these modules' sources for this (``packaging/network-explorer.spec``).
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import sys
import textwrap
import types
from dataclasses import dataclass
from typing import Any

EXPORTED: dict[str, type] = {}
"""Exported block classes by name."""


def exported(cls: type) -> type:
    """Class decorator: the class's source is its code export, and each instance records its
    constructor arguments as ``init_args`` (in signature order)."""
    init = cls.__init__
    signature = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs) -> None:
        bound = signature.bind(self, *args, **kwargs)
        init(self, *args, **kwargs)
        names = [name for name, p in signature.parameters.items() if p.kind not in (
            p.VAR_POSITIONAL, p.VAR_KEYWORD)][1:]
        self.__dict__["init_args"] = {n: bound.arguments[n] for n in names if n in bound.arguments}

    cls.__init__ = __init__
    if cls.__name__ in EXPORTED and EXPORTED[cls.__name__] is not cls:
        raise ValueError(f"two exported block classes are named {cls.__name__}")
    EXPORTED[cls.__name__] = cls
    return cls


@dataclass(frozen=True)
class ClassSource:
    """An exported class: its source, the imports it needs, the exported classes it uses."""

    name: str
    text: str
    imports: frozenset[str]
    needs: tuple[str, ...]


class SourceError(Exception):
    """An exported class that uses something the export cannot write."""


@functools.cache
def class_source(cls: type) -> ClassSource:
    """The source of an exported class (decorators removed) and what it depends on.

    Raises
    ------
    SourceError
        When the class uses a module-level name of its family file that is not an import of
        torch or the standard library, nor another exported class; or when Python cannot
        read its source.
    """
    try:
        text = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError) as exc:
        raise SourceError(f"the source of {cls.__name__} cannot be read ({exc})") from None
    tree = ast.parse(text)
    node = tree.body[0]
    lines = text.splitlines()
    start = node.lineno - 1  # the "class" line, after any decorator lines
    text = "\n".join(lines[start:])
    module = sys.modules[cls.__module__]
    imports, needs = set(), []
    for name in sorted(_free_names(node)):
        value = module.__dict__.get(name)
        if isinstance(value, type) and EXPORTED.get(name) is value:
            if value is not cls:
                needs.append(name)
            continue
        imports.add(_import_of(cls, name, value))
    return ClassSource(cls.__name__, text, frozenset(imports), tuple(needs))


def _free_names(node: ast.ClassDef) -> set[str]:
    """Names the class reads that it does not define itself (module globals, builtins)."""
    loaded, bound = set(), set()
    parts = [*node.bases, *node.keywords, *node.body]  # not the decorators
    for sub in (n for part in parts for n in ast.walk(part)):
        if isinstance(sub, ast.Name):
            (loaded if isinstance(sub.ctx, ast.Load) else bound).add(sub.id)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, (ast.FunctionDef, ast.ClassDef, ast.ExceptHandler)) and sub.name:
            bound.add(sub.name)
    return {name for name in loaded - bound if not hasattr(builtins, name)}


def _import_of(cls: type, name: str, value: Any) -> str:
    """The import statement that gives the exported code ``name`` (``SourceError`` if none)."""
    if isinstance(value, types.ModuleType):
        full = value.__name__
        if full == name:
            return f"import {name}"
        package, _, last = full.rpartition(".")
        return f"from {package} import {name}" if last == name else f"import {full} as {name}"
    origin = getattr(value, "__module__", "") or ""
    if isinstance(value, type) and not origin.startswith("explorer") and value.__name__ == name:
        return f"from {origin} import {name}"
    raise SourceError(f"{cls.__name__} uses {name}, which the code export cannot write: use "
                      "torch, the standard library or another exported block class only")


def constructor_args(module: Any) -> list[tuple[str, Any, bool]]:
    """``(name, value, positional)`` for the arguments an exported block was made with,
    leaving out those equal to their default; the first parameter is written positionally."""
    signature = inspect.signature(type(module).__init__)
    params = [p for p in signature.parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)][1:]
    args = module.init_args
    out = []
    for index, param in enumerate(params):
        if param.name not in args:
            continue
        value = args[param.name]
        if param.default is not param.empty and _same(value, param.default):
            continue
        positional = index == 0 and param.kind is param.POSITIONAL_OR_KEYWORD
        out.append((param.name, value, positional))
    return out


def _same(value: Any, default: Any) -> bool:
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, RuntimeError, ValueError):
        return False
