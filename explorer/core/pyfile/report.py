"""What inspecting a user's Python file gives back, as plain values: no torch, no Qt.

A :class:`FileReport` crosses process boundaries (the inspection child pickles it) and is
read by the CLI and the window: the candidates the file offers, the one inspected, its
:class:`~explorer.core.summary.Summary` (the rows up to a failure), the problem in the
user's code with its file and line, and what the code printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from explorer.core.summary import InspectError, Summary

__all__ = [
    "Candidate",
    "CodeProblem",
    "FileReport",
    "FileRequest",
    "is_python_target",
    "parse_target",
]

DEFAULT_INPUT = (1, 28, 28)
"""The input shape of a file without ``INPUT_SHAPE`` when none is given (an MNIST digit)."""

OUTPUT_LIMIT = 64 * 1024
"""Characters of the code's stdout and of its stderr kept (the last ones)."""


@dataclass(frozen=True)
class FileRequest:
    """What to inspect: a file (its text read once, so every process sees the same code),
    the network in it (``None``: the only one, if there is one) and an input shape that
    replaces the file's ``INPUT_SHAPE`` (``None``: the file's, else :data:`DEFAULT_INPUT`).
    """

    path: str
    source: str | None = None
    target: str | None = None
    input_shape: tuple[int, ...] | None = None
    depth: int = 3
    convert: bool = True


@dataclass(frozen=True)
class Candidate:
    """A network the file offers: a class or a function needing no arguments, or a
    module-level ``nn.Module`` (one not inside another)."""

    name: str
    kind: str  # "class", "function" or "instance"
    line: int | None = None
    doc: str = ""

    def label(self) -> str:
        where = f", line {self.line}" if self.line else ""
        made = {"class": f"{self.name}()", "function": f"{self.name}()"}.get(self.kind,
                                                                             self.name)
        return f"{made}  ({self.kind}{where})"


@dataclass
class CodeProblem:
    """Why a file gives no complete summary.

    ``kind`` is one of ``read``, ``syntax``, ``import`` (an import the file makes fails),
    ``module`` (running the file raised), ``exit`` (the file ends the process),
    ``timeout``, ``crash`` (killed by a signal), ``memory``, ``choose`` (several networks,
    none named), ``none`` (no network found), ``unknown`` (the name given is not one),
    ``input`` (a bad ``INPUT_SHAPE``), ``construct`` (the constructor raised),
    ``not-module`` (what it gives is not an ``nn.Module``) or ``forward``.
    ``file``/``line``/``code`` point into the user's code when known; ``module`` names the
    submodule that was running (forward errors); ``details`` is the traceback of the
    user's frames.
    """

    kind: str
    message: str
    file: str = ""
    line: int | None = None
    code: str = ""
    hint: str = ""
    module: str = ""
    details: str = ""

    def where(self) -> str:
        """``net.py, line 23: x = self.fc(x)`` (empty when the place is not known)."""
        if not self.file:
            return ""
        line = f", line {self.line}" if self.line else ""
        code = f": {self.code}" if self.code else ""
        return f"{self.file}{line}{code}"

    def one_line(self) -> str:
        """The message and where it happened, for a terminal."""
        where = self.where()
        return f"{self.message} ({where})" if where else self.message


@dataclass
class FileReport:
    """The outcome of inspecting a file (see :mod:`explorer.core.pyfile`)."""

    path: str
    target: str | None
    candidates: list[Candidate] = field(default_factory=list)
    input_shape: tuple[int, ...] = DEFAULT_INPUT
    input_from: str = ""  # "INPUT_SHAPE (line 5)", "given" or "default"
    summary: Summary | None = None
    problem: CodeProblem | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    spec_json: str | None = None  # the equivalent editable network, when it converts
    not_convertible: str = ""  # else why not
    digest: str = ""  # sha256 of the source inspected

    @property
    def ok(self) -> bool:
        return self.problem is None and self.summary is not None and self.summary.ok

    @property
    def name(self) -> str:
        """``net.py:Net`` (``net.py`` before a network is chosen)."""
        base = Path(self.path).name
        return f"{base}:{self.target}" if self.target else base

    @property
    def num_classes(self) -> int | None:
        """The output's width when the network ends in one score per class."""
        summary = self.summary
        if summary is None or not summary.ok or len(summary.output_shape) != 1:
            return None
        return int(summary.output_shape[0])

    def table_summary(self) -> Summary:
        """The summary the views show: the rows that were computed, with the problem as its
        error (a summary without rows when the file failed before a forward pass)."""
        base = self.summary or Summary(self.name, tuple(self.input_shape), None, [],
                                       tuple(self.input_shape), 0, 0, 0, 0, 0)
        base = replace(base, name=self.name, warnings=list(base.warnings))
        problem = self.problem
        if problem is None:
            if base.error is not None:
                base.error = replace(base.error, kind="code" if base.error.file else
                                     base.error.kind)
            return base
        previous = base.error
        base.error = InspectError(
            block=previous.block if previous else None,
            message=problem.message,
            hint=problem.hint,
            path=problem.module,
            in_shape=previous.in_shape if previous else None,
            kind="code",
            block_path=previous.block_path if previous else None,
            file=Path(problem.file).name if problem.file else "",
            line=problem.line,
            code=problem.code,
        )
        return base


def is_python_target(text: str) -> bool:
    """Whether a command-line network names a Python file (``net.py`` or ``net.py:Name``)."""
    return parse_target(text) is not None


def parse_target(text: str) -> tuple[str, str | None] | None:
    """``("net.py", "Name")`` for ``net.py:Name``, ``("net.py", None)`` for ``net.py``;
    ``None`` when ``text`` does not name a ``.py`` file (a drive letter's colon is kept)."""
    if text.endswith(".py"):
        return text, None
    head, sep, name = text.rpartition(":")
    if sep and head.endswith(".py") and name.isidentifier():
        return head, name
    return None
