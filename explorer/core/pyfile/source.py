"""Running a user's Python file as a fresh module and finding the networks it offers.

Everything here executes the user's code: call it only in the inspection child process (see
:mod:`explorer.core.pyfile.isolate`), in the CLI (the user's own command) or, to train the
network, in the training worker.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import hashlib
import inspect
import itertools
import linecache
import os
import sys
import traceback
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from explorer.core.pyfile.report import Candidate, CodeProblem

MAX_SOURCE_BYTES = 4 * 2**20
"""A network file larger than this is refused (it is not a hand-written module)."""

_counter = itertools.count(1)


class HardExit(BaseException):
    """Raised in place of ``os._exit(code)`` while the user's code runs, so that the call is
    reported with its line instead of ending the process silently."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def read_source(path: str | os.PathLike) -> str:
    """The text of the file at ``path``; :class:`CodeProblem` (kind ``read``) if it cannot be
    read as a Python file."""
    from explorer.files import FileProblem, read_bytes

    try:
        data = read_bytes(path, "a Python file", max_bytes=MAX_SOURCE_BYTES)
    except FileProblem as exc:
        raise _Problem(CodeProblem("read", str(exc))) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Problem(CodeProblem("read", f"{path}: is not UTF-8 text (byte {exc.start})")) \
            from None


def digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class _Problem(Exception):
    """Carries a :class:`CodeProblem` out of a stage of the inspection."""

    def __init__(self, problem: CodeProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@contextlib.contextmanager
def user_code(path: str) -> Iterator[None]:
    """While the block runs: the file's folder first on ``sys.path`` (its own imports work)
    and ``os._exit`` raising :class:`HardExit`."""
    folder = str(Path(path).resolve().parent)
    real_exit = os._exit

    def _exit(code: int = 0) -> None:
        raise HardExit(int(code))

    sys.path.insert(0, folder)
    os._exit = _exit
    try:
        yield
    finally:
        os._exit = real_exit
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def exec_source(path: str, source: str) -> types.ModuleType:
    """Compile and run ``source`` as a new module (``__file__`` is ``path``; its
    ``if __name__ == "__main__":`` block does not run). Raises what the code raises."""
    stem = "".join(c if c.isalnum() else "_" for c in Path(path).stem)
    name = f"_explorer_user_{stem}_{next(_counter)}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__dict__["__builtins__"] = builtins
    lines = source.splitlines(keepends=True)
    linecache.cache[str(path)] = (len(source), None, lines, str(path))  # tracebacks show this
    code = compile(source, str(path), "exec", dont_inherit=True)
    sys.modules[name] = module  # dataclasses and typing look their module up
    with user_code(path):
        exec(code, module.__dict__)  # noqa: S102 (running the user's file is the point)
    return module


# --------------------------------------------------------------------------- candidates


def find_candidates(module: types.ModuleType, source: str) -> list[Candidate]:
    """The networks ``module`` offers, in the order of the file: ``nn.Module`` classes
    defined there whose constructor needs no arguments, functions without required
    arguments that return a module, and module-level modules not inside another one."""
    from torch import nn

    tree = _parse(source)
    lines = {node.name: node.lineno for node in tree.body
             if isinstance(node, (ast.ClassDef, ast.FunctionDef))} if tree else {}
    functions = {node.name: node for node in tree.body
                 if isinstance(node, ast.FunctionDef)} if tree else {}
    out: list[Candidate] = []
    instances: list[tuple[str, nn.Module]] = []
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(value, type) and issubclass(value, nn.Module):
            if value.__module__ == module.__name__ and _no_arguments(value):
                out.append(Candidate(name, "class", lines.get(name), _doc(value)))
        elif inspect.isfunction(value) and value.__module__ == module.__name__:
            node = functions.get(name)
            if _no_arguments(value) and _returns_module(value, node, module):
                out.append(Candidate(name, "function", lines.get(name), _doc(value)))
        elif isinstance(value, nn.Module):
            instances.append((name, value))
    out += _outer_instances(instances, tree)
    return sorted(out, key=lambda c: (c.line or 0, c.name))


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _doc(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _no_arguments(obj: Any) -> bool:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in signature.parameters.values())


def _returns_module(fn: Any, node: ast.FunctionDef | None, module: types.ModuleType) -> bool:
    """Whether ``fn`` returns an ``nn.Module``, from its annotation or its ``return``s (a
    call of an ``nn`` layer, of a module class, or of a torch/torchvision function)."""
    from torch import nn

    annotation = inspect.signature(fn).return_annotation
    if annotation is inspect.Signature.empty:
        annotation = None
    if isinstance(annotation, type):
        return issubclass(annotation, nn.Module)
    if isinstance(annotation, str) and ("Module" in annotation or "Sequential" in annotation):
        return True
    if node is None:
        return False
    made: dict[str, bool] = {}
    for stmt in ast.walk(node):
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    made[target.id] = made.get(target.id, False) or _makes_module(
                        stmt.value, module)
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            value = stmt.value
            if isinstance(value, ast.Call) and _makes_module(value, module):
                return True
            if isinstance(value, ast.Name) and made.get(value.id):
                return True
    return False


def _makes_module(call: ast.Call, module: types.ModuleType) -> bool:
    from torch import nn

    parts = []
    func = call.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return False
    value = getattr(module, func.id, None)
    for part in reversed(parts):
        value = getattr(value, part, None)
    if isinstance(value, type):
        return issubclass(value, nn.Module)
    owner = getattr(value, "__module__", "") or ""
    return callable(value) and owner.split(".")[0] in ("torch", "torchvision", "timm")


def _outer_instances(instances: list, tree: ast.Module | None) -> list[Candidate]:
    """The module-level modules that are not a part of another one (``net``, not the
    ``b1`` … ``b5`` it is made of)."""
    inner = {id(sub) for _, m in instances for sub in list(m.modules())[1:]}
    lines: dict[str, int] = {}
    for node in tree.body if tree else []:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    lines.setdefault(target.id, node.lineno)
    seen: set[int] = set()
    out = []
    for name, value in instances:
        if id(value) in inner or id(value) in seen:
            continue
        seen.add(id(value))
        out.append(Candidate(name, "instance", lines.get(name), type(value).__name__))
    return out


def choose(candidates: list[Candidate], target: str | None, module: types.ModuleType,
           path: str) -> str:
    """The name to inspect; :class:`CodeProblem` (``choose``, ``none`` or ``unknown``)."""
    names = [c.name for c in candidates]
    if target is not None:
        if target in names or (not target.startswith("_") and hasattr(module, target)):
            return target
        listed = ", ".join(names) if names else "none"
        raise _Problem(CodeProblem(
            "unknown", f"{Path(path).name} has no network called {target!r}",
            hint=f"networks in the file: {listed}"))
    if len(candidates) == 1:
        return candidates[0].name
    if not candidates:
        raise _Problem(CodeProblem(
            "none", f"{Path(path).name} defines no network to inspect",
            hint="define an nn.Module subclass whose constructor needs no arguments, a "
                 "function without required arguments that returns an nn.Module, or a "
                 "module-level nn.Module (net = nn.Sequential(...))"))
    raise _Problem(CodeProblem(
        "choose", f"{Path(path).name} offers {len(candidates)} networks: "
                  + ", ".join(names), hint="choose one (explorer net.py:Name)"))


def make_network(module: types.ModuleType, name: str, path: str, device: str | None = None):
    """Call (or take) ``name`` and return the ``nn.Module``; raises what the code raises,
    or :class:`CodeProblem` (``not-module``).

    With ``device="meta"`` the constructor runs on the meta device (shapes only, no weights
    made: many times faster); if it fails there (code that reads a tensor's values), it runs
    again on the CPU.
    """
    import torch
    from torch import nn

    obj = getattr(module, name)
    call = isinstance(obj, type) or inspect.isfunction(obj)
    with user_code(path):
        if not call:
            made = obj
        elif device == "meta":
            try:
                with torch.device("meta"):
                    made = obj()
            except Exception:  # noqa: BLE001 (values read in __init__: build it for real)
                made = obj()
        else:
            made = obj()
    if not isinstance(made, nn.Module):
        raise _Problem(CodeProblem(
            "not-module", f"{name}() returned {type(made).__name__}, not an nn.Module",
            hint="return the network (an nn.Module) from the function",
            file=path, line=getattr(getattr(obj, "__code__", None), "co_firstlineno", None)))
    return made if device is None else made.to(device)


# --------------------------------------------------------------------------- INPUT_SHAPE


def input_shape_of(module: types.ModuleType, source: str, path: str
                   ) -> tuple[tuple[int, ...] | None, int | None]:
    """The file's ``INPUT_SHAPE`` (C, H, W; a leading batch of a 4-value one is dropped)
    and its line; ``(None, None)`` when the file has none. :class:`CodeProblem` (``input``)
    for one that is not 1 to 4 positive integers."""
    if "INPUT_SHAPE" not in vars(module):
        return None, None
    value = module.INPUT_SHAPE
    line = _assignment_line(source, "INPUT_SHAPE")
    ok = isinstance(value, (tuple, list)) and 1 <= len(value) <= 4 and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
    if not ok:
        raise _Problem(CodeProblem(
            "input", f"INPUT_SHAPE is {value!r}, not a shape",
            file=path, line=line, code=_line(path, line),
            hint="write the shape of one input as integers, e.g. INPUT_SHAPE = (1, 28, 28) "
                 "for channels, height and width"))
    shape = tuple(int(v) for v in value)
    return (shape[1:] if len(shape) == 4 else shape), line


def _assignment_line(source: str, name: str) -> int | None:
    tree = _parse(source)
    for node in tree.body if tree else []:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.lineno
    return None


def _line(path: str, line: int | None) -> str:
    return linecache.getline(path, line).strip() if line else ""


# --------------------------------------------------------------------------- tracebacks


def _is_user_file(filename: str, path: str) -> bool:
    """The user's file, or a file beside it (a module it imports), not a library."""
    if filename.startswith("<"):
        return False
    try:
        name = Path(filename).resolve()
        own = Path(path).resolve()
    except (OSError, ValueError):
        return False
    if name == own:
        return True
    return name.parent == own.parent and "site-packages" not in name.parts


def problem_from(exc: BaseException, path: str, kind: str) -> CodeProblem:
    """A :class:`CodeProblem` of kind ``kind`` for ``exc``, pointing at the innermost line
    of the user's code (the file or one beside it) that it went through."""
    message = describe(exc)
    if isinstance(exc, SyntaxError) and not isinstance(exc, (ImportError,)):
        file = exc.filename or path
        if _is_user_file(file, path) or file == path:
            code = (exc.text or "").strip()
            return CodeProblem("syntax" if kind == "module" else kind, message, file,
                               exc.lineno, code, details=_syntax_details(exc))
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if _is_user_file(f.filename, path)]
    if not frames:
        return CodeProblem(kind, message, path, details=message)
    last = frames[-1]
    details = "".join(traceback.format_list(frames)) + message
    return CodeProblem(kind, message, last.filename, last.lineno, (last.line or "").strip(),
                       details=details)


def describe(exc: BaseException) -> str:
    """``NameError: name 'y' is not defined`` (first line; ``sys.exit(3)`` and
    ``os._exit(3)`` in words)."""
    if isinstance(exc, HardExit):
        return f"the file calls os._exit({exc.code}), which would end the process"
    if isinstance(exc, SystemExit):
        return f"the file calls sys.exit({exc.code!r}), which would end the process"
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__}: {exc.msg}"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if len(first) > 300:
        first = first[:299] + "…"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _syntax_details(exc: SyntaxError) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
