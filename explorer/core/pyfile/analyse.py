"""Inspect a user's Python file in this process: import it, pick the network, summarise it.

:func:`analyse` never raises for anything the user's code does (a syntax error, an import
that fails, ``sys.exit``, an exception in the constructor or in ``forward``): it returns a
:class:`FileReport` whose problem names the exception and the line of the user's file, with
the summary's rows up to the failing layer and a hint on the shape arithmetic. It runs the
user's code, so the window calls it only in a child process
(:func:`explorer.core.pyfile.isolate.inspect_isolated`).
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections import OrderedDict
from pathlib import Path

from explorer.core.pyfile import source as src
from explorer.core.pyfile.report import DEFAULT_INPUT, CodeProblem, FileReport, FileRequest
from explorer.core.shapes import fmt_shape
from explorer.core.summary import Summary

_KINDS = {ImportError: "import", SystemExit: "exit", src.HardExit: "exit",
          MemoryError: "memory"}


def _kind(exc: BaseException, default: str) -> str:
    if "can't allocate memory" in str(exc):  # PyTorch's allocator past the limit
        return "memory"
    return next((kind for cls, kind in _KINDS.items() if isinstance(exc, cls)), default)


def analyse(request: FileRequest) -> FileReport:
    """Inspect the network ``request`` names (see :class:`FileRequest`)."""
    start = time.perf_counter()
    report = FileReport(request.path, request.target,
                        input_shape=tuple(request.input_shape or DEFAULT_INPUT),
                        input_from="given" if request.input_shape else "default")
    try:
        _run(request, report)
    except src._Problem as exc:
        report.problem = exc.problem
        report.not_convertible = "it does not run yet: fix the error first"
    report.seconds = time.perf_counter() - start
    return report


def _run(request: FileRequest, report: FileReport) -> None:
    path = request.path
    text = request.source if request.source is not None else src.read_source(path)
    report.digest = src.digest(text)
    try:
        module = src.exec_source(path, text)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 (whatever the file does is reported)
        raise src._Problem(src.problem_from(exc, path, _kind(exc, "module"))) from None
    report.candidates = src.find_candidates(module, text)
    shape, line = src.input_shape_of(module, text, path)
    if shape is not None and request.input_shape is None:
        report.input_shape, report.input_from = shape, f"INPUT_SHAPE (line {line})"
    name = src.choose(report.candidates, request.target, module, path)
    report.target = name
    try:  # shapes only from here on: no weights are made or computed
        network = src.make_network(module, name, path, device="meta")
    except (src._Problem, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001
        raise src._Problem(src.problem_from(exc, path, _kind(exc, "construct"))) from None
    report.summary, problem = summarise(network, report, request.depth)
    if problem is not None:
        raise src._Problem(problem)
    if request.convert:
        _convert(network, report)


def summarise(network, report: FileReport, depth: int) -> tuple[Summary, CodeProblem | None]:
    """The summary of ``network`` (on the meta device) and the problem of a failing forward
    pass, located in the user's code, with a hint."""
    from torch import nn

    from explorer.core.inspector import inspect_module

    if not any(True for _ in network.children()):  # one layer: shown as one row of its name
        network = nn.Sequential(OrderedDict([(report.target or "network", network)]))
    failures: list[BaseException] = []
    base = _watch(network, failures)
    try:
        with src.user_code(report.path):
            summary = inspect_module(network, tuple(report.input_shape), name=report.name,
                                     depth=depth)
    finally:
        network.__class__ = base
    seen: dict[str, int] = {}
    for row in summary.layers:  # a file's modules are no numbered spec blocks
        seen[row.name] = seen.get(row.name, 0) + 1
        if seen[row.name] > 1:  # a module called again (self.pooling twice): its own row
            row.name = f"{row.name} ({seen[row.name]})"
        row.block, row.block_path = None, tuple(row.name.split("."))
    if summary.error is None:
        return summary, None
    exc = failures[0] if failures else None
    if exc is None:
        problem = CodeProblem("forward", summary.error.message, hint=summary.error.hint)
    else:
        problem = src.problem_from(exc, report.path, _kind(exc, "forward"))
    problem.module = summary.error.path
    problem.hint = shape_hint(network, summary) or summary.error.hint
    summary.error.block = None
    summary.error.block_path = tuple(summary.error.path.split(".")) if summary.error.path \
        else None
    return summary, problem


class _ForwardFailed(RuntimeError):
    """What the watched forward raises in place of the user's exception (any kind), so that
    the summary keeps the rows computed before it."""


