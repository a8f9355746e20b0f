"""A network written as a user's own Python file: inspect it, train it, convert it.

- :mod:`~explorer.core.pyfile.report`: the plain results (no torch): :class:`FileRequest`,
  :class:`FileReport`, :class:`Candidate`, :class:`CodeProblem`; ``net.py:Name`` parsing.
- :mod:`~explorer.core.pyfile.source`: running the file as a fresh module, finding the
  networks it offers, ``INPUT_SHAPE``, tracebacks mapped to the user's lines.
- :mod:`~explorer.core.pyfile.analyse`: one inspection in this process (the summary up to a
  failing layer, with a shape hint).
- :mod:`~explorer.core.pyfile.isolate`: the same in a child process with time and memory
  limits and captured output; what the window runs on every save.
- :mod:`~explorer.core.pyfile.convert`: a plain stack of known layers as an editable spec.
- :mod:`~explorer.core.pyfile.network`: :class:`FileNetwork`, the inspected code frozen for
  training in the app's process.

Where the user's code runs: in a child process first (every inspection, in the window and
in ``explorer summary``), and in the app's own process only to train it (and to look inside
the trained model) or, on the command line, to export it.
"""

from __future__ import annotations

from explorer.core.pyfile.report import (
    DEFAULT_INPUT,
    Candidate,
    CodeProblem,
    FileReport,
    FileRequest,
    is_python_target,
    parse_target,
)

__all__ = ["DEFAULT_INPUT", "Candidate", "CodeProblem", "FileReport", "FileRequest",
           "is_python_target", "parse_target"]