def _watch(network, failures: list[BaseException]) -> type:
    """Make ``network``'s own forward record any exception it raises (the user's, with its
    traceback) into ``failures``, raising :class:`_ForwardFailed` in its place; return its
    class, to put back after."""
    base = type(network)
    calls = []

    def forward(self, *args, **kwargs):
        calls.append(None)
        quiet = len(calls) > 1  # the summary's second pass: the code printed already
        try:
            with _quiet() if quiet else contextlib.nullcontext():
                return base.forward(self, *args, **kwargs)
        except Exception as exc:
            failures.append(exc)
            raise _ForwardFailed(src.describe(exc)) from exc
        except (SystemExit, src.HardExit) as exc:
            failures.append(exc)
            raise _ForwardFailed(src.describe(exc)) from exc

    network.__class__ = type(base.__name__, (base,), {
        "forward": forward, "__module__": base.__module__, "__qualname__": base.__qualname__})
    return base


@contextlib.contextmanager
def _quiet():
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


# --------------------------------------------------------------------------- hints


def shape_hint(network, summary: Summary) -> str:
    """The shape arithmetic behind a failing layer, e.g. for a ``Linear(1600, 10)`` after a
    flatten of 20×4×4: ``in_features should be 320``."""
    from torch import nn

    error = summary.error
    in_shape = tuple(error.in_shape) if error.in_shape else None
    layer = _submodule(network, error.path)
    if isinstance(layer, nn.Linear) and in_shape:
        return _linear_hint(layer, in_shape, summary)
    if isinstance(layer, (nn.Conv2d, nn.BatchNorm2d)) and in_shape and len(in_shape) == 3:
        expected = layer.in_channels if isinstance(layer, nn.Conv2d) else layer.num_features
        field = "in_channels" if isinstance(layer, nn.Conv2d) else "num_features"
        if expected != in_shape[0]:
            before = _before(summary)
            came = f"{before} gives" if before else "the input has"
            return (f"{field} should be {in_shape[0]}: {came} {fmt_shape(in_shape)}, "
                    f"{in_shape[0]} channels, not {expected}")
    if layer is None and "invalid for input of size" in error.message:
        last = _last_shape(summary)
        if last is not None:
            n = math.prod(last)
            return (f"the tensor here is {fmt_shape(last)} = {n:,} values per image: "
                    f"x.view(x.size(0), -1) or torch.flatten(x, 1) gives {n:,} features")
    return ""


def _linear_hint(layer, in_shape: tuple[int, ...], summary: Summary) -> str:
    if len(in_shape) > 1:
        n = math.prod(in_shape)
        return (f"Linear gets a {fmt_shape(in_shape)} map: flatten it first "
                f"(torch.flatten(x, 1) or nn.Flatten()); then in_features should be {n:,} "
                f"({fmt_shape(in_shape)} = {n:,})")
    features = in_shape[0]
    if features == layer.in_features:
        return ""
    rows = [r for r in summary.layers if r.output_shape]
    flat = next((r for r in reversed(rows) if r.type == "Flatten"), None)
    if flat is not None and flat.input_shape and math.prod(flat.input_shape) == features:
        how = f"the flatten before it gives {fmt_shape(flat.input_shape)} = {features:,}"
    else:
        maps = next((r for r in reversed(rows) if len(r.output_shape) == 3
                     and math.prod(r.output_shape) == features), None)
        how = (f"flattening the {fmt_shape(maps.output_shape)} maps gives {features:,}"
               if maps is not None else f"{features:,} features reach it")
    return (f"in_features should be {features:,}: {how}; write "
            f"nn.Linear({features}, {layer.out_features})")


def _submodule(network, path: str):
    if not path:
        return None
    try:
        return network.get_submodule(path)
    except AttributeError:
        return None


def _before(summary: Summary) -> str:
    rows = [r for r in summary.layers if r.output_shape]
    if not rows:
        return ""
    return f"{rows[-1].name} ({rows[-1].type})"


def _last_shape(summary: Summary) -> tuple[int, ...] | None:
    rows = [r for r in summary.layers if r.output_shape and r.depth == 1]
    return tuple(rows[-1].output_shape) if rows else None


# --------------------------------------------------------------------------- conversion


def _convert(network, report: FileReport) -> None:
    """The equivalent editable network, or why there is none (never raises)."""
    from explorer.core.pyfile.convert import ConvertError, to_spec

    name = report.target or Path(report.path).stem
    try:
        with _quiet():
            spec = to_spec(network, report.input_shape, name=name).spec
    except ConvertError as exc:
        report.not_convertible = str(exc)
        return
    except Exception as exc:  # noqa: BLE001 (tracing user code may fail in many ways)
        report.not_convertible = f"it could not be traced: {src.describe(exc)}"
        return
    report.spec_json = spec.to_json()
